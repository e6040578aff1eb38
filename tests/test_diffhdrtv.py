"""Diff-HDRTV: shapes, pinned sizes, xyY against colour-science, seeded sampling, the denoising objective, and the tiny
three-stage pipeline end to end (checkpoint hand-over, frozen stages, provenance, bad specs)."""
import json
from pathlib import Path

import colour
import numpy as np
import pytest
import torch
import yaml

from sdr2log.models.core import build_model, count_params
from sdr2log.color import xyz_to_xyY as XYZ_to_xyY
from sdr2log.models.diffhdrtv import REFINER_MODES, rgb_to_xyY, xyY_to_rgb
from sdr2log.runs import checkpoint_weights, load_stage_weights, stage_checkpoint
from sdr2log.train import DIFF_HDRTV_CONFIGS, train_pipeline, train_stage
from sdr2log.synth import synthesize

TINY = dict(width=8, blocks=1, prior_widths=(8, 16), prior_resolution=16, prior_steps=2, refiner_width=8, refiner_blocks=1)
FAST = ['data.sdr_from=naive']


@pytest.mark.parametrize('mode', REFINER_MODES)
@pytest.mark.parametrize('stage', [1, 2, 3])
def test_shapes_any_size(mode, stage):
    m = build_model('diff-hdrtv', mode=mode, stage=stage, **TINY).eval()
    for hw in ((17, 23), (48, 48), (40, 72)):
        x = torch.rand(1, 3, *hw) * 0.9 + 0.05
        with torch.no_grad(): y = m(x)
        assert y.shape == x.shape and y.dtype == x.dtype and torch.isfinite(y).all()


def test_param_counts_pinned_and_modes_fair():
    n = {mode: count_params(build_model('diff-hdrtv', mode=mode, stage=3), trainable=False) for mode in REFINER_MODES}
    assert n == {'aces': 5_344_984, 'xyY': 5_344_972}
    tr = {mode: count_params(build_model('diff-hdrtv', mode=mode, stage=3)) for mode in REFINER_MODES}
    assert tr == {'aces': 117_138, 'xyY': 117_126}
    assert abs(tr['aces'] - tr['xyY']) <= 0.1 * tr['xyY']
    assert count_params(build_model('diff-hdrtv', stage=1)) == 786_691
    assert count_params(build_model('diff-hdrtv', stage=2)) == 4_441_155          # the prior alone is trainable


def test_xyY_round_trip_against_colour_science():
    rng = np.random.default_rng(0)
    cct = torch.from_numpy(rng.uniform(0.0, 1.4, (3, 3, 7, 9)))                  # includes the toe (negative linear)
    lin = colour.models.log_decoding_ACEScct(cct.movedim(1, -1).numpy())
    XYZ = colour.RGB_to_XYZ(lin, colour.RGB_COLOURSPACES['ACEScg'], illuminant=None, chromatic_adaptation_transform=None)
    ours = rgb_to_xyY(cct)
    np.testing.assert_allclose(ours.movedim(1, -1).numpy(), colour.XYZ_to_xyY(XYZ), atol=1e-9)
    np.testing.assert_allclose(xyY_to_rgb(ours).numpy(), cct.numpy(), atol=1e-9)
    # XYZ -> xyY for random XYZ and the inverse of colour-science's xyY
    X = torch.from_numpy(rng.uniform(0.01, 3, (2, 3, 4, 4)))
    np.testing.assert_allclose(XYZ_to_xyY(X).movedim(1, -1).numpy(), colour.XYZ_to_xyY(X.movedim(1, -1).numpy()), atol=1e-12)


