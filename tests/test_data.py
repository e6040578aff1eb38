"Integration and bad-input tests for sdr2log.data (every file generated in tmp_path)."
import copy, json, warnings
from pathlib import Path
import numpy as np, pytest, torch, tifffile
from sdr2log.color import convert_space, gamut_compress
from sdr2log.io import read_image, write_tiff, write_exr
from sdr2log.lut import identity_lut, write_cube
from sdr2log.render import get_renderer
from sdr2log.data import (DATA_DEFAULTS, PairDataset, build_dataloader, collate_pairs, data_config, discover_sequences,
                          load_split, split_counts, frame_header)

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
@pytest.mark.parametrize('method', ['naive', 'aces2-sdr'])
@pytest.mark.parametrize('space_in,space_out', [('ACEScct', 'ACEScct'), ('ACEScg', 'AWG3')])
def test_pair_matches_conversion_and_renderer(tree, method, space_in, space_out):
    cfg = cfg_for(tree, sdr_from=method, space_in=space_in, space_out=space_out, val_crop_size=[12, 20])
    ds = PairDataset(cfg, 'val')
    r = get_renderer(method)
    for i in range(len(ds)):
        b = ds[i]; m = b['meta']
        assert m['crop'] == [6, 6, 12, 20] and m['flip'] is False and m['exposure_stops'] == 0.0
        x = read_image(m['paths'][0])[6:18, 6:26]
        np.testing.assert_allclose(b['hdr'].permute(1, 2, 0).numpy(), gamut_compress(x, 'LogC3', dst=space_out), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(b['sdr'].permute(1, 2, 0).numpy(), convert_space(r(x), r.output_space, space_in), atol=1e-5, rtol=1e-5)
        assert m['spaces'] == {'in': space_in, 'out': space_out, 'input_encoding': 'LogC3'}
        assert m['renderer'] == r.config and m['video_id'] in ds.splits['val']
        json.dumps(m)   # meta is JSON-able


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
    cfg2 = cfg_for(tree, train_ratio=0.5, val_ratio=0.5)
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
    root = make_tree(tmp_path, n_seq=3, n_frames=8)
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


def test_device_colour_path_two_workers_matches_worker_path(tmp_path):
    "colour_on='device': 2 workers ship uint16 codes, the batch is finished in torch; same batches as the worker path."
    root = make_tree(tmp_path, n_seq=3, n_frames=6, h=40, w=48)
    cfg = cfg_for(root, sdr_from='aces2-sdr', degradations={'bits': 10}, augment={'train_crop_size': 32})
    ref = epoch_of(build_dataloader(cfg, 'train'))
    cfg['data'].update(colour_on='device', num_workers=2)
    dl = build_dataloader(cfg, 'train', device='cpu')
    assert type(dl).__name__ == 'DeviceColourLoader' and dl.num_workers == 2 and len(dl) == len(ref)
    got = epoch_of(dl)
    assert len(got) == len(ref) == 3
    for (ta, ma), (tb, mb) in zip(got, ref): assert torch.equal(ta, tb) and ma == mb
    # the next epoch draws new augmentations on both paths alike
    assert [m for _, m in epoch_of(dl)] != [m for _, m in got]


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
    ({'sdr_from': 'aces'}, "data.sdr_from: expected one of ['aces2-sdr', 'lut', 'naive'], got 'aces'", ValueError),
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


def test_synth_tree_if_available(tmp_path):
    synth = pytest.importorskip('sdr2log.synth')
    synth.synthesize(tmp_path, sequences=3, frames=3, size=(32, 48), seed=0)
    ds = PairDataset(cfg_for(tmp_path, sdr_from='aces2-sdr'), 'train', 'vid')
    b = ds[0]
    assert b['sdr_clip'].shape == (2, 3, 16, 16) and torch.isfinite(b['hdr_clip']).all()


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
