"""Benchmark sdr2log.data: training samples per second against the raw TIFF decode rate of the same files.

16 frames of 1920x1080 16-bit LogC3/AWG3 (4 sequences x 4 frames, uncompressed, then deflate) are written to a temp
folder. Ours: `build_dataloader` with 512x512 random training crops, hflip, exposure shift in [-1, 1] stops, the
default ACES 2.0 SDR renderer (exact: OpenColorIO), ACEScct on both sides, 8-bit quantisation, batch 4, 2 workers
(persistent), timed over whole epochs for at least `--seconds` after a warm-up epoch. Each variant twice: rendering
every sample exactly, and from the exact-SDR cache (`data.sdr_cache`, exposure shifts in steps of `--exposure-step`,
the cache filled first by `PairDataset.fill_sdr_cache`, its time reported). Both colour paths:

- `colour_on='worker'`: the workers do the colour work (numpy/OpenColorIO, one thread each);
- `colour_on='device'`: the workers read each batch whole (`PairDataset.__getitems__`: the crops copied from memory
  maps of the frames, and of the SDR cache entries, straight into one of a few shared-memory buffers each worker
  reuses) and ship uint16 codes; `PairDataset.finish` does the colour work per batch in torch on the device. Timed as the loader stage alone (what the workers deliver: the rate a
  training GPU is fed while `finish` costs it less than the loader takes), end to end with `finish` on this
  machine's CPU in the main process (all torch threads), and, when CUDA is present, end to end on the GPU.

The peers, measured in the same run: `tifffile.imread` of the same files, full frames, in one process (the limit the
loader is held to: >= 0.7x) and in as many processes as the loader has workers. Then a single-thread profile of one sample, step by step, says where the time goes.

usage: python bench/bench_data.py [--seconds S] [--workers N]
"""
import argparse, statistics, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import numpy as np, torch, tifffile
from _common import machine
from sdr2log.color import convert_space
from sdr2log.io import read_image, write_tiff
from sdr2log.render import get_renderer
from sdr2log.data import build_dataloader, make_pair, PairDataset, cached_sdr


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


def _raw_worker(args):
    paths, seconds = args
    return raw_rate(paths, seconds) * seconds


def raw_rate_procs(paths, procs, seconds=3.0):
    "Full-frame tifffile.imread frames/s summed over `procs` processes reading the files concurrently."
    import multiprocessing as mp
    with mp.get_context('fork').Pool(procs) as pool:
        t0 = time.perf_counter()
        n = sum(pool.map(_raw_worker, [(paths, seconds)] * procs))
        return n / (time.perf_counter() - t0)


def bench_cfg(root, workers, colour_on='worker', crop=512, bs=4, cache=False, step=None):
    return {'data': {'root': str(root), 'train_ratio': 1.0, 'val_ratio': 0.0, 'test_ratio': 0, 'batch_size': bs, 'num_workers': workers,
                     'colour_on': colour_on, 'degradations': {'bits': 8}, 'sdr_cache': cache,
                     'augment': {'train_crop_size': crop, 'hflip': True, 'exposure_stops': [-1.0, 1.0], 'exposure_step': step}}}


def fill_cache(root, workers, step):
    "Seconds to render every (frame, exposure step) entry of the exact-SDR cache, `workers` processes; and the count."
    t0 = time.perf_counter()
    n = PairDataset(bench_cfg(root, workers, cache=True, step=step), 'train').fill_sdr_cache(num_workers=workers)
    return time.perf_counter() - t0, n


def loader_rate(root, workers, seconds, colour_on='worker', stage='end-to-end', device='cpu', crop=512, bs=4, cache=False, step=None):
    "Samples/s over whole epochs (at least `seconds`, after a warm-up epoch) and the dataset build time."
    cfg = bench_cfg(root, workers, colour_on, crop, bs, cache, step)
    t_build = time.perf_counter()
    dl = build_dataloader(cfg, 'train', device=device)
    t_build = time.perf_counter() - t_build
    it = dl.loader if stage == 'loader' else dl            # the loader stage: the shipped batches, not finished
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    for _ in it: pass                    # warm-up epoch (page cache, lazy imports, worker start-up)
    sync()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for b in it: n += len(b['meta'])
        sync()
    return n / (time.perf_counter() - t0), t_build


