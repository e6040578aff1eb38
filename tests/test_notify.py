"Training notifications against a local HTTP server on 127.0.0.1 (nothing else is contacted)."
import http.server, json, threading, urllib.parse, warnings
import pytest
from sdr2log.notify import Notifier, _url, notify_config
from sdr2log.train import Trainer

QUICK = ['training.epochs=2', 'training.max_steps_per_epoch=1', 'training.progress=false', 'training.tensorboard=false',
         'data.batch_size=2', 'data.augment.train_crop_size=32', 'data.sdr_from=naive', 'training.val_max_batches=1']


class Server:
    "A local HTTP server recording requests; `status` to answer; `gate` (an Event) holds every request until set."
    def __init__(self):
        self.log, self.status, self.gate = [], 200, None
        outer = self
        class H(http.server.BaseHTTPRequestHandler):
            def _do(self):
                if outer.gate is not None: outer.gate.wait(20)
                n = int(self.headers.get('Content-Length') or 0)
                outer.log.append({'method': self.command, 'path': urllib.parse.unquote(self.path), 'raw': self.path,
                                  'headers': dict(self.headers), 'body': self.rfile.read(n)})
                try: self.send_response(outer.status); self.end_headers(); self.wfile.write(b'ok')
                except (BrokenPipeError, ConnectionResetError): pass    # the slow-server case: the client gave up, as it should
            do_GET = do_POST = _do
            def log_message(self, *a): pass
        self.srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.base = f'http://127.0.0.1:{self.srv.server_address[1]}'
    def close(self):
        if self.gate is not None: self.gate.set()
        self.srv.shutdown(); self.srv.server_close()


@pytest.fixture
def server():
    s = Server(); yield s; s.close()


@pytest.fixture(scope='module')
def data(noise_frames, tmp_path_factory): return noise_frames(tmp_path_factory.mktemp('frames') / 'data', seed=3)


def sets(data, tmp_path, *more):
    return [f'data.root={data}', f'training.ckpt_root={tmp_path / "runs"}', f'data.split_cache={tmp_path / "split.json"}',
            *QUICK, *more]


def test_events_of_a_training_run(data, tmp_path, server, monkeypatch):
    "start, every epoch with the main metric, best, end: on Bark (GET), the JSON webhook and ntfy."
    monkeypatch.setenv('BARK_URL', f'{server.base}/BARKKEY')
    monkeypatch.setenv('MY_HOOK', f'{server.base}/hook/SECRETHOOK')
    monkeypatch.setenv('NTFY_URL', f'{server.base}/topic')
    t = Trainer('tiny-cct', sets(data, tmp_path, 'notify.bark.every_epochs=1', 'notify.webhook.url_env=MY_HOOK',
                                 'notify.ntfy.every_epochs=2', 'training.exp_name=ev'))
    summary = t.fit()
    run = t.run_dir.name
    bark = [[urllib.parse.unquote(q) for q in x['raw'].split('/')[1:]] for x in server.log if x['raw'].startswith('/BARKKEY/')]
    assert bark[0] == ['BARKKEY', f'{run}: training started', f'unet-cct, 2 epochs, {len(t.train_ds)} train samples, cpu']
    assert [p[1] for p in bark] == [f'{run}: {s}' for s in (
        'training started', 'new best psnr_acescct', 'epoch 1/2', *(['new best psnr_acescct'] if len(bark) == 6 else []),
        'epoch 2/2', 'training finished')]
    assert bark[2][2].startswith('psnr_acescct ') and '(best ' in bark[2][2]
    hook = [json.loads(x['body']) for x in server.log if x['path'] == '/hook/SECRETHOOK']
    assert [h['event'] for h in hook][0] == 'start' and hook[-1]['event'] == 'end'
    assert all(h['run'] == run and h['text'].startswith(run) for h in hook)
    end = hook[-1]
    assert (end['steps'], end['metric'], end['best']) == (summary['steps'], 'psnr_acescct', summary['best']['value'])
    ntfy = [x for x in server.log if x['path'] == '/topic']
    assert [x['headers']['Title'] for x in ntfy if 'epoch' in x['headers']['Title']] == [f'{run}: epoch 2/2']   # every 2
    # the secrets (URLs) are in the environment only: never in the run's files
    for f in t.run_dir.rglob('*'):
        if f.is_file(): assert b'SECRETHOOK' not in f.read_bytes() and b'BARKKEY' not in f.read_bytes(), f
    assert 'url_env: MY_HOOK' in (t.run_dir / 'config' / 'config.yaml').read_text()


