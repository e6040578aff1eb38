"Round trips and bad inputs for sdr2log.io (all files generated in tmp_path)."
import numpy as np, pytest, tifffile, imagecodecs, OpenEXR
from PIL import Image
import sdr2log.io as sio
from sdr2log.io import read_image, write_tiff, write_exr, write_png, EXR_CHROMATICITIES, TIFF_COMPRESSIONS

RNG = np.random.default_rng(0)
H, W = 7, 9


def rand_img(dtype=np.float32): return RNG.random((H, W, 3)).astype(dtype)


def check_img(img, shape=(H, W, 3)):
    assert isinstance(img, np.ndarray) and img.dtype == np.float32 and img.shape == shape


def raises(exc, path, *parts):
    "Context manager: `exc` whose message names the file (its name) and contains every part."
    class _C:
        def __enter__(self): self.c = pytest.raises(exc); self.info = self.c.__enter__(); return self.info
        def __exit__(self, *a):
            r = self.c.__exit__(*a)
            msg = str(self.info.value)
            assert str(path.name) in msg, msg
            for p in parts: assert p in msg, (p, msg)
            return r
    return _C()


# ---------------------------------------------------------------- TIFF round trips
@pytest.mark.parametrize('compression', TIFF_COMPRESSIONS)
@pytest.mark.parametrize('bits', [8, 16])
def test_tiff_uint_roundtrip(tmp_path, bits, compression):
    img = rand_img()
    p = write_tiff(tmp_path / 'a.tif', img, bits, compression)
    back, meta = read_image(p, return_meta=True)
    check_img(back)
    m = 2 ** bits - 1
    np.testing.assert_array_equal(back, np.rint(img * np.float32(m)).astype(np.float32) / np.float32(m))
    assert meta['bits'] == bits and meta['dtype'] == f'uint{bits}' and meta['format'] == 'tiff'
    assert meta['shape'] == (H, W, 3) and meta['scale'] == m
    assert meta['compression'] == (compression or 'none')
    # the raw file holds the rounded integers
    np.testing.assert_array_equal(tifffile.imread(p), np.rint(img * np.float32(m)))


@pytest.mark.parametrize('compression', [None, 'deflate', 'lzw', 'zstd'])
@pytest.mark.parametrize('bits', [16, 32])
def test_tiff_float_roundtrip(tmp_path, bits, compression):
    img = rand_img() * 50 - 5   # scene values, negative and > 1 kept
    p = write_tiff(tmp_path / 'f.tiff', img, bits, compression, sample='float')
    back, meta = read_image(p, return_meta=True)
    check_img(back)
    want = img.astype(np.float16).astype(np.float32) if bits == 16 else img
    np.testing.assert_array_equal(back, want)
    assert meta['sample'] == 'float' and meta['bits'] == bits
    assert tifffile.imread(p).dtype == (np.float16 if bits == 16 else np.float32)


def test_tiff_float64(tmp_path):
    a = RNG.random((H, W, 3))
    tifffile.imwrite(tmp_path / 'd.tif', a, photometric='rgb')
    back = read_image(tmp_path / 'd.tif')
    check_img(back); np.testing.assert_array_equal(back, a.astype(np.float32))