def test_seeded_sampling_reproducible():
    torch.manual_seed(0)
    m = build_model('diff-hdrtv', stage=3, **TINY).eval()
    with torch.no_grad():                                                      # zero-initialised refiners ignore the prior
        for p in m.refiner.parameters(): p.normal_(0, 0.05)
    x = torch.rand(2, 3, 32, 40)
    g = lambda s: torch.Generator().manual_seed(s)
    a, b, c = m(x, generator=g(3)), m(x, generator=g(3)), m(x, generator=g(4))
    assert torch.equal(a, b) and (a - c).abs().max() > 1e-5
    assert torch.equal(m(x), m(x))                                              # eval mode: sample_seed
    p1, p2 = (m.sample_prior(x, x, steps=s, generator=g(0)) for s in (1, 4))
    assert p1.shape == x.shape and not torch.equal(p1, p2)                      # the step count matters
    # pure-noise start works too and differs from the SDEdit start
    m.prior_start = 'noise'
    assert not torch.equal(m.sample_prior(x, x, steps=1, generator=g(0)), p1)


@pytest.mark.parametrize('pred', ['epsilon', 'v_prediction'])
def test_denoising_loss_decreases(pred):
    torch.manual_seed(0)
    m = build_model('diff-hdrtv', stage=2, prediction_type=pred, **TINY).train()
    x = torch.rand(4, 3, 32, 32) * 0.7 + 0.1
    y = x * 1.4 - 0.1
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], 3e-3)
    losses = []
    for _ in range(15):
        loss = m(x, target=y, generator=torch.Generator().manual_seed(1))
        opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
    assert all(p.grad is None for p in m.stage1.parameters())                   # stage 1 frozen in stage 2


@pytest.fixture(scope='module')
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('dh')
    synthesize(tmp / 'data', sequences=5, frames=3, size=(48, 64), seed=2)
    rec = train_pipeline(tmp / 'data', tmp / 'runs', tiny=True, mode='xyY', overrides=FAST)
    return tmp, rec


def _model_sd(run_dir):
    return torch.load(Path(run_dir) / 'checkpoints' / 'last.pt', map_location='cpu', weights_only=True)['model']


def test_pipeline_end_to_end_hands_weights_over(pipeline):
    tmp, rec = pipeline
    r1, r2, r3 = (rec['stages'][s]['run_dir'] for s in '123')
    assert all(rec['stages'][s]['steps'] == 3 for s in '123')
    assert json.loads((Path(r3) / 'pipeline.json').read_text()) == rec
    assert rec['stages']['3']['fed_by']['stage2']['checkpoint'] == str(Path(r2) / 'checkpoints' / 'last.pt')
    assert rec['stages']['2']['fed_by']['stage1']['checkpoint'] == str(Path(r1) / 'checkpoints' / 'last.pt')
    cfg3 = yaml.safe_load((Path(r3) / 'config' / 'config.yaml').read_text())
    assert cfg3['model']['stage2_ckpt'] == str(Path(r2) / 'checkpoints' / 'last.pt')   # resolved path recorded
    s1, s2, s3 = _model_sd(r1), _model_sd(r2), _model_sd(r3)
    # stage 1 trained (differs from the zero-initialised tail), stage 2 and 3 hold exactly its weights
    assert s1['stage1.tail.weight'].abs().sum() > 0
    for k in ('stage1.tail.weight', 'stage1.head.weight'):
        assert torch.equal(s1[k], s2[k]) and torch.equal(s1[k], s3[k])
    # stage 3 holds the prior of stage 2 unchanged after its own training steps (frozen), the refiners moved
    prior_keys = [k for k in s2 if k.startswith('prior.')]
    assert prior_keys and all(torch.equal(s2[k], s3[k]) for k in prior_keys)
    assert all(torch.equal(s1[k], s3[k]) for k in s1)
    fresh = build_model(**{k: v for k, v in cfg3['model'].items() if k != 'name'}, name='diff-hdrtv').state_dict()
    assert any(not torch.equal(fresh[k], s3[k]) for k in s3 if k.startswith('refiner.'))
    # the stage-3 checkpoint alone rebuilds the model, and it evaluates with and without the prior
    m = build_model(**cfg3['model']); m.load_state_dict(s3); m.eval()
    x = torch.rand(1, 3, 30, 52)
    with torch.no_grad():
        y, y0, y5 = m(x), m(x, use_prior=False), m(x, prior_steps=5)
    assert y.shape == x.shape and not torch.equal(y, y0) and not torch.equal(y, y5)
    inputs = json.loads((Path(r3) / 'meta' / 'stage_inputs.json').read_text())
    assert inputs['stage'] == 3 and inputs['mode'] == 'xyY'


