#!/usr/bin/env bash
# What the browser tests need on a fresh Debian machine: Debian's chromium and axe-core (npm).
# Run as root (CI) or with sudo at hand; installs nothing that is already there.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
axe_dir="${KEEN_AXE_DIR:-$HOME/.cache/keen-import/axe}"
if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
  mkdir -p "$axe_dir"
  npm install --no-save --no-audit --no-fund --prefix "$axe_dir" axe-core@4 >/dev/null
fi