@pytest.mark.parametrize('bits', [8, 10, 12, 14, 16])
def test_tiff_declared_bits(tmp_path, bits):
    m = 2 ** bits - 1
    a = RNG.integers(0, m + 1, (H, W, 3)).astype(np.uint8 if bits == 8 else np.uint16)
    a[0, 0] = [0, m, m // 2]
    tifffile.imwrite(tmp_path / 'b.tif', a, bitspersample=bits, photometric='rgb')
    back, meta = read_image(tmp_path / 'b.tif', return_meta=True)
    check_img(back)
    np.testing.assert_array_equal(back, a.astype(np.float32) / np.float32(m))   # declared depth, not the dtype
    assert back[0, 0, 1] == 1.0 and meta['bits'] == bits and meta['scale'] == m


def test_tiff_layouts(tmp_path):
    a = RNG.integers(0, 65536, (H, W, 3)).astype(np.uint16)
    want = a / np.float32(65535)
    # planar configuration 'separate'
    tifffile.imwrite(tmp_path / 'pl.tif', np.moveaxis(a, -1, 0), planarconfig='separate', photometric='rgb')
    np.testing.assert_array_equal(read_image(tmp_path / 'pl.tif'), want)
    # planar + compressed
    tifffile.imwrite(tmp_path / 'plz.tif', np.moveaxis(a, -1, 0), planarconfig='separate', photometric='rgb',
                     compression='deflate')
    np.testing.assert_array_equal(read_image(tmp_path / 'plz.tif'), want)
    # tiled
    big = RNG.integers(0, 65536, (40, 48, 3)).astype(np.uint16)
    tifffile.imwrite(tmp_path / 't.tif', big, tile=(16, 16), photometric='rgb', compression='deflate')
    np.testing.assert_array_equal(read_image(tmp_path / 't.tif'), big / np.float32(65535))
    # big-endian
    tifffile.imwrite(tmp_path / 'be.tif', a, byteorder='>', photometric='rgb')
    np.testing.assert_array_equal(read_image(tmp_path / 'be.tif'), want)
    # upper-case suffix
    tifffile.imwrite(tmp_path / 'UP.TIF', a, photometric='rgb')
    np.testing.assert_array_equal(read_image(tmp_path / 'UP.TIF'), want)


def test_tiff_grey_and_alpha(tmp_path):
    g = RNG.integers(0, 256, (H, W)).astype(np.uint8)
    tifffile.imwrite(tmp_path / 'g.tif', g)
    back = read_image(tmp_path / 'g.tif'); check_img(back)
    np.testing.assert_array_equal(back, np.repeat((g / np.float32(255))[..., None], 3, -1))
    tifffile.imwrite(tmp_path / 'ga.tif', np.dstack([g, 255 - g]), photometric='minisblack', planarconfig='contig',
                     extrasamples=['unassalpha'])
    np.testing.assert_array_equal(read_image(tmp_path / 'ga.tif'), back)
    rgba = RNG.integers(0, 65536, (H, W, 4)).astype(np.uint16)
    tifffile.imwrite(tmp_path / 'rgba.tif', rgba, photometric='rgb', extrasamples=['unassalpha'])
    back, meta = read_image(tmp_path / 'rgba.tif', return_meta=True)
    np.testing.assert_array_equal(back, rgba[..., :3] / np.float32(65535))
    assert meta['shape'] == (H, W, 4)
    gf = RNG.random((H, W)).astype(np.float32)   # grey float
    tifffile.imwrite(tmp_path / 'gf.tif', gf)
    np.testing.assert_array_equal(read_image(tmp_path / 'gf.tif'), np.repeat(gf[..., None], 3, -1))


def test_tiff_jpeg(tmp_path):
    a = (np.full((16, 16, 3), 128)).astype(np.uint8)
    tifffile.imwrite(tmp_path / 'j.tif', a, photometric='rgb', compression='jpeg')
    back = read_image(tmp_path / 'j.tif')
    check_img(back, (16, 16, 3)); assert np.abs(back - 128 / 255).max() < 3 / 255


# ---------------------------------------------------------------- crop
@pytest.mark.parametrize('compression', [None, 'deflate'])
def test_crop_tiff(tmp_path, compression):
    a = RNG.integers(0, 65536, (20, 30, 3)).astype(np.uint16)
    tifffile.imwrite(tmp_path / 'c.tif', a, photometric='rgb', compression=compression)
    back = read_image(tmp_path / 'c.tif', crop=(3, 5, 10, 12))
    check_img(back, (10, 12, 3))
    np.testing.assert_array_equal(back, a[3:13, 5:17] / np.float32(65535))
    tifffile.imwrite(tmp_path / 'cp.tif', np.moveaxis(a, -1, 0), planarconfig='separate', photometric='rgb')
    np.testing.assert_array_equal(read_image(tmp_path / 'cp.tif', crop=(3, 5, 10, 12)), back)


def test_crop_png_exr(tmp_path):
    img = RNG.random((20, 30, 3)).astype(np.float32)
    write_png(tmp_path / 'c.png', img, 16)
    np.testing.assert_array_equal(read_image(tmp_path / 'c.png', crop=(1, 2, 3, 4)), read_image(tmp_path / 'c.png')[1:4, 2:6])
    write_exr(tmp_path / 'c.exr', img, half=False)
    np.testing.assert_array_equal(read_image(tmp_path / 'c.exr', crop=(1, 2, 3, 4)), img[1:4, 2:6])


@pytest.mark.parametrize('crop', [(0, 0, 21, 1), (-1, 0, 2, 2), (0, 0, 0, 5), (1, 2, 3), 'abcd', (0, 25, 1, 6)])
def test_crop_bad(tmp_path, crop):
    write_tiff(tmp_path / 'c.tif', np.zeros((20, 30, 3)))
    with raises(ValueError, tmp_path / 'c.tif', 'crop'):
        read_image(tmp_path / 'c.tif', crop=crop)


# ---------------------------------------------------------------- PNG
@pytest.mark.parametrize('bits', [8, 16])
@pytest.mark.parametrize('channels', [1, 2, 3, 4])
def test_png_read(tmp_path, bits, channels):
    dt = np.uint8 if bits == 8 else np.uint16
    m = 2 ** bits - 1
    a = RNG.integers(0, m + 1, (H, W, channels)).astype(dt)
    a[0, 0, 0] = m
    (tmp_path / 'p.png').write_bytes(imagecodecs.png_encode(a[..., 0] if channels == 1 else a))
    back, meta = read_image(tmp_path / 'p.png', return_meta=True)
    check_img(back)
    src = a[..., :1] if channels in (1, 2) else a[..., :3]
    np.testing.assert_array_equal(back, np.broadcast_to(src / np.float32(m), (H, W, 3)))
    assert meta['bits'] == bits and meta['shape'] == (H, W, channels) and back[0, 0, 0] == 1.0


def test_png_pillow_files(tmp_path):
    # palette and 1-bit PNGs written by Pillow
    p = Image.fromarray((np.arange(H * W).reshape(H, W) % 3).astype(np.uint8), mode='P')
    p.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * (253 * 3)); p.save(tmp_path / 'pal.png')
    back = read_image(tmp_path / 'pal.png'); check_img(back)
    np.testing.assert_array_equal(back[0, 1], [1, 0, 0]); np.testing.assert_array_equal(back[0, 2], [0, 0, 1])
    Image.fromarray(np.eye(H, W, dtype=bool)).save(tmp_path / 'bw.png')
    back, meta = read_image(tmp_path / 'bw.png', return_meta=True)
    np.testing.assert_array_equal(back[..., 0], np.eye(H, W, dtype=np.float32)); assert meta['bits'] == 1


