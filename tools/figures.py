"""Rewrite the committed pictures of the render and synth notebooks (never run by the tests).

usage: python tools/figures.py [render] [synth]    (default: both)
  render: nbs/images/render_zoo.png  three synthetic scenes (day, night, interior), their LogC3 signal and false
          colour, and the renders of the zoo (exact path)
  synth:  nbs/images/synth_frames.png  via the synth notebook's own figure cell (SDR2LOG_WRITE_IMAGES=1)
"""
import os, subprocess, sys
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / 'nbs' / 'images'


def render_figure(path=IMAGES / 'render_zoo.png', seed=0, size=(270, 480)):
    import matplotlib; matplotlib.use("Agg")
    import numpy as np
    from sdr2log.color import convert_space
    from sdr2log.render import render_comparison_figure
    from sdr2log.synth import synth_sequence, false_color_stops
    frames, titles = [], []
    for i in range(3):                                     # seed 0: one sequence of each kind
        fr, sc = synth_sequence(seed, i, frames=1, size=size)
        frames.append(convert_space(fr[0], 'AWG3', 'LogC3'))
        titles.append(f"{sc['name']}\n{sc['kind']}, max +{np.log2(fr.max() / 0.18):.1f} stops")
    extra = {'false colour, stops (-8 .. +14)': lambda x: false_color_stops(convert_space(x, 'LogC3', 'AWG3'), hi=14)}
    fig = render_comparison_figure(frames, titles, extra=extra, path=path)
    print(f'wrote {path}')
    return fig


def synth_figure():
    env = dict(os.environ, SDR2LOG_WRITE_IMAGES='1')
    subprocess.run([str(Path(sys.executable).parent / 'nbdev_test'), '--path', 'nbs/04_synth.ipynb'], cwd=ROOT, env=env,
                   check=True)
    print(f"wrote {IMAGES / 'synth_frames.png'}")


if __name__ == '__main__':
    which = sys.argv[1:] or ['render', 'synth']
    bad = set(which) - {'render', 'synth'}
    if bad: sys.exit(f"unknown figure(s) {sorted(bad)}; accepted: render, synth")
    if 'render' in which: render_figure()
    if 'synth' in which: synth_figure()
