#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/browser), if it is not there yet.
# Playwright drives /usr/bin/chromium and never downloads a browser of its own.
# Idempotent and quiet; runs as root (or through sudo when available).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
AXE_DIR=tests/support/axe
cd "$(dirname "$0")/.."

# axe-core for the accessibility checks, at the version the lock file pins.
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  npm ci --prefix "$AXE_DIR" --no-audit --no-fund --silent
fi
# A CJK font so that screenshots of Chinese pages show text, not empty boxes.
if [ -x "$CHROMIUM" ] && fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install_browser: need root to install chromium" >&2; exit 1; }
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null
[ -x "$CHROMIUM" ] || { echo "install_browser: $CHROMIUM still missing" >&2; exit 1; }
echo "install_browser: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed"
