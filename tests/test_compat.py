"Original SDR2log configs (reproduced in tests/data/sdr2log_configs from the original repository) work in sdr2log."
import json
from pathlib import Path
import pytest, yaml
from sdr2log.compat import MAPPING, ORIGINAL_FORMAT, is_original_config, translate_config
from sdr2log.train import load_config, Trainer

CONFIGS = Path(__file__).parent / 'data' / 'sdr2log_configs'
NAMES = sorted(p.name for p in CONFIGS.glob('*.yaml'))
TINY = ['model.width=8', 'model.depth=2', 'training.epochs=1', 'training.max_steps_per_epoch=1', 'training.amp=false',
        'training.progress=false', 'training.tensorboard=false', 'data.batch_size=2', 'data.num_workers=0',
        'data.augment.train_crop_size=[32, 32]', 'data.sdr_from=naive', 'training.val_max_batches=1']


@pytest.fixture(scope='module')
def data(noise_frames, tmp_path_factory): return noise_frames(tmp_path_factory.mktemp('frames') / 'data', seed=2)


def leaves(d, pre=''):
    for k, v in d.items():
        if isinstance(v, dict) and k != 'scheduler': yield from leaves(v, f'{pre}{k}.')
        else: yield f'{pre}{k}'


def test_five_original_configs_present():
    assert NAMES == ['attention-unet_config.yaml', 'diff-hdrtv_config.yaml', 'diff-hdrtv_config_stage1.yaml',
                     'diff-hdrtv_config_stage2.yaml', 'diff-hdrtv_config_stage3.yaml']


@pytest.mark.parametrize('name', NAMES)
def test_every_original_config_translates_and_loads(name, tmp_path, capsys):
    raw = yaml.safe_load((CONFIGS / name).read_text())
    assert is_original_config(raw)
    t = translate_config(raw, name)
    keys = [r['key'] for r in t.rows]
    missing = [k for k in leaves(raw) if not any(r == k or r.startswith((k + '[', k + '.')) for r in keys)]
    assert missing == [] and not any(r['action'] == 'refused' for r in t.rows)
    c = t.config
    assert (c['data']['train_ratio'], c['data']['val_ratio'], c['data']['test_ratio']) == (0.81, 0.09, 0.1)
    assert (c['data']['input_encoding'], c['data']['space_in'], c['data']['space_out']) == ('LogC3', 'ACEScct', 'ACEScct')
    assert c['data']['augment']['exposure_stops'] is None and c['training']['ema'] is False
    assert c['training']['main_metric'] == 'psnr_acescct' and c['notify'] == {'bark': {'every_epochs': 1}}
    if name.startswith('attention'):
        assert c['model'] == {'name': 'attention-unet', 'width': 64, 'depth': 4, 'head': 'cct'}
    else:
        stage = {'diff-hdrtv_config.yaml': 3}.get(name) or int(name[-6])
        assert (c['model']['name'], c['model']['stage'], c['model']['prior_steps'], c['model']['prior_resolution']) == \
               ('diff-hdrtv', stage, 50, 128)
        assert c['training']['lr'] == (1e-4 if stage == 2 else 2e-4)       # stage 2 trains the prior: lr_prior
        if stage == 3: assert c['model']['stage2_ckpt'] == 'auto'
    # load_config takes the file as it is (overrides are sdr2log keys, applied after the translation), prints the table
    (tmp_path / name).write_text((CONFIGS / name).read_text())
    cfg = load_config(tmp_path / name, [f'data.root={tmp_path}', 'training.ckpt_root=' + str(tmp_path / 'runs')])
    out = capsys.readouterr().out
    assert f'{name}: an original SDR2log config, translated to sdr2log' in out and '| data.space_in | "LogC3" | converted |' in out
    assert cfg['origin']['format'] == ORIGINAL_FORMAT and cfg['data']['root'] == str(tmp_path)


