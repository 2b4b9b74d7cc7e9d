"""The extension as a package: install into a schema, drop cleanly, document every function."""
import re

import pytest

from conftest import ROOT, connect, fresh_database, scalar


def test_every_function_aggregate_and_type_has_a_comment(db):
    undocumented = db.execute(
        """SELECT pg_describe_object(d.classid, d.objid, 0)
           FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
           WHERE e.extname = 'rfm_segment' AND d.deptype = 'e'
             AND obj_description(d.objid, d.classid::regclass::name) IS NULL
             -- PostgreSQL 18 also lists the array types of the extension's types as its members;
             -- an array type has no comment of its own.
             AND NOT EXISTS (SELECT FROM pg_type t WHERE d.classid = 'pg_type'::regclass
                             AND t.oid = d.objid AND t.typcategory = 'A')"""
    ).fetchall()
    assert undocumented == []
    assert scalar(db, "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid WHERE e.extname = 'rfm_segment'") > 20


def test_every_function_has_a_reference_entry(db):
    """Each function and aggregate a user calls (not a type's or an aggregate's support
    function) is named in a heading of docs/reference.md."""
    headings = "\n".join(line for line in (ROOT / "docs/reference.md").read_text().splitlines()
                         if line.startswith("#"))
    names = [row[0] for row in db.execute(
        """SELECT DISTINCT p.proname FROM pg_proc p
           JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
           JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment'
           WHERE NOT EXISTS (SELECT FROM pg_aggregate a WHERE p.oid IN (a.aggtransfn, a.aggfinalfn,
                               a.aggcombinefn, a.aggserialfn, a.aggdeserialfn))
             AND NOT EXISTS (SELECT FROM pg_type t WHERE p.oid IN (t.typinput, t.typoutput,
                               t.typreceive, t.typsend))
           ORDER BY 1""").fetchall()]
    assert len(names) > 30
    missing = [name for name in names if not re.search(rf"\b{name}\b", headings)]
    assert not missing, f"no reference entry: {missing}"


def test_every_function_is_immutable_and_parallel_safe(db):
    """Every function computes from its arguments alone, except the segment history's, which
    read and write tables."""
    rows = db.execute(
        """SELECT p.oid::regprocedure::text FROM pg_proc p
           JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
           JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment'
           WHERE p.provolatile <> 'i' OR p.proparallel <> 's'"""
    ).fetchall()
    assert sorted(rows) == [("rfm_snapshot(regclass,name,name,name,regclass,timestamp with time zone)",),
                            ("rfm_snapshot_summary(regclass,name,name,name,timestamp with time zone,anyelement)",)]


def test_install_into_a_schema_and_drop_cleanly():
    fresh_database("rfm_schema_test")
    with connect("rfm_schema_test") as conn:
        conn.execute("CREATE SCHEMA analytics")
        conn.execute("CREATE EXTENSION rfm_segment SCHEMA analytics")
        assert scalar(conn, "SELECT analytics.gini(x) FROM generate_series(0, 9) x") == pytest.approx(0.36666666666666664)
        assert scalar(
            conn, "SELECT analytics.top_share(analytics.concentration_agg(x), 0.5) FROM generate_series(0, 9) x"
        ) == pytest.approx(35 / 45)
        conn.execute("DROP EXTENSION rfm_segment")
        leftovers = conn.execute(
            """SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'analytics'::regnamespace
               UNION ALL SELECT 'type ' || typname FROM pg_type WHERE typnamespace = 'analytics'::regnamespace"""
        ).fetchall()
        assert leftovers == []
        conn.execute("CREATE EXTENSION rfm_segment")  # and again, into public
        assert scalar(conn, "SELECT extversion FROM pg_extension WHERE extname = 'rfm_segment'") == "0.2.0"
    with connect("postgres") as admin:
        admin.execute("DROP DATABASE rfm_schema_test WITH (FORCE)")
