#!/usr/bin/env bash
# Install Debian's chromium for the viewer's browser test (tests/test_viewer_browser.py) when it is missing.
# Idempotent and quiet: does nothing if /usr/bin/chromium exists; installs with apt only when running as root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then echo "install_browser: chromium present ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "install_browser: chromium missing and not root: skipped (the browser test will skip)"; exit 0; fi
if ! command -v apt-get >/dev/null; then echo "install_browser: chromium missing and no apt-get: skipped"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install_browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
