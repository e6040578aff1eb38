"The exact-SDR cache (data.sdr_cache) and renderer mixtures (a list data.sdr_from) of sdr2log.data; files in tmp_path."
import os
import numpy as np, pytest, torch
from sdr2log.color import convert_space
from sdr2log.io import read_image, write_tiff
from sdr2log.testing import assert_paths_agree, code_step
from sdr2log.data import PairDataset, build_dataloader, data_config, sdr_cache_key, cached_sdr
from test_data import make_tree, cfg_for


@pytest.fixture
def tree(tmp_path): return make_tree(tmp_path / 'data', n_seq=3, n_frames=4)


def draws(dl):
    return [(m['index'], m['crop'], m['flip'], m['exposure_stops'], m['renderer_name']) for b in dl for m in b['meta']]


def test_mixture_seeded_same_with_workers(tree):
    cfg = cfg_for(tree, sdr_from=['naive', 'film-sdr', 'aces1-sdr'], sdr_weights=[2, 1, 1], split_cache=False)
    a = list(build_dataloader(cfg, 'train'))
    cfg['data']['num_workers'] = 2
    b = list(build_dataloader(cfg, 'train'))
    assert draws(a) == draws(b)
    for x, y in zip(a, b): assert torch.equal(x['sdr'], y['sdr']) and torch.equal(x['hdr'], y['hdr'])
    ds = PairDataset(cfg, 'train')
    names = [ds[(e, i)]['meta']['renderer_name'] for e in range(8) for i in range(len(ds))]
    assert set(names) == {'naive', 'film-sdr', 'aces1-sdr'}                   # every renderer of the mixture is drawn
    assert names.count('naive') > names.count('film-sdr')                   # weights 2:1:1 (32 draws)
    for e in range(2):                                                       # each sample is its renderer's pair
        for i in range(len(ds)):
            s = ds[(e, i)]; m = s['meta']; r = ds.renderers[m['renderer_index']]
            assert r.name == m['renderer_name'] and m['renderer'] == r.config
            assert ds.renderer_names[m['renderer_index']] == m['renderer_name']


def test_mixture_decodes_every_sample_one_way(tree):
    "naive SDR is BT.709-OETF coded, film-sdr BT.1886: mixed, both are decoded as BT.1886 (or as data.sdr_decode says)."
    from sdr2log.render import get_renderer
    for decode, want in ((None, 'Rec1886'), ('Rec709', 'Rec709')):
        cfg = cfg_for(tree, sdr_from=['naive', 'film-sdr'], sdr_decode=decode, augment={'exposure_stops': None, 'hflip': False})
        ds = PairDataset(cfg, 'train')
        assert ds.sdr_space == want == PairDataset(cfg, 'val').sdr_space
        seen = set()
        for e, i in ((e, i) for e in range(6) for i in range(len(ds))):
            s = ds[(e, i)]; m = s['meta']; y0, x0, h, w = m['crop']; seen.add(m['renderer_name'])
            codes = get_renderer(m['renderer_name'], exact=True)(read_image(m['paths'][0], crop=(y0, x0, h, w)))
            np.testing.assert_allclose(s['sdr'].permute(1, 2, 0).numpy(), convert_space(codes, want, 'ACEScct'), atol=1e-5)
        assert seen == {'naive', 'film-sdr'}


def test_mixture_eval_renderer_and_errors(tree):
    cfg = cfg_for(tree, sdr_from=['aces1-sdr', 'naive'])
    assert PairDataset(cfg, 'val').renderer_names == ['aces1-sdr'] == PairDataset(cfg, 'test').renderer_names
    cfg['data']['eval_renderer'] = 'naive'
    v = PairDataset(cfg, 'val')
    assert v.renderer_names == ['naive'] and v[0]['meta']['renderer_name'] == 'naive' and v.renderer.name == 'naive'
    bad = [({'sdr_from': ['naive', 'bogus']}, ValueError, "data.sdr_from: entry 'bogus'"),
           ({'sdr_from': []}, ValueError, 'data.sdr_from: expected a renderer name or a non-empty list'),
           ({'sdr_from': ['naive', 3]}, TypeError, 'data.sdr_from: entry int 3'),
           ({'sdr_from': ['naive', 'film-sdr'], 'sdr_weights': [1, 2, 3]}, ValueError, 'data.sdr_weights: expected 2 positive numbers'),
           ({'sdr_from': ['naive', 'film-sdr'], 'sdr_weights': [1, 0]}, ValueError, 'data.sdr_weights: expected positive'),
           ({'sdr_from': ['naive', 'film-sdr'], 'sdr_weights': 'equal'}, TypeError, 'data.sdr_weights: expected a list'),
           ({'sdr_from': ['naive', 'lut']}, ValueError, 'data.sdr_lut_path: required'),
           ({'eval_renderer': 'nope'}, ValueError, 'data.eval_renderer'),
           ({'sdr_decode': 'ACEScct'}, ValueError, "data.sdr_decode: expected one of ['Rec1886', 'Rec709', 'sRGB']"),
           ({'sdr_cache': 1.5}, TypeError, 'data.sdr_cache'),
           ({'augment': {'exposure_step': 0}}, ValueError, 'data.augment.exposure_step')]
    for patch, exc, msg in bad:
        with pytest.raises(exc, match=msg.replace('(', r'\(').replace('[', r'\[')):
            data_config(cfg_for(tree, **patch))


