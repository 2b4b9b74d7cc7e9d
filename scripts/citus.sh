# Sourced by test.sh (after common.sh): a small Citus cluster for tests/citus, on PostgreSQL 15.
#
# Citus is in no package registry CI reaches, so it is built from the release source in
# ../shared/vendor/citus (13.2.2, the last Citus for PostgreSQL 15) when citus.so is missing:
# about 2 minutes on 2 cores, once. The cluster is three local servers, a coordinator and two
# workers, each on a loopback port of its own; rfm_segment is installed into the one shared
# PostgreSQL, so `CREATE EXTENSION rfm_segment` on the coordinator reaches the workers.

CITUS_SOURCE=${RFM_CITUS_SOURCE:-$ROOT/../shared/vendor/citus}
CITUS_VERSION=13.2.2

# Builds and installs Citus unless this PostgreSQL has it. Returns 1, saying why, when the
# source folder is missing (the caller then skips the cluster tests).
citus_install() {
    local libdir
    libdir=$("$PG_CONFIG" --pkglibdir)
    [ -f "$libdir/citus.so" ] && return 0
    if [ ! -f "$CITUS_SOURCE/citus-$CITUS_VERSION.tar.gz" ]; then
        say "no Citus source in $CITUS_SOURCE (citus-$CITUS_VERSION.tar.gz): skipping the Citus tests"
        return 1
    fi
    local missing=() p
    for p in libkrb5-dev liblz4-dev libzstd-dev libssl-dev make gcc patch; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing Citus's build dependencies: ${missing[*]}"
        quietly apt.log as_root apt-get update -q
        quietly apt.log as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    say "building Citus $CITUS_VERSION from $CITUS_SOURCE (about 2 minutes, once)"
    local build
    build=$(mktemp -d)
    # Called as a condition (`if citus_install`), where set -e does not apply: every step
    # checks its own status.
    tar -xzf "$CITUS_SOURCE/citus-$CITUS_VERSION.tar.gz" -C "$build" || die "cannot unpack the Citus source"
    # PostgreSQL 15.20 exports have_createdb_privilege(), which Citus 13.2.2 also defines (a
    # static inline): drop Citus's copy where the server headers declare it.
    if grep -q have_createdb_privilege "$("$PG_CONFIG" --includedir-server)/commands/dbcommands.h"; then
        (cd "$build/citus-$CITUS_VERSION" && patch -s -p1 <"$CITUS_SOURCE/pg15.20-have_createdb_privilege.patch") ||
            die "cannot apply the Citus patch"
    fi
    # with_llvm=no: no second (bitcode) compile of every file, which only JIT inlining would use.
    (cd "$build/citus-$CITUS_VERSION" &&
        quietly citus-build.log ./configure --without-libcurl PG_CONFIG="$PG_CONFIG" &&
        quietly citus-build.log make -j2 with_llvm=no &&
        quietly citus-install.log as_root make install with_llvm=no) || die "building Citus failed"
    rm -rf "$build"
}

# Starts the coordinator and two workers, makes database rfm_citus on each with Citus, registers
# the workers, and exports RFM_CITUS_PORTS (coordinator,worker,worker) for tests/citus.
citus_start() {
    CITUS_DIR=$WORK_DIR/citus
    citus_stop
    CITUS_DIR=$(server_dir "$CITUS_DIR" citus)
    local node port ports=()
    # Citus must come first in shared_preload_libraries; the nodes talk over plain loopback TCP.
    local settings="-c shared_preload_libraries=citus -c citus.node_conninfo=sslmode=disable -c max_connections=200"
    for node in coordinator worker1 worker2; do
        port=$(free_port)
        quietly citus-initdb.log as_server_user "$PG_BIN/initdb" -D "$CITUS_DIR/$node" -U postgres -A trust \
            -E UTF8 --locale=C --no-sync
        quietly citus-pg_ctl.log as_server_user "$PG_BIN/pg_ctl" -D "$CITUS_DIR/$node" -l "$CITUS_DIR/$node.log" -w \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$CITUS_DIR -c fsync=off $settings" start
        psql_run -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE rfm_citus"
        psql_run -h 127.0.0.1 -p "$port" -U postgres -d rfm_citus -c "CREATE EXTENSION citus"
        ports+=("$port")
    done
    psql_run -h 127.0.0.1 -p "${ports[0]}" -U postgres -d rfm_citus \
        -c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]})" \
        -c "SELECT citus_add_node('127.0.0.1', ${ports[1]})" \
        -c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" >/dev/null
    export RFM_CITUS_PORTS="${ports[0]},${ports[1]},${ports[2]}"
    say "Citus cluster: coordinator 127.0.0.1:${ports[0]}, workers ${ports[1]} and ${ports[2]} ($CITUS_DIR)"
}

citus_stop() {
    [ -n "${CITUS_DIR:-}" ] || return 0
    local node
    for node in coordinator worker1 worker2; do
        if [ -f "$CITUS_DIR/$node/postmaster.pid" ]; then
            as_server_user "$PG_BIN/pg_ctl" -D "$CITUS_DIR/$node" -m fast -w stop >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$CITUS_DIR"
}
