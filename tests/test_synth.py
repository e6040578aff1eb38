"Integration and bad-input tests for sdr2log.synth (all trees written under tmp_path)."
import hashlib, json
from pathlib import Path
import numpy as np, pytest
import sdr2log
from sdr2log.color import convert_space
from sdr2log.io import read_image
from sdr2log.synth import (synthesize, synth_sequence, synth_main, draw_scene, render_scene, read_manifest,
                           frame_stats, dynamic_range_stats, luminance, GREY, MANIFEST, GENERATOR, KINDS, SPECTRAL_XY,
                           _spectral)
LOGC3_MAX = 55.08   # scene light at LogC3 1.0 (EI 800): +8.26 stops, the sensor clip of the written files

SIZE = (48, 80)
SEQS, FRAMES, SEED = 3, 4, 11


def digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob('*.tif'))}


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp('synth') / 'tree'
    return root, synthesize(root, SEQS, FRAMES, SIZE, SEED)


@pytest.fixture(scope='module')
def decoded(tree):
    "Every frame of the tree decoded to scene-linear AWG3: {(seq, frame): array}."
    root, m = tree
    return {(s['index'], e['index']): convert_space(read_image(root / e['file']), 'LogC3', 'AWG3')
            for s in m['sequences'] for e in s['frames']}


# ---------------------------------------------------------------- determinism
def test_same_seed_byte_identical(tree, tmp_path):
    root, m = tree
    m2 = synthesize(tmp_path / 'again', SEQS, FRAMES, SIZE, SEED)
    assert digest(root) == digest(tmp_path / 'again')
    assert len(digest(root)) == SEQS * FRAMES
    assert (root / MANIFEST).read_bytes() == (tmp_path / 'again' / MANIFEST).read_bytes()
    assert m2 == m


def test_other_seed_differs(tree, tmp_path):
    root, _ = tree
    synthesize(tmp_path / 'other', SEQS, FRAMES, SIZE, SEED + 1)
    assert set(digest(root).values()).isdisjoint(digest(tmp_path / 'other').values())


def test_sequences_independent_of_count(tree, tmp_path):
    "Sequence i and frame f depend only on (seed, i, f), not on how many are generated."
    root, _ = tree
    synthesize(tmp_path / 'one', 1, 2, SIZE, SEED)
    a, b = digest(root), digest(tmp_path / 'one')
    assert len(b) == 2 and all(a[k] == v for k, v in b.items())


def test_in_memory_matches_files(tree, decoded):
    frames, scene = synth_sequence(SEED, 1, FRAMES, SIZE)
    assert frames.shape == (FRAMES, *SIZE, 3) and frames.dtype == np.float32
    assert scene == tree[1]['sequences'][1]['scene']
    for f in range(FRAMES):   # 16-bit LogC3 quantisation, and the sensor clip at LogC3 1.0
        ref = decoded[(1, f)]
        assert np.allclose(np.minimum(frames[f], LOGC3_MAX), ref, rtol=2e-3, atol=2e-5)


