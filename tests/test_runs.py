"Fault and bad-input tests of runs: exclusive run directories, resume (kill -9, forks, checks before writes), config ranges, overwrite guards, one-line CLI errors."
import errno, hashlib, json, os, signal, subprocess, sys, textwrap
from pathlib import Path
import pytest, torch
from sdr2log.cli import main
from sdr2log.synth import synthesize
from sdr2log.runs import load_checkpoint
from sdr2log.train import Trainer

BIN = Path(sys.executable).parent
QUICK = ['training.max_steps_per_epoch=2', 'training.progress=false', 'data.batch_size=2', 'training.tensorboard=false',
         'data.augment.train_crop_size=48', 'data.sdr_from=naive', 'training.epochs=1', 'training.val_max_batches=1']
ENV = {**os.environ, 'OMP_NUM_THREADS': '1'}


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('synth') / 'data'
    synthesize(root, sequences=5, frames=4, size=(64, 96), seed=1)
    return root


def sets(data, root, *more): return [f'data.root={data}', f'training.ckpt_root={root}', *QUICK, *more]


def snapshot(folder: Path) -> dict:
    "Every file under `folder` with its bytes' hash (what 'nothing was written' compares)."
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file()}


def one_line_error(capsys, argv, *needles):
    "main(argv) fails with exit 2 and exactly one stderr line holding every needle, no traceback."
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'Traceback' not in err[0], err
    for n in needles: assert n in err[0], (n, err[0])
    return err[0]


def train_steps(run: Path) -> list[int]:
    return [json.loads(l)['step'] for l in (run / 'logs' / 'scalars.train.jsonl').read_text().splitlines()]


# ------------------------------------------------------------------------------------------------ subprocess faults
DRIVER = textwrap.dedent('''
    import datetime, os, signal, sys, torch
    import sdr2log.runs as R, sdr2log.train as T
    R._now = lambda: datetime.datetime(2026, 1, 2, 3, 4, 5)     # every process asks for the same run name
    kill_at, calls, real = int(sys.argv[1]), [0], torch.save
    def save(obj, f, *a, **k):                                  # SIGKILL in the middle of the kill_at-th checkpoint write
        calls[0] += 1
        if calls[0] == kill_at: f.write(b'PK\\x03\\x04 half a checkpoint'); f.flush(); os.kill(os.getpid(), signal.SIGKILL)
        return real(obj, f, *a, **k)
    torch.save = save
    print('RUN', T.train('tiny-cct', sys.argv[2:])['run_dir'], flush=True)
''')


def test_two_processes_one_name_get_two_directories(data, tmp_path):
    "Two trainings of one exp_name started at once, with the same run-name clock: two directories, nothing shared."
    (tmp_path / 'driver.py').write_text(DRIVER)
    cmd = [sys.executable, tmp_path / 'driver.py', '0', *sets(data, tmp_path / 'runs', 'training.exp_name=same')]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    runs = sorted(Path(next(l[4:] for l in o[0].splitlines() if l.startswith('RUN '))) for o in outs)
    assert runs[0] != runs[1] and [r.name for r in runs] == ['20260102-030405-same', '20260102-030405-same@2']
    for r in runs:
        assert load_checkpoint(r / 'checkpoints' / 'last.pt')['step'] == 2
        assert train_steps(r) == [2]                                  # one log line per step: not interleaved
        assert (r / 'eval' / 'summary.json').exists() and not (r / '.lock').exists()


KILL_SETS = ['training.exp_name=k', 'training.save_every_steps=1', 'training.log_every=1']


