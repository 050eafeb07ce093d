#!/usr/bin/env bash
# Bring a machine up for gridmap, idempotently: Debian packages, PostgreSQL running, .venv.
# As root it installs what is missing; otherwise it prints the exact command and stops.
# Usage: scripts/bootstrap.sh [--browser]   (--browser also makes sure Chromium is there)
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[[ "${1:-}" == "--browser" ]] && want_browser=1
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

say() { printf '[bootstrap] %s\n' "$*"; }

pg_major() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

# --- Debian packages -----------------------------------------------------------------------
missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
[[ -n "$(pg_major)" ]] || missing+=(postgresql)
major=$(pg_major)
if [[ -n "$major" ]]; then
  have_pkg "postgresql-${major}-postgis-3" || missing+=("postgresql-${major}-postgis-3")
  # pgr_drivingDistance is the anchor of benchmarks/coverage.py
  have_pkg "postgresql-${major}-pgrouting" || missing+=("postgresql-${major}-pgrouting")
fi
have_pkg fonts-noto-cjk || missing+=(fonts-noto-cjk)       # zh-CN text in pages and screenshots
have_pkg gdal-bin || missing+=(gdal-bin)                   # ogr2ogr: benchmarks/boundaries.py anchor
if (( want_browser )); then
  have_pkg chromium || missing+=(chromium)                  # browser tests drive Debian's Chromium
fi
if (( ${#missing[@]} )); then
  cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    say "missing Debian packages. Run as root:"
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive $cmd"
    exit 1
  fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $cmd >/dev/null || { apt-get update -qq && $cmd >/dev/null; }
  # a fresh PostgreSQL install decides the major version only now
  major=$(pg_major)
  if ! have_pkg "postgresql-${major}-postgis-3"; then
    apt-get install -y --no-install-recommends "postgresql-${major}-postgis-3" >/dev/null
  fi
fi

# --- PostgreSQL running --------------------------------------------------------------------
if ! pg_isready -q -h localhost; then
  say "starting PostgreSQL ${major}"
  if [[ $(id -u) -eq 0 ]]; then
    pg_ctlcluster --skip-systemctl-redirect "${major}" main start
  else
    say "PostgreSQL is not running. Run: sudo pg_ctlcluster ${major} main start"
    exit 1
  fi
  for _ in $(seq 1 30); do pg_isready -q -h localhost && break; sleep 1; done
fi

# --- Python environment --------------------------------------------------------------------
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  say "gridmap needs Python >= 3.11 (found $("$PYTHON" --version)); set PYTHON=python3.11"; exit 1; }
stamp="$VENV/.gridmap-installed"
if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# reinstall only when the dependency list changed
if [[ ! -f "$stamp" ]] || ! cmp -s pyproject.toml "$stamp"; then
  say "installing gridmap and its test extras into $VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[test]'
  cp pyproject.toml "$stamp"
fi
say "ready (PostgreSQL ${major}, $("$VENV/bin/python" --version))"
