"""Benchmark: training throughput (images/s) of the U-Nets at 256x256, with a diffusers UNet2DModel of similar size
measured in the same run as the peer.

Run: .venv/bin/python bench/bench_train.py [--batch 4] [--steps 5] [--out bench/results/train.md]
     .venv/bin/python bench/bench_train.py --cpu-amp [--out bench/results/train_amp_cpu.md]
One training step = forward, L1 loss, backward, AdamW step. FLOPs per step come from torch's FlopCounterMode; achieved
GFLOP/s = FLOPs / time. On a GPU the same is measured in bf16 autocast (and channels_last), and model FLOP utilisation
is reported against the peak given with --peak-tflops (e.g. 989 for an H100 SXM in dense bf16).

--cpu-amp measures what `training.amp: 'bf16'` does on a CPU instead: a U-Net training step (channels_last, as the trainer
runs it) in fp32 and under torch.autocast('cpu', dtype=torch.bfloat16), at the demo's size (width 16, depth 3, batch 4,
crop 128) and the `--long` preset's (width 32, depth 4, batch 8, crop 256), the ratio against fp32 in the same run, and
how far the bf16 losses of the same steps (same weights, same batch) drift from the fp32 ones.
"""
import argparse, copy, sys, time, statistics
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table
from sdr2log.models.core import build_model, count_params

def step_fn(model, x, y, opt, amp_dtype=None):
    def step():
        ctx = torch.autocast(x.device.type, dtype=amp_dtype) if amp_dtype else torch.autocast('cpu', enabled=False)
        with ctx:
            out = model(x)
            out = out.sample if hasattr(out, 'sample') else out
            loss = (out.float() - y).abs().mean()
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        if x.device.type == 'cuda': torch.cuda.synchronize()
    return step

def flops_of(step):
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc: step()
    return fc.get_total_flops()

def measure(name, model, batch, size, steps, device, amp_dtype=None, channels_last=False):
    model = model.to(device).train()
    x = torch.rand(batch, 3, size, size, device=device) * 0.6 + 0.1
    y = torch.rand(batch, 3, size, size, device=device) * 0.6 + 0.1
    if channels_last: model = model.to(memory_format=torch.channels_last); x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), 1e-4)
    st = step_fn(model, x, y, opt, amp_dtype)
    fl = flops_of(st)
    st(); st()                                                   # warm-up
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter(); st(); ts.append(time.perf_counter() - t0)
    t = statistics.median(ts)
    return {'name': name, 'params': count_params(model), 'step_s': t, 'img_s': batch / t, 'gflop_step': fl / 1e9,
            'gflop_s': fl / t / 1e9}

def diffusers_peer(width):
    "A diffusers UNet2DModel with about the U-Net's parameters, called as a plain image-to-image net (t = 0)."
    from diffusers import UNet2DModel
    class Peer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = UNet2DModel(in_channels=3, out_channels=3, block_out_channels=(width, width * 2, width * 4, width * 8),
                                   down_block_types=('DownBlock2D',) * 4, up_block_types=('UpBlock2D',) * 4,
                                   layers_per_block=1, norm_num_groups=8)
        def forward(self, x): return self.net(x, 0).sample
    return Peer()

CPU_AMP_CONFIGS = {'demo (w16 d3, batch 4, crop 128)': (16, 3, 4, 128), 'long (w32 d4, batch 8, crop 256)': (32, 4, 8, 256)}

def measure_cpu_amp(name, width, depth, batch, size, steps):
    """fp32 against bf16 autocast for one U-Net config: two copies of the same seeded U-Net (channels_last) trained on one
    fixed batch, their steps interleaved (fp32, bf16, fp32, ...) so that load from other jobs falls on both alike.
    Returns the median step times, the largest relative loss difference over the steps, and the relative L2 difference
    of the first step's gradients (same weights, same batch: the precision bf16 costs)."""
    torch.manual_seed(0)
    base = build_model(name, width=width, depth=depth).train().to(memory_format=torch.channels_last)
    x = (torch.rand(batch, 3, size, size) * 0.6 + 0.1).contiguous(memory_format=torch.channels_last)
    y = torch.rand(batch, 3, size, size) * 0.6 + 0.1
    runs = {}
    for dt in (None, torch.bfloat16):
        m = copy.deepcopy(base)
        runs[dt] = {'model': m, 'opt': torch.optim.AdamW(m.parameters(), 1e-4), 'ts': [], 'losses': [], 'grad': None}
    for i in range(steps + 2):                                   # two warm-up steps each
        for dt, r in runs.items():
            t0 = time.perf_counter()
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=dt is not None):
                out = r['model'](x)
            loss = (out.float() - y).abs().mean()                # as the trainer's Reconstruction: loss in fp32
            r['opt'].zero_grad(set_to_none=True); loss.backward()
            if i == 0: r['grad'] = torch.cat([p.grad.flatten() for p in r['model'].parameters() if p.grad is not None])
            r['opt'].step()
            if i >= 2: r['ts'].append(time.perf_counter() - t0)
            r['losses'].append(float(loss.detach()))
    f, h = runs[None], runs[torch.bfloat16]
    return {'fp32': statistics.median(f['ts']), 'bf16': statistics.median(h['ts']),
            'loss_drift': max(abs(p - q) / abs(p) for p, q in zip(f['losses'], h['losses'])),
            'grad_rel': float((f['grad'] - h['grad']).norm() / f['grad'].norm())}