@pytest.mark.parametrize('bits', [8, 16])
def test_png_write_roundtrip(tmp_path, bits):
    img = rand_img(np.float64)
    p = write_png(tmp_path / 'w.png', img, bits)
    back, meta = read_image(p, return_meta=True)
    m = 2 ** bits - 1
    # the writer quantises in float32 (as documented), so the expectation does too: no float64 rounding ties
    expect = np.rint(np.multiply(img, np.float32(m), dtype=np.float32)) / np.float32(m)
    np.testing.assert_array_equal(back, expect)
    data = p.read_bytes()
    assert data[24] == bits and data[25] == 2   # IHDR: bit depth, colour type RGB
    if bits == 8:   # another decoder agrees
        np.testing.assert_array_equal(np.asarray(Image.open(p)), np.rint(expect * 255).astype(np.uint8))
    else:
        np.testing.assert_array_equal(imagecodecs.png_decode(data), np.rint(expect * m).astype(np.uint16))


# ---------------------------------------------------------------- EXR
@pytest.mark.parametrize('colorspace', list(EXR_CHROMATICITIES))
@pytest.mark.parametrize('half', [True, False])
def test_exr_roundtrip(tmp_path, colorspace, half):
    img = (rand_img() * 100 - 1).astype(np.float32)
    p = write_exr(tmp_path / 'a.exr', img, colorspace, half=half)
    back, meta = read_image(p, return_meta=True)
    check_img(back)
    np.testing.assert_array_equal(back, img.astype(np.float16).astype(np.float32) if half else img)
    assert meta['bits'] == (16 if half else 32) and meta['colorspace'] == colorspace
    np.testing.assert_allclose(meta['chromaticities'], EXR_CHROMATICITIES[colorspace], atol=1e-6)
    # OpenEXR itself reports the attribute and the pixel type
    with OpenEXR.File(str(p)) as f:
        hdr = dict(f.header()); px = f.channels()['RGB'].pixels
    np.testing.assert_allclose(hdr['chromaticities'], EXR_CHROMATICITIES[colorspace], atol=1e-6)
    assert px.dtype == (np.float16 if half else np.float32)


