"""Run every notebook's tests as `nbdev_test` does, but each notebook in a fresh Python process.

`nbdev_test --n_workers N` reuses its worker processes across notebooks, so what one notebook leaves in a module
(its exported cells re-register models, renderers and methods under the library's names, as they should when run
in JupyterLab) is seen by whichever notebook that worker runs next. The result then depends on scheduling: CI went
red on `09g_tiles` only when it ran after `09d_models.hdrtvnet` in the same worker. Here each notebook runs as it
does for a user, alone in a new interpreter, so the order cannot matter.

usage: python tools/nbtest.py [--n_workers 2] [--timing] [GLOB ...]   (run from the repository root)
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.test import _keep_file, test_nb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('globs', nargs='*', help="notebook file globs (default: every notebook nbdev_test would run)")
    ap.add_argument('--n_workers', type=int, default=2)
    ap.add_argument('--timing', action='store_true', help="print each notebook's time, slowest first")
    ap.add_argument('--flags', default='', help="test flags to run that are normally skipped (as nbdev_test)")
    a = ap.parse_args(argv)
    cfg = get_config()
    files = [f.absolute() for f in sorted(nbglob(cfg.nbs_path, as_path=True)) if _keep_file(f, '.notest')]
    if a.globs: files = [f for f in files if any(f.match(g) for g in a.globs)]
    if not files:
        print(f"nbtest: no notebook matches {a.globs}", file=sys.stderr); return 2
    skip, force = cfg.tst_flags.split(), a.flags.split()
    t0, results = time.time(), {}
    os.chdir(cfg.nbs_path)                   # as nbdev_test: the workers start in nbs/
    # one task per child, each child forked from a clean server process that has only imported the heavy third-party
    # libraries (no sdr2log module, no thread started): every notebook starts from the same fresh state, fast
    ctx = mp.get_context('forkserver')
    ctx.set_forkserver_preload(['numpy', 'torch', 'scipy', 'matplotlib', 'colour', 'PyOpenColorIO', 'IPython', 'execnb.shell'])
    with ProcessPoolExecutor(max_workers=max(1, a.n_workers), mp_context=ctx, max_tasks_per_child=1) as ex:
        futs = {f: ex.submit(test_nb, f, skip_flags=skip, force_flags=force, basepath=cfg.config_path) for f in files}
        for f, fut in futs.items():
            try: results[f] = fut.result()
            except Exception as e:           # the worker itself died (e.g. killed for memory): a failure, named
                print(f"nbtest: {f.name}: the process running it failed: {e!r}", file=sys.stderr)
                results[f] = (False, float('nan'))
    failed = [f.name for f, (ok, _) in results.items() if not ok]
    if a.timing:
        for f, (_, t) in sorted(results.items(), key=lambda kv: -kv[1][1]): print(f"{f.name}: {t:.0f} secs")
    if failed:
        print("\nnbdev tests failed on the following notebooks:\n" + "=" * 50 + "\n\t" + "\n\t".join(failed),
              file=sys.stderr)
        return 1
    print(f"Success: {len(files)} notebooks, each in its own process, in {time.time() - t0:.0f} s.")
    return 0


if __name__ == '__main__':
    sys.exit(main())
