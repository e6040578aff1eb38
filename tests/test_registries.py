"Every name table of the package is one `Registry`: entries resolve, unknown names raise `UnknownName` listing them."
import importlib

import pytest

from sdr2log.registry import Registry, UnknownName

REGISTRIES = [   # (module, attribute); a module not on this branch yet, or a table that is not a Registry yet, is skipped
    ('sdr2log.color', 'TRANSFER_FUNCTIONS'), ('sdr2log.color', 'GAMUTS'), ('sdr2log.color', 'SPACES'),
    ('sdr2log.render', 'RENDERERS'), ('sdr2log.edits', 'EDITS'),
    ('sdr2log.losses', 'LOSSES'), ('sdr2log.losses', 'PIXEL_LOSSES'), ('sdr2log.losses', 'SSIM_LOSSES'),
    ('sdr2log.models.core', 'MODELS'), ('sdr2log.models.core', 'HEADS'),
    ('sdr2log.baselines', 'BASELINES'), ('sdr2log.metrics', 'METRICS'),
]

def _registry(mod, attr):
    try: reg = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError): pytest.skip(f"{mod}.{attr} is not there")
    if mod == 'sdr2log.metrics' and not isinstance(reg, Registry): pytest.skip(f"{mod}.{attr} is not a Registry yet")
    if mod == 'sdr2log.models.core': importlib.import_module('sdr2log.models').list_models()   # built-ins register lazily
    return reg

@pytest.mark.parametrize('mod,attr', REGISTRIES, ids=[f"{m.split('.')[-1]}.{a}" for m, a in REGISTRIES])
def test_registry(mod, attr):
    reg = _registry(mod, attr)
    assert isinstance(reg, Registry), f"{mod}.{attr} is a {type(reg).__name__}, not a Registry"
    assert len(reg) > 0
    for name in reg: assert reg[name] is not None and name in reg
    for name in reg.names():
        if name not in reg:   # a parametric name: 'lut:PATH' -> give it an argument
            entry, arg = reg.resolve(name)
            assert entry is not None and arg
    with pytest.raises(UnknownName) as e: reg['no-such-entry-xyz']
    msg = str(e.value)
    assert 'no-such-entry-xyz' in msg and 'accepted: ' in msg
    for name in reg.names(): assert name in msg
    assert 'no-such-entry-xyz' not in reg and None not in reg
    assert isinstance(e.value, KeyError) and isinstance(e.value, ValueError)

def test_parametric_names():
    from sdr2log.render import RENDERERS, LUTRenderer, check_renderer_name
    from sdr2log.baselines import BASELINES, BASELINE_NAMES, InverseBaseline
    assert RENDERERS.resolve('lut:/x/My.cube') == (LUTRenderer, '/x/My.cube') and check_renderer_name('LUT:/a/B.cube') == 'lut:/a/B.cube'
    assert BASELINES.resolve('inverse:naive') == (InverseBaseline, 'naive') and 'inverse:RENDERER' in BASELINE_NAMES
    assert list(RENDERERS) == ['aces2-sdr', 'aces1-sdr', 'film-sdr', 'lut', 'naive']
    with pytest.raises(ValueError, match='after the colon'): RENDERERS['lut:']