def test_exr_aces_values(tmp_path):
    write_exr(tmp_path / 'a.exr', np.zeros((2, 2, 3)))
    with OpenEXR.File(str(tmp_path / 'a.exr')) as f: c = dict(f.header())['chromaticities']
    np.testing.assert_allclose(c, (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767), atol=1e-6)
    np.testing.assert_allclose(EXR_CHROMATICITIES['AWG3'], (0.684, 0.313, 0.221, 0.848, 0.0861, -0.102, 0.3127, 0.329))


def _exr(path, channels, header=None):
    OpenEXR.File({'type': OpenEXR.scanlineimage, **(header or {})}, channels).write(str(path))
    return path


def test_exr_channel_layouts(tmp_path):
    h = RNG.random((H, W)).astype(np.float16)
    f = RNG.random((H, W)).astype(np.float32)
    back = read_image(_exr(tmp_path / 'y.exr', {'Y': h})); check_img(back)
    np.testing.assert_array_equal(back, np.repeat(h.astype(np.float32)[..., None], 3, -1))
    np.testing.assert_array_equal(read_image(_exr(tmp_path / 'ya.exr', {'Y': h, 'A': f})), back)
    back, meta = read_image(_exr(tmp_path / 'rgba.exr', {'R': h, 'G': h, 'B': f, 'A': h}), return_meta=True)
    np.testing.assert_array_equal(back, np.stack([h, h, f], -1).astype(np.float32))
    assert meta['channels'] == ['A', 'B', 'G', 'R'] and meta['chromaticities'] is None and meta['colorspace'] is None


@pytest.mark.parametrize('fmt', ['tif', 'exr'])
def test_nan_policies(tmp_path, fmt):
    img = rand_img()
    img[0, 0, 0], img[1, 1, 1], img[2, 2, 2] = np.nan, np.inf, -np.inf
    p = tmp_path / f'n.{fmt}'
    if fmt == 'tif': tifffile.imwrite(p, img, photometric='rgb')
    else: _exr(p, {'RGB': img})
    with raises(ValueError, p, '3 non-finite'): read_image(p)
    keep = read_image(p, nan='keep'); assert np.isnan(keep[0, 0, 0]) and np.isinf(keep[1, 1, 1])
    zero, meta = read_image(p, nan='zero', return_meta=True)
    assert np.isfinite(zero).all() and zero[0, 0, 0] == 0 and zero[2, 2, 2] == 0 and meta['nonfinite'] == 3
    with pytest.raises(ValueError, match='accepted'): read_image(p, nan='drop')


# ---------------------------------------------------------------- bad reads
def test_missing_and_not_file(tmp_path):
    with raises(FileNotFoundError, tmp_path / 'missing.tif'): read_image(tmp_path / 'missing.tif')
    (tmp_path / 'dir.tif').mkdir()
    with raises(ValueError, tmp_path / 'dir.tif', 'not a regular file'): read_image(tmp_path / 'dir.tif')


def test_unknown_extension(tmp_path):
    write_tiff(tmp_path / 'a.tif', rand_img())
    (tmp_path / 'a.jpg').write_bytes((tmp_path / 'a.tif').read_bytes())
    with raises(ValueError, tmp_path / 'a.jpg', 'unsupported extension', '.exr'): read_image(tmp_path / 'a.jpg')


def _truncate(src, dst, frac):
    data = src.read_bytes(); dst.write_bytes(data[:int(len(data) * frac)]); return dst


