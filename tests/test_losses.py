"sdr2log.losses: domains, MS-SSIM on small crops, highlight weighting, ECL (consistency and equivariance), build_loss."
import math
import pytest, torch
from torch import nn
from pytorch_msssim import ssim, ms_ssim
from sdr2log.color import convert_space
from sdr2log.edits import EditChain
from sdr2log.losses import (DOMAINS, LOSSES, to_domain, l1_loss, l2_loss, charbonnier_loss, ssim_loss, ms_ssim_loss,
                            ms_ssim_levels, _ms_ssim_n, highlight_weight, DomainLoss, EditConsistencyLoss, build_loss)

pytestmark = pytest.mark.paths     # our numpy/torch code against the library oracles: rerun under each ATEN_CPU_CAPABILITY

G = lambda s: torch.Generator().manual_seed(s)
Y = torch.rand(2, 3, 40, 40, generator=G(0)) * 0.7 + 0.1                       # ACEScct targets
P = (Y + 0.03 * torch.randn(Y.shape, generator=G(1))).clamp(0.05, 0.95)        # predictions


def test_domains_against_convert_space():
    torch.testing.assert_close(to_domain(Y, 'linear'), convert_space(Y, 'ACEScct', 'ACEScg'))
    torch.testing.assert_close(to_domain(Y, 'pq', white_nits=203.), convert_space(Y, 'ACEScct', 'Rec2100-PQ', white_nits=203.))
    torch.testing.assert_close(to_domain(Y, 'log2'), torch.log2(convert_space(Y, 'ACEScct', 'ACEScg').clamp(min=2 ** -14)))
    assert to_domain(Y, 'acescct') is Y


def test_pixel_losses_by_hand_and_weighting():
    w = torch.rand(2, 1, 40, 40, generator=G(2)) + 1
    assert torch.isclose(l1_loss(P, Y, w), ((P - Y).abs() * w).mean())
    assert torch.isclose(l2_loss(P, Y), ((P - Y) ** 2).mean())
    assert torch.isclose(charbonnier_loss(P, Y, eps=0.01), (((P - Y) ** 2 + 1e-4).sqrt() - 0.01).mean())


def test_ssim_is_pytorch_msssim():
    assert torch.isclose(ssim_loss(P, Y), 1 - ssim(P, Y, data_range=1.0))
    big_p, big_y = torch.rand(1, 3, 168, 170, generator=G(3)), torch.rand(1, 3, 168, 170, generator=G(4))
    big_p = 0.5 * big_p + 0.5 * big_y
    assert torch.isclose(ms_ssim_loss(big_p, big_y), 1 - ms_ssim(big_p, big_y, data_range=1.0))
    assert torch.isclose(_ms_ssim_n(big_p, big_y, 1.0, 11, 5), ms_ssim(big_p, big_y, data_range=1.0), atol=1e-6)


def test_ms_ssim_small_crops():
    assert [ms_ssim_levels(s) for s in (20, 21, 41, 81, 161)] == [1, 2, 3, 4, 5]
    v = ms_ssim_loss(P, Y)                      # 40 px: 2 scales
    assert 0 < v < 1 and torch.isfinite(v)
    assert ms_ssim_loss(P, Y, win_size=3) != v  # a small window allows more scales
    with pytest.raises(ValueError, match="'ssim'"): ms_ssim_loss(P[..., :16, :16], Y[..., :16, :16])
    with pytest.raises(ValueError, match='levels'): ms_ssim_loss(P, Y, levels='all')
    with pytest.raises(ValueError, match='above'): ms_ssim_loss(P, Y, levels=4)


def test_highlight_weight_shape_and_monotone():
    lin = torch.logspace(-3, 2, 50).view(1, 1, 1, 50).expand(1, 3, 1, 50)
    w = highlight_weight(convert_space(lin, 'ACEScg', 'ACEScct'))
    assert w.shape == (1, 1, 1, 50) and (w.diff(dim=-1) >= 0).all() and 1 <= w.min() and w.max() <= 5
    with pytest.raises(ValueError, match='softness'): highlight_weight(Y, softness=0)


@pytest.mark.parametrize('domain', DOMAINS)
@pytest.mark.parametrize('name', ['l1', 'l2', 'charbonnier'])
def test_gradcheck_pixel_losses(name, domain):
    y = torch.rand(1, 3, 3, 3, dtype=torch.float64) * 0.8 + 0.1
    p = (y + 0.02).requires_grad_()
    L = DomainLoss(name, domain)
    assert torch.autograd.gradcheck(lambda v: L(v, y), (p,))


