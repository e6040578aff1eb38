"""`sdr2log reconstruct` end to end on footage the tests make themselves: synthetic LogC3 rendered to SDR (ACES 2.0 SDR
100 nits), written as PNG/TIFF/JPEG sequences and H.264 4:2:0 limited-range video, reconstructed with `inverse` and
compared with the ACEScct ground truth; plus tiling, resume after a kill, bad inputs, memory, temporal and torchrun."""
import errno, json, os, signal, subprocess, sys, time, warnings
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import torch
import yaml

from sdr2log.color import convert_space
from sdr2log.io import read_image, write_png, write_tiff
from sdr2log.models.core import build_model
from sdr2log.reconstruct import Reconstructor, reconstruct, export_model, load_model_file
from sdr2log.render import get_renderer
from sdr2log.synth import synth_sequence
from sdr2log.runs import save_checkpoint
from sdr2log.videoio import write_video, probe_video

BIN = Path(sys.executable).parent
SIZE = (64, 96)
N = 6
# Error budgets (ACEScct |error|: (median, 99th percentile) over the pixels the render did not clip, every SDR channel in
# (0.02, 0.98)). Measured on this footage (64x96, 6 frames): png16/tiff16 1.0e-4 / 1.1e-3 (the baked 65^3 inverse LUT
# and half-float EXR are all that stand between input and truth); png8 4.0e-4 / 3.4e-3; jpeg95 (4:2:0) 2.2e-3 / 0.060;
# H.264 4:2:0 limited range crf 16: 2.7e-3 / 0.078 (chroma subsampling at saturated edges and the synthetic sensor
# noise dominate the tail). The budgets leave about 1.5-5x margin.
BUDGET = {'png16': (5e-4, 5e-3), 'tiff16': (5e-4, 5e-3), 'png8': (1.5e-3, 0.01), 'jpeg95': (0.005, 0.1),
          'h264': (0.006, 0.12)}          # (median, 99th percentile) of |error|


def _cct_of_exr(p): return convert_space(read_image(p), 'ACES2065-1', 'ACEScct')


@pytest.fixture(scope='module')
def footage(tmp_path_factory):
    "Synthetic LogC3 -> SDR renders written as sequences of each kind and as an H.264 clip."
    d = tmp_path_factory.mktemp('footage')
    lin, _ = synth_sequence(seed=11, frames=N, size=SIZE)
    logc = convert_space(lin, 'AWG3', 'LogC3', clip=True).astype(np.float32)
    sdr = get_renderer('aces2-sdr')(logc).astype(np.float32)
    gt = convert_space(logc, 'LogC3', 'ACEScct').astype(np.float32)
    for kind in ('png16', 'png8', 'tiff16', 'jpeg95'): (d / kind).mkdir()
    for k, f in enumerate(sdr):
        write_png(d / 'png16' / f'png16.{k:04d}.png', f, bits=16)
        write_png(d / 'png8' / f'png8.{k:04d}.png', f, bits=8)
        write_tiff(d / 'tiff16' / f'tiff16.{k:04d}.tif', f, bits=16)
        (d / 'jpeg95' / f'jpeg95.{k:04d}.jpg').write_bytes(imagecodecs.jpeg8_encode(np.round(f * 255).astype(np.uint8), level=95))
    write_video(d / 'h264.mp4', sdr, pix_fmt='yuv420p', color_range='MPEG', crf=16)
    return {'dir': d, 'sdr': sdr, 'gt': gt, 'ok': ((sdr > 0.02) & (sdr < 0.98)).all(-1)}


def _errors(out, name, footage, first=0):
    e = np.concatenate([np.abs(_cct_of_exr(out / name / f'{name}.{k + first:06d}.exr') - footage['gt'][k])[footage['ok'][k]]
                        for k in range(N)])
    return float(np.median(e)), float(np.percentile(e, 99))


