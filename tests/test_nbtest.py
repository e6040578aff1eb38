"tools/nbtest.py, the notebook runner of `make test`: each notebook runs in its own process, so no notebook sees what another left behind."
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = "[DEFAULT]\nrepo = leak\nlib_name = leak\nlib_path = leak\nnbs_path = nbs\nversion = 0.0.1\ntst_flags = notest\n"


def _nb(src: str) -> dict:
    return {'cells': [{'cell_type': 'code', 'execution_count': None, 'metadata': {}, 'outputs': [], 'source': src}],
            'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}},
            'nbformat': 4, 'nbformat_minor': 5}


def _project(tmp_path: Path, **notebooks) -> Path:
    (tmp_path / 'nbs').mkdir()
    (tmp_path / 'settings.ini').write_text(SETTINGS)
    for name, src in notebooks.items(): (tmp_path / 'nbs' / f'{name}.ipynb').write_text(json.dumps(_nb(src)))
    return tmp_path


def _run(cwd, *args):
    return subprocess.run([sys.executable, str(ROOT / 'tools' / 'nbtest.py'), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_notebooks_do_not_see_each_others_state(tmp_path):
    "a.ipynb leaves a mark on a module (as 09d's exported cells re-register classes); b.ipynb, run after it in the same worker, must not see it."
    p = _project(tmp_path, a="import json\njson.LEAKED = True",
                 b="import json\nassert not hasattr(json, 'LEAKED'), 'state leaked from another notebook'")
    r = _run(p, '--n_workers', '1')
    assert r.returncode == 0 and 'Success: 2 notebooks' in r.stdout, r.stdout + r.stderr
    # nbdev_test itself, in one process, fails on exactly this (why make test does not use it)
    r = subprocess.run([str(Path(sys.executable).parent / 'nbdev_test'), '--n_workers', '0'], cwd=p, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode != 0 and 'b.ipynb' in r.stderr


def test_a_failing_notebook_is_named_and_fails_the_run(tmp_path):
    p = _project(tmp_path, good="x = 1", bad="raise ValueError('this notebook is broken')")
    r = _run(p, '--n_workers', '2', '--timing')
    assert r.returncode == 1 and 'bad.ipynb' in r.stderr and 'good.ipynb' not in r.stderr.split('following notebooks')[-1]
    assert 'good.ipynb:' in r.stdout                                    # --timing lists every notebook
    assert _run(p, 'nomatch*').returncode == 2                          # a glob that matches nothing is an error
