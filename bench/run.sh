#!/usr/bin/env bash
# Runs the benchmarks against a release build in a throwaway cluster with benchmark-sized
# memory settings. Usage: bench/run.sh [concentration|abc|rfm|value|dynamics|citus ...]   (default: all)
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

export RFM_SERVER_OPTIONS="-c shared_buffers=2GB -c work_mem=512MB -c max_parallel_workers_per_gather=2 -c jit=off"
"$ROOT/scripts/setup.sh"
"$ROOT/.venv/bin/python" -c 'import duckdb' 2>/dev/null || quietly bench-venv.log "$ROOT/.venv/bin/pip" install -q -r "$ROOT/bench/requirements.txt"
build_and_install
cluster_start
psql_run -c 'CREATE DATABASE rfm_bench'
psql_run -d rfm_bench -c 'CREATE EXTENSION rfm_segment'
benches=("$@")
[ "${#benches[@]}" -gt 0 ] || benches=(concentration abc rfm value dynamics citus)
for bench in "${benches[@]}"; do
    if [ "$bench" = citus ]; then
        # a coordinator and two workers beside the cluster above (PostgreSQL 15 only)
        source "$ROOT/scripts/citus.sh"
        [ "$PG_MAJOR" = 15 ] && citus_install || { say "no Citus here: skipping bench/citus.py"; continue; }
        trap 'cluster_stop; citus_stop' EXIT   # before starting: a failed start leaves no server
        citus_start
        "$ROOT/.venv/bin/python" "$ROOT/bench/citus.py" "${RFM_CITUS_PORTS%%,*}"
        continue
    fi
    "$ROOT/.venv/bin/python" "$ROOT/bench/$bench.py" rfm_bench
done