def test_each_input_kind_within_its_budget(footage, tmp_path):
    d = footage['dir']
    man = reconstruct('inverse', [d / k for k in ('png16', 'png8', 'tiff16', 'jpeg95')] + [d / 'h264.mp4'], tmp_path,
                      progress=False)
    assert footage['ok'].mean() > 0.5
    errs = {k: _errors(tmp_path, k, footage) for k in BUDGET}
    print('ACEScct |error| (median, p99) per input kind:', errs)
    for k, (med, p99) in BUDGET.items():
        assert errs[k][0] < med and errs[k][1] < p99, (k, errs[k])
    assert errs['png16'][0] < errs['png8'][0] < errs['h264'][0]            # the budgets are ordered by what they lose
    v = next(r for r in man['inputs'] if r['kind'] == 'video')['video']
    assert (v['matrix'], v['range'], v['bits'], v['pix_fmt']) == ('ITU709', 'MPEG', 8, 'yuv420p')
    m = json.loads((tmp_path / 'reconstruct.json').read_text())
    assert m['settings']['output_space'] == 'ACES2065-1' and m['method']['kind'] == 'baseline'
    assert {r['name']: r['written'] for r in m['inputs']} == {k: N for k in BUDGET}
    assert m['versions']['av'] and m['timings']['frames_written'] == 5 * N
    assert read_image(tmp_path / 'h264' / 'h264.000000.exr', return_meta=True)[1]['colorspace'] == 'ACES2065-1'


def test_h264_wrong_range_would_be_far_off(footage, tmp_path):
    "The stream's limited range is what makes H.264 decode right: full range on the same codes is far worse."
    info = probe_video(footage['dir'] / 'h264.mp4')
    from sdr2log.videoio import read_video
    rec = Reconstructor('inverse')
    def err(inf):
        return np.median(np.concatenate([np.abs(rec(f) - footage['gt'][i])[footage['ok'][i]]
                                         for i, f in read_video(footage['dir'] / 'h264.mp4', info=inf)]))
    right, wrong = err(info), err({**info, 'range': 'JPEG'})
    assert wrong > 2 * right, (right, wrong)       # measured on the synthetic scenes: 3.5e-3 against 8.8e-3


def _fake_run(root: Path, sdr_from='aces2-sdr', seed=0, width=8, depth=2, out_std=0.05, model=None) -> Path:
    "A run directory as training writes it (config/config.yaml, checkpoints/best@*.pt) with a random, non-identity U-Net."
    torch.manual_seed(seed)
    cfg = {'model': model or {'name': 'unet-cct', 'width': width, 'depth': depth},
           'data': {'sdr_from': sdr_from, 'sdr_lut_path': None, 'sdr_options': {}, 'ei': 800, 'space_in': 'ACEScct',
                    'space_out': 'ACEScct'}}
    m = build_model(**cfg['model'])
    with torch.no_grad():
        if model is None:
            for p in m.out.parameters(): p.normal_(0, out_std)
        else:
            for p in m.parameters(): p.add_(out_std * torch.randn_like(p))
    (root / 'config').mkdir(parents=True)
    (root / 'config' / 'config.yaml').write_text(yaml.safe_dump(cfg))
    save_checkpoint(root / 'checkpoints' / 'best@psnr_acescct.pt', {'model': m.state_dict()})
    return root


def _no_norm(rec):
    "The same U-Net with its GroupNorm layers made identities: a purely local network (no frame statistics)."
    for name, mod in list(rec.model.named_modules()):
        for cname, child in list(mod.named_children()):
            if isinstance(child, torch.nn.GroupNorm): setattr(mod, cname, torch.nn.Identity())
    return rec


def test_tiled_matches_whole_frame_without_seams(tmp_path):
    """Tiles equal whole-frame inference (sdr2log.tiles.Tiler, the default tile='auto', overlap='auto'): the model's
    grid, an overlap covering its receptive field, the whole frame's GroupNorm statistics and owned parts. The cheaper
    ways (per-tile or downscaled statistics, ramps over an overlap below the receptive field) are measured beside it."""
    run = _fake_run(tmp_path / 'run', out_std=0.005, depth=3)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:300, 0:406] / 60.0
    sdr = (0.5 + 0.3 * np.stack([np.sin(xx), np.cos(yy), np.sin(xx + yy)], -1) + 0.02 * rng.standard_normal((300, 406, 3)))
    sdr = np.clip(sdr, 0, 1).astype(np.float32)
    x_cct = convert_space(sdr, 'Rec1886', 'ACEScct')
    whole = Reconstructor(run, tile=0)(sdr)
    res = np.abs(whole - x_cct).mean()
    assert res > 1e-3                                            # the model does change its input
    exact = Reconstructor(run, tile=240)
    d = np.abs(exact(sdr) - whole)
    plan = exact.describe()['tiles']['plan']
    print(f'residual {res:.2e}; exact tiles {plan}: max |tiled - whole| {d.max():.2e}')
    assert plan['blend'] == 'cut' and plan['grid'] == 8 and plan['overlap'] >= 2 * plan['receptive_radius']
    assert d.max() < 2e-4, d.max()                               # float rounding, spread evenly: no seams (measured 4e-5)
    cols = d.max((0, 2))                                         # the tiles' owned parts meet at columns 160..168
    assert cols[150:180].max() < 3 * np.median(cols) + 1e-6, (cols[150:180].max(), np.median(cols))
    rel = {}
    for ns in ('tile', 'frame'):                                 # the cheaper ways: an explicit overlap of 24 px, ramps
        gd = np.abs(Reconstructor(run, tile=160, overlap=24, norm_stats=ns)(sdr) - whole)
        rel[ns], rel[ns + '_max'] = gd.mean() / res, gd.max()
    print('overlap 24 (ramps), tiled vs whole, mean |diff| / mean residual:', rel)
    assert rel['frame'] < 0.6 * rel['tile'], rel                 # the frame's statistics: closer
    assert min(rel['tile_max'], rel['frame_max']) > 100 * d.max(), rel   # both far from the exact tiles (1600x)
    big = Reconstructor(run)                                     # tile 'auto': 512 px on the grid, frame fits: whole
    assert np.array_equal(big(sdr), whole) and big.describe()['tiles']['plan'] is None
    with pytest.raises(ValueError, match=r"use tile >= 168"):
        Reconstructor(run, tile=96)(sdr)