def test_train_from_an_original_config_saves_the_translation(data, tmp_path, capsys):
    "`sdr2log train attention-unet_config.yaml --set ...`: trains; config/ holds config.yaml, translation.md, original.yaml."
    from sdr2log.cli import main
    src = tmp_path / 'attention-unet_config.yaml'; src.write_text((CONFIGS / src.name).read_text())
    sets = [f'data.root={data}', f'training.ckpt_root={tmp_path / "runs"}', f'data.split_cache={tmp_path / "split.json"}', *TINY]
    assert main(['train', str(src), '--set', *sets]) == 0
    out = capsys.readouterr().out
    assert 'an original SDR2log config, translated' in out and 'translation saved in' in out
    run = next((tmp_path / 'runs').iterdir())
    assert run.name.endswith('-attn_unet_default')
    assert sorted(p.name for p in (run / 'config').iterdir()) == ['config.yaml', 'original.yaml', 'translation.md']
    assert (run / 'config' / 'original.yaml').read_text() == src.read_text()
    saved = yaml.safe_load((run / 'config' / 'config.yaml').read_text())
    assert saved['model']['name'] == 'attention-unet' and saved['origin']['format'] == ORIGINAL_FORMAT
    assert saved['data']['augment']['exposure_stops'] is None
    assert (run / 'checkpoints' / 'best@psnr_acescct.pt').exists()
    assert 'exposure augmentation is on by default' not in out          # the translation turned it off explicitly


def test_sdr2log_config_prints_the_data_defaults_at_start(data, tmp_path, capsys):
    from sdr2log.train import _start_notes
    t = Trainer('tiny-cct', [f'data.root={data}', f'training.ckpt_root={tmp_path}', f'data.split_cache={tmp_path / "s.json"}',
                             'training.progress=false', 'data.batch_size=2', 'data.augment.train_crop_size=32'])
    _start_notes(t)                                   # what fit prints first
    out = capsys.readouterr().out
    # tiny-cct sets data.augment.exposure_stops itself (so it is not a hidden default); what it leaves unset is listed
    assert 'data defaults in effect (not set in the config): ' in out and 'data.ei=800' in out
    assert 'exposure augmentation is on by default' not in out
    t2 = Trainer({'data': {'root': str(data), 'split_cache': str(tmp_path / 's.json'), 'batch_size': 2,
                           'augment': {'train_crop_size': 32}}, 'model': {'name': 'unet-cct', 'width': 8, 'depth': 2},
                  'training': {'epochs': 1, 'max_steps_per_epoch': 1, 'progress': False, 'tensorboard': False,
                               'ckpt_root': str(tmp_path), 'exp_name': 'plain', 'val_max_batches': 1}})
    t2.fit()
    assert 'exposure augmentation is on by default: data.augment.exposure_stops=[-1.0, 1.0]' in capsys.readouterr().out


def test_config_translate_cli_prints_loadable_yaml(tmp_path, capsys):
    from sdr2log.cli import main
    src = CONFIGS / 'diff-hdrtv_config_stage2.yaml'
    assert main(['config', 'translate', str(src), '--set', 'training.epochs=3', f'data.root={tmp_path}']) == 0
    cap = capsys.readouterr()
    cfg = yaml.safe_load(cap.out)
    assert cfg['training']['epochs'] == 3 and cfg['model']['stage'] == 2 and 'origin' not in cfg
    assert '# | training.lr_prior | 0.0001 | converted | training.lr |' in cap.err
    (tmp_path / 'mine.yaml').write_text(cap.out)
    a = load_config(tmp_path / 'mine.yaml')
    b = load_config(src, ['training.epochs=3', f'data.root={tmp_path}'])
    assert {k: v for k, v in a.items() if k != 'origin'} == {k: v for k, v in b.items() if k != 'origin'}
    assert main(['config', 'translate', str(src), '--strict']) == 2
    assert 'model.diffusion.noise_std=0.1' in capsys.readouterr().err
    assert main(['config', 'translate', str(tmp_path / 'mine.yaml')]) == 2           # already sdr2log
    assert 'not an original SDR2log config' in capsys.readouterr().err


