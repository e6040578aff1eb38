"Integration tests of the training engine: CLI train + resume, 2-process DDP on gloo, the papermill notebook and a sweep."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest, torch
from sdr2log.runs import load_checkpoint
from sdr2log.testing import assert_paths_agree

BIN = Path(sys.executable).parent
QUICK = ['training.max_steps_per_epoch=3', 'training.progress=false', 'data.batch_size=2',
         'data.augment.train_crop_size=48', 'data.sdr_from=naive', 'training.epochs=1']


@pytest.fixture(scope='module')
def data(synth_data): return synth_data


def run(cmd, cwd, env=None, timeout=600):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert r.returncode == 0, f"{cmd}\nSTDOUT:\n{r.stdout[-3000:]}\nSTDERR:\n{r.stderr[-3000:]}"
    return r


def test_cli_train_then_resume_auto(data, tmp_path):
    sets = [f'data.root={data}', f'training.ckpt_root={tmp_path}/runs', *QUICK]
    r = run([BIN / 'sdr2log', 'train', 'tiny-linear', '--set', *sets, 'data.num_workers=2'], tmp_path)   # persistent workers
    run_dir = Path(next(l.split(':', 1)[1].strip() for l in r.stdout.splitlines() if l.startswith('run directory:')))
    assert run_dir.parent == tmp_path / 'runs' and run_dir.name.endswith('-tiny-linear')
    st = load_checkpoint(run_dir / 'checkpoints' / 'last.pt')
    assert st['epoch'] == 1 and st['step'] == 3
    # resume=auto continues the same run directory to more epochs
    r = run([BIN / 'sdr2log', 'train', 'tiny-linear', '--resume', 'auto', '--set', *sets[:-1], 'training.epochs=2'], tmp_path)
    assert f'resumed from {run_dir}' in r.stdout
    assert load_checkpoint(run_dir / 'checkpoints' / 'last.pt')['step'] == 6
    summary = json.loads((run_dir / 'eval' / 'summary.json').read_text())
    assert summary['epochs'] == 2 and summary['final']['images'] > 0
    assert len((run_dir / 'logs' / 'scalars.val.jsonl').read_text().splitlines()) == 2