def cpu_amp(a):
    "fp32 against bf16 autocast on this CPU; returns the markdown."
    flags = open('/proc/cpuinfo').read().split() if Path('/proc/cpuinfo').exists() else []
    isa = ', '.join(f for f in ('avx512_bf16', 'amx_bf16', 'avx512f') if f in flags) or 'none of avx512f/avx512_bf16/amx_bf16'
    rows = []
    for label, (w, d, b, s) in CPU_AMP_CONFIGS.items():
        for name in a.models:
            steps = a.steps if s <= 128 else max(3, a.steps // 3)
            r = measure_cpu_amp(name, w, d, b, s, steps)
            for tag in ('fp32', 'bf16'):
                rows.append((label, name, 'fp32' if tag == 'fp32' else 'bf16 autocast', steps, f'{r[tag] * 1e3:.0f}',
                             f'{b / r[tag]:.1f}', f"{r['fp32'] / r[tag]:.2f}x",
                             '' if tag == 'fp32' else f"{r['loss_drift']:.1e}", '' if tag == 'fp32' else f"{r['grad_rel']:.1e}"))
                print(rows[-1], flush=True)
    return (f"# bf16 autocast on CPU: a U-Net training step, fp32 against torch.autocast('cpu', dtype=torch.bfloat16)\n\n"
            f"{machine()}; CPU flags: {isa}\n\n"
            + table(rows, ('config', 'model', 'precision', 'steps timed', 'step ms (median)', 'images/s', 'vs fp32',
                           'loss rel. diff (max over steps)', 'first-step gradient rel. L2 diff'))
            + "\n\nOne step = forward (under autocast for bf16), L1 loss in fp32, backward, AdamW, channels_last, on one fixed "
              "random batch; two copies of the same initial U-Net, their steps interleaved (fp32, bf16, fp32, ...) after two "
              "warm-up steps each, so that the load of other jobs falls on both alike. `vs fp32` > 1x: faster. The last two "
              "columns say what bf16 costs in precision: the largest relative difference between the two losses of the same "
              "step, and the relative L2 difference of all gradients of the first step (same weights, same batch). The "
              "output convolution starts at zero (the U-Nets start as the identity), so the first losses are the input's "
              "and agree closely; the gradients show the bf16 rounding. Measured on a 2-core machine shared with two other "
              "people's jobs: absolute times vary from run to run, the ratios of one run are the comparable figures.\n")

def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=4); ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--steps', type=int, default=5); ap.add_argument('--width', type=int, default=32)
    ap.add_argument('--peak-tflops', type=float, default=None, help='GPU peak for MFU (dense, the dtype measured)')
    ap.add_argument('--cpu-amp', action='store_true', help='fp32 against bf16 autocast on the CPU (train_amp_cpu.md)')
    ap.add_argument('--models', nargs='+', default=['unet-cct', 'unet-linear'], help='with --cpu-amp: the U-Nets measured')
    ap.add_argument('--out', default=None, help='default: bench/results/train.md (train_amp_cpu.md with --cpu-amp)')
    a = ap.parse_args(argv)
    if a.out is None: a.out = str(Path(__file__).parent / 'results' / ('train_amp_cpu.md' if a.cpu_amp else 'train.md'))
    if a.cpu_amp:
        md = cpu_amp(a); print(md); Path(a.out).write_text(md); return
    torch.manual_seed(0)
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    rows = []
    for dev in devices:
        variants = [(None, False)] + ([(torch.bfloat16, False), (torch.bfloat16, True)] if dev == 'cuda' else [(None, True)])
        for amp, cl in variants:
            tag = f"{dev}{' bf16' if amp else ' fp32'}{' channels_last' if cl else ''}"
            res = [measure(n, build_model(n, width=a.width, depth=4), a.batch, a.size, a.steps, dev, amp, cl)
                   for n in ('unet-cct', 'unet-linear', 'attention-unet')]
            res.append(measure('diffusers UNet2DModel (peer)', diffusers_peer(a.width), a.batch, a.size, a.steps, dev, amp, cl))
            peer = res[-1]['img_s']
            for r in res:
                mfu = f"{100 * r['gflop_s'] / (a.peak_tflops * 1e3):.1f}%" if (dev == 'cuda' and a.peak_tflops) else ''
                rows.append((tag, r['name'], f"{r['params'] / 1e6:.2f} M", f"{r['img_s']:.2f}", f"{r['img_s'] / peer:.2f}x",
                             f"{r['gflop_step']:.1f}", f"{r['gflop_s']:.1f}", mfu))
    md = (f'# Training throughput at {a.size}x{a.size}, batch {a.batch} (forward + L1 + backward + AdamW)\n\n{machine()}\n\n'
          + table(rows, ('device / precision', 'model', 'params', 'images/s', 'vs peer', 'GFLOP/step', 'GFLOP/s', 'MFU'))
          + '\n\nThe peer is a diffusers UNet2DModel of similar width (4 levels, one ResNet block each) measured in the same run. '
          'On CPU, channels_last is measured as well; bf16, channels_last and MFU apply on a GPU.\n')
    print(md)
    if a.out: Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(md)

if __name__ == '__main__': main()
