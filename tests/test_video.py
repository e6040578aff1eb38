"Known-answer, integration and bad-input tests of sdr2log.video (temporal metrics, TemporalBlend, evaluate_video)."
import csv, json, math
import numpy as np, pytest, torch
from sdr2log.color import convert_space
from sdr2log.data import build_dataloader
from sdr2log.synth import synth_sequence
from sdr2log.evaluate import evaluate_video
from sdr2log.metrics import METRICS
from sdr2log.video import (NoisyStandIn, TemporalBlend, clip_flows, flicker,
                           frame_batch, predict_clip, predict_sequence, temporal_metrics, unflatten, warping_error)

torch.set_num_threads(1)


def cct_clip(index=0, frames=5, size=(64, 96), noise=True):
    lin, _ = synth_sequence(3, index, frames=frames, size=size, noise=noise)
    return torch.from_numpy(convert_space(lin, 'AWG3', 'ACEScct')).movedim(-1, -3).float().contiguous()


@pytest.fixture(scope='module')
def moving(): return cct_clip()


@pytest.fixture(scope='module')
def root(synth_data): return synth_data


# ------------------------------------------------------------------------------------------- known answers
def test_static_sequence_scores_zero(moving):
    static = moving[:1].repeat(4, 1, 1, 1)
    w, f = warping_error(static, static), flicker(static, static)
    assert (w['warping_error'], w['warping_error_gt'], w['warping_error_excess'], f['flicker']) == (0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize('clip_kind', ['static', 'moving'])
def test_per_frame_noise_raises_both_monotonically(moving, clip_kind):
    gt = moving[:1].repeat(4, 1, 1, 1) if clip_kind == 'static' else moving
    z = torch.randn(gt.shape, generator=torch.Generator().manual_seed(1))
    flows = clip_flows(gt)
    w = [warping_error(gt + s * z, gt, flows=flows)['warping_error_excess'] for s in (0, 0.003, 0.01, 0.03)]
    f = [flicker(gt + s * z, gt)['flicker'] for s in (0, 0.003, 0.01, 0.03)]
    assert w[0] == 0 and f[0] == 0
    assert all(a < b for a, b in zip(w, w[1:])), w
    assert all(a < b for a, b in zip(f, f[1:])), f


@pytest.mark.parametrize('block', [None, 8, 16])
def test_global_brightness_flicker(moving, block):
    lin = convert_space(moving, 'ACEScct', 'ACEScg')
    gain = torch.tensor([1, 2 ** -0.5, 1, 2 ** -0.5, 1]).view(-1, 1, 1, 1)
    dim = convert_space(lin * gain, 'ACEScg', 'ACEScct')
    f = flicker(dim, moving, block=block)['flicker']
    assert 0.4 < f <= 0.5 + 1e-6 and f > 50 * flicker(moving, moving, block=block)['flicker']


@pytest.mark.parametrize('flow', ['dis', 'farneback'])
def test_perfect_moving_prediction_scores_gt_own_error(moving, flow):
    w = warping_error(moving, moving, method=flow, per_pair=True)
    assert w['warping_error'] == w['warping_error_gt'] and w['warping_error_excess'] == 0
    assert w['warping_error_gt'] < 0.02 and w['mask_fraction'] > 0.5
    assert warping_error(moving, moving, residual_thresh=None)['warping_error_gt'] >= w['warping_error_gt']


def test_registry_and_batch(moving):
    tm = temporal_metrics(moving + 0.01, moving, per_pair=True)
    temporal = [m for m in METRICS.values() if m.kind == 'temporal']
    assert {m.column for m in temporal} <= set(tm) and not any(m.higher_is_better for m in temporal)
    b = temporal_metrics(torch.stack([moving + 0.01, moving + 0.01]), torch.stack([moving, moving]))
    assert math.isclose(b['flicker'], tm['flicker'], rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(b['warping_error'], tm['warping_error'], rel_tol=1e-9)


# ------------------------------------------------------------------------------------------- bad input
def test_bad_inputs(moving):
    with pytest.raises(ValueError, match=r'shapes differ: \(5, 3, 64, 96\) vs \(4, 3, 64, 96\)'):
        warping_error(moving, moving[:4])
    with pytest.raises(ValueError, match='at least 2 frames; got T=1'): flicker(moving[:1], moving[:1])
    bad = moving.clone(); bad[3, 1, 0, 0] = float('inf')
    with pytest.raises(ValueError, match=r'pred_clip holds 1 NaN/inf value\(s\) \(first in clip 0, frame 3\)'):
        temporal_metrics(bad, moving)
    with pytest.raises(ValueError, match='numpy clips must be'): flicker(np.zeros((4, 3, 8, 8)), np.zeros((4, 3, 8, 8)))
    with pytest.raises(ValueError, match='frames of different shapes'): predict_sequence(lambda x: x, [moving[0], moving[1, :, :8]])
    with pytest.raises(ValueError, match='unflatten: expected'): unflatten(moving, 2, 3)
    with pytest.raises(ValueError, match='strength must be in'): TemporalBlend(lambda x: x, -0.1)


# ------------------------------------------------------------------------------------------- blending
def test_blend_strength_zero_is_frame_method_and_blending_helps(moving):
    noisy = NoisyStandIn(lambda x: x.clone(), name='noisy')
    clips = torch.stack([moving, moving.flip(-1)])
    p0 = predict_clip(noisy, clips)
    assert torch.equal(predict_clip(TemporalBlend(noisy, 0.0), clips), p0)
    p6 = predict_clip(TemporalBlend(noisy, 0.6), clips)
    assert torch.equal(p6[1], TemporalBlend(noisy, 0.6)(moving.flip(-1)))          # each clip on its own (reset)
    a, b = temporal_metrics(p0, clips), temporal_metrics(p6, clips)
    assert b['warping_error'] < 0.7 * a['warping_error'] and b['flicker'] < 0.8 * a['flicker'], (a, b)


def test_frame_batch_from_vid_loader(root):
    cfg = {'data': {'root': str(root), 'sdr_from': 'naive', 'clip_len': 3, 'batch_size': 2, 'train_ratio': 0.25,
                    'val_ratio': 0.0, 'augment': {'train_crop_size': 32}}}
    batch = next(iter(build_dataloader(cfg, 'train', 'vid')))
    x, y, (B, T) = frame_batch(batch)
    assert x.shape == (B * T, 3, 32, 32) and T == 3 and torch.equal(unflatten(y, B, T), batch['hdr_clip'])


# ------------------------------------------------------------------------------------------- evaluation
def test_evaluate_video_end_to_end(root, tmp_path):
    noisy = NoisyStandIn(lambda x: x.clone(), name='noisy-identity')     # input as prediction, plus flicker
    s = evaluate_video(['inverse', noisy], root, 'test', tmp_path / 'v', strengths=(0, 0.5), blend_on='best',
                       data_overrides={'train_ratio': 0.25, 'val_ratio': 0.0, 'sdr_from': 'naive'}, min_sequences=3)
    assert (s['n_sequences'], s['n_frames'], s['ci_over']) == (4, 16, 'sequences')       # 5 sequences: 1 train, 4 test
    assert s['blend']['on'] == ['inverse'] and s['reference'] == 'inverse+blend0'
    names = ['inverse', 'noisy-identity', 'inverse+blend0', 'inverse+blend0.5']
    assert sorted(s['table']) == sorted(names)
    for k in ('psnr_acescct', 'delta_e_itp', 'warping_error', 'flicker'):
        # strength 0 is the per-frame method: same values up to float rounding of the per-sequence aggregation
        # (an exact == failed once on the last bit of a bootstrap bound)
        assert s['table']['inverse+blend0'][k] == pytest.approx(s['table']['inverse'][k], rel=1e-9, abs=1e-12)
        t = s['table']['inverse'][k]; assert t['lo'] <= t['mean'] <= t['hi'] and t['n'] == 4
    rows = list(csv.DictReader(open(s['files']['per_sequence'])))
    assert len(rows) == 4 * 4 and {r['method'] for r in rows} == set(names)
    frames = list(csv.DictReader(open(s['files']['per_frame'])))
    assert len(frames) == 16 * 4 and frames[0]['warping_error'] == 'nan'
    for k in ('tradeoff', 'strip', 'report', 'summary'):
        p = s['files'][k]; assert open(p, 'rb').read(4)
    assert json.load(open(s['files']['summary']))['ci_over'] == 'sequences'
    assert 'tLPIPS not computed' in open(s['files']['report']).read()


def test_evaluate_video_errors(root, tmp_path):
    over = {'train_ratio': 0.25, 'val_ratio': 0.0, 'sdr_from': 'naive'}
    with pytest.raises(ValueError, match="blend_on 'unet' is not among the methods"):
        evaluate_video(['inverse'], root, out=tmp_path, blend_on='unet', data_overrides=over)
    with pytest.raises(ValueError, match="predicted .* NaN/inf value"):
        evaluate_video([('nan', lambda x: x * float('nan'))], root, out=tmp_path, blend_on=None, data_overrides=over)
    with pytest.raises(ValueError, match='at least 2 frames'):
        evaluate_video(['inverse'], root, out=tmp_path, max_frames=1, data_overrides=over)
    with pytest.raises(TypeError, match='a method is a baseline name'):
        evaluate_video([42], root, out=tmp_path, data_overrides=over)
