"""Benchmark: how long `sdr2log demo --long` takes on this machine, measured stage by stage at reduced length and
extrapolated to the preset (DEMO_PRESETS['long'], read from sdr2log.cli, never copied).

Run: .venv/bin/python bench/bench_demo_long.py [--work /tmp/demo_long] [--synth-sequences 4] [--steps 4]
     [--stages synth train eval other] [--out bench/results/demo_long.md]

What is measured, with the demo's own functions and overrides (`synthesize`, `_demo_overrides`, `Trainer`, `evaluate`,
`colour_demo`, `reconstruct_demo`):
- synthesis: `--synth-sequences` of the preset's sequences (all their frames, the preset's size), scaled by sequence count;
- training, for each of the demo's three U-Nets in the preset's config (the real loader and workers): building the
  Trainer, the seconds per optimizer step over `--steps` steps after 2 warm-up steps, one `validate()` (EMA weights,
  samples, best checkpoint), one `save()` (last.pt); the steps per epoch are those of the preset's dataset (its split
  of `sequences` into train/val/test, its frames, batch and drop_last) times the epochs, the validations those of
  `training.val_every` plus the final evaluation;
- evaluation: both `evaluate` calls of the demo (known renderer, blind protocol): the first on 1 and on 2 test images,
  which gives a fixed cost and a cost per image; the blind one on 1 image, its cost per image taken as the first's
  scaled by the number of methods (it takes minutes per call on 2 shared cores); extrapolated to the preset's test images;
- the colour demo and the reconstruction demo, which do not depend on the preset (run once, in full).
Stages can run in separate processes (`--stages`); the measurements gather in WORK/measurements.json and the table is
written once all four are there. Each run of a stage takes a few minutes on 2 CPU cores.
"""
import argparse, json, os, shutil, statistics, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table
from sdr2log.cli import DEMO_PRESETS, DEMO_BLIND_RENDERER, _demo_overrides, colour_demo

NETS = (('unet-cct', 'unet-cct', {}), ('unet-linear', 'unet-linear', {}),
        ('unet-linear+prior', 'unet-linear', {'model.prior': 'aces2-sdr'}))   # as sdr2log.cli.demo trains them
WARM = 2


class _StepClock:
    "A Trainer callback: the wall time at each optimizer step (training.log_every=1 fires on_step at every step)."
    def __init__(self): self.ts = []
    def __getattr__(self, hook): return lambda *a, **k: None
    def on_step(self, t, rec): self.ts.append(time.perf_counter())


def stage_synth(P, work, n_seq, seed):
    from sdr2log.synth import synthesize
    t = time.perf_counter()
    synthesize(work / 'data', seed=seed, overwrite=True, **{**P['synth'], 'sequences': n_seq})
    return {'sequences': n_seq, 'frames': P['synth']['frames'], 'seconds': time.perf_counter() - t}


def preset_counts(P, cfg, drop_last):
    "Steps per epoch, validations and images of the preset's own dataset (its sequences, frames, split, batch)."
    from sdr2log.data import split_counts
    from sdr2log.train import _steps
    d, tr, syn = cfg['data'], cfg['training'], P['synth']
    n_train, n_val, n_test = split_counts(syn['sequences'], d['train_ratio'], d['val_ratio'])
    steps = _steps(n_train * syn['frames'], d['batch_size'], drop_last, tr)   # as Trainer._steps_per_epoch
    vals = sum(1 for e in range(1, tr['epochs'] + 1) if e % tr['val_every'] == 0 or e == tr['epochs'])
    test = n_test * syn['frames']
    test = test if P['eval']['max_images'] is None else min(test, P['eval']['max_images'])
    return {'train_sequences': n_train, 'val_sequences': n_val, 'test_sequences': n_test, 'steps_per_epoch': steps,
            'epochs': tr['epochs'], 'validations': vals + 1, 'test_images': test}   # + the final evaluation of fit()