def test_ecl_zero_for_any_edit_and_hand_value():
    ecl = EditConsistencyLoss(renderer='naive')
    for s in range(10):
        assert ecl(Y, Y, generator=s).item() == 0.0
    c = EditChain([('white_balance', {'temperature': [3200., 8000.], 'tint': [0.0, 0.005]}), ('contrast', {'amount': 1.3}),
                   ('composite', {'other': [0.4, 0.42, 0.38], 'alpha': [0.2, 0.4]})])
    assert torch.isclose(ecl(P, Y, chain=c), (c(P) - c(Y)).abs().mean())
    assert ecl(P, Y, chain=EditChain.identity()).item() == l1_loss(P, Y).item()
    e2 = EditConsistencyLoss(distance='l2', domain='pq', renderer='naive')
    assert torch.isclose(e2(P, Y, chain=c), ((to_domain(c(P), 'pq') - to_domain(c(Y), 'pq')) ** 2).mean())


def test_ecl_seeded_and_per_sample():
    a, b = EditConsistencyLoss(seed=3, renderer='naive'), EditConsistencyLoss(seed=3, renderer='naive')
    assert a(P, Y).item() == b(P, Y).item()
    assert a.last_chain.to_dict() == b.last_chain.to_dict()
    for e in a.last_chain:
        for k, v in e.params.items():
            if k != 'other': assert len(v) == 2          # one parameter per sample
    # a generator given to forward wins over the internal one
    assert a(P, Y, generator=7).item() == b(P, Y, generator=7).item()


def test_ecl_gradients_flow():
    ecl = EditConsistencyLoss(renderer='naive', edits={'n_steps': [3, 3]})
    p = P.clone().requires_grad_()
    ecl(p, Y).backward()
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


class InverseNaive(nn.Module):
    "An exactly equivariant 'network': ACEScct of the naive renderer's inverse (plus a learnable gain)."
    def __init__(self):
        super().__init__(); self.g = nn.Parameter(torch.ones(()))
    def forward(self, x):
        return self.g * convert_space(convert_space(x, 'ACEScct', 'Rec709'), 'Rec709', 'ACEScct')


def test_ecl_equivariance_naive_renderer():
    ecl = EditConsistencyLoss(renderer='naive', equivariance_weight=0.5)
    y = convert_space(torch.rand(2, 3, 16, 16, generator=G(5)) * 0.5 + 0.05, 'Rec709-linear', 'ACEScct')  # in gamut, < 1
    r = ecl.renderer
    x = convert_space(r(convert_space(y, 'ACEScct', 'LogC3')), r.output_space, 'ACEScct')   # the data module's input
    f = InverseNaive()
    chain = EditChain([('exposure', {'stops': [-1.0, -0.5]})])                           # stays within [0, 1]
    parts = ecl.parts(f(x), y, model=f, x=x, chain=chain)
    assert parts['ecl_equiv'].item() < 1e-5                                                # f commutes with T
    assert parts['ecl'].item() < 1e-5
    total = ecl(f(x), y, model=f, x=x, chain=chain)
    assert torch.isclose(total, parts['ecl'] + 0.5 * parts['ecl_equiv'])
    # T_sdr of exposure -1 darkens the SDR input; identity leaves it alone
    xs = ecl.edit_sdr(x, chain)
    assert (xs <= x + 1e-6).all() and (xs < x - 1e-3).any()
    torch.testing.assert_close(ecl.edit_sdr(x, EditChain.identity()), x, atol=1e-5, rtol=0)
    # a model that is not equivariant pays, and gets gradients
    g = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Sigmoid())
    ecl(g(x), y, model=g, x=x).backward()
    assert all(torch.isfinite(q.grad).all() and q.grad.abs().sum() > 0 for q in g.parameters())


def test_ecl_aces2_renderer_t_sdr():
    ecl = EditConsistencyLoss()                                  # default aces2-sdr (baked LUT, Rec1886 output)
    assert ecl.renderer.output_space == 'Rec1886'
    y = torch.rand(1, 3, 8, 8, generator=G(6)) * 0.3 + 0.3
    r = ecl.renderer
    x = convert_space(r(convert_space(y, 'ACEScct', 'LogC3')), 'Rec1886', 'ACEScct')
    torch.testing.assert_close(ecl.edit_sdr(x, EditChain.identity()), x, atol=2e-2, rtol=0)
    up = ecl.edit_sdr(x, EditChain([('exposure', {'stops': 1.0})]))
    assert (up.mean() > x.mean() + 0.02)


