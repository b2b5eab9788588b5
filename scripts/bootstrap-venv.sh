#!/usr/bin/env bash
# Create .venv with the project and its dev extras. Installs Debian's python3-venv when venv is missing.
set -euo pipefail
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      py=$candidate; break
    fi
  done
fi
[ -n "$py" ] || { echo "opvangmatch: Python 3.11 or newer is needed (apt-get install python3)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  if ! "$py" -m venv .venv 2>/tmp/opvangmatch-venv.log; then
    rm -rf .venv
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
      echo "opvangmatch: installing python3-venv ..."
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/tmp/opvangmatch-apt.log 2>&1 \
        || { apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >>/tmp/opvangmatch-apt.log 2>&1; }
      "$py" -m venv .venv
    else
      echo "opvangmatch: '$py -m venv' failed; install python3-venv (sudo apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
fi
echo "opvangmatch: installing Python packages into .venv ..."
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
