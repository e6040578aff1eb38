#!/usr/bin/env bash
# Everything `make test` (and CI) checks, in order. Run from the repository root with .venv installed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export MPLBACKEND=Agg PYTHONHASHSEED=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
git status --porcelain --untracked-files=all > "$tmp/tree_before" 2>/dev/null || true

echo "== 1/8 nbdev_export leaves sdr2log/ unchanged"
cp -r sdr2log "$tmp/lib_before"
$BIN/nbdev_export
if ! diff -r -q -x __pycache__ "$tmp/lib_before" sdr2log; then
  echo "FAIL: sdr2log/ was out of date with nbs/ (nbdev_export has now updated it: review and commit)"; exit 1
fi

echo "== 2/8 notebooks are clean (nbdev_clean changes nothing)"
mkdir -p "$tmp/nbs" && cp -r nbs/. "$tmp/nbs/"
$BIN/nbdev_clean --fname "$tmp/nbs"
if ! diff -r -q -x '.ipynb_checkpoints' nbs "$tmp/nbs"; then
  echo "FAIL: notebooks are not clean: run .venv/bin/nbdev_clean and commit"; exit 1
fi

echo "== 3/8 README.md is up to date with nbs/index.ipynb"
$BIN/python tools/readme.py --check

echo "== 4/8 ruff (pyflakes rules) over sdr2log/ tests/ bench/ tools/"
$BIN/ruff check --select F sdr2log tests bench tools

echo "== 5/8 nbdev_test over all notebooks, each in its own process (tools/nbtest.py: order cannot matter)"
$BIN/python tools/nbtest.py --n_workers 2 --timing

echo "== 6/8 pytest tests/ (the browser test runs alone afterwards: it drives a real JupyterLab and Chromium)"
$BIN/python -m pytest -q -n 2 tests/ --ignore=tests/test_viewer_browser.py
SDR2LOG_REQUIRE_BROWSER=1 $BIN/python -m pytest -q tests/test_viewer_browser.py

# Two code paths (numpy/torch, worker/device, OpenColorIO/torch) agree to rounding, not to the bit, and the rounding
# depends on the SIMD kernels torch picks for this CPU. Rerun what compares paths under every kernel set this CPU can
# run, so a comparison that holds only on one kind of CPU fails here, not on a user's machine.
read -r native caps < <($BIN/python -c "
import torch; from sdr2log.testing import cpu_capabilities
n = torch.backends.cpu.get_cpu_capability().lower()
print(n, ' '.join(c for c in cpu_capabilities() if c != n))")
echo "== 7/8 code-path comparisons again under ATEN_CPU_CAPABILITY in: $caps (the runs above used this CPU's $native)"
for cap in $caps; do
  echo "-- ATEN_CPU_CAPABILITY=$cap"
  ATEN_CPU_CAPABILITY=$cap $BIN/python tools/nbtest.py --n_workers 2
  ATEN_CPU_CAPABILITY=$cap $BIN/python -m pytest -q -n 2 -m paths tests/ --ignore=tests/test_viewer_browser.py
done

echo "== 8/8 the tests left the work tree as it was"
git status --porcelain --untracked-files=all > "$tmp/tree_after" 2>/dev/null || true
if ! diff "$tmp/tree_before" "$tmp/tree_after"; then
  echo "FAIL: running the tests changed the work tree (above: files added, changed or removed); tests write to temporary folders only"; exit 1
fi