def test_tiled_hdrtvnet_matches_whole_frame(tmp_path):
    "HDRTVNet (AGCM + LE): the whole frame's condition vector in every tile, the LE's receptive field in the overlap."
    run = _fake_run(tmp_path / 'run', model={'name': 'hdrtvnet-agcm-le', 'nf': 16, 'le_nf': 16, 'le_blocks': 2},
                    out_std=0.02)
    sdr = np.random.default_rng(1).uniform(0.05, 0.95, (2, 97, 155, 3)).astype(np.float32)
    sdr[:, :, 80:] *= 0.3                                        # the halves differ: per-tile conditions would show
    whole = Reconstructor(run, tile=0)(sdr)
    tiled = Reconstructor(run, tile=64)
    d = np.abs(tiled(sdr) - whole).max()
    plan = tiled.describe()['tiles']['plan']
    assert plan['grid'] == 2 and plan['receptive_radius'] == 13 and d < 1e-5, (plan, d)
    per_tile = Reconstructor(run, tile=64, overlap=8)              # ramps over 8 px, still the frame's condition
    assert np.abs(per_tile(sdr) - whole).max() > 100 * max(d, 1e-7)


def test_run_dir_renderer_mismatch_and_export(tmp_path):
    run = _fake_run(tmp_path / 'run', sdr_from='naive')
    sdr = np.full((1, 24, 32, 3), 0.4, np.float32)
    with pytest.raises(ValueError, match=r"trained on SDR from renderer 'naive' but renderer 'aces2-sdr'.*--force"):
        Reconstructor(run, renderer='aces2-sdr')
    with pytest.warns(UserWarning, match='forced'):
        forced = Reconstructor(run, renderer='aces2-sdr', force=True)
    assert forced.notes and forced.renderer.name == 'aces2-sdr'
    own = Reconstructor(run)                                   # the run's own renderer by default
    assert own.renderer.name == 'naive' and own.describe()['checkpoint_sha256']
    f = export_model(run, tmp_path / 'model.pt')
    raw = torch.load(f, weights_only=True)                     # self-describing, no code
    assert raw['format'] == 'sdr2log-model' and raw['data']['sdr_from'] == 'naive' and raw['model']['name'] == 'unet-cct'
    m, desc = load_model_file(f)
    assert desc['source']['checkpoint'] == 'best@psnr_acescct.pt'
    from_file = Reconstructor(f)
    assert from_file.renderer.name == 'naive'
    np.testing.assert_allclose(from_file(sdr), own(sdr), atol=1e-6)
    with pytest.raises(ValueError, match="trained on SDR from renderer 'naive'"):
        Reconstructor(f, renderer='aces2-sdr')
    (tmp_path / 'junk.pt').write_bytes(b'no')
    with pytest.raises(ValueError, match='not a loadable sdr2log checkpoint'):
        Reconstructor(tmp_path / 'junk.pt')
    r = subprocess.run([BIN / 'sdr2log', 'export', str(run), str(tmp_path / 'cli.pt')], capture_output=True, text=True)
    assert r.returncode == 0 and Path(r.stdout.strip()) == tmp_path / 'cli.pt'


