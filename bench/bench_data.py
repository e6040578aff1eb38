"""Benchmark sdr2log.data: training samples per second against the raw TIFF decode rate of the same files.

16 frames of 1920x1080 16-bit LogC3/AWG3 (4 sequences x 4 frames, uncompressed, then deflate) are written to a temp
folder. Ours: `build_dataloader` with 512x512 random training crops, hflip, exposure shift in [-1, 1] stops, the
default ACES 2.0 SDR renderer (baked 65^3 LUT), ACEScct on both sides, batch 4, 2 workers, timed over several
epochs (worker start-up included: the loader does not keep workers between epochs). The peer, measured in the same
run: `tifffile.imread` of the same files, full frames, one process (the limit the loader is held to: >= 0.7x).
Then a single-thread profile of one sample, step by step, says where the time goes.

usage: python bench/bench_data.py [--epochs N] [--workers N]
"""
import argparse, os, platform, statistics, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import numpy as np, torch, tifffile, imagecodecs
from _common import machine
from sdr2log.color import convert_space
from sdr2log.io import read_image, write_tiff
from sdr2log.render import get_renderer, degrade
from sdr2log.data import build_dataloader, make_pair


def logc3_frame(h, w, rng):
    "Smooth scene-linear gradients + grain, LogC3 (EI 800), float in [0, 1]."
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    lin = np.stack([0.002 * 2 ** (12 * x / w), 0.18 * (1 + np.sin(y / 50 + rng.uniform(0, 6))), 0.01 + 4 * (x * y) / (h * w)], -1)
    lin *= 1 + 0.02 * rng.standard_normal(lin.shape, np.float32)
    return convert_space(lin, 'AWG3', 'LogC3', clip=True)


def make_frames(root, comp, n_seq=4, n_frames=4, h=1080, w=1920):
    rng = np.random.default_rng(0)
    base = logc3_frame(h, w, rng)
    paths = []
    for s in range(n_seq):
        (root / f'seq{s}').mkdir(parents=True)
        for f in range(n_frames):
            img = np.clip(base * np.float32(1 + 0.01 * (s * n_frames + f)), 0, 1)
            paths.append(write_tiff(root / f'seq{s}' / f'seq{s}_{f:06d}.tif', img, 16, comp))
    return paths


def raw_rate(paths, seconds=3.0):
    "Full-frame tifffile.imread frames/s over the files, one process."
    for p in paths: tifffile.imread(p)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for p in paths: tifffile.imread(p); n += 1
    return n / (time.perf_counter() - t0)


def loader_rate(root, workers, epochs, crop=512, bs=4):
    cfg = {'data': {'root': str(root), 'train_ratio': 1.0, 'val_ratio': 0.0, 'batch_size': bs, 'num_workers': workers,
                    'augment': {'train_crop_size': crop, 'hflip': True, 'exposure_stops': [-1.0, 1.0]}}}
    t_build = time.perf_counter()
    dl = build_dataloader(cfg, 'train')
    t_build = time.perf_counter() - t_build
    for _ in dl: pass                    # warm-up epoch (page cache, lazy imports)
    n, t0 = 0, time.perf_counter()
    for _ in range(epochs):
        for b in dl: n += b['sdr'].shape[0]
    return n / (time.perf_counter() - t0), t_build


def med(fn, k=15):
    fn(); ts = []
    for _ in range(k):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def profile(path, crop=512):
    "Median ms of each step of one 512x512 training sample, single thread (as in a worker)."
    torch.set_num_threads(1)
    r = get_renderer('aces2-sdr')
    box = (200, 600, crop, crop)
    x = read_image(path, crop=box)
    lin = convert_space(x, 'LogC3', 'AWG3') * np.float32(2 ** 0.4)
    logc = convert_space(lin, 'AWG3', 'LogC3')
    sdr = r(logc)
    steps = [
        ('read_image(crop=) 512x512', lambda: read_image(path, crop=box)),
        ('hflip (copy)', lambda: np.ascontiguousarray(x[:, ::-1])),
        ('LogC3 -> AWG3 (exposure)', lambda: convert_space(x, 'LogC3', 'AWG3')),
        ('AWG3 -> LogC3', lambda: convert_space(lin, 'AWG3', 'LogC3')),
        ('AWG3 -> ACEScct (target)', lambda: convert_space(lin, 'AWG3', 'ACEScct')),
        ('render aces2-sdr (65^3 LUT)', lambda: r(logc)),
        ('Rec1886 -> ACEScct (input)', lambda: convert_space(sdr, 'Rec1886', 'ACEScct')),
        ('to tensors (2x transpose copy)', lambda: [torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in (x, sdr)]),
    ]
    rows = [(n, med(f) * 1e3) for n, f in steps]
    total = med(lambda: make_pair(x[None], r, ev=0.4)) * 1e3
    return rows, total


def main(epochs, workers):
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as d:
        for comp in (None, 'deflate'):
            root = Path(d) / (comp or 'none')
            paths = make_frames(root, comp)
            raw = raw_rate(paths)
            ours, t_build = loader_rate(root, workers, epochs)
            rows.append((comp or 'none', ours, raw, ours / raw, t_build))
            if comp is None: prof, total = profile(paths[0])
    lines = ['| TIFF compression | ours: samples/s (512x512 train crops, %d workers) | peer: tifffile.imread full frames/s (1 process) | ratio | dataset build s |' % workers,
             '| --- | ---: | ---: | ---: | ---: |']
    lines += [f'| {c} | {o:.1f} | {p:.1f} | {o / p:.2f}x | {b:.2f} |' for c, o, p, _, b in rows]
    table = '\n'.join(lines)
    plines = ['| step (one 512x512 sample, 1 thread) | ms |', '| --- | ---: |'] + [f'| {n} | {t:.1f} |' for n, t in prof]
    plines.append(f'| make_pair total (exposure, target, render, input; no read) | {total:.1f} |')
    ptable = '\n'.join(plines)
    desc = machine(('numpy', 'torch', 'tifffile', 'imagecodecs', 'opencolorio'))
    print(desc); print(table); print(); print(ptable)
    return desc, table, ptable, rows


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=4)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'results' / 'data.md'))
    a = ap.parse_args()
    desc, table, ptable, rows = main(a.epochs, a.workers)
    Path(a.out).write_text(
        f"# data loader: 512x512 training samples/s vs raw TIFF decode\n\n{desc}\n\n"
        f"Command: `.venv/bin/python bench/bench_data.py --epochs {a.epochs} --workers {a.workers}`. 16 frames 1920x1080 "
        f"16-bit LogC3 (4 sequences x 4), page cache warm; ours = `build_dataloader` (train: random crop, hflip, "
        f"exposure shift, ACES 2.0 SDR baked LUT, ACEScct in/out, batch 4), {a.epochs} epochs after a warm-up epoch, "
        f"worker start-up included; peer = `tifffile.imread` full frames in one process. Target: ratio >= 0.7x.\n\n"
        f"{table}\n\nWhere the time of one sample goes (main process, torch 1 thread, as in a worker):\n\n{ptable}\n")
