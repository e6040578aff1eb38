"""Benchmark: does `training.compile` (torch.compile of the training forward) pay? Eager against torch.compile
(inductor, and aot_eager as the no-code-generation reference) on the demo's U-Nets, measured in the same run.

Run: .venv/bin/python bench/bench_compile.py [--batch 4] [--size 128] [--steps 20] [--out bench/results/compile.md]
One training step = forward, L1 loss, backward, AdamW step, channels_last as the trainer uses it. The compile time
(the first compiled step, graph capture and code generation) is reported apart from the steady-state step time: a run
pays it once per process, so `compile` pays when steps x saving > compile time.
"""
import argparse, sys, time, statistics
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table
from sdr2log.models.core import build_model


def measure(model_cfg, backend, batch, size, steps, device):
    torch.manual_seed(0)
    model = build_model(**model_cfg).to(device).train().to(memory_format=torch.channels_last)
    fwd = model if backend == 'eager' else torch.compile(model, backend=backend)
    x = (torch.rand(batch, 3, size, size, device=device) * 0.6 + 0.1).contiguous(memory_format=torch.channels_last)
    y = torch.rand(batch, 3, size, size, device=device) * 0.6 + 0.1
    opt = torch.optim.AdamW(model.parameters(), 1e-4)
    def step():
        loss = (fwd(x).float() - y).abs().mean()
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        if device.type == 'cuda': torch.cuda.synchronize()
    t0 = time.perf_counter(); step(); first = time.perf_counter() - t0       # eager: warm-up; compiled: + compile
    step()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter(); step(); ts.append(time.perf_counter() - t0)
    return first, statistics.median(ts)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=4); ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--backends', nargs='+', default=['eager', 'aot_eager', 'inductor'])
    ap.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'compile.md'))
    a = ap.parse_args(argv)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    models = {'unet-cct w16 d3 (demo)': {'name': 'unet-cct', 'width': 16, 'depth': 3},
              'unet-linear w16 d3 (demo)': {'name': 'unet-linear', 'width': 16, 'depth': 3}}
    rows = []
    for name, m in models.items():
        res = {b: measure(m, b, a.batch, a.size, a.steps, device) for b in a.backends}
        eager = res['eager'][1]
        for b, (first, t) in res.items():
            rows.append([name, b, f'{t * 1e3:.1f}', f'{eager / t:.2f}x', f'{first:.1f}',
                         '' if b == 'eager' else (f'{(first - eager) / max(eager - t, 1e-9):.0f}' if t < eager else 'never')])
            print(rows[-1], flush=True)
    md = (f"# torch.compile of the training step, {device.type}, batch {a.batch}, {a.size}x{a.size}\n\n{machine()}\n\n"
          + table(rows, ['model', 'backend', 'step ms (median)', 'vs eager', 'first step s (compile)', 'steps to repay the compile'])
          + "\n\n`vs eager` > 1x: faster. The last column is (first step - eager step) / (eager step - compiled step): the "
            "number of steps after which the compile has paid for itself (`never` where the compiled step is not faster).\n")
    Path(a.out).write_text(md); print(md)


if __name__ == '__main__':
    main()