def test_bad_config_key_is_named(data, tmp_path):
    r = subprocess.run([BIN / 'sdr2log', 'train', 'tiny-cct', '--set', f'data.root={data}', 'training.learning_rate=1'],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'training.learning_rate' in r.stderr


@pytest.mark.parametrize('colour_on', ['worker', 'device'])
def test_ddp_two_cpu_processes_gloo(data, tmp_path, colour_on):
    sets = [f'data.root={data}', f'training.ckpt_root={tmp_path}/runs', 'training.exp_name=ddp', *QUICK,
            f'data.colour_on={colour_on}']
    cmd = [BIN / 'torchrun', '--standalone', '--nproc_per_node=2', str(BIN / 'sdr2log'), 'train', 'tiny-cct', '--set', *sets]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    if r.returncode != 0 and 'terminate called without an active exception' in r.stderr:
        # once in about ten loaded runs a gloo rank aborts in C++ as the ranks connect (SIGABRT before the first step,
        # no Python error); that is the transport's, not the trainer's: start over once in a fresh folder, and report it
        print(f"gloo rank aborted at start-up; rerunning once:\n{r.stderr[-1500:]}")
        shutil.rmtree(tmp_path / 'runs')
        r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, f"{cmd}\nSTDOUT:\n{r.stdout[-3000:]}\nSTDERR:\n{r.stderr[-3000:]}"
    runs = list((tmp_path / 'runs').glob('*-ddp'))
    assert len(runs) == 1, runs                                  # rank 0 alone writes one run directory
    summary = json.loads((runs[0] / 'eval' / 'summary.json').read_text())
    sums = summary['param_checksums']
    assert len(sums) == 2 and sums[0] == sums[1]                 # parameters identical across ranks
    env = json.loads((runs[0] / 'meta' / 'env.json').read_text())
    assert env['world_size'] == 2


def test_papermill_sweep_keeps_notebooks_and_tabulates(data, tmp_path):
    grid = tmp_path / 'grid.yaml'
    grid.write_text(f"base: tiny-cct\ndata_root: {data}\nout: {tmp_path}/sweep\nepochs: 1\n"
                    "fixed: {training.max_steps_per_epoch: 2, data.batch_size: 2, data.augment.train_crop_size: 48,"
                    " data.sdr_from: naive}\n"
                    "grid:\n  model.name: [unet-cct, unet-linear]\n  training.lr: [0.001, 'not-a-number']\n")
    r = subprocess.run([BIN / 'sdr2log', 'sweep', grid], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert r.returncode == 1, r.stdout + r.stderr                # two points fail (bad lr) and are reported ...
    rows = (tmp_path / 'sweep' / 'results.csv').read_text().splitlines()
    assert len(rows) == 5 and sum(',ok,' in l for l in rows) == 2 and sum(',failed,' in l for l in rows) == 2
    for run_dir in (tmp_path / 'sweep' / 'runs').glob('*'):     # ... and the good ones keep their notebook
        if (run_dir / 'eval' / 'summary.json').exists(): assert (run_dir / 'train.ipynb').exists()
    assert '| point |' in (tmp_path / 'sweep' / 'results.md').read_text()


def test_train_on_clips_vid_mode(data, tmp_path):
    from sdr2log.train import train
    s = train('tiny-cct', [f'data.root={data}', f'training.ckpt_root={tmp_path}/runs', *QUICK, 'training.data_mode=vid',
                           'data.clip_len=2'])
    run_dir = Path(s['run_dir'])
    log = [json.loads(l) for l in (run_dir / 'logs' / 'scalars.train.jsonl').read_text().splitlines()]
    assert s['steps'] == 3 and all(r['images_per_s'] > 0 for r in log)
    assert json.loads((run_dir / 'meta' / 'env.json').read_text())['train_samples'] > 0


@pytest.mark.paths
def test_device_colour_path_trains_like_the_worker_path(data, tmp_path):
    "data.colour_on='device' finishes the same batches in the trainer, so training ends at the same weights."
    from sdr2log.train import Trainer
    weights = {}
    for where in ('worker', 'device'):
        t = Trainer('tiny-linear', [f'data.root={data}', f'training.ckpt_root={tmp_path}/{where}', *QUICK,
                                    f'data.colour_on={where}', 'data.degradations.bits=8'])
        assert t.train_ds.defer == (where == 'device')
        init = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
        t.fit()
        assert t.step == 3
        weights[where] = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
    # the two paths feed the same batches to rounding (see sdr2log.testing), so three Adam steps end at the same weights
    # to well under one step's size (lr), a systematic difference in the data would move them by about lr; Adam's
    # first steps are about lr * sign(grad), so a weight whose gradient is near 0 may step the other way (up to 2 lr
    # per step): at most 2% of the weights may
    lr = t.cfg['training']['lr']
    assert max(float((weights['worker'][k].float() - init[k].float()).abs().max()) for k in init) > lr / 2   # it trained
    flat = {w: torch.cat([v.float().flatten() for v in weights[w].values()]) for w in weights}
    assert_paths_agree(flat['device'], flat['worker'], atol=lr / 20, step=6 * lr, max_step_share=0.02, name='weights')


def test_model_prior_must_invert_the_data_renderer(data, tmp_path):
    "model.prior is the renderer's inverse held by the model: a prior for other data is refused before training."
    from sdr2log.train import Trainer
    with pytest.raises(ValueError, match=r"model.prior='aces2-sdr' .* data.sdr_from='naive'"):
        Trainer('tiny-cct', [f'data.root={data}', f'training.ckpt_root={tmp_path}', *QUICK, 'model.prior=aces2-sdr'])
    t = Trainer('tiny-cct', [f'data.root={data}', f'training.ckpt_root={tmp_path}', *QUICK, 'model.prior=naive'])
    t.fit()                                                   # trains from the inverse (a fresh model is the baseline)
    assert t.step == 3 and t.model.prior is not None


def test_mixture_model_decodes_every_sample_one_way(data, tmp_path):
    "A renderer mixture of BT.1886 and BT.709-OETF coded SDR: the inputs, the prior and the saved config all use one decode."
    from sdr2log.train import Trainer
    from sdr2log.methods import load_run
    t = Trainer('tiny-cct', [f'data.root={data}', f'training.ckpt_root={tmp_path}', *QUICK,
                             "data.sdr_from=[aces2-sdr, naive]", 'model.prior=identify:aces2-sdr,naive'])
    assert t.cfg['model']['sdr_space'] == 'Rec1886' and t.train_ds.sdr_space == 'Rec1886' == t.val_ds.sdr_space
    assert [p.sdr_space for p in t.model.prior.inverses] == ['Rec1886', 'Rec1886'] and t.model.prior.delivery == 'Rec1886'
    t.fit()
    model, cfg = load_run(t.run_dir, 'last', 'cpu')           # reloaded as trained: the same decode
    assert cfg['model']['sdr_space'] == 'Rec1886' and model.prior.inverses[1].sdr_space == 'Rec1886'
    with pytest.raises(ValueError, match="the data decodes them as 'Rec1886'"):
        Trainer('tiny-cct', [f'data.root={data}', f'training.ckpt_root={tmp_path}', *QUICK,
                             "data.sdr_from=[aces2-sdr, naive]", 'model.prior=identify', 'model.sdr_space=Rec709'])


def test_compiled_training_forward_matches_eager(data, tmp_path):
    "training.compile: the forward runs through torch.compile (aot_eager here: dynamo's graph capture, no C++ build);"
    " the losses agree with the eager run, checkpoints hold the plain module's keys; an unknown backend is named."
    from sdr2log.train import Trainer
    base = [f'data.root={data}', 'training.tensorboard=false', 'training.ema=false', 'training.val_max_batches=1',
            'training.num_samples=0', *QUICK]
    losses = {}
    for compiled in (False, True):
        t = Trainer('tiny-cct', [*base, f'training.ckpt_root={tmp_path}/{compiled}', f'training.compile={str(compiled).lower()}',
                                 'training.compile_backend=aot_eager'])
        assert (t.compiled is not None) == compiled
        t.fit()
        losses[compiled] = [json.loads(l)['loss'] for l in (t.run_dir / 'logs' / 'scalars.train.jsonl').read_text().splitlines()]
        keys = list(load_checkpoint(t.run_dir / 'checkpoints' / 'last.pt')['model'])
        assert keys and not any(k.startswith('_orig_mod') for k in keys)
    assert len(losses[True]) == len(losses[False]) > 0
    assert max(abs(a - b) for a, b in zip(losses[True], losses[False])) < 1e-4, losses
    with pytest.raises(ValueError, match="compile_backend: unknown backend 'nope'; accepted: .*inductor"):
        Trainer('tiny-cct', [*base, f'training.ckpt_root={tmp_path}/bad', 'training.compile=true', 'training.compile_backend=nope'])


def test_code_consistency_trains_and_reconstructs_inside_the_cells(data, tmp_path):
    "model.consistency: trained from the naive inverse on 8-bit SDR; its val predictions re-render into the input's codes."
    from sdr2log.train import Trainer
    from sdr2log.methods import load_run
    from sdr2log.data import PairDataset, collate_pairs
    from sdr2log.color import convert_space, gamut_compress
    base = [f'data.root={data}', f'training.ckpt_root={tmp_path}', *QUICK, 'model.prior=naive', 'data.degradations={"bits": 8}']
    with pytest.raises(ValueError, match=r"model.consistency.bits=10 .* data.degradations.bits=8"):
        Trainer('tiny-cct', [*base, 'model.consistency={"bits": 10}'])
    with pytest.raises(ValueError, match=r"model.consistency.bits=8 .* data.degradations.bits=None"):
        Trainer('tiny-cct', [*base[:-1], 'model.consistency={"bits": 8}'])
    t = Trainer('tiny-cct', [*base, 'model.consistency={"bits": 8}'])
    t.fit()
    assert t.step == 3
    model, cfg = load_run(t.run_dir, checkpoint="last")         # the run reloads with its consistency
    assert model.consistency is not None and model.consistency.bits == 8
    ds = PairDataset(cfg, 'val', 'img')
    s = collate_pairs([ds[0]])
    with torch.no_grad():
        p = model(s['sdr'])
        raw = model.consistency.project(p + 0.03, s['sdr'])    # pushed out of its cells, then projected back
    cc = model.consistency
    lo, hi = cc.cells(s['sdr'])
    render = lambda z: cc.exact.forward(convert_space(gamut_compress(z, 'ACEScct', inverse=True), 'ACEScct', 'LogC3'))
    pushed = render(p + 0.03)
    assert ((pushed >= lo - 1e-3) & (pushed <= hi + 1e-3)).all(-3).float().mean() < 0.5    # pushed: mostly outside
    for z, share in ((p, 0.995), (raw, 0.98)):                  # measured 0.9985 and 0.9915 (naive clips at code 0)
        r = render(z)
        inside = ((r >= lo - 1e-3) & (r <= hi + 1e-3)).all(-3).float().mean()
        assert inside > share, float(inside)


def test_code_consistency_gate_trains_and_keeps_the_inverse_in_narrow_cells(data, tmp_path):
    "model.consistency.gate: trained and reloaded; where a pixel's code cell is narrower than lo the model is the inverse."
    from sdr2log.train import Trainer
    from sdr2log.methods import load_run
    from sdr2log.data import PairDataset, collate_pairs
    base = [f'data.root={data}', f'training.ckpt_root={tmp_path}', *QUICK, 'model.prior=naive', 'data.degradations={"bits": 8}']
    with pytest.raises(ValueError, match=r'consistency.gate: \[lo, hi\]'):
        Trainer('tiny-cct', [*base, 'model.consistency={"bits": 8, "gate": [0.02, 0.01]}'])
    t = Trainer('tiny-cct', [*base, 'model.consistency={"bits": 8, "gate": [0.004, 0.012]}', 'training.lr=0.01'])
    t.fit()
    model, cfg = load_run(t.run_dir, checkpoint='last')
    assert model.consistency.gate == (0.004, 0.012)
    s = collate_pairs([PairDataset(cfg, 'val', 'img')[0]])
    with torch.no_grad():
        x = s['sdr']; p, base_pred, w = model(x), model.prior(x), model.consistency.weight(x)
        ungated = load_run(t.run_dir, checkpoint='last', model_overrides={'consistency': {'bits': 8}})[0](x)
    off, on = (w == 0).expand_as(p), (w == 1).expand_as(p)
    assert off.float().mean() > 0.05 and on.float().mean() > 0.05, (off.float().mean(), on.float().mean())
    inv = model.consistency.project(base_pred, x)                 # the inverse, kept in its cells
    assert (p[off] - inv[off]).abs().max() < 1e-5
    assert (ungated - inv)[off].abs().max() > 1e-4                 # trained 3 steps at lr 0.01: the net moved there
    assert (p[on] - ungated[on]).abs().max() < 1e-5                # wide cells: the network's whole residual


def test_highlight_fill_trains_its_level_and_reloads(data, tmp_path):
    "model.highlight: the fill's level is trained with the network, saved, reloaded; without a renderer-naming prior it is refused."
    from sdr2log.train import Trainer
    from sdr2log.methods import load_run
    from sdr2log.data import PairDataset, collate_pairs
    base = [f'data.root={data}', f'training.ckpt_root={tmp_path}', *QUICK, 'data.sdr_from=naive']
    with pytest.raises(ValueError, match='model.highlight needs a prior'):
        Trainer('tiny-cct', [*base, 'model.highlight={}'])
    with pytest.raises(ValueError, match='model.highlight.stops: unknown key'):
        Trainer('tiny-cct', [*base, 'model.prior=naive', 'model.highlight={"stops": 2}'])
    t = Trainer('tiny-cct', [*base, 'model.prior=naive', 'model.highlight={"level": 6.0}', 'training.lr=0.05',
                             'training.ema=false'])
    t.fit()
    model, cfg = load_run(t.run_dir, checkpoint='last')
    level = model.fill.level.item()
    assert level != 6.0 and abs(level - t.model.fill.level.item()) < 1e-6, level   # trained, and what was saved
    s = collate_pairs([PairDataset(cfg, 'val', 'img')[0]])
    with torch.no_grad():
        x = s['sdr']; codes, ceiling = model.prior.clip_info(x)
        stops = model.fill.stops(codes, ceiling)
        filled = model.fill(model.prior(x), codes, ceiling)
    assert (stops > 0).any() and ceiling.allclose(torch.full_like(ceiling, 2.474), atol=2e-3)   # naive clips at 2.47 stops
    frozen = Trainer('tiny-cct', [*base, 'model.prior=naive', 'model.highlight={"level": 6.0, "learn": false}',
                                  'training.lr=0.05', 'training.ema=false', 'training.exp_name=frozen'])
    frozen.fit()
    assert frozen.model.fill.level.item() == 6.0 and (filled - model.prior(x)).abs().max() > 0.01
    # the fill turned off at inference (an ablation of the same network): its level is left out of the checkpoint's state
    off, _ = load_run(t.run_dir, checkpoint='last', model_overrides={'highlight': None})
    assert off.fill is None
    full = model.state_dict()
    assert set(full) - set(off.state_dict()) == {'fill.level'}
    assert all(torch.equal(v, full[k]) for k, v in off.state_dict().items())   # the same network
    with torch.no_grad(): assert (off(x) - model(x)).abs().max() > 0.01          # its clipped pixels no longer raised
    with pytest.raises(ValueError, match='does not build the model'):          # other state stays strict
        load_run(t.run_dir, checkpoint='last', model_overrides={'width': 4})
