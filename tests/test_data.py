"Integration and bad-input tests for sdr2log.data (every file generated in tmp_path)."
import copy, json
from pathlib import Path
import numpy as np, pytest, torch, tifffile
from sdr2log.color import convert_space, gamut_compress
from sdr2log.io import read_image, write_tiff, write_exr
from sdr2log.lut import identity_lut, write_cube
from sdr2log.render import get_renderer
from sdr2log.testing import assert_paths_agree, code_step
from sdr2log.data import (DATA_DEFAULTS, PairDataset, build_dataloader, collate_pairs, data_config, discover_sequences,
                          load_split, split_counts)

H, W = 24, 32


def lin_frame(rng, h=H, w=W):
    return (rng.random((h, w, 3), np.float32) * 2 ** rng.uniform(-4, 3)).astype(np.float32)


def make_tree(root, n_seq=3, n_frames=3, h=H, w=W, seed=0, compression=None):
    "One folder per sequence of 16-bit LogC3/AWG3 TIFFs."
    rng = np.random.default_rng(seed)
    root = Path(root)
    for s in range(n_seq):
        (root / f'seq{s}').mkdir(parents=True, exist_ok=True)
        for f in range(n_frames):
            write_tiff(root / f'seq{s}' / f'seq{s}_{f:06d}.tif',
                       convert_space(lin_frame(rng, h, w), 'AWG3', 'LogC3', clip=True), compression=compression)
    return root


def cfg_for(root, **kw):
    aug = kw.pop('augment', {})
    d = {'root': str(root), 'sdr_from': 'naive', 'train_ratio': 0.34, 'val_ratio': 0.33, 'clip_len': 2,
         'batch_size': 2, 'augment': {'train_crop_size': 16, **aug}}
    d.update(kw)
    return {'data': d, 'train': {'ignored': True}}


def split_of(root, name, cfg):
    d = data_config(cfg)
    sp = load_split(root, discover_sequences(root), d['train_ratio'], d['val_ratio'], d['split_seed'])
    return next(k for k, v in sp.items() if name in v)


@pytest.fixture
def tree(tmp_path): return make_tree(tmp_path / 'data')


