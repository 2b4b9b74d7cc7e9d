#!/usr/bin/env bash
# Installs what building and testing rfm_segment needs, and skips what is already there:
# Debian's PostgreSQL 15 with its server headers, libclang (for pgrx's bindings), cargo-pgrx,
# its configuration for the system PostgreSQL, and a Python virtualenv for the demo or the tests.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"

packages=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-cron libclang-dev clang python3-venv)
is_root || packages+=(sudo)
command -v python3 >/dev/null || packages+=(python3)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A Python without Debian's venv module (e.g. pyenv's) is fine when it has venv itself.
if [ "${#missing[@]}" -gt 0 ] && python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing=("${missing[@]/python3-venv}")
    read -r -a missing <<<"${missing[*]}"
fi
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    quietly apt.log as_root apt-get update -q
    quietly apt.log as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
    say "installing cargo-pgrx $PGRX_VERSION (a few minutes, once)"
    quietly cargo-pgrx.log cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

pgrx_config=${PGRX_HOME:-$HOME/.pgrx}/config.toml
if ! grep -qs "pg$PG_MAJOR = \"$PG_CONFIG\"" "$pgrx_config"; then
    say "pointing cargo-pgrx at $PG_CONFIG"
    quietly pgrx-init.log cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG"
fi

# The Python packages: the demo's few (`setup.sh demo`: a driver and matplotlib, about 80 MB),
# or the tests' (their oracles: pandas, lifetimes, statsmodels, scipy; about 600 MB).
venv=$ROOT/.venv
if [ "${1:-}" = demo ]; then
    imports="psycopg, matplotlib" requirements=$ROOT/scripts/requirements.txt purpose=demo
else
    imports="pytest, psycopg, numpy, pandas, lifetimes, scipy, statsmodels, matplotlib"
    requirements=$ROOT/tests/requirements.txt purpose=test
fi
if ! "$venv/bin/python" -c "import $imports" 2>/dev/null; then
    say "installing the $purpose's Python packages into .venv"
    [ -x "$venv/bin/pip" ] || quietly venv.log python3 -m venv "$venv"
    quietly venv.log "$venv/bin/pip" install -q -r "$requirements"
fi
