"""Integration and bad-input tests of sdr2log.viewer (no browser): folders on disk, run directories, batches,
the widget update path, and the static figures."""
import numpy as np, pytest, torch
import matplotlib; matplotlib.use('Agg')
from sdr2log.cli import demo_frame
from sdr2log.color import convert_space
from sdr2log.io import write_png, write_tiff, write_exr
from sdr2log.render import render_sdr
from sdr2log.viewer import (view, ViewerCore, load_images, plot_comparison, false_color_figure,
                            exposure_bracket, error_map_figure, display_u8, MODES, view_reconstruction)
from sdr2log.reconstruct import Reconstructor
from sdr2log.synth import synth_sequence
from sdr2log.videoio import write_video, read_video

LIN = demo_frame(90, 160)
CCT = convert_space(LIN, 'AWG3', 'ACEScct')

def test_folder_of_frames(tmp_path):
    lc = convert_space(LIN, 'AWG3', 'LogC3', clip=True)
    write_tiff(tmp_path / 'a.tif', lc, bits=16)
    write_png(tmp_path / 'b.png', render_sdr(lc))
    write_exr(tmp_path / 'c.exr', LIN, 'AWG3')
    ims = load_images(tmp_path)
    assert {k: v[1] for k, v in ims.items()} == {'a': 'LogC3', 'b': 'Rec1886', 'c': 'AWG3'}
    core = ViewerCore(tmp_path)
    a, c = (core.display(n).astype(int) for n in ('a', 'c'))
    assert np.abs(a - c).max() <= 2                     # the same scene from a LogC3 TIFF and a linear EXR