@pytest.mark.parametrize('kind', ['tif', 'tif-deflate', 'png', 'exr'])
@pytest.mark.parametrize('damage', ['empty', 'garbage', 'half', 'tail'])
def test_corrupt_files(tmp_path, kind, damage):
    img = RNG.random((64, 64, 3)).astype(np.float32)
    ext = kind.split('-')[0]
    src = tmp_path / f'src.{ext}'
    if kind == 'tif': write_tiff(src, img)
    elif kind == 'tif-deflate': write_tiff(src, img, compression='deflate')
    elif kind == 'png': write_png(src, img, 16)
    else: write_exr(src, img)
    bad = tmp_path / f'bad.{ext}'
    if damage == 'empty': bad.write_bytes(b'')
    elif damage == 'garbage': bad.write_bytes(RNG.integers(0, 256, 5000).astype(np.uint8).tobytes())
    elif damage == 'half': _truncate(src, bad, 0.5)
    else: bad.write_bytes(src.read_bytes()[:-40])
    with raises(ValueError, bad): read_image(bad)


def test_unsupported_tiffs(tmp_path):
    cases = {
        'signed.tif': (np.zeros((4, 4), np.int16), {}, 'int samples'),
        'complex.tif': (np.zeros((4, 4), np.complex64), {}, 'samples'),
        'onebit.tif': (np.zeros((8, 8), bool), {}, '1-bit'),
        'u32.tif': (np.zeros((4, 4), np.uint32), {}, '32-bit unsigned'),
        'five.tif': (np.zeros((6, 7, 5), np.uint8), dict(photometric='minisblack', planarconfig='contig'), '5 channels'),
        'stack.tif': (np.zeros((2, 4, 4, 3), np.uint16), dict(photometric='rgb'), 'multi-page'),
        'palette.tif': (np.zeros((4, 4), np.uint8), dict(photometric='palette', colormap=np.zeros((3, 256), np.uint16)), 'photometric'),
        'cmyk.tif': (np.zeros((4, 4, 4), np.uint8), dict(photometric='separated'), 'photometric'),
    }
    for name, (a, kw, part) in cases.items():
        tifffile.imwrite(tmp_path / name, a, **kw)
        with raises(ValueError, tmp_path / name, part, 'accepted'): read_image(tmp_path / name)


def test_unsupported_exrs(tmp_path):
    h = np.zeros((4, 4), np.float16)
    with raises(ValueError, tmp_path / 'z.exr', "['Z']", 'accepted'): read_image(_exr(tmp_path / 'z.exr', {'Z': h}))
    with raises(ValueError, tmp_path / 'rgbz.exr', 'Z'): read_image(_exr(tmp_path / 'rgbz.exr', {'R': h, 'G': h, 'B': h, 'Z': h}))
    with raises(ValueError, tmp_path / 'rg.exr', 'expected'): read_image(_exr(tmp_path / 'rg.exr', {'R': h, 'G': h}))
    with raises(ValueError, tmp_path / 'layer.exr', 'd.R'): read_image(_exr(tmp_path / 'layer.exr', {'d.R': h, 'd.G': h, 'd.B': h}))
    u = np.zeros((4, 4), np.uint32)
    with raises(ValueError, tmp_path / 'u.exr', 'uint32'): read_image(_exr(tmp_path / 'u.exr', {'R': u, 'G': u, 'B': u}))
    parts = [OpenEXR.Part({'type': OpenEXR.scanlineimage}, {'RGB': np.zeros((2, 2, 3), np.float16)}, name=n) for n in 'ab']
    OpenEXR.File(parts).write(str(tmp_path / 'mp.exr'))
    with raises(ValueError, tmp_path / 'mp.exr', 'multi-part'): read_image(tmp_path / 'mp.exr')


