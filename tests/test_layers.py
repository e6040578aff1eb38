"""One-way architecture: every module imports only from its layer or below (ARCHITECTURE.md), with no import cycles.

The walker reads each module of the package with `ast` (top-level and deferred imports inside functions, relative and
absolute imports, `importlib.import_module('sdr2log.x')` literals) and builds the module graph."""
from __future__ import annotations
import ast, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / 'sdr2log'
ROOT_NAME = 'sdr2log'          # the package __init__ in the table; submodules are named without the 'sdr2log.' prefix


def parse_layer_table(text: str) -> dict[str, int]:
    "module -> layer from the markdown table `| module | layer | what it holds |`."
    layers = {}
    for line in text.splitlines():
        cells = [c.strip().strip('`') for c in line.strip().strip('|').split('|')]
        if len(cells) >= 2 and re.fullmatch(r'\d+', cells[1]): layers[cells[0]] = int(cells[1])
    if not layers: raise ValueError('no layer table (| module | layer | ... |) found')
    return layers


def package_modules(pkg: Path) -> dict[str, Path]:
    "Module name -> file, for every .py under `pkg` except private modules (`_modidx`); `__init__` names its package."
    mods = {}
    for f in sorted(pkg.rglob('*.py')):
        parts = list(f.relative_to(pkg).with_suffix('').parts)
        if parts[-1] == '__init__': parts = parts[:-1]
        elif parts[-1].startswith('_'): continue
        mods['.'.join(parts) if parts else ROOT_NAME] = f
    return mods


def _resolve(dotted: str, mods) -> str:
    "The longest known module that `dotted` (relative to the package, '' = root) names or lies in."
    parts = dotted.split('.') if dotted else []
    while parts:
        if '.'.join(parts) in mods: return '.'.join(parts)
        parts.pop()
    return ROOT_NAME


def _base(name: str, is_pkg: bool, level: int) -> str:
    "The package (relative name) that a `level`-dot relative import in module `name` starts from."
    parts = [] if name == ROOT_NAME else name.split('.')
    if not is_pkg: parts = parts[:-1]
    for _ in range(level - 1): parts = parts[:-1]
    return '.'.join(parts)


def _join(*names) -> str: return '.'.join(n for n in names if n)


def module_imports(name: str, path: Path, mods, pkg_name: str = 'sdr2log') -> list[tuple[str, int, bool]]:
    "`(target module, line, deferred)` for every intra-package import in the module at `path`."
    tree, is_pkg = ast.parse(path.read_text(), str(path)), path.name == '__init__.py'
    out = []
    def visit(node, deferred):
        for child in ast.iter_child_nodes(node):
            d = deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            targets = []
            if isinstance(child, ast.Import):
                for a in child.names:
                    if a.name == pkg_name or a.name.startswith(pkg_name + '.'):
                        targets.append(_resolve(a.name[len(pkg_name) + 1:], mods))
            elif isinstance(child, ast.ImportFrom):
                if child.level: base = _join(_base(name, is_pkg, child.level), child.module or '')
                elif child.module == pkg_name or (child.module or '').startswith(pkg_name + '.'):
                    base = child.module[len(pkg_name) + 1:]
                else: base = None
                if base is not None:
                    for a in child.names:    # `from . import x`: x may be a submodule or a name of the package
                        sub = _join(base, a.name)
                        targets.append(sub if sub in mods else _resolve(base, mods))
            elif (isinstance(child, ast.Call) and getattr(child.func, 'attr', getattr(child.func, 'id', None)) == 'import_module'
                  and child.args and isinstance(child.args[0], ast.Constant) and isinstance(child.args[0].value, str)):
                s = child.args[0].value
                if s == pkg_name or s.startswith(pkg_name + '.'): targets.append(_resolve(s[len(pkg_name) + 1:], mods))
            out.extend((t, child.lineno, d) for t in dict.fromkeys(targets) if t != name)
            visit(child, d)
    visit(tree, False)
    return out


def import_graph(pkg: Path, pkg_name: str = 'sdr2log') -> dict[str, list[tuple[str, int, bool]]]:
    mods = package_modules(pkg)
    return {m: module_imports(m, p, mods, pkg_name) for m, p in mods.items()}


def upward_edges(graph, layers) -> list[str]:
    return [f'{m} (layer {layers[m]}) -> {t} (layer {layers[t]}) at line {ln}{" (deferred)" if d else ""}'
            for m, es in graph.items() for t, ln, d in es
            if m in layers and t in layers and layers[t] > layers[m]]


