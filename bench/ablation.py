"""Method experiments on the demo's data (issue "methods that win the benchmark"): what the edit-consistency loss does,
whether renderer-blind training serves SDR of unknown origin, and what the highlight baseline does where a renderer
clips. Reuses a finished `make demo` (its data and its U-Net runs) and trains two more U-Nets with the demo's settings.

usage: .venv/bin/python bench/ablation.py [--demo demo_out] [--parts N ...] [--out FILE] [--preset default]
(--out defaults to the results file of the parts given, RESULTS below, so a run of some parts never replaces the
results of others)

1. ECL: `unet-linear+prior` (the demo's best model) retrained with the ECL term added to its loss (weight 0.1, the
   ACES 2.0 renderer), both scored on the known-renderer test set; paired differences with bootstrap CIs.
2. Renderer-blind: `unet-linear` trained on a mixture (data.sdr_from = [aces2-sdr, film-sdr, naive]) against the
   demo's `unet-linear` (trained on aces2-sdr alone), both tested on SDR from aces1-sdr, which neither saw, beside
   the blind baselines (bt2446c, the mismatched inverse inverse:aces2-sdr) and the renderer-aware inverse:aces1-sdr.
3. On SDR from film-sdr (a soft shoulder that clips near +6 stops over grey, so the highlights are gone from the
   SDR): inverse:film-sdr and inverse-highlight (fitted on training frames), and the two U-Nets of part 2, by region.
4. Highlight reconstruction: `unet-linear` with the film-sdr inverse as its prior, trained on film-sdr SDR with and
   without the highlight-weighted loss (loss.highlight_weight: 4x weight above +2.5 stops), against inverse:film-sdr
   (flat clipping) and inverse-highlight on the film-sdr test SDR, by region, and a figure at -2, 0, +2 and +4 stops
   of exposure of the test frame with the most highlight pixels (bench/results/ablation_highlights.png).

5. The published peer beside our models: HDRTVNet's AGCM (the authors' size, nf 64) and AGCM + LE (LE scaled down
   to 32 channels x 4 blocks from 64 x 16 so it trains within the demo budget on a CPU), known renderer, against the
   inverse and the demo's U-Nets.
6. The blind prior: `unet-linear` with model.prior = the training mixture (all three inverses in, weighed per pixel
   by the network, which is not told the renderer), trained on the mixture and tested on aces1-sdr (held out), against
   the mixture U-Net of part 2 (trained before, found under runs-ablation/) and the mismatched inverse.

7. Blind, with the highlight loss: `unet-linear` with the blind prior of part 6, trained on the mixture with the
   highlight-weighted loss; tested on aces1-sdr (held out) against every blind baseline (bt2446c, inverse:aces2-sdr)
   and the demo's unet-linear+prior, with inverse:aces1-sdr as the renderer-aware ceiling. (A single renderer's
   inverse as the prior of a mixture-trained model is refused by the config check: the prior must invert the data.)

8. The identified prior: `unet-linear` with model.prior = 'identify' (per image, sdr2log.identify names the renderer
   from the SDR over the whole zoo, fitted on other scenes, and its exact inverse is the first guess; the network is
   never told the renderer), trained on the mixture with the highlight loss; tested on aces1-sdr (held out of the
   U-Net's training) against every blind baseline, and on aces2-sdr (known-renderer protocol) against the inverse.
9. The same with identification restricted to the training mixture ('identify:aces2-sdr,film-sdr,naive'): the held-out
   renderer is then unknown to every learned part, so it is found as the nearest of the three.

10. Known renderer, consistent with the delivered SDR: `unet-linear` with the ACES 2.0 prior trained (a) plain, with
    model.consistency (the prediction moved until the renderer re-renders it into the input's 8-bit code cells),
    (b) with an L1 term in the PQ domain added to the loss (closer to how ΔE-ITP weighs errors), and (c) with both;
    against the inverse and the demo's own prior model (whichever of these the demo trains is not retrained), by
    region.

11. The code consistency at inference only: the plain prior model of part 10 (trained without it, 1.5x faster) with
    `[consistency={bits: 8}]` added when it is evaluated, against the same model without it and the demo's prior
    model (trained with it), on the test split and on the validation split: does projecting during training matter?

12. The consistency gate (model.consistency.gate, the network's residual on the inverse scaled by the width of each
    pixel's code cell): the demo's prior model evaluated with the gate off, as trained, and at other thresholds
    (`RUN_DIR[consistency={bits: 8, gate: [lo, hi]}]`), on the validation split (where the demo's gate was chosen)
    and the test split, against the inverse, by region; and the plain prior model of part 10/11, trained without any
    consistency, with the demo's consistency and gate added at inference.

13. The blind protocol for every renderer of the zoo, not only aces1-sdr: for each of aces2-sdr, film-sdr and naive
    held out in turn, the demo's blind model (`unet-linear+identified-prior-hl`: identified prior, highlight fill,
    highlight loss)
    trained on the other three renderers and tested on SDR from the held-out one, against every non-learning blind
    baseline (bt2446c and the inverses of its three training renderers) and the told inverse; full frame and by
    region, paired CIs. (aces1-sdr held out is the demo's own blind protocol, README.) As in the demo the identifier
    knows the whole zoo (it was fitted on other scenes); only the U-Net never sees the held-out renderer's SDR. With
    film-sdr held out, a figure of the test frame with the most highlight pixels at -2, 0, +2 and +4 stops
    (bench/results/ablation_blind_highlights.png).

14. The highlight fill's mask (model.highlight: threshold, sigma, channel), changed at inference on the demo's blind
    model (`RUN_DIR[highlight={...}]`; the learned level is kept), on the validation split with SDR from the renderers
    of its training mixture that clip (film-sdr and naive; never the held-out aces1-sdr), against their told
    inverses, by region: where the default mask was chosen.

15. The known-renderer model's loss: the demo's prior model (consistency and gate as in the demo) trained on L1 in
    ACEScct alone, L1 + 0.1 SSIM (the shipped configs' loss, the demo's until this part), L1 + 0.1 SSIM + L1 in PQ, and
    the demo's own L1 in ACEScct + L1 in PQ (not retrained), against the inverse by region, on the validation split
    (where the choice was made) and the test split.

16. Highlight reconstruction where the known renderer clips: `unet-linear` with the film-sdr inverse as its prior
    (film-sdr clips near +6 stops over grey; the demo's ACES 2.0 clips above the camera's own +8.3), trained on
    film-sdr SDR with the highlight fill and the highlight loss (the blind model's recipe, told the renderer), with
    L1 + SSIM in ACEScct (the shipped loss) and with L1 in ACEScct + L1 in PQ (the demo's prior model's loss), and
    with the fill shaped as inverse-highlight's fitted expansion (its threshold, blur, channel and gamma, and level =
    the film ceiling + its fitted stops: the network starts as that baseline), against inverse:film-sdr (flat
    clipping) and inverse-highlight, on the validation and test splits, by region.

`--parts 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16` selects the parts (2 and 3 share a training; 6 reuses part 2's; 11 reuses part
10's plain run with --reuse).
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine
from sdr2log.cli import DEMO_PRESETS, DEMO_BLIND_MODEL, DEMO_PRIOR_MODEL
from sdr2log.evaluate import evaluate, summary_markdown, region_markdown, read_per_image, versus_markdown
from sdr2log.train import SHIPPED_CONFIGS, load_config, train
from sdr2log.metrics import region_masks

RESULTS = {(1, 2, 3, 4): 'ablation.md', (5,): 'ablation_peers.md', (6,): 'ablation_blind_prior.md',
           (7,): 'ablation_blind_hl.md', (9,): 'ablation_identified.md', (10,): 'ablation_consistency.md',
           (11,): 'ablation_consistency_inference.md', (12,): 'ablation_gate.md',
           (13,): 'ablation_blind_each.md', (14,): 'ablation_fill.md',
           (15,): 'ablation_prior_loss.md', (16,): 'ablation_film_fill.md'}   # the file under bench/results/ of each set of parts


def _default_out(parts) -> Path:
    "The results file of `parts`: its own one, or ablation_parts_<N>_<M>.md for another combination."
    key = tuple(sorted(set(parts)))
    return Path(__file__).parent / 'results' / RESULTS.get(key, f"ablation_parts_{'_'.join(map(str, key))}.md")


COLS = ['psnr_acescct', 'ssim_acescct', 'delta_e_itp', 'pu21_psnr', 'erm']
MIXTURE = ['aces2-sdr', 'film-sdr', 'naive']
HL_LOSS = {'loss.highlight_weight': DEMO_BLIND_MODEL['loss.highlight_weight']}   # 4x above +2.5 stops, the demo's


def _train(demo: Path, name: str, model: str, preset: str, extra: dict, model_options: dict | None = None) -> str:
    "A run with the demo preset's training settings (its U-Net size unless `model_options` are given)."
    P = DEMO_PRESETS[preset]
    mo = P['model'] if model_options is None else model_options
    sets = {'data.root': str(demo / 'data'), 'training.ckpt_root': str(demo / 'runs-ablation'), 'training.exp_name': name,
            'seed': 0, 'training.amp': False, **{f'model.{k}': v for k, v in mo.items()}, **P['train'], **extra}
    cfg = model
    if model not in SHIPPED_CONFIGS:                     # another registered model: the U-Net config's training, its own model
        cfg = load_config('unet-linear', validate=False); cfg['model'] = {'name': model}
    return train(cfg, [f'{k}={json.dumps(v)}' for k, v in sets.items()])['run_dir']


def _finished(demo: Path, name: str) -> str | None:
    "The newest finished run (one with a best checkpoint) named `name` under runs-ablation/, or None."
    done = sorted((demo / 'runs-ablation').glob(f'*-{name}/checkpoints/best@*.pt'))
    return str(done[-1].parent.parent) if done else None


def _reuse_or_train(demo: Path, a, name: str, extra: dict) -> str:
    "With --reuse, the newest finished run named `name`; otherwise (or if there is none) a new `unet-linear` training."
    return (a.reuse and _finished(demo, name)) or _train(demo, name, 'unet-linear', a.preset, extra)


def _plain_run(demo: Path, a, new: dict) -> str:
    "The plain prior model of part 10 (no consistency): this run's, a finished one with --reuse, or trained now."
    plain = new.get('unet-linear+prior-plain') or _reuse_or_train(demo, a, 'unet-linear+prior-plain', {'model.prior': 'aces2-sdr'})
    new['unet-linear+prior-plain'] = plain
    return plain


def highlight_figure(demo: Path, methods: dict, path: Path, stops=(-2, 0, 2, 4)):
    "The test frame with the most highlight pixels, SDR from film-sdr, each method at `stops`."
    import torch
    from sdr2log.data import PairDataset
    from sdr2log.display import save_comparison_figure
    from sdr2log.methods import resolve_method
    from sdr2log.render import get_renderer
    d = {'root': str(demo / 'data'), 'sdr_from': 'film-sdr', 'degradations': {'bits': 8}}
    ds = PairDataset({'data': d}, 'test', 'img')
    share = [float(region_masks(ds[i]['hdr'][None], 'film-sdr')['highlights'].float().mean()) for i in range(len(ds))]
    s = ds[max(range(len(ds)), key=share.__getitem__)]
    preds = {}
    with torch.no_grad():
        for name, spec in methods.items():
            preds[name] = resolve_method(spec, ds.cfg, 'cpu')(s['sdr'][None]).float()[0]
    return save_comparison_figure(path, s['sdr'], s['hdr'], preds, get_renderer('film-sdr'), ds.cfg['space_in'], stops=stops)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--demo', default='demo_out'); ap.add_argument('--preset', default='default')
    ap.add_argument('--parts', nargs='+', type=int, default=[1, 2, 3, 4], choices=list(range(1, 17)))
    ap.add_argument('--out', default=None, help="results file (default: the parts' own, see RESULTS)")
    ap.add_argument('--reuse', action='store_true', help="parts 7-9, 11-13, 15 and 16: reuse their finished runs under runs-ablation/")
    a = ap.parse_args(argv)
    demo, out = Path(a.demo), Path(a.out) if a.out else _default_out(a.parts)
    runs = json.loads((demo / 'demo.json').read_text())['runs']
    ev = dict(DEMO_PRESETS[a.preset]['eval'])
    t0, parts, new, ab = time.perf_counter(), [], {}, demo / 'eval-ablation'
    def section(title, s, ref):
        names = list(s['table'])
        parts.append(f"## {title}\n\n{summary_markdown(s, names, COLS, ref)}\n\nBy region:\n\n{region_markdown(s, names, ref)}\n")
    if 1 in a.parts:
        loss = {'loss.terms': [{'name': 'l1', 'weight': 1.0, 'domain': 'acescct'}, {'name': 'ssim', 'weight': 0.1, 'domain': 'acescct'},
                               {'name': 'ecl', 'weight': 0.1, 'renderer': 'aces2-sdr'}]}
        new['ecl'] = ecl = _train(demo, 'unet-linear+prior+ecl', 'unet-linear', a.preset, {'model.prior': 'aces2-sdr', **loss})
        section('1. ECL, known renderer (aces2-sdr)', evaluate(
            [f"unet-linear+prior={runs['unet-linear+prior']}", f'unet-linear+prior+ecl={ecl}'], demo / 'data', 'test',
            ab / 'ecl', overwrite=True, renderer='aces2-sdr', **ev), 'unet-linear+prior')
    if {2, 3} & set(a.parts):
        new['mixture'] = mix = _train(demo, 'unet-linear-mixture', 'unet-linear', a.preset, {'data.sdr_from': MIXTURE})
    if 2 in a.parts:
        section('2. Renderer-blind: test SDR from aces1-sdr, held out of every training set', evaluate(
            ['bt2446c', 'inverse:aces2-sdr', 'inverse:aces1-sdr', f"unet-linear={runs['unet-linear']}", f'unet-linear-mixture={mix}'],
            demo / 'data', 'test', ab / 'blind', overwrite=True, renderer='aces1-sdr', **ev), 'bt2446c')
    if 3 in a.parts:
        section('3. Test SDR from film-sdr (clips near +6 stops)', evaluate(
            ['inverse:film-sdr', 'inverse-highlight', f'unet-linear-mixture={mix}', f"unet-linear={runs['unet-linear']}"],
            demo / 'data', 'test', ab / 'film', overwrite=True, renderer='film-sdr', **ev), 'inverse:film-sdr')
    if 4 in a.parts:
        film = {'model.prior': 'film-sdr', 'data.sdr_from': 'film-sdr'}
        new['film_prior'] = fp = _train(demo, 'unet-linear+film-prior', 'unet-linear', a.preset, film)
        new['film_prior_hl'] = fh = _train(demo, 'unet-linear+film-prior+hl', 'unet-linear', a.preset,
                                           {**film, **HL_LOSS})
        methods = {'inverse:film-sdr': 'inverse:film-sdr', 'inverse-highlight': 'inverse-highlight',
                   'unet-linear+film-prior': f'unet-linear+film-prior={fp}', 'unet-linear+film-prior+hl': f'unet-linear+film-prior+hl={fh}'}
        section('4. Highlight reconstruction on film-sdr SDR (clips near +6 stops)', evaluate(
            list(methods.values()), demo / 'data', 'test', ab / 'highlights', overwrite=True, renderer='film-sdr', **ev),
            'inverse:film-sdr')
        fig = highlight_figure(demo, methods, out.with_name('ablation_highlights.png'))
        parts.append(f"![film-sdr test frame at -2, 0, +2, +4 stops]({fig.name})\n")
    if 5 in a.parts:
        new['agcm'] = ag = _train(demo, 'hdrtvnet-agcm', 'hdrtvnet-agcm', a.preset, {}, {'nf': 64})
        new['agcm_le'] = le = _train(demo, 'hdrtvnet-agcm-le', 'hdrtvnet-agcm-le', a.preset, {},
                                     {'nf': 64, 'le_nf': 32, 'le_blocks': 4})
        section('5. HDRTVNet (AGCM, AGCM + LE) beside the inverse and the U-Nets, known renderer (aces2-sdr)', evaluate(
            ['inverse', f"unet-linear={runs['unet-linear']}", f"unet-linear+prior={runs['unet-linear+prior']}",
             f'hdrtvnet-agcm={ag}', f'hdrtvnet-agcm-le={le}'], demo / 'data', 'test', ab / 'peers', overwrite=True,
            renderer='aces2-sdr', **ev), 'inverse')
    if 6 in a.parts:
        mixes = sorted((demo / 'runs-ablation').glob('*-unet-linear-mixture'))
        if not mixes and 'mixture' not in new: raise SystemExit("part 6 needs part 2's mixture run: run --parts 2 first")
        mix = new.get('mixture') or str(mixes[-1])
        new['blind_prior'] = bp = _train(demo, 'unet-linear+blind-prior', 'unet-linear', a.preset,
                                         {'data.sdr_from': MIXTURE, 'model.prior': MIXTURE})
        section('6. The blind prior: test SDR from aces1-sdr, held out of every training set', evaluate(
            ['inverse:aces2-sdr', 'inverse:aces1-sdr', f'unet-linear-mixture={mix}', f'unet-linear+blind-prior={bp}'],
            demo / 'data', 'test', ab / 'blind-prior', overwrite=True, renderer='aces1-sdr', **ev), 'inverse:aces2-sdr')
    if 7 in a.parts:
        hl = {'data.sdr_from': MIXTURE, **HL_LOSS}
        bh = _reuse_or_train(demo, a, 'unet-linear+blind-prior-hl', {**hl, 'model.prior': MIXTURE})
        new['blind_prior_hl'] = bh
        section('7. Blind, trained on the mixture with the highlight loss: test SDR from aces1-sdr, held out', evaluate(
            ['bt2446c', 'inverse:aces2-sdr', 'inverse:aces1-sdr', f"unet-linear+prior={runs['unet-linear+prior']}",
             f'unet-linear+blind-prior-hl={bh}'],
            demo / 'data', 'test', ab / 'blind-hl', overwrite=True, renderer='aces1-sdr', reference='inverse:aces2-sdr', **ev),
            'inverse:aces2-sdr')
    for part, prior, tag in ((8, 'identify', 'identified-prior-hl'),
                             (9, 'identify:' + ','.join(MIXTURE), 'identified-mixture-prior-hl')):
        if part not in a.parts: continue
        hl = {'data.sdr_from': MIXTURE, **HL_LOSS}
        run = _reuse_or_train(demo, a, f'unet-linear+{tag}', {**hl, 'model.prior': prior})
        new[tag] = run
        blind_prev = _finished(demo, 'unet-linear+blind-prior-hl')
        prev = [f'unet-linear+blind-prior-hl={blind_prev}'] if blind_prev else []
        section(f"{part}. The identified prior ({prior}), trained on the mixture with the highlight loss: test SDR from "
                f"aces1-sdr, held out of the U-Net's training", evaluate(
            ['bt2446c', 'inverse:aces2-sdr', 'inverse:film-sdr', 'inverse:naive', 'inverse:aces1-sdr', *prev,
             f'unet-linear+{tag}={run}'], demo / 'data', 'test', ab / f'{tag}-blind', overwrite=True,
            renderer='aces1-sdr', reference='inverse:aces2-sdr', **ev), 'inverse:aces2-sdr')
        section(f"{part}b. The same model on the known renderer's test SDR (aces2-sdr)", evaluate(
            ['inverse', f"unet-linear+prior={runs['unet-linear+prior']}", f'unet-linear+{tag}={run}'],
            demo / 'data', 'test', ab / f'{tag}-known', overwrite=True, renderer='aces2-sdr', **ev), 'inverse')
    if 10 in a.parts:
        pq = {'loss.terms': [{'name': 'l1', 'weight': 1.0, 'domain': 'acescct'}, {'name': 'ssim', 'weight': 0.1, 'domain': 'acescct'},
                             {'name': 'l1', 'weight': 1.0, 'domain': 'pq', 'key': 'l1_pq'}]}
        cons = {'model.consistency': {'bits': 8}}
        demo_cfg = json.loads((demo / 'demo.json').read_text()).get('prior_model', {})
        variants = {'unet-linear+prior-plain': {}, 'unet-linear+prior+consistency': cons, 'unet-linear+prior+pq-loss': pq, 'unet-linear+prior+pq-loss+consistency': {**pq, **cons}}
        methods = ['inverse'] + [f'{k}={v}' for k, v in runs.items() if k.startswith('unet-linear+prior')]
        for tag, extra in variants.items():
            if all(demo_cfg.get(k) == v for k, v in extra.items()) and set(extra) == set(demo_cfg) - {'model.prior'}: continue
            new[tag] = run = _train(demo, tag, 'unet-linear', a.preset, {'model.prior': 'aces2-sdr', **extra})
            methods.append(f'{tag}={run}')
        section('10. Known renderer (aces2-sdr): code consistency and a PQ-domain loss term on the prior model', evaluate(
            methods, demo / 'data', 'test', ab / 'consistency', overwrite=True, renderer='aces2-sdr', **ev), 'inverse')
    if 11 in a.parts:
        plain = _plain_run(demo, a, new)
        methods = ['inverse', f'plain={plain}', f'plain+consistency-at-inference={plain}[consistency={{bits: 8}}]',
                   f"trained-with-consistency={runs['unet-linear+prior']}"]
        for split in ('test', 'val'):
            section(f'11. Known renderer (aces2-sdr), {split} split: the code consistency at inference only, or trained with',
                    evaluate(methods, demo / 'data', split, ab / f'consistency-inference-{split}', overwrite=True,
                             renderer='aces2-sdr', **ev), 'trained-with-consistency')
    if 12 in a.parts:
        gates = {'gate-off': None, 'gate-0.002-0.008': [0.002, 0.008], 'gate-0.004-0.012': [0.004, 0.012],
                 'gate-0.006-0.016': [0.006, 0.016], 'gate-hard-0.01': [0.01, 0.01]}
        prior = runs['unet-linear+prior']
        cons = lambda g: '{bits: 8}' if g is None else f'{{bits: 8, gate: [{g[0]}, {g[1]}]}}'
        methods = ['inverse', *[f'{k}={prior}[consistency={cons(g)}]' for k, g in gates.items()]]
        plain = _plain_run(demo, a, new)
        demo_cons = json.loads((demo / 'demo.json').read_text()).get('prior_model', {}).get('model.consistency')
        methods += [f'plain={plain}', f'plain+demo-consistency-at-inference={plain}[consistency={json.dumps(demo_cons)}]']
        for split in ('val', 'test'):
            section(f'12. Known renderer (aces2-sdr), {split} split: the demo prior model ({cons(demo_cons and demo_cons.get("gate"))} '
                    f'as trained) under other gates at inference', evaluate(
                        methods, demo / 'data', split, ab / f'gate-{split}', overwrite=True, renderer='aces2-sdr', **ev),
                    'inverse')
    if 13 in a.parts:
        zoo = ['aces2-sdr', 'aces1-sdr', 'film-sdr', 'naive']
        for held in ('aces2-sdr', 'film-sdr', 'naive'):
            mix = [r for r in zoo if r != held]
            tag = f'identified-prior-hl-without-{held}'
            run = _reuse_or_train(demo, a, f'unet-linear+{tag}', {**DEMO_BLIND_MODEL, 'data.sdr_from': mix})
            new[tag] = run
            blind = ['bt2446c', *(f'inverse:{r}' for r in mix)]
            s13 = evaluate([*blind, f'inverse:{held}', f'unet-linear+{tag}={run}'], demo / 'data', 'test',
                           ab / f'blind-without-{held}', overwrite=True, renderer=held, reference=blind[1], **ev)
            section(f'13. Blind protocol, {held} held out: trained on {" / ".join(mix)}, tested on SDR from {held}', s13, blind[1])
            if held == 'film-sdr':   # where flat clipping shows: the held-out renderer's own inverse, the best blind one, ours
                fig = highlight_figure(demo, {f'inverse:{held} (told)': f'inverse:{held}', 'inverse:aces1-sdr': 'inverse:aces1-sdr',
                                              f'unet-linear+{tag}': f'unet-linear+{tag}={run}'},
                                       out.with_name('ablation_blind_highlights.png'))
                parts.append(f"![{held} held out: the test frame at -2, 0, +2, +4 stops]({fig.name})\n")
            rows = read_per_image(ab / f'blind-without-{held}' / 'per_image.csv')
            parts.append(f"Against each blind baseline and the told inverse, by region:\n\n"
                         f"{versus_markdown(rows, f'unet-linear+{tag}', [*blind, f'inverse:{held}'])}\n")
    if 14 in a.parts:
        blind_run = runs['unet-linear+identified-prior-hl']
        masks = {'as-trained': None, 't0.98-s2': {'threshold': 0.98, 'sigma': 2.0}, 't0.99-s1': {'threshold': 0.99, 'sigma': 1.0},
                 't0.995-s1': {'threshold': 0.995, 'sigma': 1.0}, 't0.995-s0': {'threshold': 0.995, 'sigma': 0.0},
                 't0.995-s0-max': {'threshold': 0.995, 'sigma': 0.0, 'channel': 'max'}}   # t: threshold, s: sigma
        spec = lambda m: '' if m is None else '[highlight={' + ', '.join(f'{k}: {v}' for k, v in m.items()) + '}]'
        names = {k: f"fill-{k}" for k in masks}
        for rend in ('film-sdr', 'naive'):
            evaluate([f'inverse:{rend}', *(f'{names[k]}={blind_run}{spec(m)}' for k, m in masks.items())], demo / 'data',
                     'val', ab / f'fill-{rend}', overwrite=True, renderer=rend, **{**ev, 'erm': False, 'figures': 0})
            rows = read_per_image(ab / f'fill-{rend}' / 'per_image.csv')
            parts.append(f"## 14. The fill's mask at inference, validation split, SDR from {rend} (in the training mixture)\n\n" +
                         '\n\n'.join(versus_markdown(rows, names[k], [f'inverse:{rend}'], regions=(None, 'highlights', 'midtones'))
                                      for k in masks) + '\n')
    if 15 in a.parts:
        demo_cfg = json.loads((demo / 'demo.json').read_text()).get('prior_model', {})
        l1, ssim = {'name': 'l1', 'weight': 1.0, 'domain': 'acescct'}, {'name': 'ssim', 'weight': 0.1, 'domain': 'acescct'}
        pq = {'name': 'l1', 'weight': 1.0, 'domain': 'pq'}
        losses = {'l1': [l1], 'l1+ssim': [l1, ssim], 'l1+ssim+pq': [l1, ssim, pq]}
        methods = ['inverse', f"demo-l1+pq={runs['unet-linear+prior']}"]
        for tag, terms in losses.items():
            if terms == demo_cfg.get('loss.terms'): continue
            new[tag] = run = _reuse_or_train(demo, a, f'unet-linear+prior-{tag}', {**demo_cfg, 'loss.terms': terms})
            methods.append(f'{tag}={run}')
        for split in ('val', 'test'):
            evaluate(methods, demo / 'data', split, ab / f'prior-loss-{split}', overwrite=True, renderer='aces2-sdr',
                     **{**ev, 'figures': 0})
            rows = read_per_image(ab / f'prior-loss-{split}' / 'per_image.csv')
            parts.append(f"## 15. Known renderer (aces2-sdr), {split} split: the prior model's loss terms\n\n" +
                         '\n\n'.join(f"`{m.split('=')[0]}`:\n\n" + versus_markdown(rows, m.split('=')[0], ['inverse'])
                                      for m in methods[1:]) + '\n')
    if 16 in a.parts:
        film = {'model.prior': 'film-sdr', 'data.sdr_from': 'film-sdr', 'model.highlight': {}, **HL_LOSS}
        pq = DEMO_PRIOR_MODEL['loss.terms']   # L1 in ACEScct + L1 in PQ, the demo prior model's loss
        from sdr2log.methods import resolve_method
        from sdr2log.models.unet import ceiling_stops
        from sdr2log.render import get_renderer
        fitted = resolve_method('inverse-highlight', {'root': str(demo / 'data'), 'sdr_from': 'film-sdr', 'degradations': {'bits': 8}},
                                fit_samples=ev['fit_samples']).info['fitted_params']   # as the evaluation fits it (train split)
        as_fitted = {k: fitted[k] for k in ('threshold', 'sigma', 'channel', 'gamma')}   # the fill starts as inverse-highlight
        as_fitted['level'] = round(ceiling_stops(get_renderer('film-sdr')) + fitted['stops'], 4)
        variants = {'unet-linear+film-prior-fill': film, 'unet-linear+film-prior-fill+pq': {**film, 'loss.terms': pq},
                    'unet-linear+film-prior-fill-fitted': {**film, 'model.highlight': as_fitted}}
        methods = ['inverse:film-sdr', 'inverse-highlight']
        for tag, extra in variants.items():
            new[tag] = run = _reuse_or_train(demo, a, tag, extra)
            methods.append(f'{tag}={run}')
        for split in ('val', 'test'):
            s16 = evaluate(methods, demo / 'data', split, ab / f'film-fill-{split}', overwrite=True, renderer='film-sdr',
                           **{**ev, 'figures': 0})
            section(f'16. Known renderer film-sdr (clips), {split} split: the film-sdr prior with the highlight fill', s16,
                    'inverse:film-sdr')
            rows = read_per_image(ab / f'film-fill-{split}' / 'per_image.csv')
            parts.append('\n\n'.join(versus_markdown(rows, tag, ['inverse:film-sdr', 'inverse-highlight'])
                                      for tag in variants) + '\n')
    md = (f"# Method experiments on the demo data\n\n{machine()}\n\n`python bench/ablation.py --demo {a.demo} --preset "
          f"{a.preset} --parts {' '.join(map(str, a.parts))}`: demo preset `{a.preset}` settings for the new trainings; "
          f"{time.perf_counter() - t0:.0f} s in all. New runs: {new}.\n\n" + '\n'.join(parts))
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(md); print(md)


if __name__ == '__main__':
    main()
