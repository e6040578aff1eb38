"""Benchmark: training throughput (images/s) of the U-Nets at 256x256, with a diffusers UNet2DModel of similar size
measured in the same run as the peer.

Run: .venv/bin/python bench/bench_train.py [--batch 4] [--steps 5] [--out bench/results/train.md]
One training step = forward, L1 loss, backward, AdamW step. FLOPs per step come from torch's FlopCounterMode; achieved
GFLOP/s = FLOPs / time. On a GPU the same is measured in bf16 autocast (and channels_last), and model FLOP utilisation
is reported against the peak given with --peak-tflops (e.g. 989 for an H100 SXM in dense bf16).
"""
import argparse, sys, time, statistics
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

def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=4); ap.add_argument('--size', type=int, default=256)
    ap.add_argument('--steps', type=int, default=5); ap.add_argument('--width', type=int, default=32)
    ap.add_argument('--peak-tflops', type=float, default=None, help='GPU peak for MFU (dense, the dtype measured)')
    ap.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'train.md'))
    a = ap.parse_args(argv)
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