def stage_train(P, work, seed, steps):
    from sdr2log.train import Trainer
    out, res = {}, {}
    shutil.rmtree(work / 'runs', ignore_errors=True)
    for name, model, extra in NETS:
        sets = _demo_overrides(work, P, seed, name, extra) + ['training.progress=false', 'training.tensorboard=false',
                                                               'training.log_every=1']
        clock = _StepClock()
        t = time.perf_counter()
        tr = Trainer(model, sets, callbacks=[clock])
        build = time.perf_counter() - t
        if 'counts' not in out: out['counts'] = preset_counts(P, tr.cfg, tr.sampler.drop_last)
        tr._stop_at = WARM + steps
        t = time.perf_counter()
        while tr.step < WARM + steps: tr.train_epoch()                         # epochs of the small dataset, as fit runs them
        train_s = time.perf_counter() - t
        ts = [t] + clock.ts
        per = [b - a for a, b in zip(ts, ts[1:])][WARM:]
        t = time.perf_counter(); tr.save(); save_s = time.perf_counter() - t
        t = time.perf_counter(); tr.validate(); val_s = time.perf_counter() - t
        it = getattr(getattr(tr._dl, 'loader', tr._dl), '_iterator', None)   # stop its persistent workers
        if it is not None: it._shutdown_workers()
        res[name] = {'build_s': build, 'step_s_mean': statistics.mean(per), 'step_s_median': statistics.median(per),
                     'steps_timed': len(per), 'bench_steps_per_epoch': tr.steps_per_epoch, 'first_steps_s': train_s - sum(per),
                     'save_s': save_s, 'validate_s': val_s, 'val_images': tr.tr['val_max_batches'], 'run_dir': str(tr.run_dir)}
        print(name, {k: round(v, 2) if isinstance(v, float) else v for k, v in res[name].items()}, flush=True)
    out['nets'] = res
    return out


def stage_eval(P, work, runs, which=('evaluate', 'evaluate_blind'), done=None, blind_one=True):
    from sdr2log.evaluate import evaluate
    ev = {k: v for k, v in P['eval'].items() if k != 'max_images'}
    calls = {'evaluate': (['inverse', 'inverse-highlight', *(f'{k}={v}' for k, v in runs.items())], {}),
             'evaluate_blind': (['bt2446c', 'inverse:aces2-sdr', f'inverse:{DEMO_BLIND_RENDERER}',
                                 *(f'{k}={v}' for k, v in runs.items())], {'renderer': DEMO_BLIND_RENDERER})}
    res = dict(done or {})
    for key, (methods, kw) in calls.items():
        if key not in which: continue
        ts = {}
        for n in ((1, 2) if key == 'evaluate' or not blind_one else (1,)):
            t = time.perf_counter()
            evaluate(methods, work / 'data', 'test', work / f'eval-{key}-{n}', overwrite=True, max_images=n,
                     progress=False, **kw, **ev)
            ts[n] = time.perf_counter() - t
        if 2 in ts: per, how = max(ts[2] - ts[1], 0.0), 'measured on 1 and 2 images'
        else:                                      # one image: the per-image cost of `evaluate` scaled by method count
            k = res['evaluate']
            per, how = k['per_image_s'] * len(methods) / k['methods'], f"measured on 1 image; per image: evaluate's x {len(methods)}/{k['methods']} methods"
        res[key] = {'methods': len(methods), 'one_image_s': ts[1], 'two_images_s': ts.get(2), 'per_image_s': per,
                    'fixed_s': max(ts[1] - per, 0.0), 'how': how}
        print(key, res[key], flush=True)
        (work / f'measurements.{key}.json').write_text(json.dumps(res[key]))     # kept if a later call is stopped
    return res


def stage_other(work, seed):
    from sdr2log.reconstruct import reconstruct_demo
    t = time.perf_counter(); colour_demo(work / 'colour', size=(270, 480)); c = time.perf_counter() - t
    t = time.perf_counter(); reconstruct_demo(work / 'reconstruct', size=(270, 480), seed=seed, progress=False)
    return {'colour_s': c, 'reconstruct_s': time.perf_counter() - t}


