#!/usr/bin/env bash
# Make sure the PostGIS and pgRouting extensions are available to the machine's PostgreSQL.
# PostGIS (postgresql-<major>-postgis-3) for the newest server (the managed cluster's), pgRouting
# (postgresql-<major>-pgrouting) for every server major installed here (the managed cluster's and a local
# external server's, e.g. 15). Installs what is missing when we may (root, or sudo without a password);
# otherwise stops with a message that says exactly what to install.
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/pg_config >/dev/null 2>&1 && ! command -v pg_config >/dev/null; then
  exit 0  # external server only, nothing to install here
fi
pg_config_bin=$(ls -d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_config_bin" ]; then
  pg_config_bin=$(command -v pg_config || true)
fi
if [ -z "$pg_config_bin" ]; then
  echo "opvangmatch: no PostgreSQL server found. Install it first, e.g.: sudo apt-get install postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting" >&2
  exit 1
fi

major_of() { "$1" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/'; }

# Packages missing, as "package:control-file" pairs.
missing=()
major=$(major_of "$pg_config_bin")
sharedir=$("$pg_config_bin" --sharedir)
[ -f "$sharedir/extension/postgis.control" ] || missing+=("postgresql-${major}-postgis-3:$sharedir/extension/postgis.control")
for config in $(ls -d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null || true) "$pg_config_bin"; do
  m=$(major_of "$config")
  dir=$("$config" --sharedir)
  entry="postgresql-${m}-pgrouting:$dir/extension/pgrouting.control"
  [ -f "$dir/extension/pgrouting.control" ] || [[ " ${missing[*]:-} " == *" $entry "* ]] || missing+=("$entry")
done
[ ${#missing[@]} -eq 0 ] && exit 0

pkgs=()
for entry in "${missing[@]}"; do pkgs+=("${entry%%:*}"); done
echo "opvangmatch: missing PostgreSQL extension package(s): ${pkgs[*]}; installing ..."
if [ "$(id -u)" = "0" ]; then
  sudo_cmd=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo_cmd="sudo -n"
else
  echo "opvangmatch: cannot install ${pkgs[*]} without root. Run: sudo apt-get install -y ${pkgs[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo_cmd apt-get install -y -q "${pkgs[@]}" >/tmp/opvangmatch-apt.log 2>&1; then
  $sudo_cmd apt-get update -q >>/tmp/opvangmatch-apt.log 2>&1 || true
  if ! $sudo_cmd apt-get install -y -q "${pkgs[@]}" >>/tmp/opvangmatch-apt.log 2>&1; then
    echo "opvangmatch: 'apt-get install ${pkgs[*]}' failed; see /tmp/opvangmatch-apt.log" >&2
    exit 1
  fi
fi
for entry in "${missing[@]}"; do
  test -f "${entry#*:}" || { echo "opvangmatch: ${entry%%:*} installed but ${entry#*:} not found" >&2; exit 1; }
done
echo "opvangmatch: installed ${pkgs[*]}"
