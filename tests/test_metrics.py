"Reference checks, edge cases, bootstrap behaviour and ERM properties of sdr2log.metrics."
import math
import numpy as np, pytest, torch
import colour
from pytorch_msssim import ssim as ms_ssim
from skimage.metrics import structural_similarity
from sdr2log.color import convert_space
from sdr2log.edits import EditChain, random_edit
from sdr2log.metrics import (METRICS, PU21_PARAMS, DisplayRender, _ratio, bootstrap_ci, compute_metrics, cvvdp_available,
                             delta_e_itp, erm, get_metric, mae, metric_cis, paired_comparison, psnr, psnr_log2,
                             pu21_encode, pu21_psnr, rgb2020_to_ictcp, sample_edit_chains, ssim)

pytestmark = pytest.mark.paths     # our numpy/torch code against the library oracles: rerun under each ATEN_CPU_CAPABILITY


def scene(n=2, h=12, w=14, seed=0, hi=1.0):
    "Random ACEScct images (N, 3, H, W) float64 over [0, hi]: ACEScct 1.0 is 222x scene white (highlights)."
    return torch.from_numpy(np.random.default_rng(seed).uniform(0, hi, (n, 3, h, w)))


def noisy(x, sigma=0.02, seed=1):
    g = torch.Generator().manual_seed(seed)
    return x + sigma * torch.randn(x.shape, generator=g, dtype=x.dtype)


def cs_ictcp(cct_last, white_nits=100.0, clip=True):
    "colour-science ICtCp of ACEScct (channel-last) shown with scene 1.0 at white_nits on a Rec.2020 display."
    rgb = colour.RGB_to_RGB(colour.models.log_decoding_ACEScct(cct_last), 'ACEScg', 'ITU-R BT.2020',
                            chromatic_adaptation_transform='CAT02')
    if clip: rgb = np.clip(rgb, 0, None)
    return colour.RGB_to_ICtCp(rgb * white_nits, method='ITU-R BT.2100-2 PQ')


# ------------------------------------------------------------------------------------------- ΔE-ITP vs colour-science
@pytest.mark.parametrize('white_nits', [100.0, 203.0, 1000.0])
def test_delta_e_itp_matches_colour_per_pixel(white_nits):
    a = np.random.default_rng(5).uniform(0, 1, (3, 9, 11, 3))               # highlights up to ACEScct 1.0
    b = np.clip(a + np.random.default_rng(6).normal(0, 0.03, a.shape), 0, 1)
    ref = colour.difference.delta_E_ITP(cs_ictcp(a, white_nits), cs_ictcp(b, white_nits))
    got = delta_e_itp(a, b, white_nits=white_nits, reduction='none')
    assert got.shape == ref.shape == (3, 9, 11) and got.dtype == np.float64
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-6)
    np.testing.assert_allclose(delta_e_itp(a, b, white_nits=white_nits, reduction='image'), ref.mean((1, 2)), atol=1e-6)
    # torch channel-first gives the same map
    t = delta_e_itp(torch.from_numpy(b).permute(0, 3, 1, 2), torch.from_numpy(a).permute(0, 3, 1, 2), white_nits=white_nits,
                    reduction='none')
    np.testing.assert_allclose(t.numpy(), ref, atol=1e-4)


def test_delta_e_itp_float32_and_unclipped():
    a = np.random.default_rng(7).uniform(0.1, 0.9, (2, 8, 8, 3))
    b = np.clip(a + 0.02, 0, 1)
    ref = colour.difference.delta_E_ITP(cs_ictcp(a), cs_ictcp(b))
    np.testing.assert_allclose(delta_e_itp(a.astype(np.float32), b.astype(np.float32), reduction='none'), ref, atol=5e-3)  # measured 8e-4
    # without clipping, pixels whose Rec.2020 light is non-negative agree with colour-science unclipped too
    rgb = lambda x: colour.RGB_to_RGB(colour.models.log_decoding_ACEScct(x), 'ACEScg', 'ITU-R BT.2020',
                                      chromatic_adaptation_transform='CAT02')
    ok = (rgb(a) >= 0).all(-1) & (rgb(b) >= 0).all(-1)
    assert ok.mean() > 0.3
    got = delta_e_itp(a, b, clip_negative=False, reduction='none')
    np.testing.assert_allclose(got[ok], colour.difference.delta_E_ITP(cs_ictcp(a, clip=False), cs_ictcp(b, clip=False))[ok],
                               atol=1e-4)


