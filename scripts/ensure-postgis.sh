#!/usr/bin/env bash
# Make sure the PostGIS extension is available to the machine's PostgreSQL.
# Installs Debian's postgresql-<major>-postgis-3 when it is missing and we may (root, or sudo without a
# password); otherwise stops with a message that says exactly what to install.
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/pg_config >/dev/null 2>&1 && ! command -v pg_config >/dev/null; then
  exit 0  # external server only, nothing to install here
fi
pg_config_bin=$(ls -d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_config_bin" ]; then
  pg_config_bin=$(command -v pg_config || true)
fi
if [ -z "$pg_config_bin" ]; then
  echo "opvangmatch: no PostgreSQL server found. Install it first, e.g.: sudo apt-get install postgresql-15 postgresql-15-postgis-3" >&2
  exit 1
fi
major=$("$pg_config_bin" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
sharedir=$("$pg_config_bin" --sharedir)
if [ -f "$sharedir/extension/postgis.control" ]; then
  exit 0
fi
pkg="postgresql-${major}-postgis-3"
echo "opvangmatch: the PostGIS extension is missing for PostgreSQL ${major}; installing ${pkg} ..."
if [ "$(id -u)" = "0" ]; then
  sudo_cmd=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo_cmd="sudo -n"
else
  echo "opvangmatch: cannot install ${pkg} without root. Run: sudo apt-get install -y ${pkg}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo_cmd apt-get install -y -q "$pkg" >/tmp/opvangmatch-apt.log 2>&1; then
  $sudo_cmd apt-get update -q >>/tmp/opvangmatch-apt.log 2>&1 || true
  if ! $sudo_cmd apt-get install -y -q "$pkg" >>/tmp/opvangmatch-apt.log 2>&1; then
    echo "opvangmatch: 'apt-get install ${pkg}' failed; see /tmp/opvangmatch-apt.log" >&2
    exit 1
  fi
fi
test -f "$sharedir/extension/postgis.control" || { echo "opvangmatch: ${pkg} installed but postgis.control not found in $sharedir/extension" >&2; exit 1; }
echo "opvangmatch: installed ${pkg}"
