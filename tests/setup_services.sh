#!/usr/bin/env bash
# What the tests need on a fresh Debian machine, besides Python: the browser tests' chromium and
# axe-core (tests/ui/setup_browser.sh, unchanged) and a PostgreSQL server's binaries for the
# shared-ledger tests (tests/ledger/conftest.py starts a throw-away server with them).
# Run as root (CI) or with sudo at hand; installs nothing that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

bash tests/ui/setup_browser.sh

# Debian's postgresql puts initdb/pg_ctl in /usr/lib/postgresql/<version>/bin, not on PATH;
# the fixture looks there too. Installing it also starts (and enables) a cluster on port 5432,
# which the tests do not use: they start their own server on a free port.
has_initdb() {
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
if ! has_initdb; then
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi
has_initdb || { echo "setup_services: initdb still missing after installing postgresql" >&2; exit 1; }