# ---------------------------------------------------------------- bad writes
@pytest.mark.parametrize('writer,ext', [(write_tiff, 'tif'), (write_png, 'png')])
def test_integer_write_refusals(tmp_path, writer, ext):
    p = tmp_path / f'o.{ext}'
    img = rand_img(); img[0, 0] = [-0.1, 1.2, 5]; img[1, 1, 1] = np.inf
    with raises(ValueError, p, '4 value(s) outside [0, 1]', 'clip=True'): writer(p, img)
    assert not p.exists()
    writer(p, img, clip=True)
    back = read_image(p)
    np.testing.assert_array_equal(back[0, 0], [0, 1, 1]); assert back[1, 1, 1] == 1
    img[2, 2, 2] = np.nan
    with raises(ValueError, p, '1 NaN'): writer(p, img, clip=True)
    with pytest.raises(TypeError, match='o.'): writer(p, np.zeros((H, W, 3), np.uint8))
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'): writer(p, np.zeros((4, 4)))
    with pytest.raises(TypeError, match='numpy'): writer(p, [[0.0, 0.0, 0.0]])


def test_rounding_to_nearest(tmp_path):
    img = np.array([[[0.4 / 255, 0.6 / 255, 254.4 / 255]]], np.float32)
    write_tiff(tmp_path / 'r.tif', img, 8)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / 'r.tif')[0, 0], [0, 1, 254])


def test_float_write_refusals(tmp_path):
    img = rand_img(); img[0, 0, 0] = np.nan
    with raises(ValueError, tmp_path / 'f.tif', '1 non-finite'): write_tiff(tmp_path / 'f.tif', img, 32)
    big = rand_img(); big[0, 0, 0] = 1e6   # beyond half range
    with raises(ValueError, tmp_path / 'h.tif', '1 non-finite'): write_tiff(tmp_path / 'h.tif', big, 16, sample='float')
    with raises(ValueError, tmp_path / 'h.exr', '1 non-finite'): write_exr(tmp_path / 'h.exr', big)
    write_exr(tmp_path / 'ok.exr', big, half=False)   # float32 holds it
    assert read_image(tmp_path / 'ok.exr')[0, 0, 0] == 1e6


def test_write_argument_errors(tmp_path):
    img = rand_img()
    with raises(ValueError, tmp_path / 'a.tif', 'accepted'): write_tiff(tmp_path / 'a.tif', img, 12)
    with raises(ValueError, tmp_path / 'a.tif', 'accepted'): write_tiff(tmp_path / 'a.tif', img, 8, sample='float')
    with raises(ValueError, tmp_path / 'a.tif', 'accepted'): write_tiff(tmp_path / 'a.tif', img, compression='rar')
    with raises(ValueError, tmp_path / 'a.png', 'accepted'): write_png(tmp_path / 'a.png', img, 32)
    with raises(ValueError, tmp_path / 'a.exr', 'ACES2065-1', 'ACEScg', 'AWG3', 'Rec709-linear', 'Rec2020-linear'):
        write_exr(tmp_path / 'a.exr', img, 'sRGB')
    with raises(ValueError, tmp_path / 'a.exr', 'accepted'): write_exr(tmp_path / 'a.exr', img, compression='gzip')
    with raises(ValueError, tmp_path / 'a.png', '.tif'): write_tiff(tmp_path / 'a.png', img)
    with raises(ValueError, tmp_path / 'a.tif', '.exr'): write_exr(tmp_path / 'a.tif', img)
    with raises(FileNotFoundError, tmp_path / 'nodir' / 'a.tif', 'nodir'): write_tiff(tmp_path / 'nodir' / 'a.tif', img)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write(tmp_path, monkeypatch):
    p = write_tiff(tmp_path / 'a.tif', np.zeros((4, 4, 3)))
    before = p.read_bytes()
    def boom(path, *a, **k):
        open(path, 'wb').write(b'partial'); raise OSError('disk full')
    monkeypatch.setattr(sio.tifffile, 'imwrite', boom)
    with pytest.raises(OSError, match='disk full'): write_tiff(p, np.ones((4, 4, 3)))
    assert p.read_bytes() == before and sorted(x.name for x in tmp_path.iterdir()) == ['a.tif']   # no temp left
    monkeypatch.undo()
    write_tiff(p, np.ones((4, 4, 3)))   # overwrite replaces
    assert read_image(p).min() == 1 and sorted(x.name for x in tmp_path.iterdir()) == ['a.tif']