# ---------------------------------------------------------------- pairs are right
@pytest.mark.paths
@pytest.mark.parametrize('method', ['naive', 'aces2-sdr'])
@pytest.mark.parametrize('space_in,space_out', [('ACEScct', 'ACEScct'), ('ACEScg', 'AWG3')])
def test_pair_matches_conversion_and_renderer(tree, method, space_in, space_out):
    cfg = cfg_for(tree, sdr_from=method, space_in=space_in, space_out=space_out, val_crop_size=[12, 20])
    ds = PairDataset(cfg, 'val')
    r = get_renderer(method, exact=True)      # pairs are the exact render (sdr2log.render reference output)
    for i in range(len(ds)):
        b = ds[i]; m = b['meta']
        assert m['crop'] == [6, 6, 12, 20] and m['flip'] is False and m['exposure_stops'] == 0.0
        x = read_image(m['paths'][0])[6:18, 6:26]
        np.testing.assert_allclose(b['hdr'].permute(1, 2, 0).numpy(), gamut_compress(x, 'LogC3', dst=space_out), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(b['sdr'].permute(1, 2, 0).numpy(), convert_space(r(x), r.output_space, space_in), atol=1e-5, rtol=1e-5)
        assert m['spaces'] == {'in': space_in, 'out': space_out, 'input_encoding': 'LogC3'}
        assert m['renderer'] == r.config and m['video_id'] in ds.splits['val']
        json.dumps(m)   # meta is JSON-able


@pytest.mark.paths
def test_exr_scene_linear_input(tmp_path):
    rng = np.random.default_rng(1)
    for s in range(3):
        (tmp_path / f's{s}').mkdir()
        for f in range(2): write_exr(tmp_path / f's{s}' / f's{s}.{f:04d}.exr', lin_frame(rng), 'AWG3')
    cfg = cfg_for(tmp_path, input_encoding='AWG3-linear')
    ds = PairDataset(cfg, 'test')
    b = ds[0]
    lin = read_image(b['meta']['paths'][0])
    np.testing.assert_allclose(b['hdr'].permute(1, 2, 0).numpy(), gamut_compress(lin, 'AWG3', dst='ACEScct'), atol=1e-5)
    logc = convert_space(lin, 'AWG3', 'LogC3')
    np.testing.assert_allclose(b['sdr'].permute(1, 2, 0).numpy(),
                               convert_space(ds.renderer(logc), 'Rec709', 'ACEScct'), atol=1e-5)


def test_exposure_shift_in_scene_linear(tree):
    cfg = cfg_for(tree, space_out='AWG3', augment={'hflip': False, 'exposure_stops': [1.5, 1.5]})
    ds = PairDataset(cfg, 'train')
    b = ds[0]; m = b['meta']
    y, x, h, w = m['crop']
    lin = convert_space(read_image(m['paths'][0], crop=(y, x, h, w)), 'LogC3', 'AWG3')
    assert m['exposure_stops'] == 1.5
    np.testing.assert_allclose(b['hdr'].permute(1, 2, 0).numpy(), gamut_compress(lin * 2 ** 1.5, 'AWG3'), rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- shapes and dtypes
def test_shapes_img_and_vid(tree):
    cfg = cfg_for(tree, clip_len=3)
    for split in ('train', 'val', 'test'):
        ds = PairDataset(cfg, split)
        b = ds[0]
        hw = (16, 16) if split == 'train' else (H, W)
        assert b['sdr'].shape == b['hdr'].shape == (3, *hw)
        assert b['sdr'].dtype == b['hdr'].dtype == torch.float32 and b['sdr'].is_contiguous()
        v = PairDataset(cfg, split, 'vid')[0]
        assert v['sdr_clip'].shape == v['hdr_clip'].shape == (3, 3, *hw)
        assert v['meta']['clip_len'] == 3 and len(v['meta']['paths']) == 3 and v['meta']['frames'] == [0, 1, 2]
    batch = next(iter(build_dataloader(cfg, 'train', 'vid')))
    assert batch['sdr_clip'].shape == (1, 3, 3, 16, 16) and isinstance(batch['meta'], list)


def test_vid_clips_share_crop_and_are_consecutive(tmp_path):
    root = make_tree(tmp_path, n_seq=3, n_frames=5)
    ds = PairDataset(cfg_for(root, clip_len=3, augment={'exposure_stops': None}), 'train', 'vid')
    assert len(ds) == 3                         # 5 frames, clip_len 3, stride 1 in train
    b = ds[1]; m = b['meta']
    y, x, h, w = m['crop']
    for t, p in enumerate(m['paths']):
        raw = read_image(p, crop=(y, x, h, w))
        if m['flip']: raw = raw[:, ::-1]
        np.testing.assert_allclose(b['hdr_clip'][t].permute(1, 2, 0).numpy(), gamut_compress(raw, 'LogC3', dst='ACEScct'), atol=1e-5)
    assert m['frames'] == [1, 2, 3] and m['frame_start'] == 1
    assert len(PairDataset(cfg_for(root, clip_len=3), 'val', 'vid')) == 1   # non-overlapping in val


def test_collate_meta_and_mismatch():
    s = lambda hw, vid: {'sdr': torch.zeros(3, *hw), 'hdr': torch.zeros(3, *hw), 'meta': {'video_id': vid, 'crop': [0, 0, *hw]}}
    b = collate_pairs([s((4, 4), 'a'), s((4, 4), 'b')])
    assert b['sdr'].shape == (2, 3, 4, 4) and b['meta'][1] == {'video_id': 'b', 'crop': [0, 0, 4, 4]}
    with pytest.raises(ValueError, match=r"different shapes .*\['a', 'b'\]"):
        collate_pairs([s((4, 4), 'a'), s((4, 5), 'b')])


# ---------------------------------------------------------------- splits
def test_split_disjoint_by_sequence(tmp_path):
    root = make_tree(tmp_path, n_seq=10, n_frames=2, h=8, w=8)
    cfg = cfg_for(root, train_ratio=0.6, val_ratio=0.2, augment={'train_crop_size': 8})
    ids = {s: {PairDataset(cfg, s)[i]['meta']['video_id'] for i in range(len(PairDataset(cfg, s)))} for s in ('train', 'val', 'test')}
    assert [len(v) for v in ids.values()] == [6, 2, 2]
    assert not (ids['train'] & ids['val'] or ids['train'] & ids['test'] or ids['val'] & ids['test'])
    assert set().union(*ids.values()) == {f'seq{i}' for i in range(10)}
    # another seed, another (still disjoint) split
    sp2 = load_split(root, discover_sequences(root), 0.6, 0.2, seed=5, cache=tmp_path / 'other.json')
    assert sp2 != json.loads((root / 'splits.json').read_text())['splits']


def test_few_sequences_rule(tmp_path):
    assert [split_counts(n) for n in (1, 2, 3, 4, 10)] == [(1, 0, 0), (1, 0, 1), (1, 1, 1), (2, 1, 1), (8, 1, 1)]
    root = make_tree(tmp_path, n_seq=1)
    PairDataset(cfg_for(root, train_ratio=0.8, val_ratio=0.1), 'train')
    with pytest.raises(ValueError, match="split 'val' .* is empty"):
        PairDataset(cfg_for(root, train_ratio=0.8, val_ratio=0.1), 'val')


def test_split_cache_reused_and_stale(tree, tmp_path):
    cfg = cfg_for(tree)
    PairDataset(cfg, 'train')
    cache = tree / 'splits.json'
    doc = json.loads(cache.read_text())
    # reuse: a hand-edited (but current) cache is what is used
    doc['splits'] = {'train': ['seq2'], 'val': ['seq0'], 'test': ['seq1']}
    cache.write_text(json.dumps(doc))
    assert PairDataset(cfg, 'train').splits == doc['splits']
    # stale: a frame added
    write_tiff(tree / 'seq1' / 'seq1_000099.tif', np.full((H, W, 3), 0.4, np.float32))
    with pytest.raises(ValueError, match=r"splits.json: stale split cache: the files changed .*1 file\(s\) added \(e.g. seq1/seq1_000099.tif"):
        PairDataset(cfg, 'train')
    (tree / 'seq1' / 'seq1_000099.tif').unlink()
    assert PairDataset(cfg, 'train').splits == doc['splits']
    # stale: a frame removed
    keep = (tree / 'seq0' / 'seq0_000001.tif').read_bytes()
    (tree / 'seq0' / 'seq0_000001.tif').unlink()
    with pytest.raises(ValueError, match=r"1 file\(s\) removed"): PairDataset(cfg, 'train')
    (tree / 'seq0' / 'seq0_000001.tif').write_bytes(keep)
    # stale: other ratios; rebuild mode warns and rewrites
    cfg2 = cfg_for(tree, train_ratio=0.5, val_ratio=0.5, test_ratio=0)
    with pytest.raises(ValueError, match="it was made with"): PairDataset(cfg2, 'train')
    cfg2['data']['split_stale'] = 'rebuild'
    with pytest.warns(UserWarning, match="stale split cache.*rebuilding"): PairDataset(cfg2, 'train')
    assert json.loads(cache.read_text())['train_ratio'] == 0.5
    # explicit cache path; garbage in it is stale too
    p = tmp_path / 'elsewhere.json'
    PairDataset(cfg_for(tree, split_cache=str(p)), 'train')
    assert p.exists()
    p.write_text('{not json')
    with pytest.raises(ValueError, match="elsewhere.json: stale split cache: not a sdr2log split cache"):
        PairDataset(cfg_for(tree, split_cache=str(p)), 'train')


def test_flat_folder_grouping(tmp_path):
    rng = np.random.default_rng(0)
    names = ['shotA_000001.tif', 'shotA_000002.tif', 'shotB_000007.tif', 'still.tif']
    for n in names: write_tiff(tmp_path / n, convert_space(lin_frame(rng), 'AWG3', 'LogC3', clip=True))
    seqs = discover_sequences(tmp_path)
    assert {k: [p.name for p in v] for k, v in seqs.items()} == {
        'shotA': names[:2], 'shotB': names[2:3], 'still': names[3:]}
    ds = PairDataset(cfg_for(tmp_path), 'train')
    assert ds[0]['meta']['video_id'] in seqs


# ---------------------------------------------------------------- augmentation
def test_flip_and_crop_identical_on_both_sides(tree):
    cfg = cfg_for(tree, augment={'exposure_stops': None})
    ds = PairDataset(cfg, 'train')
    seen = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            b = ds[i]; m = b['meta']
            seen.add(m['flip'])
            raw = read_image(m['paths'][0], crop=tuple(m['crop']))
            if m['flip']: raw = raw[:, ::-1]
            np.testing.assert_allclose(b['hdr'].permute(1, 2, 0).numpy(), gamut_compress(raw, 'LogC3', dst='ACEScct'), atol=1e-5)
            np.testing.assert_allclose(b['sdr'].permute(1, 2, 0).numpy(),
                                       convert_space(ds.renderer(raw), 'Rec709', 'ACEScct'), atol=1e-5)
    assert seen == {True, False}


def test_degradations_seeded_and_recorded(tree):
    cfg = cfg_for(tree, degradations={'bits': 8, 'noise_sigma': 0.02})
    a, b = PairDataset(cfg, 'val')[0], PairDataset(cfg, 'val')[0]
    assert torch.equal(a['sdr'], b['sdr'])
    assert a['meta']['degradations']['applied'] == ['noise', 'quantise8'] and a['meta']['degradations']['bits'] == 8
    clean = PairDataset(cfg_for(tree), 'val')[0]
    assert torch.equal(a['hdr'], clean['hdr']) and not torch.equal(a['sdr'], clean['sdr'])
    v = PairDataset(cfg, 'val', 'vid')[0]
    assert len(v['meta']['degradations']) == 2                     # one record per frame
    assert not torch.equal(v['sdr_clip'][0], v['sdr_clip'][1])


def epoch_of(dl):
    return [(torch.cat([b['sdr'].flatten(), b['hdr'].flatten()]), [(m['index'], m['crop'], m['flip'], m['exposure_stops'])
             for m in b['meta']]) for b in dl]


def test_seeded_epochs_deterministic(tmp_path):
    root = make_tree(tmp_path, n_seq=3, n_frames=6)
    cfg = cfg_for(root, degradations={'noise_sigma': 0.01})
    dl1, dl2 = build_dataloader(cfg, 'train'), build_dataloader(cfg, 'train')
    e1a, e1b = epoch_of(dl1), epoch_of(dl2)
    for (ta, ma), (tb, mb) in zip(e1a, e1b): assert torch.equal(ta, tb) and ma == mb
    e2 = epoch_of(dl1)                                             # the next epoch differs
    assert [m for _, m in e2] != [m for _, m in e1a]
    cfg['data']['seed'] = 1
    assert [m for _, m in epoch_of(build_dataloader(cfg, 'train'))] != [m for _, m in e1a]


class ThreadsDataset(PairDataset):
    "Records the torch thread count and numpy's global draw of the process that made each sample."
    def sample(self, i, epoch=None):
        out = super().sample(i, epoch)
        out['meta'].update(threads=torch.get_num_threads(), np_global=float(np.random.random()))
        return out


def test_two_worker_loader(tmp_path):
    root = make_tree(tmp_path / 'small', n_seq=3, n_frames=8)   # beside big/ below: discovery searches any depth
    cfg = cfg_for(root, num_workers=2)
    dl = build_dataloader(cfg, 'train')
    e_workers = epoch_of(dl)
    cfg0 = copy.deepcopy(cfg); cfg0['data']['num_workers'] = 0
    e_main = epoch_of(build_dataloader(cfg0, 'train'))            # same batches whatever num_workers
    for (ta, ma), (tb, mb) in zip(e_workers, e_main): assert torch.equal(ta, tb) and ma == mb
    idx = [i for _, ms in e_workers for i, *_ in ms]
    assert len(idx) == len(set(idx)) == 8                         # every train sample once (8 frames, bs 2)
    augs = [tuple(m[1]) + (m[3],) for _, ms in e_workers for m in ms]
    assert len(set(augs)) == len(augs)                            # no duplicated augmentation across workers
    # the ACES 2.0 renderer (OpenColorIO thread pool inherited through fork) also runs in workers
    # (crops of >= 2^16 pixels take the threaded OpenColorIO path)
    big = make_tree(tmp_path / 'big', n_seq=3, n_frames=4, h=256, w=256)
    cfg_aces = cfg_for(big, sdr_from='aces2-sdr', num_workers=2, augment={'train_crop_size': 256})
    build_dataloader(cfg_aces, 'train').dataset.renderer(np.full((256, 256, 3), 0.4, np.float32))  # pool made before fork
    assert len(epoch_of(build_dataloader(cfg_aces, 'train'))) == 2
    ds = ThreadsDataset(cfg, 'train')
    td = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate_pairs,
                                     worker_init_fn=dl.worker_init_fn)
    metas = [m for b in td for m in b['meta']]
    assert {m['threads'] for m in metas} == {1}
    assert len({m['np_global'] for m in metas}) == len(metas)     # numpy global RNG differs per worker


@pytest.mark.paths
def test_device_colour_path_two_workers_matches_worker_path(tmp_path):
    "colour_on='device': 2 workers ship uint16 codes, the batch is finished in torch; same batches as the worker path."
    root = make_tree(tmp_path, n_seq=3, n_frames=6, h=40, w=48)
    cfg = cfg_for(root, sdr_from='aces2-sdr', degradations={'bits': 10}, augment={'train_crop_size': 32})
    ref = list(build_dataloader(cfg, 'train'))
    cfg['data'].update(colour_on='device', num_workers=2)
    dl = build_dataloader(cfg, 'train', device='cpu')
    assert type(dl).__name__ == 'DeviceColourLoader' and dl.num_workers == 2 and len(dl) == len(ref)
    got = list(dl)
    assert len(got) == len(ref) == 3
    draws = lambda b: [(m['index'], m['crop'], m['flip'], m['exposure_stops']) for m in b['meta']]
    assert [draws(b) for b in got] == [draws(b) for b in ref]            # the same draws, exactly
    # the same batches to rounding (different kernels: see sdr2log.testing): targets to 1e-5; the 10-bit SDR (decoded
    # into ACEScct) to 1e-5 except where a code rounds the other way, at most 1% of values, by at most one code
    step = code_step(dl.dataset.renderer.output_space, 10)
    for bg, br in zip(got, ref):
        assert_paths_agree(bg['hdr'], br['hdr'], atol=1e-5, rtol=1e-5, name='hdr')
        assert_paths_agree(bg['sdr'], br['sdr'], atol=1e-5, rtol=1e-5, step=step, max_step_share=0.01, name='sdr')
    # the next epoch draws new augmentations on both paths alike
    assert [draws(b) for b in dl] != [draws(b) for b in got]


@pytest.mark.parametrize('deg,key', [({'jpeg_quality': 80}, 'jpeg_quality'), ({'noise_sigma': 0.01}, 'noise_sigma')])
def test_device_colour_path_refuses_cpu_degradations(tree, deg, key):
    with pytest.raises(ValueError, match=rf"data.degradations.{key}=.* needs data.colour_on='worker'"):
        build_dataloader(cfg_for(tree, colour_on='device', degradations=deg), 'train')
    with pytest.raises(ValueError, match=key):          # the dataset refuses deferring them too
        PairDataset(cfg_for(tree, degradations=deg), 'train', defer=True)


# ---------------------------------------------------------------- bad inputs
def test_missing_and_empty_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope: no such folder"): PairDataset(cfg_for(tmp_path / 'nope'))
    (tmp_path / 'empty').mkdir(); (tmp_path / 'empty' / 'readme.txt').write_text('x')
    with pytest.raises(ValueError, match="empty: no frames found"): PairDataset(cfg_for(tmp_path / 'empty'))
    with pytest.raises(ValueError, match="no frames found"):   # EXR tree read as LogC3 TIFF
        (tmp_path / 'e').mkdir(); write_exr(tmp_path / 'e' / 'a.exr', np.ones((4, 4, 3), np.float32), 'AWG3')
        PairDataset(cfg_for(tmp_path / 'e'))


@pytest.mark.parametrize('kind', ['corrupt', 'truncated', 'size'])
def test_bad_frame_named_or_skipped(tree, kind):
    bad = tree / 'seq1' / 'seq1_000001.tif'
    if kind == 'corrupt': bad.write_bytes(b'II*\x00garbage' * 10)
    elif kind == 'truncated': bad.write_bytes(bad.read_bytes()[:1000])
    else: write_tiff(bad, np.full((H, W + 2, 3), 0.4, np.float32))
    cfg = cfg_for(tree)
    split = split_of(tree, 'seq1', cfg)
    with pytest.raises(ValueError, match=r"seq1_000001\.tif"): PairDataset(cfg, split)
    cfg['data']['skip_bad'] = True
    with pytest.warns(UserWarning, match=r"skipping .*seq1_000001\.tif"):
        ds = PairDataset(cfg, split)
    assert [p for p, _ in ds.skipped] == [str(bad)]
    assert all(str(bad) not in ds[i]['meta']['paths'] for i in range(len(ds)))
    assert {len(v) for v in ds.sequences.values()} >= {2}


def test_corrupt_data_behind_valid_header(tree):
    bad = tree / 'seq2' / 'seq2_000000.tif'
    write_tiff(bad, np.random.default_rng(0).random((H, W, 3)).astype(np.float32), compression='deflate')
    with tifffile.TiffFile(bad) as t: off = t.pages[0].dataoffsets[0]
    raw = bytearray(bad.read_bytes()); raw[off:off + 64] = b'\xff' * 64; bad.write_bytes(bytes(raw))
    cfg = cfg_for(tree, val_crop_size=8)
    split = split_of(tree, 'seq2', cfg)
    ds = PairDataset(cfg, split)                                  # header is fine
    i = next(i for i, (n, s) in enumerate(ds.items) if n == 'seq2' and s == 0)
    with pytest.raises(ValueError, match=r"seq2_000000\.tif: cannot read"): ds[i]
    cfg['data']['skip_bad'] = True
    ds = PairDataset(cfg, split)
    with pytest.warns(UserWarning, match=r"skipping sample .*seq2_000000\.tif"):
        b = ds[i]
    assert str(bad) not in b['meta']['paths'] and len(b['meta']['skipped']) == 1 and len(ds.skipped) == 1


def test_crop_larger_than_frame(tree):
    with pytest.raises(ValueError, match=r"crop 64x64 is larger than the 24x32 frames"):
        PairDataset(cfg_for(tree, augment={'train_crop_size': 64}), 'train')


def test_bad_lut(tree, tmp_path):
    lut = tmp_path / 'bad.cube'
    lut.write_text('LUT_3D_SIZE 2\n0 0 0\n1 0 0\nnot numbers here\n')
    with pytest.raises(ValueError, match=r"bad\.cube:\d+"): PairDataset(cfg_for(tree, sdr_from='lut', sdr_lut_path=str(lut)))
    with pytest.raises(FileNotFoundError, match="missing.cube"):
        PairDataset(cfg_for(tree, sdr_from='lut', sdr_lut_path=str(tmp_path / 'missing.cube')))
    good = tmp_path / 'id.cube'; write_cube(good, identity_lut(5))
    ds = PairDataset(cfg_for(tree, sdr_from='lut', sdr_lut_path=str(good)), 'val')
    assert ds[0]['meta']['renderer']['lut'] == str(good)


@pytest.mark.parametrize('patch,msg,exc', [
    ({'augment': {'hflip': 'yes'}}, "data.augment.hflip: expected bool, got 'yes'", TypeError),
    ({'batch_size': 0}, "data.batch_size: expected int >= 1, got 0", ValueError),
    ({'num_workers': 1.5}, "data.num_workers: expected int, got float 1.5", TypeError),
    ({'augment': {'exposure_stops': [1, -1]}}, "data.augment.exposure_stops: expected [low, high]", TypeError),
    ({'augment': {'flip': True}}, "data.augment: unknown key(s) ['flip']", ValueError),
    ({'val_crop_size': [16]}, "data.val_crop_size: expected a positive int or [h, w]", TypeError),
    ({'sdr_from': 'aces'}, "data.sdr_from: unknown SDR renderer 'aces'; accepted: aces2-sdr, aces1-sdr, film-sdr, lut, naive, lut:PATH", ValueError),
    ({'train_ratio': 0.9, 'val_ratio': 0.2}, "data.train_ratio + data.val_ratio must be <= 1", ValueError),
    ({'degradations': {'bits': 12}}, "data.degradations: degradation bits must be None, 8 or 10", ValueError),
    ({'root': None}, "data.root: required", ValueError),
])
def test_config_errors(tree, patch, msg, exc):
    cfg = cfg_for(tree)
    aug = patch.pop('augment', None)
    cfg['data'].update(patch)
    if aug: cfg['data']['augment'].update(aug)
    with pytest.raises(exc) as e: build_dataloader(cfg, 'train')
    assert msg in str(e.value)


def test_defaults_and_bad_split_mode(tree):
    d = data_config({'data': {'root': str(tree)}})
    assert set(d) == set(DATA_DEFAULTS) and d['augment'] == DATA_DEFAULTS['augment'] and d['sdr_from'] == 'aces2-sdr'
    with pytest.raises(ValueError, match="split='training'"): build_dataloader(cfg_for(tree), 'training')
    with pytest.raises(ValueError, match="mode='video'"): build_dataloader(cfg_for(tree), 'train', 'video')


def test_synth_tree_clips(tmp_path):
    from sdr2log import synth
    synth.synthesize(tmp_path, sequences=3, frames=3, size=(32, 48), seed=0)
    ds = PairDataset(cfg_for(tmp_path, sdr_from='aces2-sdr'), 'train', 'vid')
    b = ds[0]
    assert b['sdr_clip'].shape == (2, 3, 16, 16) and torch.isfinite(b['hdr_clip']).all()


# ---------------------------------------------------------------- layouts, grouping, splits (issue: meet users where they are)
def _touch_frames(root, names, rng=None):
    rng = rng or np.random.default_rng(0)
    for n in names:
        p = Path(root) / n; p.parent.mkdir(parents=True, exist_ok=True)
        write_tiff(p, convert_space(lin_frame(rng), 'AWG3', 'LogC3', clip=True))
    return Path(root)


def test_nested_archive_layout_any_depth(tmp_path):
    "root/Clip/TIFF/*.tif (camera and dataset archives) is found; frames_glob selects by pattern."
    from sdr2log.data import discover
    root = _touch_frames(tmp_path / 'arch', [f'{c}/TIFF/{c}_{i:04d}.tif' for c in ('A001', 'B002', 'C003') for i in range(2)]
                         + ['A001/proxy/A001_0000.tif', 'deep/x/y/z/D004_0001.tif'])
    assert {k: len(v) for k, v in discover(root).sequences.items()} == {
        'A001/TIFF': 2, 'A001/proxy': 1, 'B002/TIFF': 2, 'C003/TIFF': 2, 'deep/x/y/z': 1}
    assert sorted(discover(root, frames_glob='*/TIFF/*.tif').sequences) == ['A001/TIFF', 'B002/TIFF', 'C003/TIFF']
    ds = PairDataset(cfg_for(root, frames_glob='*/TIFF/*.tif', split_cache=False), 'all')
    assert len(ds) == 6 and {m.split('/')[0] for m in ds.sequences} == {'A001', 'B002', 'C003'}
    with pytest.raises(TypeError, match="data.frames_glob: expected a glob"): data_config(cfg_for(root, frames_glob=3))
    with pytest.raises(ValueError, match="inside data.root"): data_config(cfg_for(root, frames_glob='../*/*.tif'))


def test_flat_stills_sequence_from(tmp_path):
    "A flat folder of numbered stills is one sequence by name (explained), per frame with sequence_from='none' (warned)."
    root = _touch_frames(tmp_path / 'stills', [f'HdM2023_{i:03d}.tif' for i in range(1, 11)])
    cfg = cfg_for(root, train_ratio=0.8, val_ratio=0.1)
    with pytest.raises(ValueError, match=r"split 'val' .* is empty.*one sequence \('HdM2023'\).*sequence_from='none'"):
        PairDataset(cfg, 'val')
    cfg['data']['sequence_from'] = 'none'               # regrouped: the cache written above is stale, so none here
    cfg['data']['split_cache'] = False
    with pytest.warns(UserWarning, match="per frame, so frames of one shot can land in both train and test"):
        sizes = {s: len(PairDataset(cfg, s)) for s in ('train', 'val', 'test')}
    assert sizes == {'train': 8, 'val': 1, 'test': 1}
    with pytest.raises(ValueError, match="mode='vid' needs sequences"): PairDataset(cfg, 'train', 'vid')
    cfg['data'].update(sequence_from='folder', split_cache=False)
    assert list(PairDataset(cfg, 'all').sequences) == ['stills']
    with pytest.raises(ValueError, match="data.sequence_from: expected one of"): data_config(cfg_for(root, sequence_from='file'))


def test_nothing_dropped_quietly(tmp_path):
    "A folder named like a frame, a hidden frame file: reported (warned, listed in skipped), other files counted."
    from sdr2log.data import discover
    root = make_tree(tmp_path / 'd', n_seq=3, n_frames=2)
    (root / 'seq0' / 'seq0_000009.tif').mkdir()
    write_tiff(root / 'seq1' / '._seq1_000000.tif', np.zeros((4, 4, 3), np.float32))
    (root / 'notes.txt').write_text('x')
    f = discover(root)
    assert sorted((Path(p).name, why.split(' (')[0].split(':')[0]) for p, why in f.skipped) == [
        ('._seq1_000000.tif', "hidden file"), ('seq0_000009.tif', 'a folder named like a frame file')]
    assert f.ignored == {'.txt': 1}
    with pytest.warns(UserWarning, match=r"skipping .*seq0_000009\.tif: a folder named like a frame"):
        ds = PairDataset(cfg_for(root, split_cache=False), 'all')
    assert any('seq0_000009.tif' in p for p, _ in ds.skipped)


def test_test_ratio_required_for_an_empty_test(tree):
    with pytest.raises(ValueError, match=r"data.train_ratio 0.9 \+ data.val_ratio 0.1 leave no test split.*test_ratio: 0"):
        PairDataset(cfg_for(tree, train_ratio=0.9, val_ratio=0.1), 'train')
    ds = PairDataset(cfg_for(tree, train_ratio=0.67, val_ratio=0.33, test_ratio=0), 'train')
    assert ds.splits['test'] == [] and len(ds.splits['train']) == 2
    with pytest.raises(ValueError, match="must be 1"): data_config(cfg_for(tree, test_ratio=0.5))


@pytest.mark.parametrize('policy', ['split', 'raise'])
def test_clips_never_span_a_gap(tmp_path, policy):
    root = _touch_frames(tmp_path / 'g', [f'shot/shot_{i:04d}.tif' for i in (1, 2, 3, 7, 8, 9, 10)] +
                         [f'other/other_{i:04d}.tif' for i in range(4)])
    cfg = cfg_for(root, clip_len=3, frame_gaps=policy, split_cache=False)
    if policy == 'raise':
        with pytest.raises(ValueError, match=r"sequence 'shot' .*a gap in frame numbers: frame shot_0003.tif is followed by shot_0007.tif"):
            PairDataset(cfg, 'all', 'vid')
        return
    for split in ('all',):
        ds = PairDataset(cfg, split, 'vid')
        nums = [[int(Path(p).stem.split('_')[1]) for p in ds[i]['meta']['paths']] for i in range(len(ds))]
        assert all(b == a + 1 for n in nums for a, b in zip(n, n[1:])), nums
    train = PairDataset(dict(cfg, data=dict(cfg['data'], train_ratio=1.0, val_ratio=0.0, test_ratio=0)), 'train', 'vid')
    starts = sorted(tuple(int(Path(p).stem.split('_')[1]) for p in train[i]['meta']['paths']) for i in range(len(train))
                    if train.items[i][0] == 'shot')
    assert starts == [(1, 2, 3), (7, 8, 9), (8, 9, 10)]        # every start in train, none across 3 -> 7


def test_skipped_frames_cut_clips_too(tree):
    "A frame skipped by skip_bad is a gap: no clip joins the frames either side of it."
    bad = tree / 'seq0' / 'seq0_000001.tif'; bad.write_bytes(b'junk')
    cfg = cfg_for(tree, clip_len=2, skip_bad=True, split_cache=False)
    with pytest.warns(UserWarning, match="seq0_000001.tif"):
        ds = PairDataset(cfg, 'all', 'vid')
    assert all(str(bad) not in ds[i]['meta']['paths'] for i in range(len(ds)))
    assert not any(n == 'seq0' for n, _ in ds.items)            # seq0 has frames 0 and 2 left: no 2-frame clip


def test_skip_bad_reported_to_main_process_with_workers(tree):
    "skip_bad with num_workers > 0: the loader copies each batch's skips into the main process's dataset.skipped."
    bad = tree / 'seq2' / 'seq2_000001.tif'
    write_tiff(bad, np.random.default_rng(0).random((H, W, 3)).astype(np.float32), compression='deflate')
    with tifffile.TiffFile(bad) as t: off = t.pages[0].dataoffsets[0]
    raw = bytearray(bad.read_bytes()); raw[off:off + 64] = b'\xff' * 64; bad.write_bytes(bytes(raw))
    cfg = cfg_for(tree, skip_bad=True, num_workers=2, batch_size=1, val_crop_size=8, split_cache=False)
    dl = build_dataloader(cfg, 'all')
    assert type(dl).__name__ == 'PairLoader'
    with pytest.warns(UserWarning, match=r"skipping .*seq2_000001\.tif \(in a loader worker\)"):
        n = sum(len(b['meta']) for b in dl)
    assert n == len(dl.dataset) and [Path(p).name for p, _ in dl.dataset.skipped] == ['seq2_000001.tif']


def test_split_cache_elsewhere_and_read_only_root(tree, tmp_path, monkeypatch):
    import os, stat
    elsewhere = tmp_path / 'caches' / 'split.json'; elsewhere.parent.mkdir()
    sp = PairDataset(cfg_for(tree, split_cache=str(elsewhere)), 'train').splits
    assert elsewhere.exists() and not (tree / 'splits.json').exists()
    mode = tree.stat().st_mode
    os.chmod(tree, stat.S_IRUSR | stat.S_IXUSR)
    if os.access(tree, os.W_OK):            # root writes anyway: make writes into the data root fail as they would
        real = Path.write_text
        def refuse(self, *a, **k):
            if self.parent == tree: raise PermissionError(13, 'Permission denied', str(self))
            return real(self, *a, **k)
        monkeypatch.setattr(Path, 'write_text', refuse)
    try:
        with pytest.warns(UserWarning, match="the data root is not writable .* the split is not cached"):
            ds = PairDataset(cfg_for(tree), 'train')
        assert ds.splits == sp and not (tree / 'splits.json').exists()
        assert PairDataset(cfg_for(tree, split_cache=False), 'test').splits == sp
        with pytest.raises(OSError, match="data.split_cache .*cannot write"):
            PairDataset(cfg_for(tree, split_cache=str(tree / 'mine.json')), 'train')
        assert sorted(p.name for p in tree.iterdir()) == ['seq0', 'seq1', 'seq2']      # nothing left behind
    finally: os.chmod(tree, mode)


def test_split_all_reads_and_writes_no_cache(tree):
    ds = PairDataset(cfg_for(tree), 'all')
    assert sorted(ds.sequences) == ['seq0', 'seq1', 'seq2'] and len(ds) == 9 and not (tree / 'splits.json').exists()
    assert {ds[i]['meta']['split'] for i in range(len(ds))} == {'all'}
    with pytest.raises(ValueError, match=r"split='everything'; accepted: \('train', 'val', 'test', 'all'\)"):
        PairDataset(cfg_for(tree), 'everything')


def test_inspect_reports_and_cli(tmp_path, capsys):
    from sdr2log.data import inspect_data
    from sdr2log.cli import main
    root = _touch_frames(tmp_path / 'r', ['A/A_0001.tif', 'A/A_0002.tif', 'A/A_0005.tif', 'B/B_0001.tif', 'C/C_0001.tif'])
    (root / 'B' / 'B_0002.tif').write_bytes(b'II*\x00junk')
    write_tiff(root / 'C' / 'C_0002.tif', np.zeros((H + 2, W, 3), np.float32), bits=8)
    rep = inspect_data(root)
    rows = {r['name']: r for r in rep['sequences']}
    assert (rows['A']['frames'], rows['A']['gaps'], rows['A']['numbers'], rows['A']['sample']) == (3, 1, [1, 5], ['uint16'])
    assert rows['C']['sample'] == ['uint16', 'uint8'] and rows['C']['sizes'] == 2
    assert sorted(Path(p).name for p, _ in rep['skipped']) == ['B_0002.tif', 'C_0002.tif']
    assert rep['split'] == {'train': 1, 'val': 1, 'test': 1} and not (root / 'splits.json').exists()   # writes nothing
    assert main(['data', 'inspect', str(root), '--set', 'sequence_from=none']) == 0
    out = capsys.readouterr().out
    assert 'split by frame' in out and 'a per-frame split' in out and 'B_0002.tif: cannot read the header' in out
    assert main(['data', 'inspect', str(tmp_path / 'missing')]) == 2


def test_target_gamut_compressed_by_default_ap1_by_option(tree):
    "data.target_gamut: the default target has the ACES 1.3 RGC applied; 'ap1' keeps the raw conversion; others raise."
    for tg, fn in (('compressed', lambda x: gamut_compress(x, 'LogC3', dst='ACEScct')),
                   ('ap1', lambda x: convert_space(x, 'LogC3', 'ACEScct'))):
        ds = PairDataset(cfg_for(tree, target_gamut=tg, val_crop_size=[12, 20]), 'val')
        b = ds[0]
        x = read_image(b['meta']['paths'][0])[6:18, 6:26]
        np.testing.assert_allclose(b['hdr'].permute(1, 2, 0).numpy(), fn(x), atol=1e-5, rtol=1e-5)
    assert data_config(cfg_for(tree))['target_gamut'] == 'compressed'
    with pytest.raises(ValueError, match="target_gamut.*'compressed', 'ap1'"):
        data_config(cfg_for(tree, target_gamut='AP0'))


@pytest.mark.parametrize('cache,compression', [(False, None), (True, None), (False, 'deflate')])
def test_device_batches_read_whole_equal_per_sample(tmp_path, cache, compression):
    "colour_on='device', 2 workers: a batch read whole (`__getitems__`, reused shared buffers) equals its samples collated."
    root = make_tree(tmp_path / 'd', n_seq=3, n_frames=6, h=40, w=48, compression=compression)
    cfg = cfg_for(root, colour_on='device', num_workers=2, train_ratio=1.0, val_ratio=0.0, test_ratio=0, split_cache=False,
                  sdr_cache=cache, augment={'train_crop_size': 24, 'exposure_step': 0.5 if cache else None})
    dl = build_dataloader(cfg, 'train', device='cpu')
    ds = PairDataset(cfg, 'train', defer=True)
    if cache: ds.fill_sdr_cache()
    whole = ds.__getitems__([(0, 0), (0, 5)])
    assert isinstance(whole, dict) if compression is None else isinstance(whole, list)   # compressed: sample by sample

    def check(b, epoch):
        ref = collate_pairs([ds.sample(m['index'], epoch) for m in b['meta']])
        assert list(b) == list(ref) and b['meta'] == ref['meta']
        for k in b:
            if k != 'meta': assert b[k].dtype == ref[k].dtype and torch.equal(b[k], ref[k]), k

    held = [(e, b) for e in range(3) for b in dl.loader]        # 27 batches held at once: more than the reused buffers
    assert len(held) == 27 and len({m['index'] for e, b in held if e == 0 for m in b['meta']}) == 18
    assert held[0][1]['raw'].dtype == torch.uint16 and held[0][1]['raw'].shape == (2, 24, 24, 3)
    for e, b in held: check(b, e)                              # none overwritten by a later batch
    del held, b
    for e in range(3, 8):                                       # epochs left after one batch (their prefetch dropped)
        for b in dl.loader: check(b, e); break
    dl.sampler.set_epoch(8, skip=6)                             # resuming mid-epoch: the same samples as before
    want = dl.sampler._indices()[6:]
    got = list(dl.loader)
    assert len(got) == 6 and [m['index'] for b in got for m in b['meta']] == want
    for b in got: check(b, 8)
    fin = next(iter(dl))                                        # finished batches as before
    assert fin['sdr'].shape == fin['hdr'].shape == (2, 3, 24, 24) and fin['sdr'].dtype == torch.float32
