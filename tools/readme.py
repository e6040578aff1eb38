"""Write README.md from nbs/index.ipynb, offline (no Quarto): `python tools/readme.py [--check]`.

Markdown cells are copied; code cells become fenced Python blocks followed by their text output
(if the notebook holds any); cells with `#| hide` are dropped and other `#|` directives are stripped.
`--check` exits 1 if README.md differs from what would be written.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = '<!-- WARNING: generated from nbs/index.ipynb by tools/readme.py; edit the notebook, not this file -->\n\n'

def _src(cell): return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']

def _outputs(cell):
    out = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': out.append(''.join(o['text']))
        elif 'data' in o and 'text/plain' in o['data']: out.append(''.join(o['data']['text/plain']))
    return ''.join(out).rstrip()

def render(nb_path=ROOT/'nbs'/'index.ipynb'):
    nb = json.loads(Path(nb_path).read_text(encoding='utf-8'))
    parts = []
    for cell in nb['cells']:
        src = _src(cell)
        lines = src.splitlines()
        if any(l.strip().replace(' ', '') in ('#|hide', '#|include:false') for l in lines): continue
        if cell['cell_type'] == 'markdown': parts.append(src.strip())
        elif cell['cell_type'] == 'code':
            code = '\n'.join(l for l in lines if not l.lstrip().startswith('#|')).strip()
            if code: parts.append(f'```python\n{code}\n```')
            out = _outputs(cell)
            if out: parts.append(f'```\n{out}\n```')
    return HEADER + '\n\n'.join(p for p in parts if p) + '\n'

def main(argv=sys.argv[1:]):
    text, readme = render(), ROOT/'README.md'
    if '--check' in argv:
        if not readme.exists() or readme.read_text(encoding='utf-8') != text:
            print('FAIL: README.md is stale: run `.venv/bin/python tools/readme.py` and commit'); return 1
        print('README.md is up to date'); return 0
    readme.write_text(text, encoding='utf-8'); print(f'wrote {readme}'); return 0

if __name__ == '__main__': sys.exit(main())
