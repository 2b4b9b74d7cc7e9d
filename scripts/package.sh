#!/usr/bin/env bash
# A binary package for one PostgreSQL (RFM_PG, as for the other scripts): target/rfm_segment-<version>-pg<major>.tar.gz, holding the
# files an install puts in place, under the paths pg_config gives (see README, "For packagers"):
# the library, the control file, the current install script, the upgrade scripts, and the
# frozen install scripts of earlier releases. Prints the tarball's path.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)
tree=${CARGO_TARGET_DIR:-$ROOT/target}/release/rfm_segment-pg$PG_MAJOR
say "packaging rfm_segment $version for PostgreSQL $PG_MAJOR"
rm -rf "$tree"   # a tree of an earlier package may hold files of another layout
(cd "$ROOT" && quietly package.log cargo pgrx package "${PG_FEATURES[@]}" --pg-config "$PG_CONFIG")
extension_dir=$tree$("$PG_CONFIG" --sharedir)/extension
cp "$ROOT"/sql/rfm_segment--*.sql "$extension_dir/"
tarball=$ROOT/target/rfm_segment-$version-pg$PG_MAJOR.tar.gz
tar -C "$tree" -czf "$tarball" --owner=0 --group=0 .
echo "$tarball"
