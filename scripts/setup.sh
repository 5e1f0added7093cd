#!/usr/bin/env bash
# Installs udata-ogp into ./.venv on a fresh Debian machine with Python 3.11.
#   scripts/setup.sh          the plugin and udata (what the demo needs)
#   scripts/setup.sh --test   also the test tools, and Debian's redis-server and chromium
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "udata-ogp needs Python 3.11 (found $("$python" --version))" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x .venv/bin/python ]; then
  # Debian's python3 ships venv in a separate package.
  "$python" -m venv .venv 2>/dev/null || { rm -rf .venv; apt_install python3-venv; "$python" -m venv .venv; }
fi
if [ "$with_tests" = 1 ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -e ".[test]"
else
  .venv/bin/pip install --quiet --disable-pip-version-check -e .
fi

# The install above compiled the catalogues (setup.py's build step): `.mo` files are build
# products, not sources.

# The French State design system, from the npm registry (the pages keep their own CSS without it).
if [ -f scripts/fetch-dsfr.sh ]; then
  if command -v npm >/dev/null 2>&1; then
    bash scripts/fetch-dsfr.sh || echo "warning: DSFR could not be fetched; pages use their own CSS" >&2
  else
    echo "warning: npm not found; pages use their own CSS instead of DSFR" >&2
  fi
fi

if [ "$with_tests" = 1 ]; then
  missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
fi
echo "udata-ogp installed in .venv"
