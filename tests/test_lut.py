"Bad inputs, dialects and round trips of sdr2log.lut against colour-science and OpenColorIO."
import re
import numpy as np, pytest, torch
import colour
import PyOpenColorIO as ocio
from sdr2log.lut import CubeLUT, read_cube, write_cube, apply_lut, identity_lut, bake_lut, invert_lut, LUT3DModule

pytestmark = pytest.mark.paths     # our numpy/torch code against the library oracles: rerun under each ATEN_CPU_CAPABILITY

TET, TRI = colour.algebra.table_interpolation_tetrahedral, colour.algebra.table_interpolation_trilinear
RNG = np.random.default_rng(1)


def ocio_apply(path, img, interp=ocio.INTERP_TETRAHEDRAL):
    "OpenColorIO's CPU processor (raw config) on a float32 copy of `img` (H,W,3)."
    p = ocio.Config.CreateRaw().getProcessor(ocio.FileTransform(src=str(path), interpolation=interp))
    a = np.ascontiguousarray(img, np.float32).copy()
    p.getDefaultCPUProcessor().applyRGB(a)
    return a


def gm_lut(n=17, domain=(0., 1.)):
    L = identity_lut(n, domain)
    M = np.array([[0.8, 0.15, 0.05], [0.1, 0.85, 0.05], [0.02, 0.1, 0.88]])
    L.table3d = np.clip(L.table3d, 0, None) ** (1 / 2.2) @ M.T
    return L


def cube3(n=2, header="LUT_3D_SIZE 2\n"):
    g = identity_lut(n).table3d.transpose(2, 1, 0, 3).reshape(-1, 3)
    return header + "\n".join(" ".join(f"{v:g}" for v in r) for r in g) + "\n"


# ---------------------------------------------------------------- malformed files: file name, line number, expectation
BAD = {   # name -> (file text, line number, expected fragment)
    'too_few': (cube3()[:cube3().rindex('1 1 1')], 8, 'expected 8 data lines'),
    'too_many': (cube3() + "0 0 0\n", 10, 'expected 8 data lines'),
    'non_numeric': (cube3().replace('1 0 0', '1 x 0', 1), 3, 'non-numeric'),
    'two_values': (cube3().replace('1 0 0', '1 0', 1), 3, 'expected 3 numbers'),
    'nan': (cube3().replace('1 0 0', '1 nan 0', 1), 3, 'non-finite'),
    'inf': (cube3().replace('0 1 0', 'inf 1 0', 1), 4, 'non-finite'),
    'size_too_big': (cube3(header="LUT_3D_SIZE 257\n"), 1, '[2, 256]'),
    'size_one': (cube3(header="LUT_3D_SIZE 1\n"), 1, '[2, 256]'),
    'size_not_int': (cube3(header="LUT_3D_SIZE 2.5\n"), 1, 'one integer'),
    'size_1d_too_big': ("LUT_1D_SIZE 70000\n0 0 0\n", 1, '[2, 65536]'),
    'unknown_keyword': (cube3(header="TITLE \"x\"\nLUT_3D_SIZE 2\nLUT_SHAPE 3\n"), 3, "unknown keyword 'LUT_SHAPE'"),
    'missing_size': (cube3(header="TITLE \"x\"\n"), 2, 'missing LUT_3D_SIZE or LUT_1D_SIZE'),
    'domain_inverted': (cube3(header="LUT_3D_SIZE 2\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 0 1\n"), 3, 'must be < max'),
    'domain_equal_range': (cube3(header="LUT_3D_SIZE 2\nLUT_3D_INPUT_RANGE 1 1\n"), 2, 'must be < max'),
    'domain_two_values': (cube3(header="LUT_3D_SIZE 2\nDOMAIN_MIN 0 0\n"), 2, 'DOMAIN_MIN expects 3 finite numbers'),
    'domain_nan': (cube3(header="LUT_3D_SIZE 2\nDOMAIN_MAX 1 nan 1\n"), 2, 'DOMAIN_MAX expects 3 finite numbers'),
    'duplicate_size': (cube3(header="LUT_3D_SIZE 2\nLUT_3D_SIZE 2\n"), 2, 'given twice'),
    'keyword_after_data': (cube3() + "LUT_3D_SIZE 2\n", 10, 'after the data started'),
    'ambiguous_domain': ("LUT_1D_SIZE 2\nLUT_3D_SIZE 2\nDOMAIN_MIN 0 0 0\n" + cube3(header="0 0 0\n1 1 1\n"), 3, 'ambiguous'),
    'range_without_size': (cube3(header="LUT_3D_SIZE 2\nLUT_1D_INPUT_RANGE 0 1\n"), 2, 'without the matching'),
}