def test_failure_is_sent_with_the_error_and_training_still_raises(data, tmp_path, server, monkeypatch):
    monkeypatch.setenv('HOOK', f'{server.base}/h')
    t = Trainer('tiny-cct', sets(data, tmp_path, 'notify.webhook.url_env=HOOK', 'training.max_bad_steps=0',
                                 'training.exp_name=fail'))
    real = t.loss_fn.forward
    t.loss_fn.forward = lambda *a, **k: (lambda tot, terms: (tot * float('nan'), terms))(*real(*a, **k))
    with pytest.raises(RuntimeError, match='max_bad_steps'): t.fit()
    ev = [json.loads(x['body']) for x in server.log]
    assert [e['event'] for e in ev] == ['start', 'failure']
    assert ev[1]['error'].startswith('RuntimeError: 1 non-finite losses (training.max_bad_steps = 0)')


def test_a_failing_or_dead_server_never_stops_training(data, tmp_path, server, monkeypatch):
    "HTTP 500 and a closed port: warnings without the URL; training ends normally."
    server.status = 500
    dead = Server(); dead_url = f'{dead.base}/DEADSECRET'; dead.close()            # nothing listens there now
    monkeypatch.setenv('BARK_URL', f'{server.base}/K500SECRET')
    monkeypatch.setenv('DEAD', dead_url)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        t = Trainer('tiny-cct', sets(data, tmp_path, 'notify.bark.timeout_s=2', 'notify.webhook.url_env=DEAD',
                                     'notify.webhook.timeout_s=2', 'training.exp_name=dead'))
        summary = t.fit()
    assert summary['epochs'] == 2 and t.notifier.sent == []
    assert {(c, e) for c, e, _ in t.notifier.failed} >= {('bark', 'start'), ('webhook', 'start'), ('bark', 'end'), ('webhook', 'end')}
    msgs = [str(w.message) for w in ws if 'notify.' in str(w.message)]
    assert any('HTTPError' in m for m in msgs) and any('URLError' in m or 'Connection' in m for m in msgs)
    assert not any('K500SECRET' in m or 'DEADSECRET' in m or '127.0.0.1' in m for m in msgs), msgs


def test_a_slow_server_does_not_slow_training(data, tmp_path, server, monkeypatch):
    "The server holds every request until released: training runs to its end meanwhile (sending is in the background)."
    server.gate = threading.Event()
    monkeypatch.setenv('BARK_URL', f'{server.base}/SLOW')
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        t = Trainer('tiny-cct', sets(data, tmp_path, 'notify.bark.timeout_s=1', 'training.exp_name=slow', 'training.epochs=1'))
        summary = t.fit()                          # close() waits at most 2 x timeout_s for the queue
    assert summary['steps'] == 1 and server.log == []          # nothing answered yet: fit did not wait for the server
    assert any('still unsent' in str(w.message) or 'timed out' in str(w.message) for w in ws)
    server.gate.set()


def test_bark_from_the_original_config_and_its_variables(monkeypatch):
    "The original's BARK_URL / BARK_ENDPOINT; a bare device key means the public Bark server (only resolved here)."
    c = notify_config({'bark': {'every_epochs': 1}})['bark']
    assert _url('bark', c, {'BARK_URL': 'https://bark.example/KEY/'}) == ('https://bark.example/KEY', 'BARK_URL')
    assert _url('bark', c, {'BARK_ENDPOINT': 'DEVICEKEY'}) == ('https://api.day.app/DEVICEKEY', 'BARK_ENDPOINT')
    with pytest.warns(UserWarning, match='notify.bark: BARK_URL or BARK_ENDPOINT is not set in the environment'):
        n = Notifier({'bark': {}}, 'r', env={})
    n.start(1, 'm', 1); n.close()                                    # silent: nothing to send to, nothing raised
    assert n.sent == [] and n.failed == []
    with pytest.raises(ValueError, match='notify.webhook.url_env: required'): notify_config({'webhook': {'every_epochs': 1}})
