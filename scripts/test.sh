#!/usr/bin/env bash
# Every test: the Rust unit tests of the algorithms (crate segment-core), then the SQL tests (pytest) against the
# installed extension in a throwaway cluster, including every SQL example in the docs.
# Exits non-zero when any test fails. Extra arguments go to pytest (e.g. -k gini).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$ROOT/scripts/setup.sh"
say "Rust unit tests of segment-core (the arithmetic; needs no PostgreSQL)"
(cd "$ROOT" && cargo test -p segment-core --release --quiet)
build_and_install
# pg_cron runs its jobs in background workers (no connection to configure) in database rfm_cron,
# which tests/test_history.py creates.
export RFM_SERVER_OPTIONS="${RFM_SERVER_OPTIONS:-} -c shared_preload_libraries=pg_cron -c cron.database_name=rfm_cron -c cron.use_background_workers=on -c max_worker_processes=20"
cluster_start
say "SQL tests"
(cd "$ROOT/tests" && "$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@")
