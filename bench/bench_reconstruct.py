"""Frames per second of `sdr2log reconstruct` at 1920x1080 (H.264 4:2:0 in, ACES2065-1 half EXR out) for `inverse` and a
U-Net, against the limit measured in the same run: the same pipeline decoding the input and converting/writing the
outputs with the reconstruction replaced by the identity (no colour work). Writes bench/results/reconstruct.md.

    .venv/bin/python bench/bench_reconstruct.py [--frames 12] [--unet-frames 3] [--repeat 2]
"""
import argparse, os, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table  # noqa: E402

from sdr2log.color import convert_space  # noqa: E402
from sdr2log.models.core import build_model, count_params  # noqa: E402
from sdr2log.reconstruct import Reconstructor, reconstruct  # noqa: E402
from sdr2log.render import get_renderer  # noqa: E402
from sdr2log.synth import synth_sequence  # noqa: E402
from sdr2log.runs import save_checkpoint  # noqa: E402
from sdr2log.videoio import read_video, write_video  # noqa: E402

H, W = 1080, 1920


def make_clip(d: Path, n: int) -> Path:
    lin, _ = synth_sequence(seed=2, frames=min(n, 4), size=(H, W))
    sdr = get_renderer('aces2-sdr')(convert_space(lin, 'AWG3', 'LogC3', clip=True).astype(np.float32))
    return write_video(d / 'clip1080.mp4', (sdr[k % len(sdr)] for k in range(n)), crf=18)


def make_run(d: Path, width: int, depth: int) -> Path:
    torch.manual_seed(0)
    cfg = {'model': {'name': 'unet-cct', 'width': width, 'depth': depth}, 'data': {'sdr_from': 'aces2-sdr'}}
    m = build_model(**cfg['model'])
    with torch.no_grad():                         # trained-like: a non-zero output layer (at initialisation the U-Net is
        for p in m.out.parameters(): p.normal_(0, 0.001)  # the identity, its receptive field 0 and its tiles trivial)
    (d / 'config').mkdir(parents=True); (d / 'config' / 'config.yaml').write_text(yaml.safe_dump(cfg))
    save_checkpoint(d / 'checkpoints' / 'best@psnr_acescct.pt', {'model': m.state_dict()})
    return d, count_params(m)


def run_fps(rec, clip, out, frames):
    "Frames/s of one whole reconstruct() run (a ready Reconstructor: model loading excluded)."
    t0 = time.perf_counter()
    man = reconstruct(rec, [clip], out, progress=False, overwrite=True)
    dt = time.perf_counter() - t0
    assert man['timings']['frames_written'] == frames
    return frames / dt


def fps_of(rec, clip, out, frames, repeat):
    "Best-of-`repeat` frames/s."
    return max(run_fps(rec, clip, out / f'r{r}', frames) for r in range(repeat))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--frames', type=int, default=12); ap.add_argument('--unet-frames', type=int, default=3)
    ap.add_argument('--repeat', type=int, default=5); ap.add_argument('--width', type=int, default=16)
    ap.add_argument('--depth', type=int, default=3)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as td:
        d = Path(td)
        clip = make_clip(d, a.frames)
        short = write_video(d / 'short1080.mp4', (f for i, f in read_video(clip) if i < a.unet_frames), crf=18)
        rows, res = [], {}
        limit = Reconstructor('inverse'); limit.predict_frames = lambda x, space='ACEScct': np.asarray(x, np.float32)   # identity: no conversion either
        inv, pairs = Reconstructor('inverse'), []
        for r in range(a.repeat):                 # interleaved, so load changes on a shared machine hit both alike
            pairs.append((run_fps(limit, clip, d / f'l{r}', a.frames), run_fps(inv, clip, d / f'i{r}', a.frames)))
        res['limit'], res['inverse'] = max(p[0] for p in pairs), max(p[1] for p in pairs)
        ratios = sorted(i / l for l, i in pairs)
        res['ratio_median'], res['ratio_range'] = ratios[len(ratios) // 2], (ratios[0], ratios[-1])
        run, n_par = make_run(d / 'run', a.width, a.depth)
        devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
        variants = [('auto', {}), ('512', {'tile': 512}), ('512-frame', {'tile': 512, 'norm_stats': 'frame'})]
        plans = {}
        for dev in devices:
            for v, kw in variants:
                rec = Reconstructor(run, device=dev, **kw)
                res[f'unet-{dev}-{v}'] = fps_of(rec, short, d / f'unet{dev}{v}', a.unet_frames, 1)
                plans[v] = rec.tiler.plan
    rows.append(('decode + write EXR, no reconstruction (limit)', 'cpu', a.frames, f"{res['limit']:.2f}", '1.00'))
    rows.append(('inverse (aces2-sdr, baked 65^3 inverse)', 'cpu', a.frames, f"{res['inverse']:.2f}",
                 f"{res['ratio_median']:.2f} (paired runs {res['ratio_range'][0]:.2f}-{res['ratio_range'][1]:.2f})"))
    names = {'auto': "tile 'auto' (the default): whole frames, within the memory budget",
             '512': 'tile 512, exact (owned parts, overlap {overlap} px for its {receptive_radius} px receptive radius, '
                    "the frame's GroupNorm statistics)",
             '512-frame': "tile 512, norm_stats 'frame' (a downscaled copy's statistics: approximate)"}
    for dev in devices:
        for v, _ in variants:
            rows.append((f'unet-cct width {a.width} depth {a.depth} ({n_par / 1e6:.2f} M params), '
                         + names[v].format(**(plans[v] or {})), dev, a.unet_frames,
                         f"{res[f'unet-{dev}-{v}']:.3f}", f"{res[f'unet-{dev}-{v}'] / res['limit']:.3f}"))
    md = (f"# reconstruct benchmark\n\n`python bench/bench_reconstruct.py` ({time.strftime('%Y-%m-%d')}); {machine(('torch', 'av', 'openexr', 'opencolorio'))}.\n\n"
          f"1920x1080 H.264 4:2:0 limited range (synthetic, rendered with ACES 2.0 SDR) -> ACES2065-1 half-float EXR, "
          f"batch 4, 2 writer threads; limit and inverse run alternately {a.repeat} times: frames/s is the best run, "
          f"x limit the median (and range) of the paired ratios; the U-Net one run (process start and model loading "
          f"excluded). "
          f"The limit is the same pipeline with the reconstruction replaced by the identity (decode and EXR write, no "
          f"colour work). Target: inverse >= 0.5x the limit on CPU. The machine is shared (load {os.getloadavg()[0]:.1f} "
          f"at the end): ratios from the same run are what to read.\n\n"
          + table(rows, ('method', 'device', 'frames', 'frames/s', 'x limit')) + '\n')
    out = Path(__file__).parent / 'results' / 'reconstruct.md'
    out.write_text(md); print(md)


if __name__ == '__main__':
    main()