def med(fn, k=15):
    fn(); ts = []
    for _ in range(k):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def profile(path, crop=512, cache_root=None, step=0.5):
    "Median ms of each step of one 512x512 training sample, single thread (as in a worker)."
    torch.set_num_threads(1)
    r, rx, rf = get_renderer('aces2-sdr'), get_renderer('aces2-sdr', exact=True), get_renderer('aces2-sdr', exact='fixup')
    box = (200, 600, crop, crop)
    x = read_image(path, crop=box)
    codes = read_image(path, crop=box, normalise=False)
    lin = convert_space(x, 'LogC3', 'AWG3') * np.float32(2 ** 0.4)
    logc = convert_space(lin, 'AWG3', 'LogC3')
    sdr = r(logc)
    cache_dir = Path(cache_root) / '.sdr2log-cache' / 'sdr'
    cached_sdr(cache_dir, path, rx, 0.5, 'LogC3', 800, (1080, 1920))
    steps = [
        ('read_image(crop=, normalise=False) 512x512 uint16 (all the device path does per sample)',
         lambda: read_image(path, crop=box, normalise=False)),
        ('hflip + normalise to float32 (one pass)', lambda: np.divide(codes[:, ::-1], np.float32(65535), dtype=np.float32)),
        ('LogC3 -> AWG3 (exposure)', lambda: convert_space(x, 'LogC3', 'AWG3')),
        ('AWG3 -> LogC3', lambda: convert_space(lin, 'AWG3', 'LogC3')),
        ('AWG3 -> ACEScct (target)', lambda: convert_space(lin, 'AWG3', 'ACEScct')),
        ('render aces2-sdr, baked 65^3 LUT alone (approximate)', lambda: r(logc)),
        ('render aces2-sdr exact (OpenColorIO, what the worker path runs)', lambda: rx(logc)),
        ('render aces2-sdr exact, LUT + fix-up (the device path off the CPU), torch on the CPU',
         lambda: rf(torch.from_numpy(logc).permute(2, 0, 1)[None])),
        ('render aces2-sdr exact from the sdr_cache: memory-mapped 512x512 crop of the cached frame render + flip + to float',
         lambda: np.divide(cached_sdr(cache_dir, path, rx, 0.5, 'LogC3', 800, (1080, 1920))[200:712, 600:1112][:, ::-1],
                           np.float32(65535), dtype=np.float32)),
        ('Rec1886 -> ACEScct (input)', lambda: convert_space(sdr, 'Rec1886', 'ACEScct')),
        ('to tensors (2x transpose copy)', lambda: [torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in (x, sdr)]),
    ]
    rows = [(n, med(f) * 1e3) for n, f in steps]
    total = med(lambda: make_pair(x[None], rx, ev=0.4)) * 1e3
    return rows, total


def finish_profile(root, bs=4, crop=512):
    "Median ms of `PairDataset.finish` on one shipped batch, per device (CPU: all torch threads)."
    cfg = {'data': {'root': str(root), 'train_ratio': 1.0, 'val_ratio': 0.0, 'test_ratio': 0, 'batch_size': bs, 'colour_on': 'device',
                    'degradations': {'bits': 8}, 'augment': {'train_crop_size': crop}}}
    dl = build_dataloader(cfg, 'train', device='cpu')
    shipped = next(iter(dl.loader))
    out = {}
    for dev in ['cpu'] + (['cuda'] if torch.cuda.is_available() else []):
        b = dict(shipped, raw=shipped['raw'].to(dev))
        sync = torch.cuda.synchronize if dev == 'cuda' else (lambda: None)
        out[dev] = med(lambda: (dl.dataset.finish(dict(b, meta=[dict(m) for m in b['meta']]), dev), sync())) * 1e3
    return out


def batch_read_profile(root, bs=4, crop=512, step=0.5):
    "Median ms per sample of `PairDataset.__getitems__` (the device path's whole-batch read) in this process."
    out = {}
    for cache in (False, True):
        ds = PairDataset(bench_cfg(root, 0, 'device', crop, bs, cache, step if cache else None), 'train', defer=True)
        keys = [[(0, i) for i in range(k, k + bs)] for k in range(0, len(ds) - bs + 1, bs)]
        out[cache] = med(lambda: [ds.__getitems__(k) for k in keys]) * 1e3 / (len(keys) * bs)
    return out