FULL = {'loss': {'terms': [{'name': 'l1', 'weight': 1.0, 'domain': 'acescct'},
                           {'name': 'ms_ssim', 'weight': 0.2, 'domain': 'acescct'},
                           {'name': 'charbonnier', 'weight': 0.5, 'domain': 'pq', 'eps': 1e-3},
                           {'name': 'l2', 'weight': 0.3, 'domain': 'log2', 'floor': 2 ** -10},
                           {'name': 'ecl', 'weight': 0.1, 'renderer': 'naive', 'equivariance_weight': 0.25,
                            'edits': {'n_steps': [1, 2], 'ops': ['exposure', 'saturation'],
                                      'ranges': {'exposure': {'stops': [-2, 2]}}}}],
                 'highlight_weight': {'weight': 4.0, 'threshold_stops': 2.0, 'softness': 0.5}},
        'data': {}}


def test_build_loss_full_config_logs_every_term():
    L = build_loss(FULL)
    f = nn.Conv2d(3, 3, 1)
    x = Y.clone()
    pred = f(x)
    total, logs = L(pred, Y, model=f, x=x, generator=0)
    assert set(logs) == {'l1', 'ms_ssim', 'charbonnier_pq', 'l2_log2', 'ecl', 'ecl_equiv', 'total'}
    assert all(isinstance(v, float) and math.isfinite(v) for v in logs.values())
    expect = (logs['l1'] + 0.2 * logs['ms_ssim'] + 0.5 * logs['charbonnier_pq'] + 0.3 * logs['l2_log2']
              + 0.1 * (logs['ecl'] + 0.25 * logs['ecl_equiv']))
    assert math.isclose(logs['total'], expect, rel_tol=1e-5) and math.isclose(total.item(), expect, rel_tol=1e-5)
    total.backward()
    assert all(torch.isfinite(q.grad).all() for q in f.parameters())
    # without the model only the consistency part is there
    assert 'ecl_equiv' not in L(P, Y)[1]


def test_highlight_weight_changes_pixel_terms_only():
    base = {'terms': [{'name': 'l1'}, {'name': 'ssim'}]}
    a = build_loss(base)(P, Y)[1]
    b = build_loss({**base, 'highlight_weight': {'weight': 10.0, 'threshold_stops': -5.0}})(P, Y)[1]
    assert b['l1'] > 5 * a['l1'] and b['ssim'] == a['ssim']
    assert build_loss({**base, 'highlight_weight': None})(P, Y)[1] == a


@pytest.mark.parametrize('cfg,path', [
    ({'terms': [{'name': 'lpips'}]}, 'loss.terms[0].name'),
    ({'terms': [{'name': 'l1', 'domian': 'pq'}]}, 'loss.terms[0].domian'),
    ({'terms': [{'name': 'ssim', 'eps': 1}]}, 'loss.terms[0].eps'),
    ({'terms': [{'name': 'l1', 'weight': 'big'}]}, 'loss.terms[0].weight'),
    ({'terms': [{'name': 'l1'}, {'name': 'l2', 'domain': 'hlg'}]}, 'loss.terms[1].domain'),
    ({'terms': [{'name': 'ecl', 'edits': {'ranges': {'exposure': {'ev': [0, 1]}}}}]}, 'ranges.exposure.ev'),
    ({'terms': [{'name': 'ecl', 'renderer': 'filmic'}]}, 'loss.terms[0]'),
    ({'terms': {'name': 'l1'}}, 'loss.terms'),
    ({'terms': [{'name': 'l1'}], 'highlight': {}}, 'loss.highlight'),
    ({'terms': [{'name': 'l1'}], 'highlight_weight': {'softness': -1}}, 'loss.highlight_weight'),
    ({'terms': [{'name': 'l1', 'domain': 'pq'}, {'name': 'l1', 'domain': 'pq'}]}, 'loss.terms[1].key'),
])
def test_build_loss_errors_name_the_key(cfg, path):
    with pytest.raises(ValueError) as e: build_loss(cfg)
    assert path in str(e.value)


def test_registry_walk():
    assert set(LOSSES) == {'l1', 'l2', 'charbonnier', 'ssim', 'ms_ssim', 'ecl'}
    for n in LOSSES:
        L = build_loss({'terms': [{'name': n, **({'renderer': 'naive'} if n == 'ecl' else {})}]})
        total, logs = L(Y, Y)
        assert abs(total.item()) < 1e-5 and 'total' in logs
