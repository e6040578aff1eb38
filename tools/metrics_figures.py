"""Write the figures of the metrics notebook into nbs/images/ (regions.png, erm_claim.png).

Run explicitly: `.venv/bin/python tools/metrics_figures.py [--out nbs/images]`. Tests never write these files."""
import argparse
from pathlib import Path

import matplotlib
matplotlib.use('Agg')
import torch

from sdr2log.cli import demo_frame
from sdr2log.color import convert_space, gamut_compress
from sdr2log.metrics import erm, erm_claim_figure, error_in_encoding, region_figure, smooth_error_field


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(Path(__file__).resolve().parents[1] / 'nbs' / 'images'))
    a = ap.parse_args(argv)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    frame = convert_space(torch.from_numpy(demo_frame(96, 160)).permute(2, 0, 1)[None].double(), 'AWG3', 'ACEScct')
    region_figure(gamut_compress(frame, 'ACEScct')[0], path=out / 'regions.png')
    target = convert_space(torch.from_numpy(demo_frame(64, 128)).permute(2, 0, 1)[None].double(), 'AWG3', 'ACEScct')
    field = smooth_error_field(target.shape, seed=1)
    preds = {'(a) in ACEScct': error_in_encoding(target, field, 0.01),
             '(b) in PQ': error_in_encoding(target, field, 0.01, 'Rec2100-PQ', white_nits=100.0),
             '(c) in gamma 2.4': error_in_encoding(target, field, 0.01, 'Rec1886')}
    claim = {}
    for name, pr in preds.items():
        claim[name] = {r: erm(pr, target, k=16, renderer=r, seed=0) for r in ('aces2-sdr', 'pq')}
        claim[name]['aces2-sdr, exposure only'] = erm(pr, target, k=16, seed=0, edit_options={'ops': ['exposure'], 'n_steps': 1})
    erm_claim_figure(claim, out / 'erm_claim.png')
    print(out / 'regions.png', out / 'erm_claim.png')


if __name__ == '__main__':
    main()
