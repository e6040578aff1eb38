"""Diff-HDRTV inference per 1920x1080 frame versus DDIM steps, with peak memory, for the tiny and default sizes.

Peers measured in the same run: the Stage-1 HDRNet alone (what the prior and refiners add) and the `unet-cct` baseline
(width 32, depth 4). Memory: on CUDA `torch.cuda.max_memory_allocated` above the weights; on CPU the peak resident set
(polled from /proc/self/statm every 2 ms) above the resident set before the call.

    python bench/bench_diffhdrtv.py [--repeats 3] [--sizes tiny default] [--steps 1 5 10 25] [--out bench/results/diffhdrtv.md]
"""
import argparse, os, sys, threading, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table, timeit                               # noqa: E402
from sdr2log.models.core import build_model, count_params                 # noqa: E402
import sdr2log.models.diffhdrtv                                             # noqa: E402,F401  registers 'diff-hdrtv'

SIZES = {
    'tiny': dict(width=8, blocks=1, prior_widths=(8, 16), prior_resolution=16, refiner_width=8, refiner_blocks=1),
    'default': {},
}
PAGE = os.sysconf('SC_PAGE_SIZE')


def _rss() -> int:
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * PAGE


def peak_memory(fn, device) -> float:
    "Peak extra memory (MiB) while `fn()` runs."
    if device.type == 'cuda':
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
        fn(); torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2 ** 20
    base, peak, stop = _rss(), [0], threading.Event()
    def poll():
        while not stop.is_set(): peak[0] = max(peak[0], _rss()); time.sleep(0.002)
    t = threading.Thread(target=poll); t.start()
    try: fn()
    finally: stop.set(); t.join()
    return max(0, max(peak[0], _rss()) - base) / 2 ** 20


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--sizes', nargs='+', default=list(SIZES))
    ap.add_argument('--steps', nargs='+', type=int, default=[1, 5, 10, 25])
    ap.add_argument('--modes', nargs='+', default=['aces', 'xyY'])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--out', default=None)
    a = ap.parse_args(argv)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    x = (torch.rand(1, 3, 1080, 1920) * 0.8 + 0.1).to(dev)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == 'cuda' else (lambda: None)

    def measure(model, **kw):
        def run():
            with torch.inference_mode(): model(x, **kw)
            sync()
        mem = peak_memory(run, dev)                                       # the warm-up run
        return timeit(run, repeat=a.repeats, warmup=0), mem

    rows = []
    unet = build_model('unet-cct', width=32, depth=4).to(dev).eval()
    t_unet, m_unet = measure(unet)
    rows.append(('unet-cct (peer)', '-', '-', f'{count_params(unet) / 1e6:.2f} M', f'{t_unet:.3f}', f'{m_unet:.0f}', '1.00', '-'))
    for size in a.sizes:
        s1 = build_model('diff-hdrtv', stage=1, **SIZES[size]).to(dev).eval()
        t_s1, m_s1 = measure(s1)
        rows.append((f'{size}: stage-1 HDRNet (peer)', '-', '-', f'{count_params(s1, False) / 1e6:.2f} M', f'{t_s1:.3f}',
                     f'{m_s1:.0f}', f'{t_s1 / t_unet:.2f}', '1.00'))
        for mode in a.modes:
            m = build_model('diff-hdrtv', stage=3, mode=mode, **SIZES[size]).to(dev).eval()
            t0, m0 = measure(m, use_prior=False)
            rows.append((f'{size}: stage 3, {mode}', 'no prior', '-', f'{count_params(m, False) / 1e6:.2f} M', f'{t0:.3f}',
                         f'{m0:.0f}', f'{t0 / t_unet:.2f}', f'{t0 / t_s1:.2f}'))
            for n in a.steps:
                t, mem = measure(m, prior_steps=n)
                hw = m.prior_size(1080, 1920)
                rows.append((f'{size}: stage 3, {mode}', n, f'{hw[0]}x{hw[1]}', f'{count_params(m, False) / 1e6:.2f} M',
                             f'{t:.3f}', f'{mem:.0f}', f'{t / t_unet:.2f}', f'{t / t_s1:.2f}'))
            print(table(rows[-len(a.steps) - 1:], ['model', 'DDIM steps', 'prior px', 'params', 's/frame', 'peak MiB',
                                                     'x unet-cct', 'x stage 1']), flush=True)
    header = ['model', 'DDIM steps', 'prior px', 'params', 's/frame', 'peak MiB', 'x unet-cct', 'x stage 1']
    out = table(rows, header)
    print(out)
    if a.out:
        mem = 'torch.cuda.max_memory_allocated above the weights' if dev.type == 'cuda' else \
            'peak resident set above the resident set before the call (polled every 2 ms)'
        Path(a.out).write_text(
            f"# sdr2log.models.diffhdrtv benchmark\n\n`python bench/bench_diffhdrtv.py --repeats {a.repeats} "
            f"--sizes {' '.join(a.sizes)} --steps {' '.join(map(str, a.steps))} --modes {' '.join(a.modes)}` "
            f"(median of {a.repeats} after one warm-up run, which measures the memory).\n\nOne 1920x1080 ACEScct frame, batch 1, inference mode, device "
            f"{dev}; stage-3 forward = HDRNet + DDIM prior at the low resolution (SDEdit from the noised stage-1 output, "
            f"strength 0.5) + bilinear upsampling + refiners. Peak memory: {mem}. Ratios against the peers measured "
            f"in the same run.\n\nMachine: nproc {os.cpu_count()}; {machine(('torch', 'diffusers', 'numpy'))}\n\n{out}\n")


if __name__ == '__main__':
    main()
