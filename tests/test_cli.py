"End-to-end tests of the `sdr2log` command (as a user runs it) and its bad-input exits."
import json, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from sdr2log.io import read_image, write_tiff
from sdr2log.color import convert_space
from sdr2log.cli import demo_frame, main

SDR2LOG = [str(Path(sys.executable).parent / 'sdr2log')]   # the installed console script


def run(*args, cwd=None):
    return subprocess.run([*SDR2LOG, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_demo_end_to_end(tmp_path):
    r = run('demo', '--tiny', '--out', tmp_path / 'out')
    assert r.returncode == 0, r.stderr
    out = tmp_path / 'out'
    stats = json.loads((out / 'colour' / 'demo.json').read_text())
    for f in stats['files']: assert (out / 'colour' / f).stat().st_size > 0, f
    assert stats['logc3_roundtrip_max_err'] < 1e-5
    res = json.loads((out / 'demo.json').read_text())
    assert sorted(res['table']) == ['hdrtvnet-agcm', 'inverse', 'inverse-highlight', 'unet-cct', 'unet-linear',
                                   'unet-linear+identified-prior-hl', 'unet-linear+prior']
    report = (out / 'eval' / 'report.md').read_text()
    assert '| unet-linear |' in report and '| unet-linear+prior |' in report
    assert (out / 'eval' / 'figures' / 'image_000.png').exists()
    for i in range(1, 11): assert f'[{i}/10]' in r.stdout                 # progress is shown
    blind = res['blind_table']                                         # the blind protocol: test SDR from a held-out renderer
    assert {'bt2446c', 'inverse:aces2-sdr', 'inverse:film-sdr', 'inverse:naive', 'inverse:aces1-sdr', 'unet-linear',
            'hdrtvnet-agcm', 'unet-linear+identified-prior-hl'} <= set(blind)
    assert (out / 'eval-blind' / 'report.md').exists()
    versus = (out / 'results_versus.md').read_text()                    # the goals: one model against each reference, by region
    for row in ('| inverse | full |', '| inverse | highlights |', '| bt2446c | full |', '| inverse:film-sdr | highlights |',
                '| inverse:aces1-sdr | shadows |'):
        assert row in versus, row
    assert res['prior_model']['model.prior'] == 'aces2-sdr'
    rec = res['reconstruct']                                           # the user's job: H.264 SDR -> ACES EXR
    assert rec['frames'] == 12 and Path(rec['comparison']).stat().st_size > 0 and rec['acescct_error_median'] < 6e-3
    assert len(list((out / 'reconstruct' / 'aces' / 'sdr_clip').glob('sdr_clip.*.exr'))) == 12


def test_convert_round_trip(tmp_path):
    src = tmp_path / 'a.tif'
    write_tiff(src, convert_space(demo_frame(24, 40), 'AWG3', 'LogC3', clip=True))
    assert run('convert', src, tmp_path / 'b.tif', '--src', 'LogC3', '--dst', 'ACEScct', '--bits', '32').returncode == 0
    assert run('convert', tmp_path / 'b.tif', tmp_path / 'c.tif', '--src', 'ACEScct', '--dst', 'LogC3').returncode == 0
    np.testing.assert_allclose(read_image(tmp_path / 'c.tif'), read_image(src), atol=1 / 65535)
    assert run('convert', src, tmp_path / 'd.exr', '--src', 'LogC3', '--dst', 'ACES2065-1').returncode == 0
    np.testing.assert_allclose(read_image(tmp_path / 'd.exr'), convert_space(read_image(src), 'LogC3', 'ACES2065-1'),
                               rtol=1e-3, atol=1e-4)          # half float


@pytest.mark.parametrize('args, message', [
    (['convert', 'missing.tif', 'o.tif', '--src', 'LogC3', '--dst', 'ACEScct'], 'missing.tif'),
    (['convert', 'IN', 'o.tif', '--src', 'LogC9', '--dst', 'ACEScct'], 'LogC3'),
    (['convert', 'IN', 'o.tif', '--src', 'LogC3', '--dst', 'ACEScct', '--ei', '5'], '[160, 3200]'),
    (['convert', 'IN', 'o.tif', '--src', 'LogC3', '--dst', 'ACEScct'], 'bits=32'),     # ACEScct below 0: refuse to clip
])
def test_bad_input_exits_2_with_message(tmp_path, args, message):
    src = tmp_path / 'in.tif'
    write_tiff(src, convert_space(demo_frame(24, 40), 'AWG3', 'LogC3', clip=True))
    args = [str(src) if a == 'IN' else a for a in args]
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr, (r.returncode, r.stderr)


def test_spaces_lists_every_space(capsys):
    assert main(['spaces']) == 0
    out = capsys.readouterr().out
    for name in ('LogC3', 'ACEScct', 'Rec2100-PQ', 'Rec2100-HLG', 'XYZ'): assert name in out


def test_eval_command_writes_report(tmp_path):
    from sdr2log.synth import synthesize
    synthesize(tmp_path / 'data', sequences=3, frames=2, size=(48, 64), seed=4)
    r = run('eval', 'inverse', 'hl=inverse-highlight', '--data', tmp_path / 'data', '--out', tmp_path / 'ev',
            '--erm-k', '2', '--figures', '1')
    assert r.returncode == 0, r.stderr
    assert '| hl |' in r.stdout and (tmp_path / 'ev' / 'report.md').exists()
    r = run('eval', 'no-such', '--data', tmp_path / 'data', '--out', tmp_path / 'ev2')
    assert r.returncode == 2 and 'inverse' in r.stderr


def test_eval_video_reports_temporal_metrics(tmp_path):
    from sdr2log.synth import synthesize
    synthesize(tmp_path / 'data', sequences=5, frames=4, size=(48, 80), seed=5)
    r = run('eval', 'inverse', '--data', tmp_path / 'data', '--out', tmp_path / 'ev', '--no-erm', '--figures', '1',
            '--video', '--strengths', '0', '0.5')
    assert r.returncode == 0, r.stderr
    assert 'flicker' in r.stdout and 'warping_error' in r.stdout
    assert (tmp_path / 'ev' / 'video' / 'per_sequence.csv').exists()
    assert '## Video' in (tmp_path / 'ev' / 'report.md').read_text()


def test_eval_protocol_options(tmp_path):
    "--renderer (two), --bits, --jpeg and --split all: per renderer a known and a blind table, region columns in the CSV."
    import csv, os
    from sdr2log.synth import synthesize
    synthesize(tmp_path / 'data', sequences=3, frames=1, size=(40, 56), seed=6)
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([*SDR2LOG, 'eval', 'inverse', 'bt2446c', 'inverse:aces2-sdr', '--data', str(tmp_path / 'data'),
                        '--out', str(tmp_path / 'ev'), '--no-erm', '--figures', '0', '--split', 'all',
                        '--renderer', 'aces2-sdr', 'naive', '--bits', '8', '--jpeg', '90'],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / 'ev' / 'per_image.csv')))
    assert len(rows) == 2 * 3 * 3 and {x['renderer'] for x in rows} == {'aces2-sdr', 'naive'}
    assert {'psnr_acescct_shadows', 'delta_e_itp_highlights', 'share_midtones', 'psnr_pq'} <= set(rows[0])
    s = json.loads((tmp_path / 'ev' / 'summary.json').read_text())
    assert s['data']['degradations']['jpeg_quality'] == 90 and s['data']['degradations']['bits'] == 8
    assert s['protocols']['naive']['blind']['methods'] == ['bt2446c', 'inverse:aces2-sdr']
    assert s['protocols']['aces2-sdr']['blind']['methods'] == ['bt2446c']
    rep = (tmp_path / 'ev' / 'report.md').read_text()
    assert '### blind: test SDR by `naive`' in rep and '| out_of_gamut | bt2446c |' in rep
    bad = run('eval', 'inverse', '--data', tmp_path / 'data', '--out', tmp_path / 'ev2', '--jpeg', '0')
    assert bad.returncode == 2 and '1..100' in bad.stderr
