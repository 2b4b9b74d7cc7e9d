"""The segment history and its BI views, as the reference shows them (the SQL is read from
docs/reference.md, so the documented statements are the tested ones): rfm_snapshot against
rfm_scores, the views against pandas, readers during a concurrent refresh, and a real pg_cron
running the documented schedule."""
import re
import time

import pandas as pd
import psycopg
import pytest

from conftest import ROOT, assert_clear_error, connect, load_cdnow, scalar

SNAPSHOTS = ("1997-06-30", "1997-12-31", "1998-06-30")

# BI tools read over plain DBAPI drivers, as here; pandas warns that it tests only SQLAlchemy's.
pytestmark = pytest.mark.filterwarnings("ignore:pandas only supports SQLAlchemy")


def documented_blocks(fence="sql"):
    """The SQL blocks of the reference's segment-history section, in order."""
    text = (ROOT / "docs/reference.md").read_text()
    section = text[text.index("### Segment history, BI views"):]
    section = section[:section.index("\n## ")]
    return re.findall(rf"```{fence}\n(.*?)```\n", section, re.S)


def documented(*starts):
    """The documented statements that begin with one of `starts`."""
    return [b for b in documented_blocks() if b.lstrip().startswith(starts)]


@pytest.fixture
def history(db):
    """rfm_history with three half-year snapshots of CDNOW, and the documented views."""
    db.execute("DROP TABLE IF EXISTS rfm_history CASCADE")
    for block in documented("CREATE TABLE rfm_history"):
        db.execute(block)
    for as_of in SNAPSHOTS:
        db.execute("SELECT rfm_snapshot('cdnow_orders', 'customer_id', 'order_date', 'amount', 'rfm_history', %s)", (as_of,))
    for block in documented("CREATE MATERIALIZED VIEW"):
        db.execute(block)
    return db


def test_a_snapshot_is_what_rfm_scores_gives_and_a_rerun_replaces_it(history):
    db = history
    same = db.execute(
        """SELECT count(*) FROM rfm_history h
           JOIN rfm_scores((SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders
                            WHERE order_date <= '1997-12-31'), as_of => '1997-12-31') s USING (customer_id)
           WHERE h.as_of = '1997-12-31' AND (h.recency_days, h.frequency, h.monetary, h.r, h.f, h.m, h.segment)
                 IS NOT DISTINCT FROM (s.recency_days, s.frequency, s.monetary, s.r, s.f, s.m, s.segment)""").fetchone()[0]
    assert same == 23570
    again = scalar(db, "SELECT rfm_snapshot('cdnow_orders', 'customer_id', 'order_date', 'amount', 'rfm_history', '1997-12-31')")
    assert again == 23570
    assert scalar(db, "SELECT count(*) FROM rfm_history") == 3 * 23570


@pytest.mark.parametrize("call,sqlstate,words", [
    ("'cdnow_orders', 'customer_id', 'order_date', 'amount); DROP TABLE rfm_history; --', 'rfm_history', '1999-01-01'",
     "42703", "does not exist"),
    ("'cdnow_orders', 'no_such_column', 'order_date', 'amount', 'rfm_history', '1999-01-01'", "42703", "no_such_column"),
    ("'no_such_table', 'customer_id', 'order_date', 'amount', 'rfm_history', '1999-01-01'", "42P01", "no_such_table"),
    ("'cdnow_orders', 'customer_id', 'order_date', 'amount', 'cdnow_orders', '1999-01-01'", "42703", "as_of"),
    ("'cdnow_orders', 'customer_id', 'order_date', 'amount', 'rfm_history', 'infinity'", "22008", "finite"),
    ("'cdnow_orders', NULL, 'order_date', 'amount', 'rfm_history', '1999-01-01'", "22004", "NULL"),
    ("'cdnow_orders', 'customer_id', 'order_date', 'amount', NULL, '1999-01-01'", "22004", "NULL"),
    ("'cdnow_orders', 'customer_id', 'order_date', 'amount', 0, '1999-01-01'", "42P01", "must be tables"),
    # cds, the number of CDs, is an integer: no order time.
    ("'cdnow_orders', 'customer_id', 'cds', 'amount', 'rfm_history', '1999-01-01'", "42804", "integer (time)"),
])
def test_snapshot_bad_input_writes_nothing(history, call, sqlstate, words):
    db = history
    # A missing table is PostgreSQL's own error (regclass), raised before the call: no hint.
    hint = None if sqlstate == "42P01" else ""
    assert_clear_error(db, f"SELECT rfm_snapshot({call})", sqlstate, words, hint)
    assert scalar(db, "SELECT count(*) FROM rfm_history") == 3 * 23570


