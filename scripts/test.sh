#!/usr/bin/env bash
# Every test: the Rust unit tests of the algorithms (crate segment-core), then the SQL tests (pytest) against the
# installed extension in a throwaway cluster, including every SQL example in the docs.
# Exits non-zero when any test fails. Extra arguments go to pytest (e.g. -k gini).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$ROOT/scripts/setup.sh"
say "Rust unit tests of segment-core (the arithmetic; needs no PostgreSQL)"
(cd "$ROOT" && cargo test -p segment-core --release --quiet)
build_and_install
cluster_start
say "SQL tests"
(cd "$ROOT/tests" && "$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@")