# ---------------------------------------------------------------- manifest and files
def test_manifest_content(tree):
    root, m = tree
    on_disk = json.loads((root / MANIFEST).read_text())
    assert on_disk == m and read_manifest(root) == m
    assert m['generator'] == GENERATOR and m['version'] == sdr2log.__version__ and m['format'] == 1
    assert m['complete'] is True and m['seed'] == SEED
    p = m['params']
    assert (p['sequences'], p['frames'], p['size'], p['ei'], p['encoding'], p['gamut'], p['bits']) == \
        (SEQS, FRAMES, list(SIZE), 800, 'LogC3', 'AWG3', 16)
    assert len(m['sequences']) == SEQS
    names = [s['name'] for s in m['sequences']]
    assert len(set(names)) == SEQS and len({s['scene']['photo'] for s in m['sequences']}) == SEQS
    for s in m['sequences']:
        sc = s['scene']
        for key in ('kind', 'ambient_stops', 'photo', 'texture', 'sky', 'sun', 'doorway', 'chart', 'speculars', 'faces',
                    'foliage', 'lights', 'neon', 'camera', 'noise'):
            assert key in sc, key
        assert len(s['frames']) == FRAMES
        for f, e in enumerate(s['frames']):
            assert e['index'] == f and e['file'] == f"{s['name']}/{s['name']}_{f:06d}.tif"
            assert len(e['camera']) == 3 and len(e['lights']) == len(sc['lights'])
            st = e['stats']
            assert set(st) >= {'max_stops', 'min', 'frac_above_sdr_clip', 'frac_below_minus6_stops',
                               'logc3_clipped_fraction'}
            assert 0 < st['logc3_clipped_fraction'] < 0.02 and st['max_stops'] >= 10   # emitters clip at the sensor
    assert m['summary']['files'] == SEQS * FRAMES and 0 < m['summary']['logc3_clipped_fraction'] < 0.02
    assert {s['scene']['kind'] for s in m['sequences']} == set(KINDS)
    # the tree holds exactly the listed files plus the manifest
    listed = {e['file'] for s in m['sequences'] for e in s['frames']}
    present = {p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file()}
    assert present == listed | {MANIFEST}


def test_every_file_reads_back(tree):
    root, m = tree
    for s in m['sequences']:
        for e in s['frames']:
            img, meta = read_image(root / e['file'], return_meta=True)
            assert img.shape == (*SIZE, 3) and img.dtype == np.float32
            assert 0 <= img.min() and img.max() <= 1 and meta['bits'] == 16 and meta['dtype'] == 'uint16'


def test_stats_match_decoded(tree, decoded):
    _, m = tree
    for s in m['sequences']:
        for e in s['frames']:
            lin = decoded[(s['index'], e['index'])]
            scene_max = min(e['stats']['max_stops'], np.log2(LOGC3_MAX / GREY))   # stats are the scene's, before the clip
            assert abs(np.log2(lin.max() / GREY) - scene_max) < 0.01


# ---------------------------------------------------------------- content
def test_highlights_clip_at_the_sensor(decoded):
    for k, lin in decoded.items():   # every frame holds a light core above the LogC3 ceiling (light 0 stays in view)
        assert lin.max() > LOGC3_MAX * 0.999 and lin.max() < LOGC3_MAX * 1.001, k


def test_in_memory_range_reaches_10_to_14_stops():
    "Emitters at +10 to +14 stops in every frame; a sun at +12 to +14 in most day scenes."
    suns = []
    for i in range(6):
        fr, sc = synth_sequence(SEED, i, 2, SIZE, noise=False)
        st = np.log2(fr.max((1, 2, 3)) / GREY)
        assert (st >= 10).all() and (st <= 14.01).all(), (i, st)
        if sc['kind'] == 'day': suns.append(sc['sun'] is not None and 12 <= sc['sun']['stops'] <= 14)
        assert all(10 <= L['stops'] <= 12 for L in sc['lights'] if L['kind'] == 'bulb')
    assert suns and sum(suns) >= len(suns) / 2


def test_deep_shadows_exist(decoded):
    for k, lin in decoded.items():
        y = luminance(lin)
        assert (y < GREY * 2 ** -6).mean() > 0.005, k
        assert (y < GREY * 2 ** -8).any(), k


def test_narrow_band_emitters_outside_rec709_inside_awg3():
    "LED and neon colours: narrow-band lines outside Rec.709 (some outside AP1), pulled just inside AWG3."
    import colour
    for nm, xy in SPECTRAL_XY.items():   # the table is the CIE 1931 spectral locus
        assert np.allclose(colour.XYZ_to_xy(colour.wavelength_to_XYZ(nm)), xy, atol=2e-4), nm
    cols = np.array([_spectral([nm]) for nm in (450, 465, 525, 610, 630)] + [_spectral([465, 630])])
    assert (cols.min(1) >= 0).all() and np.allclose(cols.max(1), 1)
    assert (convert_space(cols, 'AWG3', 'Rec709-linear').min(1) < 0).all()
    assert (convert_space(cols, 'AWG3', 'ACEScg').min(1) < 0).sum() >= 2


