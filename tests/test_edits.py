"Grading operators of sdr2log.edits: colour-science oracle, inverses, batching, gradients, random chains, bad inputs."
import json
import numpy as np, pytest, torch
import colour
from sdr2log.color import ACES_WHITE, D65, acescct_decode
from sdr2log.edits import (EDITS, EDIT_RANGES, EDIT_IDENTITY, AP1_LUMINANCE, GREY_ACESCCT, Edit, EditChain,
                           exposure, white_balance, white_balance_matrix, contrast, saturation, composite, cct_to_xy,
                           random_edit, inverse_params, get_edit)

pytestmark = pytest.mark.paths     # our numpy/torch code against the library oracles: rerun under each ATEN_CPU_CAPABILITY

RNG = np.random.default_rng(11)
X64 = RNG.uniform(0.05, 0.9, (2, 6, 7, 3))                     # ACEScct, channel-last, float64
XT64 = torch.from_numpy(X64).permute(0, 3, 1, 2).contiguous()  # channel-first

PER = {'exposure': {'stops': [1.0, -2.5]}, 'white_balance': {'temperature': [3200., 9000.], 'tint': [0.004, -0.008]},
       'contrast': {'amount': [0.7, 1.4]}, 'saturation': {'amount': [0.5, 1.5]},
       'composite': {'other': [0.3, 0.45, 0.5], 'alpha': [0.1, 0.5]}}


def lin(v): return acescct_decode(torch.as_tensor(v, dtype=torch.float64)).numpy()


@pytest.mark.parametrize('T,tint', [(3200., 0.), (5000., 0.01), (6500., -0.005), (10000., 0.)])
def test_white_balance_matches_colour_cat02(T, tint):
    w = cct_to_xy(T, tint)
    ref = colour.XYZ_to_RGB(colour.adaptation.chromatic_adaptation_VonKries(
        colour.RGB_to_XYZ(lin(X64), 'ACEScg', None), colour.xy_to_XYZ(ACES_WHITE), colour.xy_to_XYZ(w), transform='CAT02'),
        'ACEScg', None)
    np.testing.assert_allclose(lin(white_balance(X64, T, tint)), ref, rtol=1e-9, atol=1e-12)
    # to and from D65 as well, through white_xy and the matrix function
    M = colour.adaptation.matrix_chromatic_adaptation_VonKries(colour.xy_to_XYZ(w), colour.xy_to_XYZ(D65), 'CAT02')
    npm = colour.RGB_COLOURSPACES['ACEScg'].matrix_RGB_to_XYZ
    np.testing.assert_allclose(white_balance_matrix(D65, w).numpy(), np.linalg.inv(npm) @ M @ npm, atol=1e-6)


def test_cct_to_xy_matches_kang2002_and_batches():
    T = np.array([1700., 2221., 2223., 3999., 4001., 6500., 25000.])
    np.testing.assert_allclose(cct_to_xy(T), colour.temperature.CCT_to_xy_Kang2002(T), atol=1e-12)
    assert isinstance(cct_to_xy(torch.tensor([5000., 6000.])), torch.Tensor)
    with pytest.raises(ValueError, match='tint'): cct_to_xy(5000., 0.2)


def test_per_sample_white_xy_and_inverse():
    wxy = np.stack([cct_to_xy(3500.), np.array(D65)])
    y = white_balance(XT64, white_xy=wxy)
    for i in range(2): torch.testing.assert_close(y[i], white_balance(XT64[i], white_xy=wxy[i]))
    torch.testing.assert_close(white_balance(y, white_xy=wxy, inverse=True), XT64)