@pytest.mark.parametrize('name', sorted(BAD))
def test_malformed(tmp_path, name):
    text, line, frag = BAD[name]
    p = tmp_path / f"{name}.cube"
    p.write_text(text)
    with pytest.raises(ValueError) as e:
        read_cube(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:{line}:"), msg
    assert frag in msg, msg


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / 'nope.cube'))):
        read_cube(tmp_path / 'nope.cube')


def test_well_formed_variants(tmp_path):
    "Blank lines, comments anywhere, tabs, CRLF and a header-less DOMAIN (defaults 0..1) are fine."
    text = "# c1\r\n\r\nTITLE \"t t\"\r\nLUT_3D_SIZE\t2\r\n# c2\r\n" + cube3(header="").replace("\n", "\r\n\r\n")
    p = tmp_path / 'ok.cube'
    p.write_text(text)
    L = read_cube(p)
    assert L.title == 't t' and L.comments == ['c1', 'c2'] and L.size == 2
    np.testing.assert_array_equal(L.table3d, identity_lut(2).table3d)
    np.testing.assert_array_equal(L.domain_min, 0)


# ---------------------------------------------------------------- round trips with colour-science and OpenColorIO
@pytest.mark.parametrize('kind', ['3d', '3d_domain', '1d', 'shaper_3d'])
def test_round_trip_colour_ocio(tmp_path, kind):
    if kind == '3d': L = gm_lut(17)
    elif kind == '3d_domain': L = gm_lut(9, ((-0.25, 0., 0.1), (1.5, 2., 1.)))
    elif kind == '1d': L = CubeLUT(shaper=np.linspace(0, 1, 64)[:, None] ** [0.5, 1., 2.], shaper_min=-0.1, shaper_max=1.3)
    else:
        L = gm_lut(17)
        L.shaper, L.shaper_max = np.repeat((np.log2(1 + np.linspace(0, 8, 256)) / np.log2(9))[:, None], 3, 1), np.full(3, 8.)
    p = write_cube(tmp_path / f'{kind}.cube', L, precision=9)
    R = read_cube(p)
    for a, b in ((R.table3d, L.table3d), (R.shaper, L.shaper)):
        if b is None: assert a is None
        else: assert a.shape == b.shape and np.abs(a - b).max() <= 0.5e-9 + 1e-15
    np.testing.assert_allclose(R.domain_min, L.domain_min, atol=1e-9)
    np.testing.assert_allclose(R.domain_max, L.domain_max, atol=1e-9)
    hi = float(np.max(L.shaper_max if L.table3d is None or L.shaper is not None else L.domain_max))
    x = (RNG.random((32, 48, 3)) * (hi + 0.6) - 0.3).astype(np.float32)   # includes out-of-domain values
    ours = apply_lut(x, R)
    np.testing.assert_allclose(ours, ocio_apply(p, x, ocio.INTERP_TETRAHEDRAL if L.table3d is not None
                                                else ocio.INTERP_LINEAR), atol=5e-6)
    C = colour.io.read_LUT(str(p))
    if kind == '1d':
        np.testing.assert_allclose(C.table, R.shaper, atol=1e-12)
        xin = np.clip(x.astype(np.float64), L.shaper_min, L.shaper_max)   # colour's LUT3x1D extrapolates; we clamp
        np.testing.assert_allclose(apply_lut(xin, R), C.apply(xin), atol=1e-9)
    elif kind == 'shaper_3d':
        np.testing.assert_allclose(apply_lut(x.astype(np.float64), R), C.apply(x.astype(np.float64), interpolator=TET),
                                   atol=1e-9)
    else:
        np.testing.assert_allclose(C.table, R.table3d, atol=1e-12)
        for interp, fn in (('tetrahedral', TET), ('trilinear', TRI)):
            np.testing.assert_allclose(apply_lut(x.astype(np.float64), R, interp),
                                       C.apply(x.astype(np.float64), interpolator=fn), atol=1e-9)