def test_gamut_share_is_realistic():
    "A few per cent of a night or interior frame outside Rec.709, under 2 % outside AP1; no chart in most scenes."
    charts = [draw_scene(SEED, i, SIZE)['chart'] is not None for i in range(12)]
    assert 0 < sum(charts) <= 6
    for i in range(3):
        fr, sc = synth_sequence(0, i, 1, (96, 160))
        st = dynamic_range_stats(fr[0], renderers=('naive',))
        assert st['out_of_ap1'] < 0.02 and st['out_of_rec709'] < 0.1, (sc['kind'], st)
        if sc['kind'] != 'day': assert st['out_of_ap1'] > 0, (sc['kind'], st)


def test_skin_and_foliage_present():
    "Every scene has skin-toned faces and leaf-green foliage in the canvas, inside Rec.709."
    for i in range(3):
        sc = draw_scene(SEED, i, SIZE)
        assert sc['faces'] and sc['foliage']
        for f in sc['faces']:
            rec = convert_space(np.array(f['rgb']), 'AWG3', 'Rec709-linear')
            assert rec.min() > 0 and rec[0] > rec[1] > rec[2]                # skin: red > green > blue
        for f in sc['foliage']:
            rec = convert_space(np.array(f['rgb']), 'AWG3', 'Rec709-linear')
            assert rec.min() > 0 and rec[1] > rec[0] and rec[1] > rec[2]      # leaves: green dominant


def test_sdr_clip_and_midtones(decoded):
    st = [frame_stats(lin) for lin in decoded.values()]
    assert all(0 < s['frac_above_sdr_clip'] < 0.6 for s in st)
    assert all(-7 < s['mean_stops'] < 3 for s in st)


def test_camera_motion(decoded):
    "Consecutive frames differ (motion, not only noise) but stay correlated."
    for s in range(SEQS):
        for f in range(FRAMES - 1):
            a, b = (np.log2(np.maximum(luminance(decoded[(s, g)]), 1e-4)) for g in (f, f + 1))
            r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
            assert 0.3 < r < 0.9999 and np.abs(a - b).mean() > 0.02, (s, f, r)
    scene = draw_scene(SEED, 0, SIZE)
    clean = render_scene(scene, [0, 1], noise=False)
    assert not np.array_equal(clean[0], clean[1])


# ---------------------------------------------------------------- the command
def test_cli_writes_tree(tmp_path, capsys):
    root = tmp_path / 'cli'
    rc = synth_main([str(root), '--sequences', '2', '--frames', '3', '--size', '32x40', '--seed', '3', '--ei', '800'])
    assert rc == 0 and 'wrote 6 frames' in capsys.readouterr().out
    m = read_manifest(root)
    assert m['params']['size'] == [32, 40] and m['seed'] == 3
    synthesize(tmp_path / 'lib', 2, 3, (32, 40), 3)
    assert digest(root) == digest(tmp_path / 'lib') and len(digest(root)) == 6


@pytest.mark.parametrize('args, needle', [
    (['--size', '32by40'], "'32by40'"), (['--size', '0x40'], '(0, 40)'), (['--size', '32x'], "'32x'"),
    (['--frames', '0'], "'0'"), (['--sequences', 'two'], "'two'"), (['--seed', '1.5'], "'1.5'"),
    (['--seed', '-1'], "'-1'")])
def test_cli_bad_arguments(tmp_path, capsys, args, needle):
    with pytest.raises(SystemExit) as e: synth_main([str(tmp_path / 'x'), *args])
    assert e.value.code == 2 and needle in capsys.readouterr().err
    assert not (tmp_path / 'x').exists()


