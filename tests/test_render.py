"The renderer zoo against its references (OpenColorIO), exact SDR through the data pipeline, inverses, bad inputs."
import copy
from pathlib import Path
import numpy as np, pytest, torch
from sdr2log.color import convert_space
from sdr2log.lut import read_cube, write_cube
from sdr2log.render import (RENDERERS, ZOO, OCIORenderer, baked_error, exact_cells, exact_error, film_lut, film_lut_path,
                            get_renderer, render_error)
from sdr2log.synth import synthesize, synth_sequence
from sdr2log.data import build_dataloader, make_pair

CUBE = np.random.default_rng(5).uniform(0, 1, (150_000, 3)).astype(np.float32)   # the whole LogC3 cube, uniformly


@pytest.mark.parametrize('method', ['aces2-sdr', 'aces1-sdr'])
def test_exact_paths_meet_the_spec_on_the_cube(method):
    "p99.9 <= 1 and max <= 2 8-bit codes from OpenColorIO, both exact paths; the baked LUT alone does not."
    r = get_renderer(method)
    fix, direct = exact_error(r, CUBE), render_error(get_renderer(method, exact=True), CUBE)
    assert fix['p99.9'] <= 1 and fix['max'] <= 2, fix
    assert direct['max'] < 1e-3, direct
    assert baked_error(r, CUBE)['p99.9'] > 5                  # the reason the exact path exists


def test_lut_renderers_match_opencolorio_on_the_cube(tmp_path):
    "film-sdr and lut:PATH: apply_lut (numpy and torch) is OpenColorIO applying the same table."
    p = write_cube(tmp_path / 'film.cube', read_cube(film_lut_path()))
    for r in (get_renderer('film-sdr'), get_renderer(f'lut:{p}')):
        for torch_path in (False, True):
            e = render_error(r, CUBE[:100_000], torch_path=torch_path)
            assert e['max'] < 0.05, (r.name, torch_path, e)


def test_fixup_on_pushed_exposure_and_grad():
    "LogC3 above 1 (+1 stop pushes of +8-stop light) comes from OpenColorIO; autograd takes the fix-up path."
    x = np.concatenate([CUBE[:1000], 1 + 0.3 * CUBE[:1000]]).reshape(1, -1, 3)
    r = get_renderer('aces2-sdr', exact=True)
    ref = r.reference(x)
    xt = torch.from_numpy(x).permute(2, 0, 1)[None].clone().requires_grad_()
    y = r(xt)
    assert np.abs(y.detach()[0].permute(1, 2, 0).numpy() - ref).max() * 255 < 1
    y.sum().backward(); assert torch.isfinite(xt.grad).all()
    assert exact_cells().any() and not exact_cells().all()


def test_every_synthetic_frame_is_rendered_exactly(tmp_path):
    "Worker path (make_pair, numpy) and device path (finish, torch) give the reference SDR on every synthetic frame."
    root = tmp_path / 'synth'
    synthesize(root, 3, 2, (48, 80), seed=3)
    base = {'data': {'root': str(root), 'train_ratio': 1.0, 'val_ratio': 0.0, 'test_ratio': 0, 'batch_size': 2,
                     'target_gamut': 'ap1',    # the raw target: it converts back to the (pushed) scene exactly
                     'augment': {'train_crop_size': None, 'hflip': False, 'exposure_stops': [0.5, 1.0]}}}
    for method, paths in (('aces2-sdr', ('worker', 'device')), ('aces1-sdr', ('device',))):
        cfg = copy.deepcopy(base); cfg['data']['sdr_from'] = method
        ref_r = get_renderer(method, exact=True)
        for colour_on in paths:
            cfg['data']['colour_on'] = colour_on
            dl = build_dataloader(cfg, 'train', device='cpu')
            n = 0
            for b in dl:
                for sdr, hdr, m in zip(b['sdr'], b['hdr'], b['meta']):
                    lin = convert_space(hdr.permute(1, 2, 0).numpy(), 'ACEScct', 'AWG3')   # the pushed scene
                    want = ref_r.reference(convert_space(lin, 'AWG3', 'LogC3'))
                    got = convert_space(sdr.permute(1, 2, 0).numpy(), 'ACEScct', 'Rec1886')
                    d = np.abs(got - want).max(-1) * 255
                    assert np.percentile(d, 99.9) <= 1 and d.max() <= 2, (method, colour_on, m['paths'], d.max())
                    n += 1
            assert n == 6


