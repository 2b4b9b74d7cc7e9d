#!/usr/bin/env bash
# The main job, end to end: build and install rfm_segment, start a throwaway PostgreSQL cluster,
# load the bundled CDNOW purchases, print the segmentation report and draw its pictures (into
# docs/images). The cluster is removed at the end, or with --keep left running with the demo
# database rfm_demo in it, to try the reference's examples on.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

keep=false
case "${1:-}" in
    --keep) keep=true ;;
    "") ;;
    *) echo "usage: scripts/demo.sh [--keep]" >&2; exit 2 ;;
esac

"$ROOT/scripts/setup.sh" demo
build_and_install
cluster_start
psql_run -c 'CREATE DATABASE rfm_demo'
psql_run -d rfm_demo -c 'CREATE EXTENSION rfm_segment'
say "loading CDNOW (69,659 purchases of 23,570 customers)"
load_cdnow rfm_demo
psql_run -d rfm_demo -f "$ROOT/scripts/cdnow_report.sql"
say "drawing the pictures"
"$ROOT/.venv/bin/python" "$ROOT/scripts/pictures.py" rfm_demo "$ROOT/docs/images"
if $keep; then
    trap - EXIT
    stop="$PG_BIN/pg_ctl -D $CLUSTER_DIR/data stop"
    is_root && stop="runuser -u postgres -- $stop"
    say "the cluster keeps running, with rfm_segment and cdnow_orders in database rfm_demo:"
    echo "    $PG_BIN/psql -h 127.0.0.1 -p $PGPORT -U postgres rfm_demo"
    echo "  stop and remove it with:"
    echo "    $stop && rm -rf $CLUSTER_DIR"
fi