def test_cli_library_errors(tmp_path, capsys):
    (tmp_path / 'busy').mkdir(); (tmp_path / 'busy' / 'keep.txt').write_text('x')
    assert synth_main([str(tmp_path / 'busy')]) == 2
    assert 'busy: folder is not empty' in capsys.readouterr().err
    assert synth_main([str(tmp_path / 'y'), '--ei', '5']) == 2
    assert '5' in capsys.readouterr().err


# ---------------------------------------------------------------- overwrite and bad inputs
def test_overwrite_refusal(tmp_path):
    root = tmp_path / 'busy'; root.mkdir(); (root / 'keep.txt').write_text('x')
    with pytest.raises(FileExistsError, match='busy: folder is not empty'): synthesize(root, 1, 1, (16, 16))
    assert sorted(p.name for p in root.iterdir()) == ['keep.txt']   # nothing written
    synthesize(root, 1, 1, (16, 16), overwrite=True)
    assert (root / 'keep.txt').read_text() == 'x' and read_manifest(root) is not None


def test_rewrite_own_tree_removes_stale_files(tmp_path):
    root = tmp_path / 't'
    synthesize(root, 2, 3, (16, 16))
    (root / 'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='earlier sdr2log synth tree'): synthesize(root, 1, 2, (16, 16))
    assert len(digest(root)) == 6                          # refused: nothing deleted
    synthesize(root, 1, 2, (16, 16), overwrite=True)       # replacing our own tree needs overwrite too
    assert len(digest(root)) == 2 and (root / 'notes.txt').exists()
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [read_manifest(root)['sequences'][0]['name']]


def test_foreign_manifest_is_not_ours(tmp_path):
    root = tmp_path / 'f'; root.mkdir(); (root / MANIFEST).write_text(json.dumps({'generator': 'other'}))
    with pytest.raises(FileExistsError): synthesize(root, 1, 1, (16, 16))


@pytest.mark.parametrize('kw, exc, needle', [
    (dict(size=(-5, 10)), ValueError, '(-5, 10)'), (dict(size=(0, 0)), ValueError, '(0, 0)'),
    (dict(size=(10, 10)), ValueError, '(10, 10)'), (dict(size=(32,)), TypeError, '(32,)'),
    (dict(size=(32.0, 48)), TypeError, '32.0'), (dict(size='32x48'), TypeError, '32x48'),
    (dict(frames=0), ValueError, 'frames must be an integer >= 1; got 0'),
    (dict(sequences=-1), ValueError, 'sequences must be an integer >= 1; got -1'),
    (dict(frames=2.0), TypeError, '2.0'), (dict(seed=0.5), TypeError, '0.5'), (dict(seed='7'), TypeError, "'7'"),
    (dict(seed=True), TypeError, 'True'), (dict(seed=-3), ValueError, '-3'), (dict(ei=5), ValueError, '5')])
def test_bad_inputs(tmp_path, kw, exc, needle):
    with pytest.raises(exc) as e: synthesize(tmp_path / 'x', **{'sequences': 1, 'frames': 1, 'size': (16, 16), **kw})
    assert needle in str(e.value)
    assert not (tmp_path / 'x').exists()


def test_unwritable_root(tmp_path):
    f = tmp_path / 'file.txt'; f.write_text('x')
    with pytest.raises(NotADirectoryError, match='file.txt: exists and is not a folder'): synthesize(f, 1, 1, (16, 16))
    with pytest.raises(PermissionError, match='file.txt'): synthesize(f / 'sub', 1, 1, (16, 16))


def test_render_frame_arguments():
    sc = draw_scene(0, 0, (16, 16))
    with pytest.raises(ValueError, match='frame must be an integer >= 0; got -1'): render_scene(sc, -1)
    with pytest.raises(TypeError, match='1.5'): render_scene(sc, 1.5)
    assert render_scene(sc, []).shape == (0, 16, 16, 3)