def test_a_role_that_owns_the_tables_needs_nothing_more(database):
    """A non-superuser owning an orders table and a history table takes snapshots."""
    with connect(database) as admin:
        admin.execute("DROP SCHEMA IF EXISTS analyst CASCADE")
        admin.execute("DROP ROLE IF EXISTS analyst")
        admin.execute("CREATE ROLE analyst LOGIN")
        admin.execute("CREATE SCHEMA analyst AUTHORIZATION analyst")
    with psycopg.connect(dbname=database, user="analyst", autocommit=True) as conn:
        conn.execute("SET search_path = analyst, public")
        conn.execute("CREATE TABLE orders (id bigint, at date, amount numeric)")
        conn.execute("INSERT INTO orders VALUES (1, '2024-01-01', 10), (1, '2024-02-01', 5), (2, '2024-01-15', 7)")
        conn.execute(documented("CREATE TABLE rfm_history")[0])
        assert scalar(conn, "SELECT rfm_snapshot('orders', 'id', 'at', 'amount', 'rfm_history', '2024-03-01')") == 2
        assert conn.execute("SELECT customer_id, frequency, monetary FROM rfm_history ORDER BY 1").fetchall() == [
            (1, 2, 15.0), (2, 1, 7.0)]
        # Text ids, into a history table of its own.
        conn.execute("CREATE TABLE text_orders AS SELECT 'c' || id AS id, at, amount FROM orders")
        conn.execute(documented("CREATE TABLE rfm_history")[0].replace("rfm_history", "text_history")
                     .replace("customer_id  bigint", "customer_id  text"))
        assert scalar(conn, "SELECT rfm_snapshot('text_orders', 'id', 'at', 'amount', 'text_history', '2024-03-01')") == 2
        assert conn.execute("SELECT customer_id, frequency FROM text_history ORDER BY 1").fetchall() == [("c1", 2), ("c2", 1)]
        # uuid ids, likewise.
        conn.execute("CREATE TABLE uuid_orders AS SELECT md5(id::text)::uuid AS id, at, amount FROM orders")
        conn.execute(documented("CREATE TABLE rfm_history")[0].replace("rfm_history", "uuid_history")
                     .replace("customer_id  bigint", "customer_id  uuid"))
        assert scalar(conn, "SELECT rfm_snapshot('uuid_orders', 'id', 'at', 'amount', 'uuid_history', '2024-03-01')") == 2
        # md5('1') and md5('2') as Python's hashlib computes them.
        assert conn.execute("SELECT customer_id::text, frequency FROM uuid_history ORDER BY 1").fetchall() == [
            ("c4ca4238-a0b9-2382-0dcc-509a6f75849b", 2), ("c81e728d-9d4c-2f63-6f06-7f89cc14862c", 1)]
        # No orders up to as_of: an empty snapshot (the empty summary is NULL, whatever its type).
        assert scalar(conn, "SELECT rfm_snapshot('uuid_orders', 'id', 'at', 'amount', 'uuid_history', '2023-01-01')") == 0
    with connect(database) as admin:
        admin.execute("DROP SCHEMA analyst CASCADE")
        admin.execute("DROP ROLE analyst")


def read_history(db):
    return pd.read_sql("SELECT * FROM rfm_history", db)


def test_segment_summary_equals_pandas(history):
    db = history
    h = read_history(db)
    per = h.groupby(["as_of", "segment"]).agg(customers=("customer_id", "size"), revenue=("monetary", "sum")).reset_index()
    totals = per.groupby("as_of")[["customers", "revenue"]].transform("sum")
    per["share"] = per.customers / totals.customers
    per["revenue_share"] = per.revenue / totals.revenue
    per["arpu"] = per.revenue / per.customers
    per["arpu_vs_all"] = per.arpu / (totals.revenue / totals.customers)
    # Churn since the previous snapshot, by the segment at the previous one: no new purchase.
    snapshots = sorted(h.as_of.unique())
    churn = []
    for before, now in zip(snapshots, snapshots[1:]):
        pair = h[h.as_of == before].merge(h[h.as_of == now], on="customer_id", suffixes=("_before", "_now"))
        pair["churned"] = pair.frequency_now == pair.frequency_before
        rates = pair.groupby("segment_before").churned.mean().rename("churned_since_previous").reset_index()
        churn.append(rates.rename(columns={"segment_before": "segment"}).assign(as_of=now))
    want = per.merge(pd.concat(churn), on=["as_of", "segment"], how="left").sort_values(["as_of", "segment"])
    got = pd.read_sql("SELECT * FROM segment_summary ORDER BY as_of, segment", db)
    assert list(got.segment) == list(want.segment) and list(got.customers) == list(want.customers)
    for column in ["share", "revenue", "revenue_share", "arpu", "arpu_vs_all", "churned_since_previous"]:
        pd.testing.assert_series_equal(got[column].reset_index(drop=True), want[column].reset_index(drop=True),
                                       check_names=False, rtol=1e-12)