@pytest.mark.paths
def test_cache_matches_exact_render_both_paths(tree, tmp_path):
    cfg = cfg_for(tree, sdr_from=['aces2-sdr', 'naive'], degradations={'bits': 8}, split_cache=False,
                  train_ratio=1.0, val_ratio=0.0, test_ratio=0, augment={'exposure_step': 0.25})
    ref = list(build_dataloader(cfg, 'train'))                              # exact render per sample, stepped shifts
    cfg['data']['sdr_cache'] = str(tmp_path / 'cache')
    got = list(build_dataloader(cfg, 'train'))                              # entries made as samples need them
    assert draws(got) == draws(ref)
    assert all(m['exposure_stops'] in np.arange(-1, 1.01, 0.25) for b in got for m in b['meta'])
    for bg, br in zip(got, ref):
        assert torch.equal(bg['hdr'], br['hdr'])
        for k, m in enumerate(br['meta']):
            step = code_step('Rec1886', 8)                                   # the mixture's one decode
            assert_paths_agree(bg['sdr'][k], br['sdr'][k], atol=1e-4, rtol=1e-4, step=step, max_step_share=0.01, name='sdr')
    cfg['data'].update(colour_on='device', num_workers=2)                   # workers ship the cached codes
    dev = list(build_dataloader(cfg, 'train', device='cpu'))
    assert draws(dev) == draws(got)
    for bd, bg in zip(dev, got):
        assert_paths_agree(bd['hdr'], bg['hdr'], atol=1e-5, rtol=1e-5, name='hdr')
        assert_paths_agree(bd['sdr'], bg['sdr'], atol=1e-5, rtol=1e-5, step=code_step('Rec1886', 8), max_step_share=0.01, name='sdr')


def test_cache_keyed_by_file_and_renderer_and_rebuilt_when_corrupt(tree, tmp_path, capsys):
    cfg = cfg_for(tree, sdr_cache=True, split_cache=False, train_ratio=1.0, val_ratio=0.0, test_ratio=0)
    ds = PairDataset(cfg, 'train')
    cache = tree / '.sdr2log-cache' / 'sdr'
    assert ds.cache_dir == cache and ds.exposure_grid.tolist() == list(np.round(np.arange(-1, 1.0001, 0.125), 6))
    assert ds.fill_sdr_cache(num_workers=2) == 12 * 17 and len(list(cache.glob('*.npy'))) == 12 * 17
    assert not list(cache.glob('.*'))                                     # no temp files left
    again = PairDataset(cfg, 'train')
    assert len(again.items) == 12
    p = ds.sequences['seq0'][0][1]
    k0 = sdr_cache_key(p, ds.renderer, 0.5)
    x = read_image(p)
    write_tiff(p, np.clip(x * 0.5, 0, 1)); os.utime(p, ns=(1, 1))          # an edited frame: another entry
    k1 = sdr_cache_key(p, ds.renderer, 0.5)
    assert k1 != k0 and not (cache / f'{k1}.npy').exists()
    codes = cached_sdr(cache, p, ds.renderer, 0.5, 'LogC3', 800, (24, 32))
    lin = convert_space(read_image(p), 'LogC3', 'AWG3') * np.float32(2 ** 0.5)
    np.testing.assert_allclose(codes / 65535, ds.renderer(convert_space(lin, 'AWG3', 'LogC3')), atol=1 / 65535)
    f = cache / f'{k1}.npy'
    np.save(f, np.zeros((3, 3, 3), np.uint16))                             # a wrong entry: rebuilt, named
    capsys.readouterr()
    fixed = cached_sdr(cache, p, ds.renderer, 0.5, 'LogC3', 800, (24, 32))
    assert f'corrupt SDR cache entry {f}: it holds uint16 (3, 3, 3)' in capsys.readouterr().err
    np.testing.assert_array_equal(np.asarray(fixed), codes)
    f.write_bytes(b'garbage')
    cached_sdr(cache, p, ds.renderer, 0.5, 'LogC3', 800, (24, 32))
    assert f'corrupt SDR cache entry {f}: unreadable' in capsys.readouterr().err
    val = PairDataset(cfg_for(tree, sdr_cache=True, train_ratio=0.34, val_ratio=0.33, split_cache=False), 'val')
    assert val.fill_sdr_cache() == sum(len(v) for v in val.sequences.values())   # val: no exposure shift, one step