def report(P, m, preset) -> tuple[str, float]:
    "The per-stage table and the extrapolated total (seconds)."
    c, rows, total = m['train']['counts'], [], 0.0
    def add(stage, unit, measured, count, seconds, note=''):
        nonlocal total
        total += seconds
        rows.append((stage, unit, measured, count, f'{seconds:.0f}', note))
    s = m['synth']
    add('synthesise', 'seconds per sequence', f"{s['seconds'] / s['sequences']:.1f}", P['synth']['sequences'],
        s['seconds'] / s['sequences'] * P['synth']['sequences'],
        f"{s['sequences']} of {P['synth']['sequences']} sequences measured, {s['frames']} frames "
        f"{P['synth']['size'][0]}x{P['synth']['size'][1]} each")
    missing = [k for k in ('eval', 'other') if k not in m]
    def absent(stage, why): rows.append((stage, '', 'not measured', '', '', why))
    if 'other' in m: add('colour demo', 'seconds', f"{m['other']['colour_s']:.1f}", 1, m['other']['colour_s'])
    else: absent('colour demo', 'not measured in this run (seconds in the default demo)')
    steps = c['steps_per_epoch'] * c['epochs']
    for name, r in m['train']['nets'].items():
        add(f'train {name}: build', 'seconds', f"{r['build_s']:.1f}", 1, r['build_s'])
        add(f'train {name}: steps', 'seconds per step (mean)', f"{r['step_s_mean']:.2f}", steps, r['step_s_mean'] * steps,
            f"{c['steps_per_epoch']} steps/epoch x {c['epochs']} epochs; median {r['step_s_median']:.2f} s over "
            f"{r['steps_timed']} steps after {WARM} warm-up")
        add(f'train {name}: validation', 'seconds per validation', f"{r['validate_s']:.1f}", c['validations'],
            r['validate_s'] * c['validations'], f"{r['val_images']} full-frame images each; every "
                                                 f"{P['train']['training.val_every']} epochs + the final one")
        add(f'train {name}: last.pt', 'seconds per save', f"{r['save_s']:.2f}", c['epochs'], r['save_s'] * c['epochs'])
    if 'eval' not in m:
        absent('evaluate, evaluate_blind', m.get('eval_note', 'not measured'))
    for key, r in ((k, v) for k, v in m.get('eval', {}).items() if isinstance(v, dict)):
        add(f"{key} ({r['methods']} methods)", 'seconds per image', f"{r['per_image_s']:.1f}", c['test_images'],
            r['fixed_s'] + r['per_image_s'] * c['test_images'], f"+ {r['fixed_s']:.1f} s fixed; {r.get('how', '')}")
    if 'other' in m: add('reconstruct demo', 'seconds', f"{m['other']['reconstruct_s']:.1f}", 1, m['other']['reconstruct_s'])
    else: absent('reconstruct demo', 'not measured in this run (the same as in the default demo: its size does not depend on the preset)')
    md = (f"# `sdr2log demo --{preset}`: expected time, measured stage by stage and extrapolated\n\n{machine()}\n\n"
          f"Preset (sdr2log.cli.DEMO_PRESETS['{preset}']): {json.dumps(P)}\n\n"
          f"Its dataset: {c['train_sequences']}/{c['val_sequences']}/{c['test_sequences']} train/val/test sequences, "
          f"{c['steps_per_epoch']} optimizer steps per epoch, {c['epochs']} epochs = {steps} steps per U-Net, "
          f"{c['validations']} validations per U-Net, {c['test_images']} test images per evaluation.\n\n"
          + table(rows, ('stage', 'measured unit', 'measured', 'count in the preset', 'extrapolated s', 'how'))
          + (f"\n\n**Expected total: {total:.0f} s = {total / 3600:.1f} h** on this machine.\n\n" if not missing else
             f"\n\n**Expected total: more than {total:.0f} s = {total / 3600:.1f} h** on this machine: the stages measured, "
             f"without {' and '.join(missing)} (not measured, see the table).\n\n")
          + "1-minute load average (2 cores) before / after each stage: " + ', '.join(
              f"{k} {m[k]['load_avg_1min_before']:.1f} / {m[k]['load_avg_1min_after']:.1f}" for k in ('synth', 'train', 'eval', 'other')
              if k in m)
          + " (this benchmark alone makes about 2 to 4 of it: torch's 2 threads and, in training, 2 loader workers; the rest "
            "is other people's jobs).\n\n"
            "Each stage ran at reduced length with the demo's own functions (bench/bench_demo_long.py): the step times "
            "come from the real Trainer with the preset's overrides and its loader workers, on a 4-sequence dataset of "
            "the preset's frame size (so the time per step, which depends on the batch, crop, model and frame size, is "
            "the preset's; the number of steps is computed for the preset's 12-sequence dataset). Not included: "
            "Python start-up and imports, per-epoch loader restarts beyond those in the measured epochs.\n\n"
            "The machine (2 cores) was shared with two other people's jobs while this ran (the load averages above): the "
            "times are those of a busy machine. For comparison, bench/results/train.md measured the same U-Net's "
            "compute alone (no loader) on this machine when quiet at 1.41 images/s (fp32, channels_last, 256x256), "
            "about 5.7 s per step of 8: on quiet cores the three U-Nets' 1800 steps alone would take about 2.8 h. "
            "With training.amp='bf16' (the demo trains in fp32) a step at this size measured 1.5x to 1.8x as fast "
            "(bench/results/train_amp_cpu.md).\n")
    return md, total


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--preset', default='long', choices=list(DEMO_PRESETS))
    ap.add_argument('--work', default='/tmp/sdr2log_bench_demo_long')
    ap.add_argument('--synth-sequences', type=int, default=4, help='sequences synthesised (>= 4: train, val, test exist)')
    ap.add_argument('--steps', type=int, default=4, help='optimizer steps timed per U-Net, after 2 warm-up steps')
    ap.add_argument('--stages', nargs='*', default=['synth', 'train', 'eval', 'other'])
    ap.add_argument('--eval-calls', nargs='+', default=['evaluate', 'evaluate_blind'], help='with the eval stage: which calls')
    ap.add_argument('--report', action='store_true', help='write the table from the stages measured so far')
    ap.add_argument('--note-eval', default=None, help='with --report and no eval stage: why (shown in the table)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'demo_long.md'))
    a = ap.parse_args(argv)
    P, work = DEMO_PRESETS[a.preset], Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    mfile = work / 'measurements.json'
    m = json.loads(mfile.read_text()) if mfile.exists() else {}
    for st in a.stages:
        t, load0 = time.perf_counter(), os.getloadavg()[0]
        if st == 'synth': m['synth'] = stage_synth(P, work, a.synth_sequences, a.seed)
        elif st == 'train': m['train'] = stage_train(P, work, a.seed, a.steps)
        elif st == 'eval': m['eval'] = stage_eval(P, work, {k: v['run_dir'] for k, v in m['train']['nets'].items()},
                                                  a.eval_calls, {k: v for k, v in m.get('eval', {}).items() if k not in a.eval_calls and isinstance(v, dict)})
        elif st == 'other': m['other'] = stage_other(work, a.seed)
        else: raise SystemExit(f'unknown stage {st!r}; accepted: synth train eval other')
        m[st]['load_avg_1min_before'] = load0
        m[st]['load_avg_1min_after'] = os.getloadavg()[0]                          # others' jobs on the same cores
        print(f'stage {st}: {time.perf_counter() - t:.0f} s, load average {os.getloadavg()[0]:.1f}', flush=True)
        mfile.write_text(json.dumps(m, indent=1))
    if a.note_eval: m['eval_note'] = a.note_eval
    if all(k in m for k in ('synth', 'train')) and (a.report or all(k in m for k in ('eval', 'other'))):
        md, total = report(P, m, a.preset)
        print(md)
        Path(a.out).write_text(md)


if __name__ == '__main__':
    main()
