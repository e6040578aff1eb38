"HDRTVNet's AGCM / AGCM+LE models: registered, any size, and trained by our Trainer from a config naming them."
import json
import pytest, torch
from sdr2log.models import build_model, count_params, list_models
from sdr2log.train import SHIPPED_CONFIGS, Trainer
from sdr2log.models.hdrtvnet import AGCM, condition_image


def test_registered_with_the_authors_sizes():
    assert {'hdrtvnet-agcm', 'hdrtvnet-agcm-le'} <= set(list_models())
    assert count_params(build_model('hdrtvnet-agcm')) == 35251           # the authors' ConditionNet(cond_c=6)
    assert count_params(build_model('hdrtvnet-agcm-le')) == 35251 + 1369859   # + their SRResNet(nf=64, nb=16)


@pytest.mark.parametrize('hw', [(1, 1), (17, 31), (64, 96)])
def test_any_size_and_gradients(hw):
    m = build_model('hdrtvnet-agcm-le', le_nf=8, le_blocks=1)
    x = torch.rand(2, 3, *hw, requires_grad=True)
    y = m(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    y.mean().backward()
    assert x.grad is not None and all(p.grad is not None for p in m.parameters())


def test_condition_vector_depends_on_the_image_only_globally():
    m = AGCM().eval()
    x = torch.rand(1, 3, 48, 64)
    c1 = m.condition(condition_image(x))
    c2 = m.condition(condition_image(torch.flip(x, [-1])))      # a mirrored image has (nearly) the same statistics
    assert torch.allclose(c1, c2, atol=1e-3)


@pytest.mark.parametrize('name', ['hdrtvnet-agcm', 'hdrtvnet-agcm-le'])
def test_trainer_trains_it_from_a_config(synth_data, tmp_path, name):
    model = {'name': name, 'nf': 16} if name == 'hdrtvnet-agcm' else {'name': name, 'nf': 16, 'le_nf': 8, 'le_blocks': 1}
    cfg = dict(SHIPPED_CONFIGS['tiny-cct'], model=model)
    sets = [f'data.root={synth_data}', f'training.ckpt_root={tmp_path}/runs', 'training.exp_name=hdrtvnet',
            'training.max_steps_per_epoch=2', 'training.progress=false', 'data.batch_size=2',
            'data.augment.train_crop_size=48', 'data.sdr_from=naive', 'training.epochs=1', 'training.tensorboard=false']
    t = Trainer(cfg, sets)
    summary = t.fit()
    assert t.step == 2
    run = next((tmp_path / 'runs').glob('*-hdrtvnet'))
    losses = [json.loads(l)['loss'] for l in (run / 'logs' / 'scalars.train.jsonl').read_text().splitlines()]
    assert losses and all(l == l for l in losses)            # finite
    assert summary is not None
