#!/usr/bin/env bash
# Headless Chromium for the map tests (Debian's chromium package); Playwright drives it.
set -euo pipefail
bin="${OPVANGMATCH_CHROMIUM:-/usr/bin/chromium}"
[ -x "$bin" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "opvangmatch: installing Debian's chromium for the browser tests ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/tmp/opvangmatch-apt.log 2>&1 \
    || { apt-get update -q >>/tmp/opvangmatch-apt.log 2>&1; apt-get install -y -q chromium >>/tmp/opvangmatch-apt.log 2>&1; } \
    || { echo "opvangmatch: 'apt-get install chromium' failed; see /tmp/opvangmatch-apt.log" >&2; exit 1; }
else
  echo "opvangmatch: the map tests need Chromium; run: sudo apt-get install -y chromium (or set OPVANGMATCH_CHROMIUM)" >&2
  exit 1
fi