def test_meta_keys(tmp_path):
    write_exr(tmp_path / 'm.exr', rand_img())
    _, meta = read_image(tmp_path / 'm.exr', return_meta=True)
    assert {'path', 'format', 'bits', 'dtype', 'shape', 'compression', 'chromaticities', 'colorspace',
            'channels', 'scale', 'sample', 'nonfinite'} <= set(meta)
    assert meta['format'] == 'exr' and meta['dtype'] == 'float16' and meta['compression'] == 'zip'
    assert meta['shape'] == (H, W, 3) and meta['path'].endswith('m.exr')


# ---------------------------------------------------------------- declared size and header/content agreement
def _tiny_tiff(w, h, bytecount, data=b''):
    "A hand-made little-endian uncompressed 8-bit grey TIFF declaring w x h, one strip of `bytecount` bytes."
    import struct
    entries = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 0), (277, 3, 1), (278, 4, h),
               (279, 4, bytecount)]
    entries[5] = (273, 4, 8 + 2 + 12 * len(entries) + 4)
    b = b'II*\x00' + struct.pack('<IH', 8, len(entries))
    for tag, typ, v in entries: b += struct.pack('<HHI', tag, typ, 1) + (struct.pack('<HH', v, 0) if typ == 3 else struct.pack('<I', v))
    return b + struct.pack('<I', 0) + data


def test_huge_declared_tiff_is_refused_before_allocating(tmp_path):
    import tracemalloc
    import struct
    p = tmp_path / 'huge.tif'                      # 86 bytes declaring 100000x100000 16-bit RGB: 56 GiB to allocate
    tags = [(256, 4, 100000), (257, 4, 100000), (258, 3, 16), (262, 3, 2), (273, 4, 8), (277, 3, 3)]
    p.write_bytes(b'II*\x00' + struct.pack('<IH', 8, len(tags)) + b''.join(struct.pack('<HHII', t, k, 1, v) for t, k, v in tags)
                  + struct.pack('<I', 0))
    tracemalloc.start()
    with raises(ValueError, p, '100000x100000', 'max_pixels'): read_image(p)
    peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
    assert peak < 20 * 2 ** 20, peak                                     # nothing near 56 GiB was asked for
    with raises(ValueError, p, '100000x100000'): read_image(p, crop=(0, 0, 4, 4))


@pytest.mark.parametrize('fmt', ['tif', 'png', 'exr'])
def test_pixel_limit_is_configurable(tmp_path, fmt, monkeypatch):
    p = tmp_path / f'a.{fmt}'
    {'tif': write_tiff, 'png': write_png, 'exr': write_exr}[fmt](p, rand_img())
    with raises(ValueError, p, f'{W}x{H}', 'limit of 10 pixels'): read_image(p, max_pixels=10)
    assert read_image(p, max_pixels=H * W).shape == (H, W, 3)            # exactly at the limit: read
    monkeypatch.setattr(sio, 'MAX_PIXELS', H * W - 1)
    with raises(ValueError, p, 'MAX_PIXELS'): read_image(p)


@pytest.mark.parametrize('count, data', [(50, 50), (200, 200), (100, 20), (0, 0)])
def test_uncompressed_tiff_contradicting_its_header(tmp_path, count, data):
    "Strips holding fewer or more bytes than the declared 10x10 8-bit image, or cut off: errors naming the file."
    p = tmp_path / 'c.tif'
    p.write_bytes(_tiny_tiff(10, 10, count, np.random.default_rng(0).bytes(data)))
    with raises(ValueError, p): read_image(p)
    p.write_bytes(_tiny_tiff(10, 10, 100, np.random.default_rng(0).bytes(100)))     # consistent: random samples are samples
    assert read_image(p).shape == (10, 10, 3)


def test_random_bytes_after_a_tiff_header_never_read(tmp_path):
    rng, p = np.random.default_rng(1), tmp_path / 'r.tif'
    for _ in range(200):
        p.write_bytes(b'II*\x00\x08\x00\x00\x00' + rng.bytes(int(rng.integers(1, 400))))
        with pytest.raises(ValueError, match='r.tif'): read_image(p)


def test_write_onto_a_folder_is_refused(tmp_path):
    (tmp_path / 'x.tif').mkdir()
    with raises(IsADirectoryError, tmp_path / 'x.tif', 'is a folder'): write_tiff(tmp_path / 'x.tif', rand_img())
