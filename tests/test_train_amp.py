"training.amp='bf16' on CPU: the trainer's autocast path (the one CUDA takes) runs, stays finite, and checkpoints float32."
import json
from pathlib import Path
import pytest, torch
from sdr2log.models.core import build_model
from sdr2log.runs import load_checkpoint

QUICK = ['training.max_steps_per_epoch=3', 'training.progress=false', 'data.batch_size=2', 'training.tensorboard=false',
         'data.augment.train_crop_size=48', 'data.sdr_from=naive', 'training.epochs=1', 'training.device=cpu',
         'training.log_every=1', 'training.val_max_batches=1', 'training.num_samples=0']


@pytest.fixture(scope='module')
def data(synth_data): return synth_data


def test_bf16_autocast_trains_on_cpu(data, tmp_path):
    from sdr2log.train import Trainer
    t = Trainer('tiny-linear', [f'data.root={data}', f'training.ckpt_root={tmp_path}', *QUICK, 'training.amp=bf16'])
    assert t.amp_dtype == torch.bfloat16 and not t.scaler.is_enabled()      # GradScaler only for fp16
    seen = {'train': [], 'ema': []}
    def spy(model, key):                                                    # autocast state at each forward
        fwd = model.forward
        def f(x):
            seen[key].append(torch.is_autocast_enabled('cpu') and torch.get_autocast_dtype('cpu') == torch.bfloat16)
            return fwd(x)
        model.forward = f
    spy(t.model, 'train'); spy(t.ema.ema_model, 'ema')
    s = t.fit()
    del t.model.forward, t.ema.ema_model.forward
    assert s['steps'] == 3 and s['bad_steps'] == 0
    assert len(seen['train']) == 3 and all(seen['train'])                  # training forwards: bf16 autocast
    assert seen['ema'] and not any(seen['ema'])                             # validation, final evaluation (EMA): fp32
    log = [json.loads(l) for l in (Path(s['run_dir']) / 'logs' / 'scalars.train.jsonl').read_text().splitlines()]
    assert len(log) == 3 and all(torch.isfinite(torch.tensor(r['loss'])) for r in log)
    assert all(torch.isfinite(torch.tensor(v)) for v in s['final'].values() if isinstance(v, float))
    assert json.loads((Path(s['run_dir']) / 'meta' / 'env.json').read_text())['amp'] == 'torch.bfloat16'
    for name in ('last.pt', 'best@psnr_acescct.pt'):                        # weights and EMA weights are float32
        st = load_checkpoint(Path(s['run_dir']) / 'checkpoints' / name)
        assert all(v.dtype == torch.float32 for v in st['model'].values() if v.is_floating_point())
        m = build_model(**t.cfg['model']); m.load_state_dict(st['model'])  # loads into a plain float32 model
        y = m.eval()(torch.rand(1, 3, 32, 32) * 0.6 + 0.1)
        assert y.dtype == torch.float32 and torch.isfinite(y).all()
    assert all(p.dtype == torch.float32 for p in t.ema.ema_model.parameters())


@pytest.mark.parametrize('amp', ['true', 'fp16'])
def test_other_amp_values_stay_fp32_on_cpu(data, tmp_path, amp):
    "training.amp=true (and fp16) mean CUDA autocast; on a CPU the trainer runs in float32, as before."
    from sdr2log.train import Trainer
    t = Trainer('tiny-cct', [f'data.root={data}', f'training.ckpt_root={tmp_path}', *QUICK, f'training.amp={amp}'])
    assert t.amp_dtype is None and not t.scaler.is_enabled()