def test_auto_resolves_newest_exact_run(pipeline):
    tmp, rec = pipeline
    root = tmp / 'runs'
    assert stage_checkpoint('auto:tiny-diff-hdrtv-s2', root, 2) == Path(rec['stages']['2']['run_dir']) / 'checkpoints' / 'last.pt'
    with pytest.raises(FileNotFoundError, match='diff-hdrtv-s1'):
        stage_checkpoint('auto', root, 1)                                       # 'diff-hdrtv-s1' != 'tiny-diff-hdrtv-s1'
    with pytest.raises(FileNotFoundError, match='nope'):
        stage_checkpoint(tmp / 'nope', root, 1)


def test_stage3_refuses_mismatched_stage1(pipeline, tmp_path):
    tmp, rec = pipeline
    st = torch.load(rec['stages']['1']['checkpoint'], map_location='cpu', weights_only=True)
    st['model']['stage1.tail.bias'] = st['model']['stage1.tail.bias'] + 1.0
    torch.save(st, tmp_path / 'other.pt')
    m = build_model('diff-hdrtv', stage=3, mode='xyY', **TINY)
    with pytest.raises(ValueError, match='differs'):
        load_stage_weights(m, tmp_path / 'other.pt', rec['stages']['2']['checkpoint'])
    # a stage-1 checkpoint offered as the prior, and a model of another width, are refused by name
    with pytest.raises(ValueError, match='no prior'):
        load_stage_weights(m, None, rec['stages']['1']['checkpoint'])
    wide = build_model('diff-hdrtv', stage=3, **{**TINY, 'width': 12})
    with pytest.raises(ValueError, match='must match'):
        load_stage_weights(wide, rec['stages']['1']['checkpoint'])
    (tmp_path / 'junk.pt').write_bytes(b'junk')
    with pytest.raises(ValueError, match='junk.pt'):
        checkpoint_weights(tmp_path / 'junk.pt')


def test_stage3_shipped_auto_config_and_no_prior_error(pipeline):
    tmp, rec = pipeline
    sets = [f'data.root={tmp / "data"}', f'training.ckpt_root={tmp / "runs"}', *FAST, 'training.max_steps_per_epoch=1']
    s = train_stage('tiny-diff-hdrtv-xyy-s3', sets)                            # auto:tiny-diff-hdrtv-s2, HDRNet from it
    assert s['stage_inputs']['stage2']['checkpoint'] == rec['stages']['2']['checkpoint']
    assert s['stage_inputs']['stage1']['from'] == 'stage-2 checkpoint'
    with pytest.raises(ValueError, match='stage2_ckpt'):
        train_stage('tiny-diff-hdrtv-s3', sets + ['model.stage2_ckpt=null'])


def test_configs_shape():
    assert set(DIFF_HDRTV_CONFIGS) >= {'diff-hdrtv-s1', 'diff-hdrtv-s2', 'diff-hdrtv-s3', 'tiny-diff-hdrtv-s1',
                                       'tiny-diff-hdrtv-s2', 'tiny-diff-hdrtv-s3'}
    from sdr2log.train import SHIPPED_CONFIGS, load_config
    for name, c in DIFF_HDRTV_CONFIGS.items():
        assert set(c) == set(SHIPPED_CONFIGS['tiny-cct']) and c['training']['exp_name'] == name
        load_config(c)                                                          # validates against the engine
