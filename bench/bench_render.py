"""Exact SDR: error of each renderer path against its reference (8-bit codes) and its speed per 512x512 crop.

Error over a dense LogC3 cube (uniform random triplets in [0, 1]^3 plus a 65^3 grid of cell centres) and over
every frame of the demo's synthetic data (6 sequences x 8 frames 270x480, as written: 16-bit LogC3, and in memory
at the full +14-stop range), for the exact path on numpy (OpenColorIO), the exact path on torch tensors off the CPU
(a fine LUT over the shadows and mid-tones, the 65^3 LUT elsewhere, OpenColorIO for the cells where either is off by more than 0.25 codes; run here on the CPU with exact='fixup'), and the baked 65^3 LUT alone (fast=True,
exact=False). Speed: one 512x512 crop, one thread (as in a loader worker), each path against OpenColorIO direct
measured in the same run.

usage: python bench/bench_render.py [--cube N] [--out bench/results/render.md]
"""
import argparse, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))
import numpy as np, torch
from _common import machine, timeit
from sdr2log.color import convert_space
from sdr2log.io import read_image
from sdr2log.render import OCIORenderer, ACES1Renderer, get_renderer, render_error, exact_cells
from sdr2log.synth import synthesize, synth_sequence


def cube(n, seed=0):
    g = (np.arange(64, dtype=np.float32) + 0.5) / 64                       # every lattice cell's centre, too
    centres = np.stack(np.meshgrid(g, g, g, indexing='ij'), -1).reshape(-1, 3)
    return np.concatenate([np.random.default_rng(seed).uniform(0, 1, (n, 3)).astype(np.float32), centres])


def paths(cls):
    return {'exact, numpy (OpenColorIO)': (cls(exact=True), False), 'exact, torch off the CPU (LUT + fix-up)':
            (cls(exact='fixup'), True), 'baked 65^3 LUT alone': (cls(exact=False), False)}


def frames_error(r, torch_path, frames):
    "Worst per-frame p99 / p99.9 / max over `frames` (list of LogC3 arrays)."
    es = [render_error(r, f, torch_path=torch_path) for f in frames]
    return {k: max(e[k] for e in es) for k in ('p99', 'p99.9', 'max')}


def main(n):
    torch.set_num_threads(1)
    x = cube(n)
    with tempfile.TemporaryDirectory() as d:
        m = synthesize(Path(d) / 'demo')                                     # the demo's size: 6 x 8 x 270x480
        written = [read_image(Path(d) / 'demo' / e['file']) for s in m['sequences'] for e in s['frames']]
    full = [convert_space(f, 'AWG3', 'LogC3') for i in range(6) for f in synth_sequence(0, i, 8)[0]]   # up to +14 stops
    pushed = [convert_space(convert_space(f, 'LogC3', 'AWG3') * 2, 'AWG3', 'LogC3') for f in written[::4]]  # +1 stop
    err = ['| renderer | path | cube p99 | p99.9 | max | synthetic frames (files) worst p99 | p99.9 | max | '
           'frames +1 stop worst max | frames in memory (+14 stops) worst p99.9 | max |',
           '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    for name, cls in (('aces2-sdr', OCIORenderer), ('aces1-sdr', ACES1Renderer)):
        for what, (r, tp) in paths(cls).items():
            c, f, p, g = render_error(r, x, torch_path=tp), frames_error(r, tp, written), frames_error(r, tp, pushed), \
                frames_error(r, tp, full)
            err.append(f"| {name} | {what} | {c['p99']:.2f} | {c['p99.9']:.2f} | {c['max']:.2f} | {f['p99']:.2f} | "
                       f"{f['p99.9']:.2f} | {f['max']:.2f} | {p['max']:.2f} | {g['p99.9']:.2f} | {g['max']:.2f} |")
        share, fshare = float(exact_cells(*r.ocio).mean()), float(exact_cells(*r.ocio, fine=True).mean())
        err.append(f"| {name} | recomputed by OpenColorIO in the fix-up | {100 * r.fixup_share(x):.1f} % of the cube "
                   f"({100 * share:.1f} % of the coarse cells, {100 * fshare:.1f} % of the fine ones) | | | | | | | | |")
    for name in ('film-sdr', 'naive'):
        for tp in (False, True):
            r = get_renderer(name)
            c, f = render_error(r, x, torch_path=tp), frames_error(r, tp, written)
            err.append(f"| {name} | {'torch' if tp else 'numpy'} (the table / closed form is the renderer) | {c['p99']:.2f} | "
                       f"{c['p99.9']:.2f} | {c['max']:.2f} | {f['p99']:.2f} | {f['p99.9']:.2f} | {f['max']:.2f} | | | |")
    # speed, one 512x512 crop of the synthetic data (upsampled) and of the uniform cube, one thread
    crop = convert_space(synth_sequence(0, 2, 1, (512, 512))[0][0], 'AWG3', 'LogC3')
    rand = x[:512 * 512].reshape(512, 512, 3)
    sp = ['| renderer | path | ms, natural 512x512 crop | ratio to OpenColorIO | ms, uniform-cube crop | ratio | '
          'share recomputed (natural / cube) |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |']
    for name, cls in (('aces2-sdr', OCIORenderer), ('aces1-sdr', ACES1Renderer)):
        ts = {}
        for what, (r, tp) in paths(cls).items():
            for k, a in (('nat', crop), ('cube', rand)):
                inp = torch.from_numpy(a).permute(2, 0, 1)[None].contiguous() if tp else a
                ts[what, k] = timeit(lambda: r(inp), repeat=5)
        ref = 'exact, numpy (OpenColorIO)'
        redo = cls(exact='fixup').fixup_share
        for what in paths(cls):
            share = f"{100 * redo(crop):.1f} % / {100 * redo(rand):.1f} %" if 'fix-up' in what else ''
            sp.append(f"| {name} | {what} | {1e3 * ts[what, 'nat']:.1f} | {ts[what, 'nat'] / ts[ref, 'nat']:.2f}x | "
                      f"{1e3 * ts[what, 'cube']:.1f} | {ts[what, 'cube'] / ts[ref, 'cube']:.2f}x | {share} |")
    return '\n'.join(err), '\n'.join(sp)


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--cube', type=int, default=2_000_000, help='random LogC3 triplets (plus the 64^3 cell centres)')
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'results' / 'render.md'))
    a = ap.parse_args()
    t0 = time.perf_counter()
    e, s = main(a.cube)
    desc = machine(('numpy', 'torch', 'opencolorio'))
    text = (f"# Exact SDR: renderer paths against their reference, and their speed\n\n{desc}\n\n"
            f"Command: `.venv/bin/python bench/bench_render.py --cube {a.cube}` ({time.perf_counter() - t0:.0f} s). "
            f"Errors in 8-bit code values, `|ours - reference| * 255`, the largest channel per pixel; the reference is "
            f"OpenColorIO's display transform (ACES) or OpenColorIO applying the table (film-sdr); cube = {a.cube:,} "
            f"uniform LogC3 triplets in [0, 1]^3 plus the 64^3 lattice-cell centres; synthetic frames = the 48 frames "
            f"of `sdr2log synth` at the demo's size as written (16-bit LogC3), every 4th pushed +1 stop (LogC3 above "
            f"1, as the exposure augmentation makes them), and the same 48 in memory (+10 to +14 stops). Spec: p99.9 "
            f"<= 1 and max <= 2 codes.\n\n{e}\n\nSpeed of one 512x512 crop, one thread (a loader worker), median of 5; "
            f"ratio to OpenColorIO direct in the same run:\n\n{s}\n")
    print(text)
    Path(a.out).write_text(text)