def test_ictcp_matches_colour():
    rgb = np.random.default_rng(8).uniform(0, 4000, (50, 3))
    ref = colour.RGB_to_ICtCp(rgb, method='ITU-R BT.2100-2 PQ')
    got = rgb2020_to_ictcp(torch.from_numpy(rgb), channel_axis=-1).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-9)


def test_delta_e_itp_gradcheck_and_symmetry():
    a = scene(1, 4, 5, seed=2).requires_grad_()
    b = noisy(scene(1, 4, 5, seed=2)).detach()
    assert torch.autograd.gradcheck(lambda x: delta_e_itp(x, b), (a,), eps=1e-6, atol=1e-4)
    torch.testing.assert_close(delta_e_itp(a, b), delta_e_itp(b, a))


# ------------------------------------------------------------------------------------------- PSNR, MAE, SSIM, log2, PU21
def test_psnr_and_mae_by_hand():
    x = scene(3)
    y = noisy(x)
    mse = ((x - y) ** 2).numpy().reshape(3, -1).mean(1)
    np.testing.assert_allclose(psnr(y, x, reduction='image').numpy(), 10 * np.log10(1 / mse), rtol=1e-12)
    np.testing.assert_allclose(psnr(y * 255, x * 255, peak=255.0, reduction='image').numpy(), 10 * np.log10(1 / mse), rtol=1e-9)
    assert psnr(y, x).item() == pytest.approx(np.mean(10 * np.log10(1 / mse)))
    assert mae(y, x).item() == pytest.approx(float((x - y).abs().mean()))
    assert mae(y, x, reduction='none').shape == (3, 12, 14)
    assert psnr(x, x, reduction='image').tolist() == [math.inf] * 3


def test_psnr_log2_in_stops():
    lin = torch.from_numpy(np.random.default_rng(3).uniform(0.01, 50, (2, 3, 6, 6)))
    c = lambda z: convert_space(z, 'ACEScg', 'ACEScct')
    for stops in (0.05, 0.5):
        assert psnr_log2(c(lin * 2 ** stops), c(lin)).item() == pytest.approx(20 * math.log10(20 / stops), abs=1e-6)
    # below the floor nothing is measured
    dark = torch.full((1, 3, 4, 4), 2.0 ** -14, dtype=torch.float64)
    assert psnr_log2(c(dark), c(dark * 2)).item() == math.inf


def pu21_numpy(Y, p=PU21_PARAMS['banding_glare']):
    "Independent float64 numpy PU21 (the published formula)."
    Y = np.clip(np.asarray(Y, np.float64), 0.005, 10000)
    return np.maximum(p[6] * (((p[0] + p[1] * Y ** p[3]) / (1 + p[2] * Y ** p[3])) ** p[4] - p[5]), 0)


def test_pu21_reference_values_and_monotonic():
    Y = np.logspace(-3, 4.5, 400)
    np.testing.assert_allclose(pu21_encode(torch.from_numpy(Y)).numpy(), pu21_numpy(Y), rtol=1e-12, atol=1e-12)
    assert pu21_numpy(100.0) == pytest.approx(256.384, abs=1e-3)        # why PU21-PSNR's peak is 256
    assert pu21_numpy(10000.0) == pytest.approx(595.394, abs=1e-3)
    v = pu21_numpy(np.logspace(np.log10(0.005), 4, 500))
    assert (np.diff(v) > 0).all() and v[0] == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match='banding_glare'):
        pu21_encode(torch.ones(1), 'peaks')


def test_pu21_psnr_by_hand():
    x, y = scene(2, hi=0.8), noisy(scene(2, hi=0.8))
    L = lambda z: convert_space(z, 'ACEScct', 'Rec2020-linear').numpy() * 203
    mse = ((pu21_numpy(L(y)) - pu21_numpy(L(x))) ** 2).reshape(2, -1).mean(1)
    np.testing.assert_allclose(pu21_psnr(y, x, white_nits=203, reduction='image').numpy(), 10 * np.log10(256 ** 2 / mse),
                               rtol=1e-9)