def cycles(graph) -> list[list[str]]:
    "The strongly connected components with more than one module (Tarjan), each as a sorted list."
    adj = {m: sorted({t for t, _, _ in es if t in graph}) for m, es in graph.items()}
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def strong(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in adj[v]:
            if w not in index: strong(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    for v in sorted(adj):
        if v not in index: strong(v)
    return out


def cycle_edges(graph, comp) -> list[str]:
    s = set(comp)
    return [f'{m} -> {t} at line {ln}' for m in comp for t, ln, _ in graph[m] if t in s]


def layer_problems(pkg: Path, layers, pkg_name: str = 'sdr2log') -> list[str]:
    "Every violation, as readable lines: unlisted modules, upward edges, cycles (with their edges)."
    graph = import_graph(pkg, pkg_name)
    probs = [f'module {m!r} is missing from the layer table' for m in graph if m not in layers]
    probs += [f'upward: {e}' for e in upward_edges(graph, layers)]
    for comp in cycles(graph): probs.append(f'cycle {" <-> ".join(comp)}: ' + '; '.join(cycle_edges(graph, comp)))
    return probs


# ---- the walker itself, on a tiny fake package ----

def _fake(tmp_path, files):
    pkg = tmp_path / 'fake'
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    return pkg

FAKE_TABLE = """| module | layer | what |
| --- | --- | --- |
| low | 0 | x |
| mid | 1 | x |
| sub | 1 | x |
| sub.leaf | 1 | x |
| high | 2 | x |
| sdr2log | 3 | root |
"""

def test_walker_finds_cycle_and_upward_edge(tmp_path):
    pkg = _fake(tmp_path, {
        '__init__.py': '__version__ = "0"\n',
        'low.py': 'import os\ndef f():\n    from .high import g\n',               # deferred upward edge
        'mid.py': 'from . import sub\nfrom .low import x\n',
        'sub/__init__.py': 'from ..mid import y\n',                                 # mid <-> sub: a cycle
        'sub/leaf.py': 'import importlib\nimportlib.import_module("sdr2log.low")\nfrom sdr2log import __version__\n',
        'high.py': 'import sdr2log.sub.leaf\nfrom sdr2log.mid import z\n',
        '_private.py': 'from .high import q\n'})
    layers = parse_layer_table(FAKE_TABLE)
    graph = import_graph(pkg)
    assert sorted(graph) == ['high', 'low', 'mid', 'sdr2log', 'sub', 'sub.leaf']
    assert ('high', 3, True) in graph['low']
    assert {t for t, _, _ in graph['sub.leaf']} == {'low', 'sdr2log'}
    assert {t for t, _, _ in graph['high']} == {'sub.leaf', 'mid'}
    probs = layer_problems(pkg, layers)
    assert 'upward: low (layer 0) -> high (layer 2) at line 3 (deferred)' in probs
    assert any(p.startswith('upward: sub.leaf (layer 1) -> sdr2log (layer 3)') for p in probs)
    cyc = [p for p in probs if p.startswith('cycle ')]
    assert len(cyc) == 1 and 'mid -> sub at line 1' in cyc[0] and 'sub -> mid at line 1' in cyc[0], cyc
    del layers['high']
    assert "module 'high' is missing from the layer table" in layer_problems(pkg, layers)
    clean = _fake(tmp_path / 'ok', {'__init__.py': '', 'low.py': '', 'mid.py': 'from .low import x\n'})
    assert layer_problems(clean, parse_layer_table(FAKE_TABLE)) == []


def test_table_parses():
    with pytest.raises(ValueError): parse_layer_table('no table here')
    assert parse_layer_table('| `a.b` | 4 | x |') == {'a.b': 4}


# ---- the real package ----

LAYERS = parse_layer_table((ROOT / 'ARCHITECTURE.md').read_text())

def test_every_module_in_table():
    missing = [m for m in package_modules(PKG) if m not in LAYERS]
    assert not missing, f'modules missing from the ARCHITECTURE.md layer table: {missing}'


def test_no_upward_imports():
    ups = upward_edges(import_graph(PKG), LAYERS)
    assert not ups, 'imports of a higher layer:\n  ' + '\n  '.join(ups)


def test_no_import_cycles():
    graph = import_graph(PKG)
    found = cycles(graph)
    assert not found, 'import cycles:\n  ' + '\n  '.join(
        f'{" <-> ".join(c)}: ' + '; '.join(cycle_edges(graph, c)) for c in found)


def test_deferred_imports_listed(capsys):
    "Deferred intra-package imports are counted and printed (cli keeps some for start-up speed; they point downward)."
    graph = import_graph(PKG)
    deferred = [(m, t, ln) for m, es in graph.items() for t, ln, d in es if d]
    with capsys.disabled():
        print(f'\n{len(deferred)} deferred intra-package imports: ' +
              ', '.join(f'{m}:{ln}->{t}' for m, t, ln in deferred))
    assert all(LAYERS.get(t, 99) <= LAYERS.get(m, -1) for m, t, _ in deferred if m == 'cli')