def main(seconds, workers, step=0.5, comps=(None, 'deflate')):
    rows, fills = [], []
    variants = [('worker', 'end-to-end', 'cpu', False), ('device', 'loader', 'cpu', False), ('device', 'end-to-end', 'cpu', False)]
    if torch.cuda.is_available(): variants.append(('device', 'end-to-end', 'cuda', False))
    variants += [(c, s, dv, True) for c, s, dv, _ in variants]
    with tempfile.TemporaryDirectory() as d:
        for comp in comps:
            root = Path(d) / (comp or 'none')
            paths = make_frames(root, comp)
            raw, raw_n = raw_rate(paths), raw_rate_procs(paths, workers)
            for colour_on, stage, dev, cache in variants:
                if cache and not any(f[0] == (comp or 'none') for f in fills): fills.append((comp or 'none', *fill_cache(root, workers, step)))
                ours, t_build = loader_rate(root, workers, seconds, colour_on, stage, dev, cache=cache, step=step if cache else None)
                what = (f"colour_on='{colour_on}'" + (', loader stage (shipped uint16)' if stage == 'loader' else
                        f', finished on {dev}' if colour_on == 'device' else '') + (', sdr_cache' if cache else ', exact render per sample'))
                rows.append((comp or 'none', what, ours, raw, ours / raw, raw_n, t_build))
            if comp is None:
                prof, total = profile(paths[0], cache_root=root, step=step); fin = finish_profile(root); rd = batch_read_profile(root, step=step)
    lines = ['| TIFF compression | ours | samples/s (512x512 train crops, %d workers) | peer: tifffile.imread full frames/s (1 process) | ratio | peer: %d processes | ratio | dataset build s |' % (workers, workers),
             '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    lines += [f'| {c} | {w} | {o:.1f} | {p:.1f} | {o / p:.2f}x | {pn:.1f} | {o / pn:.2f}x | {b:.2f} |' for c, w, o, p, _, pn, b in rows]
    table = '\n'.join(lines)
    plines = ['| step (one 512x512 sample, 1 thread) | ms |', '| --- | ---: |'] + [f'| {n} | {t:.1f} |' for n, t in prof]
    plines += [f'| PairDataset.__getitems__: one batch of 4 read whole (device path{", with the sdr_cache crops" if c else ""}; in the main process, so a new buffer), per sample | {t:.2f} |'
               for c, t in rd.items()]
    plines.append(f'| make_pair total (exposure, target, exact render, input; no read) | {total:.1f} |')
    plines += [f'| PairDataset.finish, one batch of 4 on {dev} ({"all torch threads" if dev == "cpu" else "synchronised"}), per sample | {t / 4:.2f} |'
               for dev, t in fin.items()]
    plines += [f'| sdr_cache fill ({c}): {n} entries (16 frames x exposure steps of {step} stop), {workers} workers | {t * 1e3 / n:.0f} per entry, {t:.0f} s in all |' for c, t, n in fills]
    ptable = '\n'.join(plines)
    desc = machine(('numpy', 'torch', 'tifffile', 'imagecodecs', 'opencolorio'))
    print(desc); print(table); print(); print(ptable)
    return desc, table, ptable, rows


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=float, default=6.0)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--compression', nargs='+', default=['none', 'deflate'], choices=['none', 'deflate'])
    ap.add_argument('--exposure-step', type=float, default=0.5, help='stops between the cached exposure steps')
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'results' / 'data.md'))
    a = ap.parse_args()
    desc, table, ptable, rows = main(a.seconds, a.workers, a.exposure_step, [None if c == 'none' else c for c in a.compression])
    Path(a.out).write_text(
        f"# data loader: 512x512 training samples/s vs raw TIFF decode\n\n{desc}\n\n"
        f"Command: `.venv/bin/python bench/bench_data.py --seconds {a.seconds:g} --workers {a.workers} --exposure-step {a.exposure_step:g} --compression {' '.join(a.compression)}`. 16 frames "
        f"1920x1080 16-bit LogC3 (4 sequences x 4), page cache warm; ours = `build_dataloader` (train: random crop, "
        f"hflip, exposure shift, ACES 2.0 SDR exact (OpenColorIO; sdr2log.render exact=True), 8-bit quantisation, ACEScct in/out, batch 4, persistent "
        f"workers; rows marked sdr_cache: `data.sdr_cache` on, exposure shifts in steps of {a.exposure_step:g} stop, the cache filled first), whole epochs for at least {a.seconds:g} s after a warm-up epoch; peer = `tifffile.imread` full "
        f"frames in one process. Target: ratio >= 0.7x.\n\n"
        f"{table}\n\nWhere the time of one sample goes (main process, torch 1 thread, as in a worker):\n\n{ptable}\n")
