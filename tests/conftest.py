"""Fixtures for the SQL tests: a database with rfm_segment and the CDNOW purchases loaded.

scripts/test.sh starts a throwaway cluster and exports PGHOST, PGPORT and PGUSER for it.
"""
import os
import pathlib
import subprocess

import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The psql of the PostgreSQL under test: PG_CONFIG (scripts/common.sh exports it) or the
# pg_config on PATH.
PSQL = str(
    pathlib.Path(
        subprocess.run(
            [os.environ.get("PG_CONFIG", "pg_config"), "--bindir"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    ) / "psql"
)
TEST_DB = "rfm_test"
# What a clear error of the extension may be: data (22), integrity (23), syntax or access (42),
# resources (53, 54), not supported (0A); and what a message must never hold: Rust panic text.
ALLOWED_CLASSES = {"22", "23", "42", "53", "54", "0A"}
PANIC_TEXT = ("panicked", "called `Option::unwrap()`", "called `Result::unwrap()`",
              "index out of bounds", "attempt to", "RUST_BACKTRACE", "rust_begin_unwind")


def connect(dbname, **kwargs):
    return psycopg.connect(dbname=dbname, autocommit=True, **kwargs)


def psql(dbname, sql=None, file=None, stdin=None, check=True, user=None):
    """Runs psql like a user would (`user`, or the tests' superuser); returns stdout+stderr as
    text."""
    args = [PSQL, "-X", "-q", "-d", dbname] + (["-U", user] if user else [])
    args += ["-v", "ON_ERROR_STOP=1"] if check else []
    args += ["-f", str(file)] if file else []
    result = subprocess.run(
        args, input=(sql if sql is not None else stdin), capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"psql failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def fresh_database(name):
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def load_cdnow(dbname, user=None):
    with open(ROOT / "tests/data/CDNOW_master.txt") as data:
        psql(dbname, file=ROOT / "scripts/load_cdnow.sql", stdin=data.read(), user=user)


@pytest.fixture(scope="session")
def database():
    if "PGPORT" not in os.environ:
        pytest.exit("run the tests with scripts/test.sh, which starts the database they need", 2)
    fresh_database(TEST_DB)
    with connect(TEST_DB) as conn:
        conn.execute("CREATE EXTENSION rfm_segment")
    load_cdnow(TEST_DB)
    return TEST_DB


@pytest.fixture
def db(database):
    with connect(database) as conn:
        yield conn


def scalar(conn, query, params=None):
    return conn.execute(query, params).fetchone()[0]


def sql_error(conn, query, params=None):
    """The error a query raises (asserting that it raises), after checking the backend lives."""
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(query, params)
    assert scalar(conn, "SELECT 1") == 1, "the session must survive the error"
    return caught.value.diag


def assert_clear_error(conn, query, sqlstate, words, hint=""):
    """The query fails with `sqlstate` and a message holding `words`, the session survives, and
    the error has a hint holding `hint` (any hint for "", none required for None)."""
    diag = sql_error(conn, query)
    assert diag.sqlstate == sqlstate, diag.message_primary
    assert words in diag.message_primary, diag.message_primary
    if hint is not None:
        assert diag.message_hint and hint in diag.message_hint, diag.message_hint


def force_parallel(conn):
    """Makes the planner use parallel workers even for small tables, with the leader only
    gathering, so that serialize, deserialize and combine really run."""
    for setting in ("parallel_setup_cost = 0", "parallel_tuple_cost = 0", "min_parallel_table_scan_size = 0",
                    "max_parallel_workers_per_gather = 2", "parallel_leader_participation = off"):
        conn.execute(f"SET {setting}")
