#!/usr/bin/env bash
# The main job, end to end: build and install rfm_segment, start a throwaway PostgreSQL cluster,
# load the bundled CDNOW purchases, print the segmentation report and draw its pictures (into
# docs/images). The cluster is removed at the end.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$ROOT/scripts/setup.sh"
build_and_install
cluster_start
psql_run -c 'CREATE DATABASE rfm_demo'
psql_run -d rfm_demo -c 'CREATE EXTENSION rfm_segment'
say "loading CDNOW (69,659 purchases of 23,570 customers)"
load_cdnow rfm_demo
psql_run -d rfm_demo -f "$ROOT/scripts/cdnow_report.sql"
say "drawing the pictures"
"$ROOT/.venv/bin/python" "$ROOT/scripts/pictures.py" rfm_demo "$ROOT/docs/images"
