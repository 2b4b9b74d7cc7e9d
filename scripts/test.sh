#!/usr/bin/env bash
# Every test: the Rust unit tests of the algorithms (crate segment-core), then the SQL tests
# (pytest) against the installed extension in a throwaway cluster, including every SQL example
# in the docs, on each supported PostgreSQL: 15, 16 and 18, or only the one RFM_PG names
# (RFM_PG=16 scripts/test.sh, for a quick local run); on 15 also on a Citus cluster of three
# local servers (tests/citus, scripts/citus.sh). Exits non-zero when any test fails.
# Extra arguments go to pytest (e.g. -k gini).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ -z "${RFM_PG:-}" ]; then
    failed=()
    for major in 15 16 18; do
        say "PostgreSQL $major"
        RFM_PG=$major RFM_SKIP_UNIT_TESTS=${RFM_SKIP_UNIT_TESTS:-} bash "$ROOT/scripts/test.sh" "$@" || failed+=("$major")
        RFM_SKIP_UNIT_TESTS=1   # once is enough
    done
    [ "${#failed[@]}" = 0 ] || die "tests failed on PostgreSQL ${failed[*]}"
    say "all tests passed on PostgreSQL 15, 16 and 18"
    exit 0
fi

"$ROOT/scripts/setup.sh"
if [ -z "${RFM_SKIP_UNIT_TESTS:-}" ]; then
    say "Rust unit tests of segment-core (the arithmetic; needs no PostgreSQL)"
    (cd "$ROOT" && cargo test -p segment-core --release --quiet)
fi
build_and_install
RFM_PACKAGE=$("$ROOT/scripts/package.sh")
export RFM_PACKAGE
if [ "$PG_MAJOR" = 15 ]; then
    # pg_cron (Debian's package, for 15 only) runs its jobs in background workers in database
    # rfm_cron, which tests/test_history.py creates.
    export RFM_SERVER_OPTIONS="${RFM_SERVER_OPTIONS:-} -c shared_preload_libraries=pg_cron -c cron.database_name=rfm_cron -c cron.use_background_workers=on -c max_worker_processes=20"
else
    # The fuzzers' full runs are 15's; the other majors get a shorter one of each.
    export RFM_FUZZ_QUERIES=${RFM_FUZZ_QUERIES:-3000} RFM_SQLSMITH_QUERIES=${RFM_SQLSMITH_QUERIES:-3000}
fi
cluster_start
if [ "$PG_MAJOR" = 15 ]; then
    # tests/citus: a coordinator and two workers (Citus 13.2.2 builds for 15 only here).
    source "$ROOT/scripts/citus.sh"
    if citus_install; then
        trap 'cluster_stop; citus_stop' EXIT   # before starting: a failed start leaves no server
        citus_start
    fi
fi
say "SQL tests on PostgreSQL $PG_MAJOR"
(cd "$ROOT/tests" && "$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@")