@pytest.fixture(scope='module')
def uninterrupted(data, tmp_path_factory):
    "last.pt of the kill test's run trained without a kill, by the same command."
    root = tmp_path_factory.mktemp('ref')
    r = subprocess.run([BIN / 'sdr2log', 'train', 'tiny-cct', '--set', *sets(data, root / 'runs', *KILL_SETS)], cwd=root,
                       capture_output=True, text=True, timeout=600, env=ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    return load_checkpoint(next((root / 'runs').iterdir()) / 'checkpoints' / 'last.pt')


@pytest.mark.parametrize('kill_at', [1, 2])
def test_kill_during_checkpoint_then_resume_auto(data, tmp_path, kill_at, uninterrupted):
    "kill -9 during the first (or second) checkpoint write; `--resume auto` continues that run to the same weights."
    (tmp_path / 'driver.py').write_text(DRIVER)
    s = sets(data, tmp_path / 'runs', *KILL_SETS)
    r = subprocess.run([sys.executable, tmp_path / 'driver.py', str(kill_at), *s], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600, env=ENV)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    run, = (tmp_path / 'runs').iterdir()
    assert list((run / 'checkpoints').glob('.last.pt.*.tmp'))         # what the kill left
    assert (run / 'checkpoints' / 'last.pt').exists() == (kill_at == 2)
    r = subprocess.run([BIN / 'sdr2log', 'train', 'tiny-cct', '--resume', 'auto', '--set', *s], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600, env=ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f'run directory: {run}' in r.stdout and list((tmp_path / 'runs').iterdir()) == [run]   # no orphan run
    assert not list((run / 'checkpoints').glob('.*.tmp')) and not (run / '.lock').exists()
    st = load_checkpoint(run / 'checkpoints' / 'last.pt')
    assert st['step'] == 2 and train_steps(run) == [1, 2]             # every step logged once
    want = uninterrupted['model']            # the same run uninterrupted (same code path, same seed): the same weights
    assert all(torch.equal(st['model'][k], want[k]) for k in want)


# ------------------------------------------------------------------------------------------------ resume checks
@pytest.fixture(scope='module')
def done_run(data, tmp_path_factory):
    "A finished tiny run (with best@ and last.pt) to resume from; tests copy it."
    root = tmp_path_factory.mktemp('done')
    t = Trainer('tiny-cct', sets(data, root / 'runs', 'training.exp_name=d'))
    t.fit()
    return t.run_dir


@pytest.fixture
def run_copy(done_run, tmp_path):
    import shutil
    dst = tmp_path / 'runs' / done_run.name
    shutil.copytree(done_run, dst)
    return dst


@pytest.mark.parametrize('change, needle', [(['model.width=16'], 'model.width'), (['model.name=unet-linear'], 'model.name')])
def test_resume_with_changed_model_writes_nothing(data, run_copy, change, needle):
    before = snapshot(run_copy)
    with pytest.raises(ValueError, match=needle):
        Trainer('tiny-cct', sets(data, run_copy.parent, 'training.exp_name=d', 'training.resume=auto', *change))
    assert snapshot(run_copy) == before                                # config.yaml, env.json, logs: untouched


def test_resume_from_truncated_checkpoint_writes_nothing(data, run_copy):
    ck = run_copy / 'checkpoints' / 'last.pt'
    ck.write_bytes(ck.read_bytes()[:1000])
    before = snapshot(run_copy)
    with pytest.raises(ValueError, match='last.pt: not a loadable'):
        Trainer('tiny-cct', sets(data, run_copy.parent, 'training.exp_name=d', 'training.resume=auto'))
    assert snapshot(run_copy) == before


def test_resume_from_best_forks_a_new_run(data, run_copy):
    before = snapshot(run_copy)
    best = run_copy / 'checkpoints' / 'best@psnr_acescct.pt'
    t = Trainer('tiny-cct', sets(data, run_copy.parent, 'training.exp_name=d', f'training.resume={best}', 'training.epochs=2'))
    assert t.run_dir != run_copy and t.run_dir.parent == run_copy.parent
    parent = json.loads((t.run_dir / 'meta' / 'parent.json').read_text())
    assert parent['parent_run'] == str(run_copy) and parent['checkpoint'] == str(best) and parent['step'] == 2
    st = load_checkpoint(best)
    assert st['model_is_ema'] and all(torch.equal(v, st['train_model'][k]) for k, v in t.model.state_dict().items())
    t.fit()
    assert snapshot(run_copy) == before                                # the parent is not rewound or overwritten
    assert train_steps(t.run_dir) == [4] and load_checkpoint(t.run_dir / 'checkpoints' / 'last.pt')['step'] == 4


def test_resume_of_a_run_in_use_is_refused(data, run_copy):
    "A run another process holds (its flock on RUN/.lock) is not resumed; once that process is killed, it is."
    holder = subprocess.Popen([sys.executable, '-c', textwrap.dedent('''
        import fcntl, json, os, sys, time
        fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); os.write(fd, json.dumps({'pid': os.getpid(), 'host': 'h'}).encode())
        fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(300)'''), str(run_copy / '.lock')],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        before = snapshot(run_copy)
        with pytest.raises(RuntimeError, match=f'in use by process {holder.pid}'):
            Trainer('tiny-cct', sets(data, run_copy.parent, 'training.exp_name=d', 'training.resume=auto'))
        assert snapshot(run_copy) == before
    finally:
        holder.kill(); holder.wait()
    t = Trainer('tiny-cct', sets(data, run_copy.parent, 'training.exp_name=d', 'training.resume=auto'))   # kill -9 freed it
    assert t.run_dir == run_copy and t.step == 2
    from sdr2log.runs import release_run_lock
    release_run_lock(t.run_dir)


def test_resume_in_place_keeps_history(data, run_copy):
    "A resume to more epochs keeps env.json and the earlier config, and logs each step once."
    env = (run_copy / 'meta' / 'env.json').read_bytes()
    t = Trainer('tiny-cct', sets(data, run_copy.parent, 'training.exp_name=d', 'training.resume=auto', 'training.epochs=2'))
    assert t.run_dir == run_copy and t.step == 2
    t.fit()
    assert (run_copy / 'meta' / 'env.json').read_bytes() == env and (run_copy / 'meta' / 'env.resume@step2.json').exists()
    assert (run_copy / 'config' / 'config.before-resume@step2.yaml').exists()
    assert train_steps(run_copy) == [2, 4]


def test_disk_full_during_checkpoint_is_one_line(data, tmp_path, capsys, monkeypatch):
    real = torch.save
    class Full:
        def __init__(self, f): self.f, self.n = f, 0
        def write(self, b):
            self.n += len(b)
            if self.n > 4096: raise OSError(errno.ENOSPC, 'No space left on device')
            return self.f.write(b)
        def __getattr__(self, k): return getattr(self.f, k)
    monkeypatch.setattr(torch, 'save', lambda obj, f, *a, **k: real(obj, Full(f), *a, **k))
    line = one_line_error(capsys, ['train', 'tiny-cct', '--set', *sets(data, tmp_path / 'runs')],
                          'No space left on device', 'last.pt', 'resume')
    assert 'enforce fail' not in line
    run, = (tmp_path / 'runs').iterdir()
    assert not list((run / 'checkpoints').iterdir())                  # no temporary file left


# ------------------------------------------------------------------------------------------------ config errors
@pytest.mark.parametrize('bad, key', [
    ('training.clip_grad_norm=-1', 'training.clip_grad_norm'), ('training.max_steps_per_epoch=0', 'max_steps_per_epoch'),
    ('training.ema_beta=1.5', 'training.ema_beta'), ('training.min_lr_ratio=-0.5', 'min_lr_ratio'),
    ('training.warmup_steps=-3', 'warmup_steps'), ('training.num_samples=-1', 'num_samples'),
    ('training.save_every_steps=-1', 'save_every_steps'), ('training.lr=.inf', 'training.lr'), ('training.lr=0', 'training.lr'),
    ('training.weight_decay=-1', 'weight_decay'), ('training.val_max_batches=0', 'val_max_batches'),
    ('training.exp_name=../../X', 'plain name'), ('training=5', 'training: must be a section'),
    ('training.ema_beta=.nan', 'ema_beta'), ('seed=-1', 'seed'),
])
def test_config_values_out_of_range_are_one_line(capsys, bad, key):
    one_line_error(capsys, ['train', 'tiny-cct', '--set', bad], key)


def test_config_file_errors(data, tmp_path, capsys):
    (tmp_path / 'dup.yaml').write_text('model: {name: unet-cct}\ntraining:\n  lr: 0.1\n  epochs: 2\n  lr: 0.01\n')
    one_line_error(capsys, ['train', tmp_path / 'dup.yaml'], "duplicate key 'lr'", 'line')
    one_line_error(capsys, ['train', tmp_path], 'is a folder')
    one_line_error(capsys, ['train', 'tiny-cct', '--set', f'training.ckpt_root={tmp_path / "dup.yaml"}',
                            f'data.root={data}'], 'dup.yaml')


# ------------------------------------------------------------------------------------------------ outputs and CLI
def test_overwrite_guards(data, tmp_path, capsys):
    ev = tmp_path / 'ev'
    args = ['eval', 'inverse', '--data', data, '--out', ev, '--no-erm', '--figures', '2', '--max-images', '2']
    assert main([str(a) for a in args]) == 0
    capsys.readouterr()
    before = snapshot(ev)
    one_line_error(capsys, args, '--overwrite')
    assert snapshot(ev) == before
    assert main([str(a) for a in args[:-4]] + ['--figures', '1', '--max-images', '1', '--overwrite']) == 0
    assert sorted(p.name for p in (ev / 'figures').iterdir()) == ['image_000.png']     # the old figure is gone
    capsys.readouterr()
    # synth into an existing dataset, notebook onto a file
    d = tmp_path / 'd'; synthesize(d, 1, 1, (16, 16))
    before = snapshot(d)
    one_line_error(capsys, ['synth', d, '--sequences', '1', '--frames', '2', '--size', '16x16'], 'overwrite')
    assert snapshot(d) == before
    (tmp_path / 'nb.ipynb').write_text('mine')
    one_line_error(capsys, ['notebook', tmp_path / 'nb.ipynb'], '--overwrite')
    assert (tmp_path / 'nb.ipynb').read_text() == 'mine'
    assert main(['notebook', str(tmp_path / 'nb.ipynb'), '--overwrite']) == 0 and 'parameters' in (tmp_path / 'nb.ipynb').read_text()
    capsys.readouterr()
    (tmp_path / 'g.yaml').write_text(f'out: {tmp_path / "sw"}\ngrid: {{training.lr: [0.1]}}\n')
    (tmp_path / 'sw').mkdir(); (tmp_path / 'sw' / 'results.md').write_text('earlier')
    one_line_error(capsys, ['sweep', tmp_path / 'g.yaml'], '--overwrite')
    (tmp_path / 'g2.yaml').write_text('name: ../../../X\ngrid: {training.lr: [0.1]}\n')
    one_line_error(capsys, ['sweep', tmp_path / 'g2.yaml'], 'plain name')


def test_cli_failures_are_one_line(data, done_run, tmp_path, capsys):
    from sdr2log.io import write_tiff
    from sdr2log.cli import demo_frame
    from sdr2log.color import convert_space
    src = tmp_path / 'a.tif'
    write_tiff(src, convert_space(demo_frame(16, 24), 'AWG3', 'LogC3', clip=True))
    (tmp_path / 'file').write_text('x')
    one_line_error(capsys, ['eval', 'inverse', '--data', data, '--out', tmp_path / 'file'], 'not a folder')
    with pytest.raises(SystemExit): main(['eval', 'inverse', '--data', str(data), '--max-images', '0'])
    assert '--max-images' in capsys.readouterr().err
    one_line_error(capsys, ['convert', src, tmp_path, '--src', 'LogC3', '--dst', 'ACEScct'], 'is a folder')
    with pytest.raises(SystemExit): main(['convert', str(src), str(tmp_path / 'p.tif'), '--src', 'LogC3', '--dst', 'Rec2100-PQ',
                                          '--white-nits', 'inf'])
    assert "'inf'" in capsys.readouterr().err
    # a run whose config no longer builds its checkpoint's model
    import shutil, yaml
    bad = tmp_path / 'bad-run'; shutil.copytree(done_run, bad)
    cfg = yaml.safe_load((bad / 'config' / 'config.yaml').read_text()); cfg['model']['width'] = 16
    (bad / 'config' / 'config.yaml').write_text(yaml.safe_dump(cfg))
    one_line_error(capsys, ['eval', str(bad), '--data', data, '--out', tmp_path / 'e'], 'bad-run', 'config')
    with pytest.raises(ValueError): main(['--debug', 'eval', str(bad), '--data', str(data), '--out', str(tmp_path / 'e')])


def test_eval_split_cache_outside_a_read_only_data_root(data, tmp_path, capsys):
    "`sdr2log eval --split-cache` writes the split where it is told: nothing goes into the data root."
    import shutil, stat
    ro = tmp_path / 'ro'; shutil.copytree(data, ro)
    (ro / 'splits.json').unlink(missing_ok=True)
    for p in [ro, *ro.rglob('*')]: p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        before = snapshot(ro)
        assert main(['eval', 'inverse', '--data', str(ro), '--out', str(tmp_path / 'ev'), '--no-erm', '--figures', '0',
                     '--max-images', '1', '--split-cache', str(tmp_path / 'split.json')]) == 0, capsys.readouterr().err
        assert snapshot(ro) == before and not (ro / 'splits.json').exists() and (tmp_path / 'split.json').exists()
    finally:
        for p in [ro, *ro.rglob('*')]: p.chmod(p.stat().st_mode | stat.S_IWUSR)


def test_sweep_overwrite_removes_the_earlier_sweep(tmp_path, monkeypatch):
    "With overwrite the earlier sweep's notebooks, runs and results go; without it nothing is touched."
    import sdr2log.sweep as sw
    def fail(nb, **kw): raise RuntimeError('no training in this test')
    monkeypatch.setattr(sw, 'run_train_notebook', fail)
    out = tmp_path / 'sw'
    (tmp_path / 'g.yaml').write_text(f'out: {out}\ngrid: {{training.lr: [0.1, 0.2]}}\n')
    for f in ('notebooks/g-07.ipynb', 'runs/20260101-000000-g-07/x', 'results.md', 'keep.txt'):
        (out / f).parent.mkdir(parents=True, exist_ok=True); (out / f).write_text('earlier')
    with pytest.raises(FileExistsError, match='--overwrite'): sw.sweep(tmp_path / 'g.yaml')
    assert (out / 'notebooks' / 'g-07.ipynb').exists()
    rows = sw.sweep(tmp_path / 'g.yaml', overwrite=True)
    assert [r['status'] for r in rows] == ['failed', 'failed']
    assert not (out / 'notebooks' / 'g-07.ipynb').exists() and not (out / 'runs').exists()
    assert (out / 'keep.txt').read_text() == 'earlier' and 'failed' in (out / 'results.md').read_text()