def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match='no image files'): load_images(tmp_path)
    with pytest.raises(FileNotFoundError, match='no such image folder'): view(tmp_path / 'missing')
    (tmp_path / 'x.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match='x.png'): load_images(tmp_path)

def test_batch_and_tensors():
    b = {'sdr': torch.rand(3, 3, 16, 24), 'hdr': torch.rand(3, 3, 16, 24), 'pred': torch.rand(3, 3, 16, 24), 'meta': [{}] * 3}
    core = ViewerCore(b, index=2)
    assert core.names == ['SDR input', 'prediction', 'ground truth']
    for m in MODES: assert core.render(mode=m, a='prediction', b='ground truth').dtype == np.uint8
    with pytest.raises(ValueError, match='index 3'): ViewerCore(b, index=3)
    with pytest.raises(TypeError, match='float'): view(np.zeros((4, 4, 3), np.uint8))

def test_widget_update_path_full_hd():
    lin = demo_frame(1080, 1920)
    v = view({'pred': convert_space(np.minimum(lin, 1.44), 'AWG3', 'ACEScct'), 'gt': convert_space(lin, 'AWG3', 'ACEScct')},
             settle=3600)
    assert v.renders[-1][0] == 0                          # the first render is full resolution
    v.w['exposure'].value = 1.5
    assert v.renders[-1][0] == 1 and v.core.shape(1) == (540, 960)   # a moving slider renders the preview level
    v.refresh()
    assert v.renders[-1][0] == 0
    if v._timer is not None: v._timer.cancel()
    ref = np.round(np.clip(render_sdr(convert_space(2 ** 1.5 * lin[::60, ::60], 'AWG3', 'LogC3')), 0, 1) * 255)
    # the display of the clipped prediction on strided input: uint8, the right shape, and the renderer's output for
    # the prediction's own scene (its highlights clipped at 1.44, so it differs from the ground truth's reference)
    strided = v.core.levels['pred'][0]['logc'][::60, ::60]
    got = display_u8(strided, 'aces2-sdr', 1.5)
    ref_pred = np.round(np.clip(render_sdr(convert_space(2 ** 1.5 * np.minimum(lin, 1.44)[::60, ::60], 'AWG3', 'LogC3')), 0, 1) * 255)
    assert got.dtype == np.uint8 and got.shape == ref_pred.shape == ref.shape
    assert np.abs(got.astype(int) - ref_pred).max() <= 2
    assert np.array_equal(got, display_u8(strided.copy(), 'aces2-sdr', 1.5))       # strided input: same path, same bits
    assert np.abs(got.astype(int) - ref).max() > 2          # the check can tell the prediction from the ground truth
    assert np.abs(v.core.display('gt')[::60, ::60].astype(int) - ref).max() <= 2

def test_static_figures(tmp_path):
    pred = convert_space(np.minimum(LIN, 1.44), 'AWG3', 'ACEScct')
    for fig, n in ((plot_comparison({'pred': pred, 'gt': CCT}, stops=(0, -2, 2)), 6),
                   (exposure_bracket(CCT, stops=(-1, 0, 1, 2)), 4),
                   (false_color_figure(torch.from_numpy(CCT).permute(2, 0, 1)), 2),
                   (error_map_figure(pred, CCT, 'delta_e_itp', path=tmp_path / 'e.png'), 4)):
        assert len(fig.axes) == n
    assert (tmp_path / 'e.png').stat().st_size > 1000
    with pytest.raises(ValueError, match='delta_e_itp'): error_map_figure(pred, CCT, 'psnr')


def _sdr_clip(n=5, size=(64, 96)):
    "An SDR clip (T, H, W, 3) rendered with the inverse baseline's own renderer (aces2-sdr) from a synthetic sequence."
    rec = Reconstructor('inverse')
    lin, _ = synth_sequence(0, 0, n, size)
    return rec, np.asarray(rec.renderer(convert_space(lin, 'AWG3', 'LogC3')), np.float32)

def _rec_display(rec, sdr, exposure=0.0):
    return display_u8(convert_space(rec(sdr), 'ACEScct', 'LogC3'), 'aces2-sdr', exposure)

def test_view_reconstruction_video(tmp_path):
    rec, clip = _sdr_clip()
    path = write_video(tmp_path / 'clip.mp4', clip, crf=12)
    decoded = [f for _, f in read_video(path)]
    v = view_reconstruction(path, rec, cache=2, settle=3600)
    assert (v.w['frame'].max, len(v.core.frames), v.core.reconstructed) == (4, 5, [0])    # lazy: frame 0 only
    assert 'clip: 5 frames' in v.note.value and 'error' not in v.w['mode'].options
    first = v.image.value
    v.w['frame'].value = 3
    assert v.image.value != first and v.core.reconstructed == [0, 3]
    assert np.array_equal(v.core.images['SDR input'][0], decoded[3])          # the decoder's frame 3, no other
    assert np.abs(decoded[3] - clip[3]).mean() < 0.03                        # H.264 4:2:0: close to what was written
    assert np.array_equal(v.core.display('reconstruction'), _rec_display(rec, decoded[3]))
    assert np.array_equal(v.core.display('SDR input'), np.round(decoded[3] * 255).astype(np.uint8))
    v.w['frame'].value = 1                                                   # backwards: the decoder reopens at 1
    assert np.array_equal(v.core.images['SDR input'][0], decoded[1])
    v.w['frame'].value = 4
    assert v.core.reconstructed == [0, 3, 1, 4] and list(v.core._frames) == [1, 4]   # at most `cache` frames kept
    v.w['exposure'].value = -2.0; v.refresh()
    assert np.array_equal(v.core.display('reconstruction'), _rec_display(rec, decoded[4], -2.0))
    with pytest.raises(ValueError, match='no ground truth'): v.core.update(mode='error')
    if v._timer is not None: v._timer.cancel()

def test_view_reconstruction_sequence(tmp_path):
    rec, clip = _sdr_clip(3)
    seq = tmp_path / 'shot_v001'; seq.mkdir()
    for i, f in enumerate(clip): write_png(seq / f'shot.{1001 + i:06d}.png', f, bits=16)
    v = view_reconstruction(seq, 'inverse', 'aces2-sdr', cache=8, mode='wipe', settle=3600)
    assert v.core.frames.numbers == [1001, 1002, 1003] and v.core.state['mode'] == 'wipe'
    shown = v.image.value
    v.w['frame'].value = 2
    assert v.image.value != shown
    sdr = v.core.images['SDR input'][0]
    assert np.abs(sdr - clip[2]).max() < 1e-4                                 # 16-bit PNG: the frame as written
    assert np.array_equal(v.core.display('reconstruction'), _rec_display(rec, sdr))
    assert np.array_equal(v.core.display('SDR input'), np.round(sdr * 255).astype(np.uint8))
    (seq / 'shot.001004.png').write_bytes(b'not a png')                      # a corrupt frame, found by a new viewer
    w = view_reconstruction(seq, settle=3600)
    assert w.core.frames.numbers[-1] == 1004
    w.w['frame'].value = 3                                                   # said in the note; the frame shown stays
    assert 'shot.001004.png' in w.note.value and w.core.frame == 0
    w.w['frame'].value = 1
    assert w.core.frame == 1 and 'shot.001004.png' not in w.note.value
    one = view_reconstruction(seq / 'shot.001001.png', settle=3600)               # one image file: one frame
    assert len(one.core.frames) == 1 and one.w['frame'].disabled
    assert np.array_equal(one.core.images['SDR input'][0], v.core.frames[0])
    for x in (v, w, one):
        if x._timer is not None: x._timer.cancel()

def test_view_reconstruction_bad_input(tmp_path):
    _, clip = _sdr_clip(2)
    with pytest.raises(ValueError, match=r'accepted: a frame \(H, W, 3\)'): view_reconstruction(clip[..., :2])
    with pytest.raises(ValueError, match=r'accepted: SDR code values in \[0, 1\]'): view_reconstruction(clip * 2)
    with pytest.raises(ValueError, match='NaN'): view_reconstruction(np.full_like(clip, np.nan))
    with pytest.raises(ValueError, match='no-such'): view_reconstruction(clip, 'no-such-method')
    with pytest.raises(FileNotFoundError, match='no such input'): view_reconstruction(tmp_path / 'missing.mp4')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no image files'): view_reconstruction(tmp_path / 'empty')
    write_exr(tmp_path / 'scene.exr', LIN, 'AWG3')
    with pytest.raises(ValueError, match='scene-linear'): view_reconstruction(tmp_path / 'scene.exr')