def test_fixup_matches_direct_on_synthetic_frames():
    "The GPU path (LUT + fix-up), run on the CPU, on frames with +10..+14-stop emitters and neon."
    r = OCIORenderer(exact='fixup')
    for i in range(3):
        fr, _ = synth_sequence(0, i, 1, (64, 112))
        lc = convert_space(fr[0], 'AWG3', 'LogC3')
        e = render_error(r, lc, torch_path=True)
        assert e['p99.9'] <= 1 and e['max'] <= 2, (i, e)


@pytest.mark.parametrize('method', ZOO)
def test_inverse_round_trip(method):
    "Each renderer's inverse brings unclipped mid-tones back (clipped highlights come back at the clip)."
    x = convert_space(np.random.default_rng(2).uniform(0.03, 0.6, (2000, 3)), 'AWG3', 'LogC3')
    r = get_renderer(method)
    y = r(x)
    ok = ((y > 0.03) & (y < 0.97)).all(-1)
    assert ok.mean() > 0.5
    assert np.percentile(np.abs(r.inverse(y) - x)[ok], 99) < 1e-2
    white = r.inverse(np.ones((1, 3), np.float32))
    assert np.log2(convert_space(white, 'LogC3', 'AWG3').min() / 0.18) > (2 if method == 'naive' else 5.5)


def test_film_lut_shape():
    "Soft shoulder: display white near +6 stops over grey, monotone, and the packaged table is the generator's."
    stops = np.linspace(-8, 10, 181)
    lc = convert_space(np.repeat(0.18 * 2 ** stops[:, None], 3, 1), 'AWG3', 'LogC3')
    y = get_renderer('film-sdr').reference(lc)[:, 0]
    assert (np.diff(y) >= -1e-6).all()
    assert y[stops <= 5].max() < 0.985 and y[stops >= 6.2].min() > 0.998
    assert np.abs(read_cube(film_lut_path()).table3d - film_lut().table3d).max() < 1e-5
    assert film_lut_path().parent.name == 'luts' and film_lut_path().stat().st_size < 2_000_000


def test_setup_ships_the_lut():
    setup = (Path(__file__).resolve().parents[1] / 'setup.py').read_text()
    assert "'luts/*.cube'" in setup


def test_registry_and_bad_names(tmp_path):
    assert set(RENDERERS) == {'aces2-sdr', 'aces1-sdr', 'film-sdr', 'lut', 'naive'}
    with pytest.raises(ValueError, match="unknown SDR renderer 'filmic'; accepted: aces2-sdr, aces1-sdr"):
        get_renderer('filmic')
    with pytest.raises(FileNotFoundError, match='nope.cube'): get_renderer(f'lut:{tmp_path}/nope.cube')
    with pytest.raises(TypeError, match='names its .cube'): get_renderer(f'lut:{film_lut_path()}', lut='x.cube')
    with pytest.raises(ValueError, match="exact must be True, False or 'fixup'"): get_renderer('aces1-sdr', exact=1.5)
    with pytest.raises(ValueError, match="view 'x' not on display"): OCIORenderer(view='x')
    assert get_renderer('naive', exact=True).name == 'naive'      # exact renderers by construction take the flag


def test_data_config_takes_the_zoo(tmp_path):
    root = tmp_path / 's'
    synthesize(root, 2, 1, (32, 48), seed=1)
    for name in ('aces1-sdr', 'film-sdr', f'lut:{film_lut_path()}'):
        b = next(iter(build_dataloader({'data': {'root': str(root), 'sdr_from': name, 'train_ratio': 1.0,
                                                 'val_ratio': 0.0, 'test_ratio': 0, 'batch_size': 1,
                                                 'augment': {'train_crop_size': 16}}},
                                       'train')))
        assert b['meta'][0]['renderer']['method'] == ('lut' if name.startswith('lut:') else name)
        assert torch.isfinite(b['sdr']).all()
    sdr, _, _ = make_pair(np.full((1, 4, 4, 3), 0.4, np.float32), get_renderer('aces1-sdr', exact=True))
    assert sdr.shape == (1, 4, 4, 3)