@pytest.mark.parametrize('patch,msg', [
    ({'paths': {'dataloader': '/x/my_loader.py'}}, 'paths.dataloader="/x/my_loader.py": plug-in data loaders are not run'),
    ({'paths': {'losses': [{'path': '/x/perceptual_loss.py', 'weight': 1}]}}, 'paths.losses[0].path="/x/perceptual_loss.py": a loss plug-in'),
    ({'paths': {'metrics': ['/x/lpips.py']}}, 'paths.metrics[0]="/x/lpips.py": a metric plug-in'),
    ({'training': {'lambda_ortho': 0.5}}, 'training.lambda_ortho=0.5: the orthogonality regulariser has no sdr2log equivalent'),
    ({'training': {'optimizer': 'sgd'}}, 'training.optimizer="sgd": sdr2log trains with AdamW only'),
    ({'training': {'scheduler': {'name': 'cosine', 't_max': 10}}}, "t_max must equal training.epochs (50)"),
    ({'training': {'resume': '/x/ckpt/last.pt'}}, 'an original checkpoint is not an sdr2log checkpoint'),
    ({'training': {'main_metric': 'lpips'}}, 'training.main_metric="lpips": not a validation metric'),
    ({'data': {'lut_dir': '/luts'}}, 'data.lut_dir="/luts": a folder of LUTs has no equivalent; render with one LUT'),
    ({'data': {'drop_last': False}}, 'data.drop_last=false: sdr2log always drops the last partial training batch'),
    ({'data': {'space_in': 'PQ'}}, 'data.space_in="PQ": the original reads LogC3 files only'),
    ({'data': {'split_cache': '/x/splits_hdm_hdr_2023.json'}}, 'an original split cache is not read'),
    ({'model': {'features': [64, 100]}}, 'model.features=[64, 100]: expected doubling channel counts'),
    ({'extra': {'a': 1}}, 'extra={"a": 1}: not a section of the original SDR2log configs'),
])
def test_keys_without_equivalent_are_refused_naming_key_and_alternative(patch, msg):
    raw = yaml.safe_load((CONFIGS / 'attention-unet_config.yaml').read_text())
    for sec, v in patch.items():
        if isinstance(v, dict) and isinstance(raw.get(sec), dict):
            for k, x in v.items(): raw[sec][k] = x
        else: raw[sec] = v
    with pytest.raises(ValueError, match='no sdr2log equivalent') as e: translate_config(raw, 'cfg.yaml')
    assert msg in str(e.value), str(e.value)


def test_main_metric_checked_when_the_config_loads(tmp_path):
    with pytest.raises(ValueError, match=r"training.main_metric 'psnr' is not a validation metric.*did you mean 'psnr_acescct'"):
        load_config('tiny-cct', [f'data.root={tmp_path}', 'training.main_metric=psnr'])
    with pytest.raises(ValueError, match="contradicts 'delta_e_itp'"):
        load_config('tiny-cct', [f'data.root={tmp_path}', 'training.main_metric=delta_e_itp'])
    assert load_config('tiny-cct', [f'data.root={tmp_path}', 'training.main_metric=delta_e_itp',
                                    'training.main_metric_mode=min'])['training']['main_metric'] == 'delta_e_itp'


def test_mapping_table_is_documented_in_the_train_notebook():
    "The table in nbs/10_train.ipynb lists every MAPPING row (it is generated from MAPPING; this catches drift)."
    nb = json.loads((Path(__file__).parents[1] / 'nbs' / '10_train.ipynb').read_text())
    text = '\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown')
    for k, d, a, n in MAPPING: assert f"| `{k}` | {d} | {a} | {n} |" in text, k


def test_train_diff_hdrtv_stage1_from_its_original_config(data, tmp_path, capsys):
    "The Diff-HDRTV stage trainer takes an original config too; its run saves the translation."
    from sdr2log.train import train
    src = tmp_path / 'diff-hdrtv_config_stage1.yaml'; src.write_text((CONFIGS / src.name).read_text())
    tiny = [t for t in TINY if not t.startswith('model.')] + ['model.width=8', 'model.blocks=1']
    summary = train(src, [f'data.root={data}', f'training.ckpt_root={tmp_path / "runs"}',
                          f'data.split_cache={tmp_path / "split.json"}', *tiny])
    run = Path(summary['run_dir'])
    assert summary['stage_inputs']['stage'] == 1 and run.name.endswith('-diffh_stage1')
    assert (run / 'config' / 'translation.md').exists() and (run / 'config' / 'original.yaml').exists()
    assert 'an original SDR2log config, translated' in capsys.readouterr().out