def _seq(d: Path, n: int, size=(32, 48), name='s', alpha=False):
    d.mkdir(parents=True)
    rng = np.random.default_rng(n)
    for k in range(n):
        a = np.clip(0.3 + 0.4 * rng.random(size + (3,)), 0, 1)
        if alpha:
            a16 = np.concatenate([np.round(a * 65535), np.full(size + (1,), 65535)], -1).astype(np.uint16)
            (d / f'{name}.{k:04d}.png').write_bytes(imagecodecs.png_encode(a16))
        else: write_png(d / f'{name}.{k:04d}.png', a, bits=16)
    return d


def test_refuses_existing_outputs_then_resumes_after_a_kill(tmp_path):
    src = _seq(tmp_path / 'shot', 24, size=(48, 64), name='shot')
    out = tmp_path / 'out'
    cmd = [str(BIN / 'sdr2log'), 'reconstruct', 'inverse', str(src), '--out', str(out), '--batch', '1', '--workers', '1',
           '--no-progress']
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while time.time() - t0 < 120 and p.poll() is None:
        if len(list((out / 'shot').glob('shot.*.exr'))) >= 5: break
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL); p.wait()
    done = sorted((out / 'shot').glob('shot.*.exr'))
    assert 5 <= len(done) < 24, len(done)
    for f in done: read_image(f)                                 # every file at its final name is complete
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 2 and f"{done[0]} exists" in r.stderr and '--resume' in r.stderr
    r = subprocess.run(cmd + ['--resume'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    man = json.loads((out / 'reconstruct.json').read_text())['inputs'][0]
    assert man['kept_existing'] >= len(done) and man['kept_existing'] + man['written'] == 24
    files = sorted(p.name for p in (out / 'shot').iterdir())
    assert files == [f'shot.{k:06d}.exr' for k in range(24)]    # no temporary file left behind
    clean = reconstruct('inverse', [src], tmp_path / 'clean', progress=False)
    assert clean['inputs'][0]['written'] == 24
    for k in (0, 12, 23):                                         # the same path: the resumed frames equal a clean run
        np.testing.assert_array_equal(read_image(out / 'shot' / f'shot.{k:06d}.exr'),
                                      read_image(tmp_path / 'clean' / 'shot' / f'shot.{k:06d}.exr'))
    with pytest.raises(ValueError, match='other settings'):
        reconstruct('inverse', [src], out, resume=True, output_space='ACEScg', progress=False)
    again = reconstruct('inverse', [src], out, overwrite=True, progress=False)
    assert again['inputs'][0]['written'] == 24 and again['inputs'][0]['kept_existing'] == 0


def _corrupt_packet(src: Path, dst: Path, index: int):
    import av
    with av.open(str(src)) as c:
        pk = [(p.pts, p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]
    data = bytearray(src.read_bytes())
    _, pos, size = sorted(pk)[index]
    data[pos + 4:pos + size] = np.random.default_rng(0).integers(0, 256, size - 4, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))


def test_corrupt_frame_mid_video(footage, tmp_path):
    frames = [footage['sdr'][k % N] for k in range(12)]
    write_video(tmp_path / 'good.mp4', frames, options={'g': '4'})
    _corrupt_packet(tmp_path / 'good.mp4', tmp_path / 'bad.mp4', 8)   # a keyframe (g=4): its GOP's frames fail too
    with pytest.raises(ValueError, match=r"bad\.mp4: frame 8: cannot decode.*--skip-bad"):
        reconstruct('inverse', [tmp_path / 'bad.mp4'], tmp_path / 'o1', progress=False)
    man = reconstruct('inverse', [tmp_path / 'bad.mp4'], tmp_path / 'o2', skip_bad=True, progress=False)
    r = man['inputs'][0]
    assert 8 in r['skipped_bad'] and r['written'] + len(r['skipped_bad']) == 12
    written = sorted(int(p.name.split('.')[1]) for p in (tmp_path / 'o2' / 'bad').glob('*.exr'))
    assert set(written) | set(r['skipped_bad']) == set(range(12)) and 7 in written
    assert json.loads((tmp_path / 'o2' / 'reconstruct.json').read_text())['inputs'][0]['skipped_bad'] == r['skipped_bad']


def test_bad_inputs_are_named(tmp_path, footage):
    write_video(tmp_path / 'pq.mp4', footage['sdr'][:2], tags={'color_trc': 16})
    with pytest.raises(ValueError, match=r'pq\.mp4.*PQ.*HDR, not SDR'):
        reconstruct('inverse', [tmp_path / 'pq.mp4'], tmp_path / 'o', progress=False)
    with pytest.raises(FileNotFoundError, match='no such input'):
        reconstruct('inverse', [tmp_path / 'missing.mov'], tmp_path / 'o', progress=False)
    (tmp_path / 'junk.mkv').write_bytes(b'\x00' * 4096)
    with pytest.raises(ValueError, match=r'junk\.mkv: cannot open as a video'):
        reconstruct('inverse', [tmp_path / 'junk.mkv'], tmp_path / 'o', progress=False)
    (tmp_path / 'x.gif').write_bytes(b'GIF89a')
    with pytest.raises(ValueError, match=r"x\.gif: unsupported input '\.gif'"):
        reconstruct('inverse', [tmp_path / 'x.gif'], tmp_path / 'o', progress=False)
    from sdr2log.io import write_exr
    write_exr(tmp_path / 'lin.exr', np.ones((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r'lin\.exr: EXR holds scene-linear light, not an SDR render'):
        reconstruct('inverse', [tmp_path / 'lin.exr'], tmp_path / 'o', progress=False)
    seq = _seq(tmp_path / 'seq', 4)
    (seq / 's.0002.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 20)    # a truncated frame in the middle
    with pytest.raises(ValueError, match=r's\.0002\.png.*--skip-bad'):
        reconstruct('inverse', [seq], tmp_path / 'o3', progress=False)
    man = reconstruct('inverse', [seq], tmp_path / 'o4', skip_bad=True, progress=False)
    assert man['inputs'][0]['skipped_bad'] == [2] and man['inputs'][0]['written'] == 3
    with pytest.raises(ValueError, match='unknown renderer'):
        reconstruct('inverse', [seq], tmp_path / 'o5', renderer='filmic', progress=False)


def test_alpha_is_dropped_and_said_once(tmp_path):
    seq = _seq(tmp_path / 'rgba', 3, alpha=True, name='rgba')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        man = reconstruct('inverse', [seq], tmp_path / 'o', progress=False)
    said = [x for x in w if 'alpha channel dropped' in str(x.message)]
    assert len(said) == 1 and man['inputs'][0]['alpha_dropped'] and man['inputs'][0]['written'] == 3


def test_no_space_left_removes_the_partial_file(tmp_path, monkeypatch):
    import tifffile
    seq = _seq(tmp_path / 'seq', 3)
    real, calls = tifffile.imwrite, []
    def full_disk(path, *a, **k):
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b'II*\x00' + b'\x00' * 100)         # a partial file, then the disk is full
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real(path, *a, **k)
    monkeypatch.setattr(tifffile, 'imwrite', full_disk)
    with pytest.raises(OSError, match='no space left on the device.*partial file was removed.*--resume'):
        reconstruct('inverse', [seq], tmp_path / 'o', output_space='LogC3', workers=1, batch=1, progress=False)
    left = sorted(p.name for p in (tmp_path / 'o' / 'seq').iterdir())
    assert all(not n.startswith('.') for n in left) and 's.000001.tif' not in left, left
    for n in left: read_image(tmp_path / 'o' / 'seq' / n)


def test_outputs_spaces_and_containers(tmp_path, footage):
    d = footage['dir']
    man = reconstruct('inverse', [d / 'png16'], tmp_path / 'cct', output_space='ACEScct', clip=True, progress=False)
    img, meta = read_image(tmp_path / 'cct' / 'png16' / 'png16.000000.tif', return_meta=True)
    assert (meta['format'], meta['bits'], meta['sample']) == ('tiff', 16, 'uint') and man['output']['format'] == 'tiff'
    ok = footage['ok'][0]
    assert np.median(np.abs(img - footage['gt'][0])[ok]) < 0.002
    reconstruct('inverse', [d / 'png16'], tmp_path / 'cg', output_space='ACEScg', progress=False)
    assert read_image(tmp_path / 'cg' / 'png16' / 'png16.000000.exr', return_meta=True)[1]['colorspace'] == 'ACEScg'
    reconstruct('inverse', [d / 'png16'], tmp_path / 'lc', output_space='LogC3', float_out=True, progress=False)
    lc, meta = read_image(tmp_path / 'lc' / 'png16' / 'png16.000000.tif', return_meta=True)
    assert meta['bits'] == 32
    np.testing.assert_allclose(convert_space(lc, 'LogC3', 'ACEScct'), img, atol=2e-4)


def test_temporal_blend_streams_in_order(footage, tmp_path):
    d = footage['dir']
    plain = reconstruct('inverse', [d / 'h264.mp4'], tmp_path / 'plain', progress=False)
    blend = reconstruct('inverse', [d / 'h264.mp4'], tmp_path / 'blend', temporal=0.6, progress=False)
    assert blend['settings']['temporal'] == 0.6 and blend['inputs'][0]['written'] == N == plain['inputs'][0]['written']
    f0 = [read_image(tmp_path / k / 'h264' / 'h264.000000.exr') for k in ('plain', 'blend')]
    np.testing.assert_allclose(f0[0], f0[1], rtol=2e-3, atol=1e-5)   # no history: equal up to half-float rounding
                                                                     # (the blend path goes through ACEScct)
    diffs = [np.abs(read_image(tmp_path / 'plain' / 'h264' / f'h264.{k:06d}.exr') -
                    read_image(tmp_path / 'blend' / 'h264' / f'h264.{k:06d}.exr')).mean() for k in range(1, N)]
    assert max(diffs) > 0                                          # later frames are blended with their history
    e_plain, e_blend = _errors(tmp_path / 'plain', 'h264', footage), _errors(tmp_path / 'blend', 'h264', footage)
    assert e_blend[0] < BUDGET['h264'][0], (e_plain, e_blend)


RSS_SCRIPT = r'''
import sys, tempfile
from pathlib import Path
from sdr2log.reconstruct import reconstruct
opts = dict(progress=False, batch=4, output_space='LogC3', clip=True)
reconstruct('inverse', [sys.argv[3]], tempfile.mkdtemp(), **opts)   # warm-up: renderer setup (OpenColorIO, LUTs) peaks here
Path('/proc/self/clear_refs').write_text('5')                       # reset the peak RSS (VmHWM) to the current RSS
reconstruct('inverse', [sys.argv[1]], sys.argv[2], **opts)
print(next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM')).split()[1])
'''


def test_memory_bounded_300_vs_30_frames(tmp_path):
    size = (120, 200)
    rng = np.random.default_rng(0)
    base = np.clip(0.2 + 0.6 * rng.random(size + (3,)), 0, 1).astype(np.float32)
    for n in (30, 300): write_video(tmp_path / f'c{n}.mp4', (np.roll(base, k, 1) for k in range(n)), crf=30)
    rss = {}
    for n in (30, 300):
        r = subprocess.run([sys.executable, '-c', RSS_SCRIPT, str(tmp_path / f'c{n}.mp4'), str(tmp_path / f'o{n}'),
                            str(tmp_path / 'c30.mp4')],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        rss[n] = int(r.stdout.split()[-1])
        assert len(list((tmp_path / f'o{n}' / f'c{n}').glob('*.tif'))) == n
    held = 300 * size[0] * size[1] * 3 * 4 / 1024                  # KiB a clip held in float32 would add
    print('peak RSS KiB', rss, 'a held clip would add', held)
    assert rss[300] <= 1.10 * rss[30], rss
    assert held > 0.1 * rss[30]                                   # the test could see a held clip (peak after setup)


def test_torchrun_two_gloo_processes_split_frames(footage, tmp_path):
    d = footage['dir']
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([BIN / 'torchrun', '--standalone', '--nproc_per_node=2', str(BIN / 'sdr2log'), 'reconstruct',
                        'inverse', str(d / 'h264.mp4'), str(d / 'png16'), '--out', str(tmp_path / 'dist'), '--no-progress'],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    man = json.loads((tmp_path / 'dist' / 'reconstruct.json').read_text())
    assert man['options']['world_size'] == 2
    assert {x['name']: (x['frames'], x['written']) for x in man['inputs']} == {'h264': (N, N), 'png16': (N, N)}
    single = reconstruct('inverse', [d / 'h264.mp4', d / 'png16'], tmp_path / 'one', progress=False)
    assert single['timings']['frames_written'] == 2 * N
    for name in ('h264', 'png16'):
        for k in range(N):
            a = read_image(tmp_path / 'dist' / name / f'{name}.{k:06d}.exr')
            b = read_image(tmp_path / 'one' / name / f'{name}.{k:06d}.exr')
            np.testing.assert_allclose(a, b, atol=1e-3, rtol=1e-3)   # other process, other thread split: same to half-float


def test_other_codecs_mkv_ffv1_prores_hevc(footage, tmp_path):
    "Matroska (no stored frame count), FFV1 10-bit 4:4:4 (lossless), ProRes 4:2:2 10-bit and HEVC decode right."
    sdr = footage['sdr']
    clips = {'ffv1': write_video(tmp_path / 'ffv1.mkv', sdr, codec='ffv1', pix_fmt='yuv444p10le'),
             'prores': write_video(tmp_path / 'prores.mov', sdr, codec='prores_ks', pix_fmt='yuv422p10le'),
             'hevc': write_video(tmp_path / 'hevc.mkv', sdr, codec='libx265', pix_fmt='yuv420p10le', crf=12,
                                 options={'x265-params': 'log-level=error'})}
    man = reconstruct('inverse', list(clips.values()), tmp_path / 'o', progress=False)
    assert {r['name']: r['written'] for r in man['inputs']} == {k: N for k in clips}
    errs = {k: _errors(tmp_path / 'o', k, footage) for k in clips}
    print('ACEScct |error| (median, p99):', errs)
    # measured (median, p99): ffv1 2.0e-4 / 1.9e-3 (lossless 10-bit: only Y'CbCr rounding); prores 1.0e-3 / 0.044
    # (4:2:2 chroma); hevc 10-bit 4:2:0 crf 12: 1.9e-3 / 0.071
    assert errs['ffv1'][0] < 6e-4 and errs['ffv1'][1] < 6e-3, errs
    assert errs['prores'][0] < 3e-3 and errs['hevc'][0] < 5e-3, errs


def test_lut_renderer_and_model_file_embedding_it(tmp_path):
    "--renderer lut:PATH.cube for a baseline; a run trained on a LUT exports the LUT inside the model file."
    from sdr2log.lut import bake_lut, write_cube
    nv = get_renderer('naive')
    cube = write_cube(tmp_path / 'naive33.cube', bake_lut(lambda g: np.asarray(nv(np.asarray(g, np.float32)), np.float64),
                                                          size=33, title='naive as a LUT'))
    x = np.random.default_rng(0).uniform(0.25, 0.45, (1, 32, 32, 3)).astype(np.float32)
    sdr = nv(x)
    via_lut, exact = Reconstructor('inverse', renderer=f'lut:{cube}'), Reconstructor('inverse', renderer='naive')
    assert via_lut.describe()['renderer'] == f'lut:{cube}'
    assert np.median(np.abs(via_lut(sdr) - exact(sdr))) < 2e-3      # (pixels the render clipped have no unique inverse)
    run = _fake_run(tmp_path / 'run', sdr_from='lut')
    cfg = yaml.safe_load((run / 'config' / 'config.yaml').read_text())
    cfg['data']['sdr_lut_path'] = str(cube); (run / 'config' / 'config.yaml').write_text(yaml.safe_dump(cfg))
    f = export_model(run, tmp_path / 'm.pt')
    from_run = Reconstructor(run)(sdr)
    moved = cube.rename(tmp_path / 'elsewhere.cube')               # the model file does not need the .cube any more
    rec = Reconstructor(f)
    assert rec.renderer.name == 'lut'
    np.testing.assert_allclose(rec(sdr), from_run, atol=1e-6)
    with pytest.raises(ValueError, match="trained on SDR from renderer 'lut:"):
        Reconstructor(f, renderer='naive')
    assert Reconstructor(f, renderer=f'lut:{moved}').renderer.name == 'lut'    # the same LUT by content: accepted


def test_named_inverse_keeps_the_case_of_its_lut_path(tmp_path):
    "`inverse:lut:/Path/With/Capitals.cube`: the baseline name is not lower-cased (the path would not exist)."
    from sdr2log.lut import bake_lut, write_cube
    nv = get_renderer('naive')
    d = tmp_path / 'LUTs' / 'Show'; d.mkdir(parents=True)
    cube = write_cube(d / 'Naive33.cube', bake_lut(lambda g: np.asarray(nv(np.asarray(g, np.float32)), np.float64), size=33))
    sdr = nv(np.random.default_rng(1).uniform(0.25, 0.45, (1, 16, 16, 3)).astype(np.float32))
    named = Reconstructor(f'inverse:lut:{cube}')
    assert named.describe()['method'] == f'inverse:lut:{cube}'
    np.testing.assert_allclose(named(sdr), Reconstructor('inverse', renderer=f'lut:{cube}')(sdr), atol=1e-6)
    out = reconstruct(f'inverse:lut:{cube}', [write_png(tmp_path / 'f.png', sdr[0], bits=16)], tmp_path / 'out')
    assert (tmp_path / 'out' / 'f.exr').is_file() and out


def test_renderer_blind_run_accepts_each_renderer_of_its_mixture(tmp_path):
    "A run trained on a mixture (data.sdr_from a list) takes SDR of any of them; others need --force; default: the first."
    run = _fake_run(tmp_path / 'run', sdr_from=['aces1-sdr', 'naive'])
    assert Reconstructor(run).renderer.name == 'aces1-sdr'
    assert Reconstructor(run, renderer='naive').renderer.name == 'naive'
    with pytest.raises(ValueError, match=r"renderer 'aces1-sdr' \+ 'naive' but renderer 'aces2-sdr'"):
        Reconstructor(run, renderer='aces2-sdr')
    f = export_model(run, tmp_path / 'm.pt')
    assert torch.load(f, weights_only=True)['data']['sdr_from'] == ['aces1-sdr', 'naive']
    assert Reconstructor(f, renderer='naive').renderer.name == 'naive'


def test_autocast_path_bf16_on_cpu(tmp_path):
    """The autocast path trained models take on CUDA (bf16), exercised on the CPU with an explicit amp='bf16': the same
    code under torch.autocast, float32 out, within bf16's precision of the float32 result; tiles included."""
    run = _fake_run(tmp_path / 'run', out_std=0.02, depth=3)
    sdr = np.random.default_rng(2).uniform(0.05, 0.95, (1, 120, 200, 3)).astype(np.float32)
    fp32 = Reconstructor(run, tile=0)
    assert fp32.describe()['autocast'] is None                       # the CPU default: float32 (True means CUDA only)
    ref = fp32(sdr)
    for tile in (0, 176):
        bf = Reconstructor(run, amp='bf16', tile=tile)
        out = bf(sdr)
        assert bf.describe()['autocast'] == 'bfloat16' and out.dtype == np.float32
        d = np.abs(out - ref)
        assert 0 < d.max() < 0.03 and d.mean() < 3e-3, (tile, d.max(), d.mean())   # bf16: 8 bits of mantissa


def test_run_model_options_at_inference(tmp_path):
    "RUN_DIR[key=value]: a run's model options changed at inference (code consistency off, or widened for lossy video)."
    run = _fake_run(tmp_path / 'run', model={'name': 'unet-linear', 'width': 8, 'depth': 2, 'prior': 'aces2-sdr',
                                              'consistency': {'bits': 8}}, out_std=0.02)
    rng = np.random.default_rng(0)
    sdr = np.round(np.clip(0.3 + 0.3 * rng.random((1, 24, 32, 3)), 0, 1) * 255).astype(np.float32) / 255
    rec = Reconstructor(run)
    assert rec.model.consistency is not None and 'model_overrides' not in rec.describe()
    off = Reconstructor(f'{run}[consistency=null]')
    assert off.model.consistency is None and off.info['model_overrides'] == {'consistency': None}
    wide = Reconstructor(f'{run}[consistency={{slack: 4}}]')
    assert wide.model.consistency.slack == 4.0
    a, b = rec(sdr[0]), off(sdr[0])
    assert np.abs(a - b).max() > 1e-4                          # the perturbed net leaves some cells; the consistency moves it
    with pytest.raises(ValueError, match=r'consistency.slack: codes of tolerance'):
        Reconstructor(f'{run}[consistency={{slack: -1}}]')
    f = export_model(run, tmp_path / 'm.pt')
    with pytest.raises(ValueError, match=r'apply to a run directory'):
        Reconstructor(f'{f}[consistency=null]')


def test_mixture_model_decodes_footage_as_it_was_trained(tmp_path):
    "A model trained on a renderer mixture (BT.1886 and BT.709-OETF codes) decodes any footage one way, the training's:"
    "told the footage is naive SDR, it still decodes BT.1886; its exported file keeps that."
    run = _fake_run(tmp_path / 'run', sdr_from=['aces2-sdr', 'naive'],
                    model={'name': 'unet-linear', 'width': 8, 'depth': 2, 'prior': ['aces2-sdr', 'naive'],
                           'sdr_space': 'Rec1886'}, out_std=0.0)
    sdr = np.round(np.linspace(0.1, 0.9, 24 * 32 * 3).reshape(24, 32, 3) * 255).astype(np.float32) / 255
    for spec in (run, export_model(run, tmp_path / 'm.pt')):
        rec = Reconstructor(spec, renderer='naive')
        assert rec.sdr_space == 'Rec1886' and rec.describe()['sdr_space'] == 'Rec1886'
        x = torch.from_numpy(convert_space(sdr, 'Rec1886', 'ACEScct')).permute(2, 0, 1)[None]
        with torch.no_grad(): want = rec.model(x)[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(rec(sdr), want, atol=1e-4)   # the network sees the codes decoded as in training
    assert Reconstructor(_fake_run(tmp_path / 'nv', sdr_from='naive')).sdr_space == 'Rec709'   # one renderer: its own
