"""The demo data scored the old way (raw AP1 target) and the new way (ACES 1.3 gamut-compressed target), by region.

`.venv/bin/python tools/scoring_before_after.py [--root /tmp/scoring_demo]`: synthesises the demo's default data
(6 sequences x 8 frames, 270x480, seed 0) under --root unless it is there, evaluates inverse, bt2446c and
inverse:naive on its test split (8 images, 8-bit SDR, ERM k=3) rendered by aces2-sdr and naive, for both targets,
and prints the tables. Writes only under --root (about 4 minutes on 2 cores)."""
import argparse, json
from pathlib import Path

import torch

from sdr2log.evaluate import evaluate
from sdr2log.synth import synthesize


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--root', default='/tmp/scoring_demo')
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    root = Path(a.root)
    if not (root / 'data').exists(): synthesize(root / 'data', seed=0, overwrite=True, sequences=6, frames=8, size=(270, 480))
    res = {}
    for tg in ('ap1', 'compressed'):
        s = evaluate(['inverse', 'bt2446c', 'inverse:naive'], root / 'data', 'test', root / f'eval_{tg}', erm_k=3, figures=0,
                     max_images=8, progress=False, data_overrides={'degradations': {'bits': 8}, 'target_gamut': tg},
                     renderer=['aces2-sdr', 'naive'])
        res[tg] = s['protocols']
    (root / 'before_after.json').write_text(json.dumps(res, indent=1))
    f = lambda s: f"{s['mean']:.2f} [{s['lo']:.2f}, {s['hi']:.2f}]"
    for tg, prs in res.items():
        for ren, p in prs.items():
            t = p['known']['table']
            print(f'\n## target {tg}, test SDR by {ren}\n\n| method | region | share | PSNR ACEScct | ΔE-ITP | PSNR PQ | ΔE-ITP PQ |\n|---|---|---|---|---|---|---|')
            for m in t:
                for rg in ('', 'highlights', 'midtones', 'shadows', 'out_of_gamut'):
                    k = (lambda b: f'{b}_{rg}') if rg else (lambda b: b)
                    share = f"{100 * t[m]['share_' + rg]['mean']:.1f}%" if rg else '100%'
                    print(f"| {m} | {rg or 'full frame'} | {share} | " + ' | '.join(f(t[m][k(b)]) for b in
                          ('psnr_acescct', 'delta_e_itp', 'psnr_pq', 'delta_e_itp_pq')) + ' |')


if __name__ == '__main__':
    main()
