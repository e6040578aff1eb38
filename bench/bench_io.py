"""Benchmark sdr2log.io against the raw libraries, measured in the same run.

A 1920x1080x3 LogC3-like uint16 frame is written and read uncompressed and deflate-compressed; `read_image` (checks +
normalisation to float32) is compared with `tifffile.imread` (raw uint16), `write_tiff` (range check + rounding +
atomic replace) with `tifffile.imwrite` of the ready uint16 array; EXR half read/write with raw `OpenEXR.File`.
Files live in a temp folder (page cache). Prints a table and writes bench/results/io.md.

usage: python bench/bench_io.py [--repeats N]
"""
import argparse, sys, tempfile
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
import numpy as np, tifffile, OpenEXR
from sdr2log.io import read_image, write_tiff, write_exr
from sdr2log.color import convert_space
sys.path.insert(0, str(Path(__file__).parent))
from _common import timeit, machine as _machine

def machine(): return _machine(('numpy', 'tifffile', 'imagecodecs', 'openexr', 'pillow'))


def logc3_frame(h=1080, w=1920, seed=0):
    "Smooth scene-linear gradients + grain, LogC3 (EI 800) encoded, as float in [0, 1] and uint16."
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    lin = np.stack([0.002 * 2 ** (12 * x / w), 0.18 * (1 + np.sin(y / 50)), 0.01 + 4 * (x * y) / (h * w)], -1)
    lin *= 1 + 0.02 * rng.standard_normal(lin.shape, np.float32)
    enc = convert_space(lin.astype(np.float32), 'AWG3', 'LogC3', clip=True)      # LogC3 EI 800, as cameras write
    return enc, np.rint(enc * 65535).astype(np.uint16), lin.astype(np.float32)




def main(repeats):
    enc, u16, lin = logc3_frame()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for comp in (None, 'deflate'):
            tag = comp or 'none'
            ours_p, raw_p = d / f'ours_{tag}.tif', d / f'raw_{tag}.tif'
            w_ours = timeit(lambda: write_tiff(ours_p, enc, 16, comp), repeats)
            w_raw = timeit(lambda: tifffile.imwrite(raw_p, u16, photometric='rgb', compression=comp), repeats)
            assert np.array_equal(tifffile.imread(ours_p), u16)
            r_ours = timeit(lambda: read_image(ours_p), repeats)
            r_raw = timeit(lambda: tifffile.imread(ours_p), repeats)
            r_naive = timeit(lambda: tifffile.imread(ours_p).astype(np.float32) / np.float32(65535), repeats)
            r_crop = timeit(lambda: read_image(ours_p, crop=(400, 800, 256, 256)), repeats)
            rows += [(f'TIFF uint16 {tag}: write', 'write_tiff(float32)', w_ours, 'tifffile.imwrite(uint16)', w_raw),
                     (f'TIFF uint16 {tag}: read', 'read_image -> float32', r_ours, 'tifffile.imread -> uint16', r_raw),
                     (f'TIFF uint16 {tag}: read', 'read_image -> float32', r_ours, 'imread + astype(f32) / 65535', r_naive),
                     (f'TIFF uint16 {tag}: read 256x256 crop', 'read_image(crop=)', r_crop, 'tifffile.imread (full)', r_raw)]
        half = lin.astype(np.float16)
        hdr = {'compression': OpenEXR.ZIP_COMPRESSION, 'type': OpenEXR.scanlineimage}
        def raw_w():
            with OpenEXR.File(hdr, {'RGB': half}) as f: f.write(str(d / 'raw.exr'))
        def raw_r():
            with OpenEXR.File(str(d / 'ours.exr')) as f: return f.channels()['RGB'].pixels
        w_ours = timeit(lambda: write_exr(d / 'ours.exr', lin), repeats)
        w_raw = timeit(raw_w, repeats)
        r_ours = timeit(lambda: read_image(d / 'ours.exr'), repeats)
        r_raw = timeit(raw_r, repeats)
        r_naive = timeit(lambda: raw_r().astype(np.float32), repeats)
        rows += [('EXR half zip: write', 'write_exr(float32)', w_ours, 'OpenEXR.File.write(half)', w_raw),
                 ('EXR half zip: read', 'read_image -> float32', r_ours, 'OpenEXR.File -> half RGB', r_raw),
                 ('EXR half zip: read', 'read_image -> float32', r_ours, 'OpenEXR.File + astype(f32)', r_naive)]
    lines = ["| case | ours | ms | peer | ms | ratio |", "| --- | --- | ---: | --- | ---: | ---: |"]
    for case, on, o, pn, p in rows:
        lines.append(f"| {case} | {on} | {o * 1e3:.1f} | {pn} | {p * 1e3:.1f} | {o / p:.2f} |")
    table = '\n'.join(lines)
    print(table)
    md = (f"# sdr2log.io benchmark\n\n`python bench/bench_io.py --repeats {repeats}` (median of {repeats} runs after one "
          f"warm-up; files in a temp folder, so reads come from the page cache).\n\n"
          f"Frame: 1920x1080x3 LogC3-like uint16 (scene-linear gradients with grain, LogC3 EI 800 encoded). "
          f"Ratio = ours / peer in the same run: for reads it is the cost of our checks plus the uint16 -> float32 "
          f"normalisation (one division pass into a fresh float32 array); for writes the range check, rounding and "
          f"atomic replace. The `astype` peers are what a caller needs anyway to get float32, so their ratio is our "
          f"real overhead (checks, grey/alpha handling, declared-bit-depth scaling).\n\nMachine: {machine()}\n\n{table}\n")
    out = ROOT / 'bench' / 'results' / 'io.md'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    print(f"\n{machine()}\nwrote {out}")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=7)
    main(ap.parse_args().repeats)