def test_exposure_doubles_linear_and_saturation_keeps_luminance():
    np.testing.assert_allclose(lin(exposure(X64, 1.0)), 2 * lin(X64), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(lin(exposure(X64, [-1.0, 2.0]))[1], 4 * lin(X64)[1], rtol=1e-12, atol=1e-15)
    Y = lambda v: lin(v) @ AP1_LUMINANCE
    for a in (0.0, 0.5, 1.7): np.testing.assert_allclose(Y(saturation(X64, a)), Y(X64), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(AP1_LUMINANCE, colour.RGB_COLOURSPACES['ACEScg'].matrix_RGB_to_XYZ[1], atol=1e-9)


def test_contrast_is_power_law_around_grey_in_linear():
    # above the ACEScct toe, slope `a` in log2 is linear**a around 0.18
    v = np.full((1, 3), GREY_ACESCCT) + np.array([[0.0, 0.1, 0.3]])
    out = lin(contrast(v, 1.3))
    np.testing.assert_allclose(out, 0.18 * (lin(v) / 0.18) ** 1.3, rtol=1e-10)


@pytest.mark.parametrize('name', list(EDITS))
def test_identity_exact_and_inverse(name):
    np.testing.assert_array_equal(EDITS[name](X64, **EDIT_IDENTITY[name]), X64)
    p = PER[name]
    inv = inverse_params(name, p)
    if inv is None: assert name == 'composite'; return
    np.testing.assert_allclose(EDITS[name](EDITS[name](X64, **p), **inv), X64, atol=1e-10)


@pytest.mark.parametrize('name', list(EDITS))
def test_numpy_equals_torch_and_keeps_dtype(name):
    p = PER[name]
    a = EDITS[name](X64, **p)
    b = EDITS[name](XT64, **p).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(a, b, atol=1e-12)
    for dt in (torch.float32, torch.float16, torch.bfloat16):
        assert EDITS[name](XT64.to(dt), **p).dtype == dt
    assert EDITS[name](X64.astype(np.float32), **p).dtype == np.float32


@pytest.mark.parametrize('name', list(EDITS))
def test_gradcheck(name):
    x = (torch.rand(2, 3, 2, 3, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: EDITS[name](v, **PER[name]), (x,))
    # tensor parameters carry gradients too (except white balance's whites, which are data)
    if name in ('exposure', 'contrast', 'saturation', 'composite'):
        key = {'exposure': 'stops', 'composite': 'alpha'}.get(name, 'amount')
        q = torch.tensor(PER[name][key], dtype=torch.float64, requires_grad=True)
        rest = {k: v for k, v in PER[name].items() if k != key}
        assert torch.autograd.gradcheck(lambda q: EDITS[name](x.detach(), **rest, **{key: q}), (q,))


def test_composite_other_image_and_matte_numpy():
    other = RNG.uniform(0.1, 0.8, X64.shape)
    matte = RNG.uniform(0, 1, X64.shape[:-1] + (1,))
    out = composite(X64, other, matte)
    np.testing.assert_allclose(lin(out), (1 - matte) * lin(X64) + matte * lin(other), rtol=1e-10, atol=1e-13)


def test_random_edit_reproducible_for_each_generator_kind():
    assert random_edit(3).to_dict() == random_edit(3).to_dict()
    assert random_edit(np.random.default_rng(3)).to_dict() == random_edit(np.random.default_rng(3)).to_dict()
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert random_edit(g1, batch=3).to_dict() == random_edit(g2, batch=3).to_dict()


def test_random_edit_distribution_covers_ops_and_ranges():
    counts = {n: 0 for n in EDITS}
    lens = set()
    for s in range(300):
        c = random_edit(s)
        lens.add(len(c))
        for e in c:
            counts[e.name] += 1
            for k, v in e.params.items():
                if k in EDIT_RANGES[e.name]:
                    lo, hi = EDIT_RANGES[e.name][k]
                    assert lo - 1e-9 <= v <= hi + 1e-9, (e.name, k, v)
    assert all(v > 20 for v in counts.values()), counts
    assert lens == {1, 2, 3}
    c = random_edit(0, ops=['exposure'], ranges={'exposure': {'stops': [2, 2]}}, n_steps=1)
    assert c.to_dict() == {'steps': [{'name': 'exposure', 'params': {'stops': 2.0}}]}


def test_random_chain_inverse_round_trip_and_json():
    x = XT64
    for s in range(20):
        c = random_edit(s, ops=['exposure', 'white_balance', 'contrast', 'saturation'], batch=2)
        torch.testing.assert_close(c.inverse()(c(x)), x, atol=1e-9, rtol=0)
        d = json.loads(json.dumps(c.to_dict()))
        torch.testing.assert_close(EditChain.from_dict(d)(x), c(x))


def test_bad_inputs():
    with pytest.raises(ValueError, match='unknown edit'): get_edit('blur')
    with pytest.raises(ValueError, match='unknown edit'): Edit('blur')
    with pytest.raises(ValueError, match='batch'): exposure(torch.rand(3, 4, 4), [1., 2., 3.])   # (3,H,W): no batch
    with pytest.raises(ValueError, match='n_steps'): random_edit(0, n_steps=(3, 1))
    with pytest.raises(ValueError, match='ops is empty'): random_edit(0, ops=[])
    with pytest.raises(ValueError, match='ranges.contrast.amount'): random_edit(0, ranges={'contrast': {'amount': [2, 1]}})
    with pytest.raises(ValueError, match="'steps'"): EditChain.from_dict({'edits': []})
    with pytest.raises(TypeError, match='step'): EditChain([42])
    with pytest.raises(ValueError, match='does not broadcast'): composite(XT64, torch.rand(2, 3, 5, 5), 0.5)
    with pytest.raises(ValueError, match='1667'): white_balance(X64, 1000.)
    with pytest.raises(TypeError, match='floating'): saturation(np.zeros((2, 3), np.uint8), 1.2)
