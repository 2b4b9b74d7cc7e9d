"""Upgrades: 0.1.0 as released (its frozen install script) updated in place to the current
version keeps the objects built on it working, and leaves the same catalog as a fresh install
(the approach of timescaledb-toolkit's update tester). Also: every C symbol that a SQL script
names exists in the built library."""
import os
import re
import subprocess

import pytest

from conftest import ROOT, connect, fresh_database, scalar

CURRENT = "0.2.0"

# What an extension's SQL surface is, as the catalog holds it: functions with their properties
# and comments, aggregates with their support functions, types with their I/O functions.
CATALOG = """
SELECT 'function ' || p.oid::regprocedure || ' returns ' || pg_get_function_result(p.oid)
       || ' ' || p.provolatile::text || p.proparallel::text || p.proisstrict::text || p.proretset::text
       || ' ' || coalesce(p.prosrc, '') || ' ' || p.prokind::text || ' ' || p.prosecdef::text
       || ' ' || coalesce(p.proconfig::text, 'no settings')
       || ' -- ' || coalesce(obj_description(p.oid, 'pg_proc'), 'no comment')
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment' AND d.deptype = 'e'
UNION ALL
SELECT 'aggregate ' || a.aggfnoid::regprocedure || ' ' || a.aggtransfn::regproc || ' '
       || a.aggfinalfn::regproc || ' ' || a.aggcombinefn::regproc || ' ' || a.aggserialfn::regproc
       || ' ' || a.aggdeserialfn::regproc || ' ' || a.aggfinalmodify::text || ' ' || a.aggtransspace
       || ' ' || a.aggtranstype::regtype
FROM pg_aggregate a JOIN pg_depend d ON d.objid = a.aggfnoid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment' AND d.deptype = 'e'
UNION ALL
SELECT 'type ' || t.typname || ' ' || t.typinput::regproc || ' ' || t.typoutput::regproc || ' '
       || t.typreceive::regproc || ' ' || t.typsend::regproc || ' ' || t.typstorage::text
       || ' -- ' || coalesce(obj_description(t.oid, 'pg_type'), 'no comment')
FROM pg_type t JOIN pg_depend d ON d.objid = t.oid AND d.classid = 'pg_type'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment' AND d.deptype = 'e'
ORDER BY 1
"""

# Objects of every family built on 0.1.0, and the answers they give.
USERS_OBJECTS = [
    "CREATE TABLE orders AS SELECT (i % 97) AS customer_id, timestamptz '2024-01-01' + i * interval '7 hours' AS at, (i % 13) * 1.5 AS amount FROM generate_series(1, 5000) i",
    "CREATE TABLE stored AS SELECT concentration_agg(amount) AS c, rfm_agg(customer_id, at, amount) AS r, rfm_agg('c' || customer_id, at, amount) AS t FROM orders",
    "CREATE VIEW customer_abc AS SELECT customer_id, abc_class(sum(amount)) OVER () AS class, rfm_score(sum(amount)) OVER () AS m FROM orders GROUP BY customer_id",
    "CREATE MATERIALIZED VIEW segments AS SELECT segment, count(*) AS customers FROM stored, rfm_scores(r) GROUP BY segment",
]
ANSWERS = [
    "SELECT gini(c), top_share(c, 0.2), concentration_report(c)::text FROM stored",
    "SELECT array_agg(s ORDER BY customer_id)::text FROM stored, rfm_scores(r) s",
    "SELECT array_agg(s ORDER BY customer_id)::text FROM stored, rfm_scores(t) s",
    "SELECT array_agg(v ORDER BY customer_id)::text FROM customer_abc v",
    "SELECT array_agg(v ORDER BY segment)::text FROM segments v",
    "SELECT gini(amount), abc_limits(amount)::text, rfm_breaks(amount)::text FROM orders",
]


def catalog(conn):
    return [row[0] for row in conn.execute(CATALOG).fetchall()]


def test_update_from_0_1_0_keeps_objects_and_equals_a_fresh_install():
    fresh_database("rfm_fresh")
    fresh_database("rfm_updated")
    with connect("rfm_fresh") as fresh, connect("rfm_updated") as updated:
        fresh.execute("CREATE EXTENSION rfm_segment")
        assert scalar(fresh, "SELECT extversion FROM pg_extension WHERE extname = 'rfm_segment'") == CURRENT
        updated.execute("CREATE EXTENSION rfm_segment VERSION '0.1.0'")
        for statement in USERS_OBJECTS:
            updated.execute(statement)
        before = [updated.execute(query).fetchall() for query in ANSWERS]
        updated.execute("ALTER EXTENSION rfm_segment UPDATE")
        assert scalar(updated, "SELECT extversion FROM pg_extension WHERE extname = 'rfm_segment'") == CURRENT
        updated.execute("REFRESH MATERIALIZED VIEW segments")
        after = [updated.execute(query).fetchall() for query in ANSWERS]
        assert after == before
        assert catalog(updated) == catalog(fresh)
    with connect("postgres") as admin:
        admin.execute("DROP DATABASE rfm_fresh WITH (FORCE)")
        admin.execute("DROP DATABASE rfm_updated WITH (FORCE)")


SYMBOL = re.compile(r"'MODULE_PATHNAME',\s*'(\w+)'")


def library_symbols():
    pkglibdir = subprocess.run(
        [os.environ.get("PG_CONFIG", "pg_config"), "--pkglibdir"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    out = subprocess.run(
        ["nm", "-D", "--defined-only", f"{pkglibdir}/rfm_segment.so"],
        capture_output=True, text=True, check=True,
    ).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


SCRIPTS = sorted([*ROOT.glob("src/**/*.sql"), *ROOT.glob("sql/*.sql")])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_symbol_a_script_names_is_in_the_library(script):
    named = set(SYMBOL.findall(script.read_text()))
    symbols = library_symbols()
    # A V1 function needs its info record too, or PostgreSQL refuses to call it.
    missing = sorted(s for s in named if s not in symbols or f"pg_finfo_{s}" not in symbols)
    assert missing == [], f"{script.name} names symbols the library lacks"