def test_retention_equals_pandas(history):
    db = history
    query = next(b for b in documented_blocks() if "still_in_segment" in b)
    query = query.replace("WHERE a.segment IN ('Champions', 'Loyal Customers')\n", "")
    got = db.execute(query).fetchall()
    h = read_history(db)
    snapshots = sorted(h.as_of.unique())
    want = []
    for before, now in zip(snapshots, snapshots[1:]):
        pair = h[h.as_of == before].merge(h[h.as_of == now], on="customer_id", suffixes=("_a", "_b"))
        pair["stayed"] = pair.segment_b == pair.segment_a
        pair["higher"] = (pair.r_b + pair.f_b + pair.m_b) >= (pair.r_a + pair.f_a + pair.m_a)
        for segment, g in sorted(pair.groupby("segment_a")):
            want.append((pd.Timestamp(before).date(), segment, len(g), round(g.stayed.mean(), 3), round(g.higher.mean(), 3)))
    assert [(r[0], r[1], r[2], float(r[3]), float(r[4])) for r in got] == want


def test_bi_readers_are_not_blocked_by_a_concurrent_refresh(history, database):
    """A refresh holds its transaction open; a BI client (psycopg, pandas read_sql) reads every
    view meanwhile without waiting. A plain REFRESH would block it (checked too, so the test can
    fail)."""
    views = ["segment_summary", "segment_migration", "concentration_trend", "lorenz_series"]
    with connect(database) as refresher, connect(database) as reader:
        reader.execute("SET lock_timeout = '2s'")
        refresher.autocommit = False
        for view in views:
            refresher.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {view}")
        for view in views:
            assert len(pd.read_sql(f"SELECT * FROM {view}", reader)) > 0
        refresher.rollback()
        refresher.execute("REFRESH MATERIALIZED VIEW segment_summary")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            reader.execute("SELECT * FROM segment_summary").fetchall()
        refresher.rollback()


def test_pg_cron_runs_the_documented_schedule():
    """The reference's pg_cron statements, every minute instead of nightly, in the database
    cron.database_name names: both jobs succeed and the history grows."""
    with connect("postgres") as admin:
        if scalar(admin, "SELECT current_setting('server_version_num')::int / 10000") != 15:
            pytest.skip("pg_cron comes from Debian's postgresql-15-cron: PostgreSQL 15 only")
    with connect("postgres") as admin:
        preloaded = scalar(admin, "SHOW shared_preload_libraries")
        cron_db = scalar(admin, "SELECT current_setting('cron.database_name', true)")
    assert "pg_cron" in preloaded and cron_db, (
        "pg_cron is not preloaded: run the tests with scripts/test.sh, whose cluster loads it")
    # pg_cron's scheduler stays connected to its database, and is not restarted once a DROP
    # DATABASE ends it: the database is made once per cluster and cleaned for each run.
    with connect("postgres") as admin:
        if not scalar(admin, "SELECT count(*) FROM pg_database WHERE datname = %s", (cron_db,)):
            admin.execute(f"CREATE DATABASE {cron_db}")
    with connect(cron_db) as conn:
        if scalar(conn, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'"):
            conn.execute("SELECT cron.unschedule(jobid) FROM cron.job")
            conn.execute("DELETE FROM cron.job_run_details")
        conn.execute("DROP EXTENSION IF EXISTS rfm_segment CASCADE")
        conn.execute("DROP TABLE IF EXISTS cdnow_orders, rfm_history CASCADE")
        conn.execute("CREATE EXTENSION rfm_segment")
    load_cdnow(cron_db)
    with connect(cron_db) as conn:
        for block in documented("CREATE TABLE rfm_history", "CREATE MATERIALIZED VIEW"):
            conn.execute(block)
        schedule = re.sub(r"'\d+ \d+ \* \* \*'", "'* * * * *'", documented_blocks("sql pg_cron")[0])
        conn.execute(schedule)
        # Both jobs start at the same minute: the views may refresh before the first snapshot
        # is written, and show it only a minute later.
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline:
            done = conn.execute(
                """SELECT j.jobname FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                   WHERE d.status = 'succeeded' GROUP BY j.jobname""").fetchall()
            if len(done) == 2 and scalar(conn, "SELECT count(*) FROM segment_summary") > 0:
                break
            failed = conn.execute("SELECT return_message FROM cron.job_run_details WHERE status = 'failed'").fetchall()
            assert not failed, failed
            time.sleep(2)
        else:
            pytest.fail("pg_cron did not run both jobs within 200 s: "
                        f"{conn.execute('SELECT * FROM cron.job_run_details').fetchall()}")
        written = scalar(conn, "SELECT count(*) FROM rfm_history")
        assert written == 23570  # every customer, once: each minute's run replaces today's snapshot
        conn.execute("SELECT cron.unschedule(jobid) FROM cron.job")
