"""Packaging: the version is the same wherever it is written (Cargo.toml, META.json, the
CHANGELOG, the catalog), the upgrade scripts chain every release to it, and the binary package
of scripts/package.sh holds exactly the files an install puts in place, where it puts them."""
import json
import os
import re
import tarfile
import tomllib

import pytest

from conftest import ROOT, connect, scalar

VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]


def test_meta_json_is_pgxn_metadata_of_this_version():
    meta = json.loads((ROOT / "META.json").read_text())
    for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
        assert key in meta, key  # the required keys of PGXN's Meta spec 1.0.0
    assert meta["version"] == VERSION
    assert meta["provides"]["rfm_segment"]["version"] == VERSION
    for path in (meta["provides"]["rfm_segment"]["file"], meta["provides"]["rfm_segment"]["docfile"]):
        assert (ROOT / path).is_file(), path


def test_changelog_has_this_version():
    assert re.search(rf"^## {re.escape(VERSION)}\b", (ROOT / "CHANGELOG.md").read_text(), re.M)


def test_upgrade_scripts_chain_every_release_to_this_version():
    frozen = sorted(p.name for p in (ROOT / "sql").glob("rfm_segment--*.sql") if p.name.count("--") == 1)
    steps = dict(re.match(r"rfm_segment--(.+)--(.+)\.sql", p.name).groups()
                 for p in (ROOT / "sql").glob("rfm_segment--*--*.sql"))
    for name in frozen:
        version = name.removeprefix("rfm_segment--").removesuffix(".sql")
        while version != VERSION:
            assert version in steps, f"no upgrade script from {version}"
            version = steps[version]


def test_the_catalog_shows_the_control_file(db):
    control = (ROOT / "rfm_segment.control").read_text()
    comment = re.search(r"^comment = '(.*)'$", control, re.M).group(1)
    row = db.execute("SELECT default_version, comment FROM pg_available_extensions WHERE name = 'rfm_segment'").fetchone()
    assert row == (VERSION, comment)


@pytest.mark.skipif("RFM_PACKAGE" not in os.environ, reason="scripts/test.sh builds the package and names it in RFM_PACKAGE")
def test_the_package_holds_what_an_install_puts_in_place():
    with tarfile.open(os.environ["RFM_PACKAGE"]) as package:
        files = {m.name.removeprefix("."): package.extractfile(m).read() for m in package.getmembers() if m.isfile()}
    names = {os.path.basename(path) for path in files}
    expected = {"rfm_segment.so", "rfm_segment.control", f"rfm_segment--{VERSION}.sql"}
    expected |= {p.name for p in (ROOT / "sql").glob("rfm_segment--*.sql")}
    assert names == expected
    # scripts/test.sh installed the same build: every file is where the package puts it.
    for path, content in files.items():
        with open(path, "rb") as installed:
            assert installed.read() == content, path