def test_resolve_hand_written(tmp_path):
    "A Resolve-style shaper + 3D file written by hand, with the ranges Resolve writes and values beyond them."
    lines = ['TITLE "Resolve shaper"', '# Resolve writes 1D entries first, then the 3D table', 'LUT_1D_SIZE 4',
             'LUT_1D_INPUT_RANGE 0.0000000000 2.0000000000', 'LUT_3D_SIZE 3', 'LUT_3D_INPUT_RANGE 0.0 1.0', '']
    lines += ['0.0 0.0 0.0', '0.5 0.5 0.5', '0.8 0.8 0.8', '1.0 1.0 1.0', '']
    grid = np.linspace(0, 1, 3)
    for b in grid:
        for g in grid:
            for r in grid:   # red fastest
                lines.append(f"{r ** 2:.6f} {0.5 * g + 0.25 * r:.6f} {b:.6f}")
    p = tmp_path / 'resolve.cube'
    p.write_text("\n".join(lines) + "\n")
    L = read_cube(p)
    p = tmp_path / 'resolve_for_ocio.cube'   # OpenColorIO 2.6's Resolve reader refuses TITLE
    p.write_text("\n".join(lines[1:]) + "\n")
    assert (L.shaper_size, L.size, L.title) == (4, 3, 'Resolve shaper')
    np.testing.assert_array_equal(L.shaper_max, 2.)
    np.testing.assert_allclose(L.table3d[2, 1, 0], [1., 0.5, 0.])   # [r, g, b] indexing
    x = (RNG.random((20, 30, 3)) * 3 - 0.5).astype(np.float32)
    ref = ocio_apply(p, x)
    np.testing.assert_allclose(apply_lut(x, L), ref, atol=5e-6)
    seq = colour.io.read_LUT(str(p))
    np.testing.assert_allclose(apply_lut(x.astype(np.float64), L), seq.apply(x.astype(np.float64), interpolator=TET),
                               atol=1e-9)
    # and what we write back is the same LUT for OCIO
    q = write_cube(tmp_path / 'again.cube', L)
    np.testing.assert_allclose(ocio_apply(q, x), ref, atol=1e-6)


def test_write_refuses(tmp_path):
    with pytest.raises(ValueError, match='3D size 300'):
        write_cube(tmp_path / 'big.cube', CubeLUT(np.zeros((300, 300, 300, 3), np.float32)))


def test_module_and_gpu_if_present():
    m = LUT3DModule(gm_lut(9))
    x = torch.rand(1, 3, 6, 7)
    y = m(x)
    y.sum().backward()
    assert m.table.grad is not None and m.table.grad.abs().sum() > 0
    if torch.cuda.is_available():
        mc = m.cuda()
        torch.testing.assert_close(mc(x.cuda()).cpu(), y.detach(), atol=1e-5, rtol=0)


def test_invert_bake_round_trip():
    L = bake_lut(lambda v: np.clip(v, 0, None) ** (1 / 2.2), 17)
    Li = invert_lut(L)
    x = RNG.random((5000, 3)) * 0.9 + 0.05
    e = np.abs(apply_lut(apply_lut(x, L), Li) - x)
    assert e.max() < 1e-2 and e.mean() < 1e-3, (e.max(), e.mean())
    with pytest.raises(ValueError, match='3D-only'):
        invert_lut(CubeLUT(shaper=np.zeros((4, 3)) + np.linspace(0, 1, 4)[:, None]))
