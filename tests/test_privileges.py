"""Least privilege: the extension is trusted, so a database owner who is no superuser installs
it (as with pgcrypto or hstore); a role with nothing but the default privileges runs every
documented example; and the functions that run SQL pin their search_path, so that an object a
user creates cannot stand in for a built-in they call."""
import psycopg
import pytest

from conftest import connect, load_cdnow, psql, scalar
from test_docs import DOCUMENTS, examples, normalize

OWNER, ANALYST, DATABASE = "rfm_owner", "rfm_analyst", "rfm_least"


@pytest.fixture(scope="module")
def least(database):
    """A database owned by OWNER, who installed rfm_segment and loaded CDNOW, and ANALYST, who
    may read cdnow_orders and create tables in a schema of their own, nothing more."""
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        for role in (OWNER, ANALYST):
            admin.execute(f"DROP ROLE IF EXISTS {role}")
            admin.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        admin.execute(f"CREATE DATABASE {DATABASE} OWNER {OWNER}")
    with connect(DATABASE, user=OWNER) as owner:
        owner.execute("CREATE EXTENSION rfm_segment")
    load_cdnow(DATABASE, user=OWNER)
    with connect(DATABASE, user=OWNER) as owner:
        owner.execute(f"GRANT SELECT ON cdnow_orders TO {ANALYST}")
    with connect(DATABASE) as admin:  # what a DBA would set up for an analyst
        admin.execute(f"CREATE SCHEMA analyst AUTHORIZATION {ANALYST}")
        admin.execute(f"ALTER ROLE {ANALYST} IN DATABASE {DATABASE} SET search_path = analyst, public")
    yield DATABASE
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE {DATABASE} WITH (FORCE)")
        admin.execute(f"DROP ROLE {OWNER}")
        admin.execute(f"DROP ROLE {ANALYST}")


def test_a_database_owner_installs_and_updates_it_without_superuser(least):
    with connect(least, user=OWNER) as owner:
        assert not scalar(owner, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert scalar(owner, "SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'rfm_segment'") == OWNER
    # In a database of the owner's own, so that the other tests keep the fresh install: the
    # release 0.1.0, then updated in place.
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}_update WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}_update OWNER {OWNER}")
    with connect(f"{DATABASE}_update", user=OWNER) as owner:
        owner.execute("CREATE EXTENSION rfm_segment VERSION '0.1.0'")
        owner.execute("ALTER EXTENSION rfm_segment UPDATE")
        assert scalar(owner, "SELECT extversion FROM pg_extension WHERE extname = 'rfm_segment'") == "0.2.0"
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE {DATABASE}_update WITH (FORCE)")


def test_a_role_with_default_privileges_may_use_every_function_and_type(least):
    with connect(least, user=OWNER) as owner:
        refused = owner.execute(
            f"""SELECT p.oid::regprocedure::text FROM pg_proc p
                JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
                JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment'
                WHERE NOT has_function_privilege('{ANALYST}', p.oid, 'EXECUTE')
                UNION ALL
                SELECT t.oid::regtype::text FROM pg_type t
                JOIN pg_depend d ON d.objid = t.oid AND d.classid = 'pg_type'::regclass AND d.deptype = 'e'
                JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment'
                WHERE NOT has_type_privilege('{ANALYST}', t.oid, 'USAGE')""").fetchall()
        assert refused == []
        assert scalar(owner, "SELECT count(*) FROM pg_proc WHERE prosecdef AND pronamespace = 'public'::regnamespace") == 0


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.name)
def test_every_documented_example_runs_as_the_analyst(least, document):
    """The examples of test_docs again, as ANALYST: the same output, or the same error."""
    with connect(least) as admin:  # what an earlier document made goes
        admin.execute("DROP SCHEMA analyst CASCADE")
        admin.execute(f"CREATE SCHEMA analyst AUTHORIZATION {ANALYST}")
    for sql, expected in examples(document):
        shows_error = expected is not None and expected.lstrip().startswith("ERROR")
        actual = psql(least, sql=sql, check=not shows_error, user=ANALYST)
        if expected is not None:
            assert normalize(actual) == normalize(expected), f"in {document.name}:\n{sql}"
        else:
            assert "ERROR" not in actual, f"in {document.name}:\n{sql}\n{actual}"


def test_a_function_planted_on_the_search_path_does_not_hijack_rfm_snapshot(least):
    """ANALYST puts a schema of their own before pg_catalog, with an isfinite() that would
    raise if called; rfm_snapshot, which calls isfinite, still uses the built-in (without its
    pinned search_path it called the plant: checked by hand)."""
    with connect(least, user=ANALYST) as analyst:
        analyst.execute("""CREATE FUNCTION analyst.isfinite(timestamptz) RETURNS boolean LANGUAGE plpgsql AS
                           $$BEGIN RAISE EXCEPTION 'hijacked'; END$$""")
        analyst.execute("SET search_path = analyst, pg_catalog, public")
        # The plant works: an unqualified call in this session reaches it.
        with pytest.raises(psycopg.errors.RaiseException):
            analyst.execute("SELECT isfinite(now())")
        analyst.execute("""CREATE TABLE analyst.orders AS SELECT 1::bigint AS id, date '2024-01-01' AS at, 5.0 AS amount""")
        analyst.execute("""CREATE TABLE analyst.history (as_of timestamptz, customer_id bigint, recency_days float8,
                           frequency bigint, monetary float8, r smallint, f smallint, m smallint, segment text)""")
        written = scalar(analyst, "SELECT public.rfm_snapshot('analyst.orders', 'id', 'at', 'amount', 'analyst.history', '2024-02-01')")
        assert written == 1
        analyst.execute("DROP TABLE analyst.orders, analyst.history")
        analyst.execute("DROP FUNCTION analyst.isfinite(timestamptz)")
