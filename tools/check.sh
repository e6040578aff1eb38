#!/usr/bin/env bash
# Everything `make test` (and CI) checks, in order. Run from the repository root with .venv installed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export MPLBACKEND=Agg PYTHONHASHSEED=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

echo "== 1/5 nbdev_export leaves sdr2log/ unchanged"
cp -r sdr2log "$tmp/lib_before"
$BIN/nbdev_export
if ! diff -r -q -x __pycache__ "$tmp/lib_before" sdr2log; then
  echo "FAIL: sdr2log/ was out of date with nbs/ (nbdev_export has now updated it: review and commit)"; exit 1
fi

echo "== 2/5 notebooks are clean (nbdev_clean changes nothing)"
mkdir -p "$tmp/nbs" && cp -r nbs/. "$tmp/nbs/"
$BIN/nbdev_clean --fname "$tmp/nbs"
if ! diff -r -q -x '.ipynb_checkpoints' nbs "$tmp/nbs"; then
  echo "FAIL: notebooks are not clean: run .venv/bin/nbdev_clean and commit"; exit 1
fi

echo "== 3/5 README.md is up to date with nbs/index.ipynb"
$BIN/python tools/readme.py --check

echo "== 4/5 nbdev_test over all notebooks"
$BIN/nbdev_test --n_workers 2 --timing

echo "== 5/5 pytest tests/ (the browser test runs alone afterwards: it drives a real JupyterLab and Chromium)"
$BIN/python -m pytest -q -n 2 tests/ --ignore=tests/test_viewer_browser.py
$BIN/python -m pytest -q tests/test_viewer_browser.py