@pytest.mark.parametrize('hw', [(11, 11), (32, 48), (64, 40)])
def test_ssim_matches_pytorch_msssim_and_skimage(hw):
    x = scene(2, *hw, seed=4)
    y = noisy(x, 0.05).clamp(0, 1)
    np.testing.assert_allclose(ssim(y, x, reduction='image').numpy(),
                               ms_ssim(y.float(), x.float(), data_range=1.0, size_average=False).numpy(), atol=1e-5)
    sk = structural_similarity(y[0].permute(1, 2, 0).numpy(), x[0].permute(1, 2, 0).numpy(), data_range=1.0,
                               channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert ssim(y[:1], x[:1]).item() == pytest.approx(sk, abs=1e-6)


def test_ssim_identical_constant_and_tiny():
    x = scene(2)
    assert ssim(x, x, reduction='image').tolist() == [1.0, 1.0]
    c = torch.full((1, 3, 20, 20), 0.3, dtype=torch.float64)
    assert ssim(c, c).item() == pytest.approx(1.0, abs=1e-12)
    assert 0 < ssim(c, c + 0.05).item() < 1 and math.isfinite(ssim(c, c + 0.05).item())
    t = scene(1, 4, 6)                                                      # smaller than the window: shrunk, finite
    assert math.isfinite(ssim(noisy(t), t).item())


# ------------------------------------------------------------------------------------------- registry and layouts
@pytest.mark.parametrize('name', [n for n, m in METRICS.items() if n != 'cvvdp' and m.returns == 'values'])
def test_registry_entries_layouts_and_dtypes(name):
    m = get_metric(name)
    x = scene(2, 16, 16)
    y = noisy(x).clamp(0, 1)
    per = m(y, x, reduction='image')
    assert per.shape == (2,) and per.dtype == torch.float64 and torch.isfinite(per).all()
    assert m(y, x).item() == pytest.approx(per.mean().item())
    f32 = m(y.float(), x.float(), reduction='image')
    assert f32.dtype == torch.float32 and torch.allclose(f32.double(), per, rtol=1e-3, atol=1e-3)
    assert m(y.half(), x.half()).dtype == torch.float32                    # half computed in float32
    npv = m(y[0].permute(1, 2, 0).numpy(), x[0].permute(1, 2, 0).numpy())
    assert isinstance(npv, float) and npv == pytest.approx(per[0].item())
    g = y.clone().requires_grad_()
    m(g, x).backward()
    assert torch.isfinite(g.grad).all()


def test_bad_inputs():
    x = scene(2)
    with pytest.raises(ValueError, match='shapes differ'): psnr(x, x[:1])
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'): psnr(x[:, :2], x[:, :2])
    with pytest.raises(TypeError, match='float'): psnr(np.zeros((4, 4, 3), np.uint16), np.zeros((4, 4, 3), np.uint16))
    with pytest.raises(ValueError, match='reduction'): ssim(x, x, reduction='sum')
    with pytest.raises(ValueError, match='white_nits'): delta_e_itp(x, x, white_nits=0)
    with pytest.raises(ValueError, match="'rgb' or 'y'"): pu21_psnr(x, x, channels='lab')
    with pytest.raises(ValueError, match='psnr'): get_metric('lpips')


# ------------------------------------------------------------------------------------------- compute_metrics edge cases
def test_compute_metrics_keys_and_values():
    x = scene(3)
    y = noisy(x).clamp(0, 1)
    r = compute_metrics(y, x, per_image=True)
    for k in ('psnr_acescct', 'ssim_acescct', 'mae_acescct', 'psnr_log2', 'pu21_psnr', 'delta_e_itp'):
        assert isinstance(r[k], float) and math.isfinite(r[k]) and len(r['per_image'][k]) == 3
    assert r['psnr_acescct'] == pytest.approx(psnr(y, x).item())
    assert r['delta_e_itp'] == pytest.approx(delta_e_itp(y, x).item())
    assert (r['n_images'], r['n_invalid'], r['n_psnr_capped']) == (3, 0, 0)
    assert ('cvvdp' in r) == cvvdp_available()


def test_compute_metrics_nan_and_inf_predictions_are_reported():
    x = scene(4)
    y = noisy(x).clamp(0, 1)
    clean = compute_metrics(y, x, per_image=True)
    y[1, 2, 0, 0], y[3, 0, 5, 5] = math.nan, math.inf
    r = compute_metrics(y, x, per_image=True, erm=True, erm_options={'k': 2})
    assert (r['n_images'], r['n_invalid']) == (4, 2)
    for k, v in r['per_image'].items():
        assert math.isnan(v[1]) and math.isnan(v[3]) and math.isfinite(v[0]), k
    assert r['mae_acescct'] == pytest.approx(np.mean([clean['per_image']['mae_acescct'][i] for i in (0, 2)]))
    assert math.isnan(compute_metrics(y[1:2], x[1:2])['ssim_acescct'])
    with pytest.raises(ValueError, match='target'): compute_metrics(x, y)


def test_compute_metrics_identical_and_constant():
    x = scene(2)
    r = compute_metrics(x, x, per_image=True, erm=True, erm_options={'k': 2, 'renderer': 'pq'})
    assert r['per_image']['psnr_acescct'] == [math.inf, math.inf]
    assert (r['psnr_acescct'], r['psnr_log2'], r['pu21_psnr'], r['psnr_pq'], r['n_psnr_capped']) == (100.0,) * 4 + (8,)
    assert (r['ssim_acescct'], r['mae_acescct'], r['delta_e_itp'], r['delta_e_itp_pq'], r['erm'], r['erm_ratio']) == \
        (1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    c = torch.full((1, 3, 16, 16), 0.4, dtype=torch.float64)
    rc = compute_metrics(c + 0.01, c)
    assert all(math.isfinite(v) for k, v in rc.items() if isinstance(v, float))
    assert rc['psnr_acescct'] == pytest.approx(40.0)


def test_compute_metrics_cvvdp_optional(monkeypatch):
    "Both branches run on every machine: without pycvvdp (hidden) the metric is left out or refused; with it (a stand-in"
    "that records its inputs) compute_metrics reports its JOD on the PQ rendering of each image."
    import sys, types
    x, y = scene(2), scene(2) * 0.9
    monkeypatch.setitem(sys.modules, 'pycvvdp', None)                  # `import pycvvdp` raises ImportError
    assert not cvvdp_available()
    assert 'cvvdp' not in compute_metrics(x, y)
    with pytest.raises(ImportError, match='pycvvdp'): compute_metrics(x, y, cvvdp=True)
    seen = []
    class FakeCVVDP:
        def __init__(self, display_name, device): self.display = display_name
        def predict(self, test, ref, dim_order):
            seen.append((self.display, dim_order, test.clone(), ref.clone()))
            return (10.0 - float((test - ref).abs().mean()) * 100, None)
    monkeypatch.setitem(sys.modules, 'pycvvdp', types.SimpleNamespace(cvvdp=FakeCVVDP))
    assert cvvdp_available()
    r = compute_metrics(x, y, per_image=True)
    assert 'cvvdp' in r and len(seen) == 2 and {s[:2] for s in seen} == {('standard_hdr_pq', 'CHW')}
    pq = convert_space(torch.as_tensor(y[1]).float(), 'ACEScct', 'Rec2100-PQ', white_nits=100.0, clip=True)
    torch.testing.assert_close(seen[1][3], pq)                           # the reference image, PQ-encoded
    jod = [10.0 - float((a - b).abs().mean()) * 100 for _, _, a, b in seen]
    assert r['per_image']['cvvdp'] == pytest.approx(jod) and r['cvvdp'] == pytest.approx(np.mean(jod))
    assert compute_metrics(x, y, cvvdp=False).get('cvvdp') is None


# ------------------------------------------------------------------------------------------- bootstrap
def test_bootstrap_coverage_and_width():
    rng = np.random.default_rng(0)
    hits = sum(lo <= 3.0 <= hi for lo, hi in (bootstrap_ci(rng.normal(3, 1, 40), n_boot=500, seed=s)[1:] for s in range(200)))
    assert 0.88 <= hits / 200 <= 0.99                                      # nominal 95 % (percentile CIs run a bit short)
    widths = [np.subtract(*bootstrap_ci(rng.normal(0, 1, n), seed=1)[:0:-1]) for n in (20, 200, 2000)]
    assert widths[0] > widths[1] > widths[2] > 0
    assert widths[1] / widths[2] == pytest.approx(math.sqrt(10), rel=0.2)  # shrinks like 1/sqrt(n)


def test_bootstrap_properties():
    v = np.random.default_rng(1).exponential(1, 300)
    m, lo, hi = bootstrap_ci(v, seed=4)
    assert m == pytest.approx(v.mean()) and lo < m < hi
    assert bootstrap_ci(v, seed=4) == (m, lo, hi)                          # seeded
    m90 = bootstrap_ci(v, ci=0.9, seed=4)
    assert lo < m90[1] and m90[2] < hi
    assert bootstrap_ci([2.5]) == (2.5, 2.5, 2.5)
    big = bootstrap_ci(np.arange(50000.0), n_boot=300)                      # blocks keep memory bounded
    assert big[1] < 24999.5 < big[2]
    for bad, match in (([], 'empty'), ([1, math.inf], 'non-finite'), ([1, math.nan], 'non-finite')):
        with pytest.raises(ValueError, match=match): bootstrap_ci(bad)
    with pytest.raises(ValueError, match='ci'): bootstrap_ci(v, ci=95)
    with pytest.raises(ValueError, match='n_boot'): bootstrap_ci(v, n_boot=0)


def test_paired_comparison():
    rng = np.random.default_rng(2)
    base = rng.normal(30, 5, 100)                                          # large between-image spread
    better = base + 0.3 + rng.normal(0, 0.2, 100)
    r = paired_comparison(better, base, 'psnr')
    assert r['significant'] and r['ci_lo'] > 0 and r['win_rate'] > 0.8 and r['mean_diff'] == pytest.approx(0.3, abs=0.06)
    # unpaired CIs of the two means overlap though the paired difference is clear
    ca, cb = bootstrap_ci(better), bootstrap_ci(base)
    assert ca[1] < cb[2]
    r2 = paired_comparison(base, better, 'delta_e_itp')                    # lower is better: base wins there
    assert r2['win_rate'] == pytest.approx(r['win_rate']) and not r2['higher_is_better']
    same = paired_comparison(base, base)
    assert (same['mean_diff'], same['tie_rate'], same['win_rate'], same['significant']) == (0.0, 1.0, 0.0, False)
    with pytest.raises(ValueError, match='same images'): paired_comparison(base, base[:50])


def test_metric_cis():
    x = scene(5)
    y = noisy(x).clamp(0, 1)
    y[0] = x[0]
    y[2, 0, 0, 0] = math.nan
    cis = metric_cis(compute_metrics(y, x, per_image=True), n_boot=200)
    for k, (m, lo, hi) in cis.items():
        assert lo <= m <= hi and all(map(math.isfinite, (m, lo, hi))), k
    with pytest.raises(ValueError, match='per_image'): metric_cis(compute_metrics(y, x))


# ------------------------------------------------------------------------------------------- ERM
@pytest.mark.parametrize('renderer', ['aces2-sdr', 'pq', 'naive'])
@pytest.mark.parametrize('distance', ['delta_e_itp', 'mae', 'rmse'])
def test_erm_identity_edits_give_unedited(renderer, distance):
    x = scene(2, 8, 8, hi=0.7)
    y = noisy(x, 0.01)
    r = erm(y, x, chains=[EditChain.identity(), EditChain.identity()], renderer=renderer, distance=distance, per_image=True)
    assert r['erm'] == r['unedited'] > 0 and r['ratio'] == 1.0
    assert r['per_image']['erm'] == r['per_image']['unedited'] and r['per_image']['ratio'] == [1.0, 1.0]


def test_erm_zero_for_perfect_prediction():
    x = scene(2, 8, 8, hi=0.7)
    for renderer in ('aces2-sdr', 'pq'):
        r = erm(x.clone(), x, k=3, renderer=renderer, per_image=True)
        assert (r['erm'], r['unedited'], r['ratio']) == (0.0, 0.0, 1.0)
        assert r['per_image']['ratio'] == [1.0, 1.0] and not any(map(math.isnan, r['per_chain']))


def test_erm_ratio_rule():
    assert _ratio(0.0, 0.0).item() == 1.0 and _ratio(2.0, 0.0).item() == math.inf and _ratio(3.0, 2.0).item() == 1.5


def test_erm_seeded_reproducible():
    x = scene(1, 10, 10, hi=0.7)
    y = noisy(x, 0.02)
    a, b = erm(y, x, k=4, seed=7), erm(y, x, k=4, seed=7)
    assert a == b
    c = erm(y, x, k=4, seed=8)
    assert c['chains'] != a['chains'] and c['erm'] != a['erm']
    assert [ch.to_dict() for ch in sample_edit_chains(4, 7)] == a['chains']
    # chains drawn one by one from the same generator are the same chains
    rng = np.random.default_rng(7)
    assert [random_edit(rng).to_dict() for _ in range(4)] == a['chains']
    assert erm(y[0].permute(1, 2, 0).numpy(), x[0].permute(1, 2, 0).numpy(), k=4, seed=7)['erm'] == pytest.approx(a['erm'])


def test_erm_options_and_errors():
    x = scene(1, 8, 8, hi=0.7)
    y = noisy(x, 0.02)
    r = erm(y, x, k=3, distance=lambda a, b: (a - b).abs().flatten(1).amax(1), edit_options={'ops': ['exposure']})
    assert len(r['per_chain']) == 3 and r['distance'] == '<lambda>'
    assert all(s['name'] == 'exposure' for c in r['chains'] for s in c['steps'])
    assert 'Rec2100-PQ' in repr(DisplayRender('pq'))
    assert get_metric('erm')(y, x, k=3, seed=0) == erm(y, x, k=3) and not METRICS['erm'].higher_is_better
    with pytest.raises(ValueError, match='delta_e_itp'): erm(y, x, distance='ssim')
    with pytest.raises(ValueError, match='k must be'): erm(y, x, k=0)
    with pytest.raises(ValueError, match='at least one'): erm(y, x, chains=[])
    with pytest.raises(ValueError, match='aces2-sdr'): erm(y, x, renderer='filmic')
    with pytest.raises(TypeError, match='no options'): erm(y, x, renderer='pq', fast=False)
    y[0, 0, 0, 0] = math.nan
    rn = erm(torch.cat([y, noisy(x)]), torch.cat([x, x]), k=2, per_image=True)
    assert rn['n_invalid'] == 1 and math.isnan(rn['per_image']['erm'][0]) and math.isfinite(rn['erm'])


# ---------------------------------------------------------------- regions and the PQ domain
def test_regions_on_a_synthetic_frame_and_region_columns():
    "Regions of a synthetic frame: a partition plus out-of-gamut; every metric by region, finite where the region exists."
    from sdr2log.cli import demo_frame
    from sdr2log.color import gamut_compress
    from sdr2log.metrics import REGIONS, region_masks, region_thresholds
    torch.set_num_threads(1)
    raw = convert_space(torch.from_numpy(demo_frame(48, 80)).permute(2, 0, 1)[None].double(), 'AWG3', 'ACEScct')
    tgt = gamut_compress(raw, 'ACEScct')
    assert raw.min() < 0 and tgt.min() > raw.min()    # out-of-AP1 codes (negative ACEScct) are what the compression pulls in
    for r in ('aces2-sdr', 'naive'):
        mk = region_masks(tgt, r)
        assert set(mk) == set(REGIONS) and all(m.shape == (1, 48, 80) and m.dtype == torch.bool for m in mk.values())
        part = mk['highlights'].int() + mk['midtones'].int() + mk['shadows'].int()
        assert (part == 1).all()                       # the luminance regions partition the frame
        assert mk['out_of_gamut'].any() and mk['highlights'].any() and mk['shadows'].any()
        assert (region_masks(raw, r, target_gamut='ap1')['out_of_gamut'] == mk['out_of_gamut']).float().mean() > 0.99
    # naive clips at scene 1.0, ACES 2.0 later: more of the frame is highlight for naive
    assert region_thresholds('naive')['highlights_stops'] < region_thresholds('aces2-sdr')['highlights_stops']
    pred = noisy(tgt, 0.01)
    m = compute_metrics(pred, tgt, regions=region_masks(tgt), per_image=True)
    for k in ('psnr_acescct', 'ssim_acescct', 'mae_acescct', 'psnr_log2', 'pu21_psnr', 'delta_e_itp', 'psnr_pq', 'delta_e_itp_pq'):
        for r in REGIONS: assert math.isfinite(m[f'{k}_{r}']), (k, r)
    assert sum(m[f'share_{r}'] for r in ('highlights', 'midtones', 'shadows')) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="region 'x'"):
        compute_metrics(pred, tgt, regions={'x': torch.ones(1, 4, 4, dtype=torch.bool)})
    with pytest.raises(ValueError, match='renderer'):
        region_masks(tgt, 'filmic')


def test_gamut_compress_layouts_and_float32():
    "numpy channel-last and torch channel-first give the same result to float32 precision; dtype and device kept."
    from sdr2log.color import gamut_compress
    x = np.random.default_rng(2).uniform(-0.3, 3, (4, 5, 3)).astype(np.float32)
    a = gamut_compress(x)
    b = gamut_compress(torch.from_numpy(x).permute(2, 0, 1).contiguous()).permute(1, 2, 0).numpy()
    assert a.dtype == np.float32 and np.allclose(a, b, atol=1e-6)
    assert np.allclose(gamut_compress(a, inverse=True), x, atol=1e-4)
