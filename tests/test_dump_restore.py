"""A database that keeps the extension's values survives pg_dump and restore (plain SQL through
psql, and the custom format through pg_restore) and COPY in text and binary: every stored
value, view and materialized view gives the same answers in the restored database."""
import subprocess

import pytest

from conftest import PSQL, connect, fresh_database, load_cdnow, psql

BIN = PSQL.rsplit("/", 1)[0]

# One table per storable type, the views that use them, a materialized view, a segment history.
SETUP = """
CREATE TABLE customer_revenue AS
    SELECT customer_id, sum(amount)::float8 AS revenue, ('c' || customer_id) AS text_id FROM cdnow_orders GROUP BY 1;
CREATE TABLE kept_values AS SELECT
    (SELECT concentration_agg(revenue) FROM customer_revenue) AS concentration,
    (SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders) AS summary,
    (SELECT rfm_agg('c' || customer_id, order_date, amount) FROM cdnow_orders) AS text_summary;
CREATE TABLE calibration AS
    SELECT customer_id, (btyd_history(order_date, amount, '1997-09-30', '7 days')).* FROM cdnow_orders GROUP BY 1;
CREATE TABLE kept_models AS SELECT
    bgnbd_fit(x, t_x, "T") AS bgnbd, pareto_nbd_fit(x, t_x, "T") AS pareto_nbd,
    gamma_gamma_fit(x, mean_spend) FILTER (WHERE mean_spend > 0) AS gamma_gamma,
    (SELECT sbg_fit(p, n) FROM (VALUES (0, 1000), (1, 631), (2, 468), (3, 382)) c(p, n)) AS sbg
    FROM calibration;
CREATE VIEW customer_value AS
    SELECT c.customer_id, clv(m.bgnbd, m.gamma_gamma, c.x, c.t_x, c."T", nullif(c.mean_spend, 0), unit => '7 days') AS clv,
           p_alive(m.bgnbd, c.x, c.t_x, c."T") AS p_alive
    FROM calibration c, kept_models m;
CREATE MATERIALIZED VIEW segments AS
    SELECT customer_id, r, f, m, segment FROM rfm_scores((SELECT summary FROM kept_values));
CREATE UNIQUE INDEX ON segments (customer_id);
CREATE TABLE rfm_history (as_of timestamptz NOT NULL, customer_id bigint NOT NULL, recency_days float8,
    frequency bigint, monetary float8, r smallint, f smallint, m smallint, segment text, PRIMARY KEY (as_of, customer_id));
SELECT rfm_snapshot('cdnow_orders', 'customer_id', 'order_date', 'amount', 'rfm_history', '1997-12-31');
"""

# What must answer the same after a restore.
QUERIES = [
    "SELECT concentration::text, summary::text, text_summary::text FROM kept_values",
    "SELECT bgnbd::text, pareto_nbd::text, gamma_gamma::text, sbg::text FROM kept_models",
    "SELECT gini(concentration), top_share(concentration, 0.2) FROM kept_values",
    "SELECT count(*), sum(r + f + m) FROM rfm_scores((SELECT text_summary FROM kept_values))",
    "SELECT sum(clv), sum(p_alive) FROM customer_value",
    "SELECT segment, count(*) FROM segments GROUP BY 1 ORDER BY 1",
    "SELECT segment, count(*), sum(monetary) FROM rfm_history GROUP BY 1 ORDER BY 1",
    "SELECT expected_purchases(bgnbd, 52), sbg_derl(sbg, 0.1) FROM kept_models",
]


def answers(dbname):
    with connect(dbname) as conn:
        return [conn.execute(q).fetchall() for q in QUERIES]


@pytest.fixture(scope="module")
def source():
    fresh_database("rfm_dump_source")
    with connect("rfm_dump_source") as conn:
        conn.execute("CREATE EXTENSION rfm_segment")
    load_cdnow("rfm_dump_source")
    psql("rfm_dump_source", sql=SETUP)
    return "rfm_dump_source", answers("rfm_dump_source")


def run(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, **kwargs)


def test_plain_dump_restored_with_psql(source, tmp_path):
    dbname, expected = source
    dump = tmp_path / "plain.sql"
    run(f"{BIN}/pg_dump", "-Fp", "-f", str(dump), dbname)
    fresh_database("rfm_restored_plain")
    psql("rfm_restored_plain", file=dump)
    assert answers("rfm_restored_plain") == expected


def test_custom_dump_restored_with_pg_restore(source, tmp_path):
    dbname, expected = source
    dump = tmp_path / "custom.dump"
    run(f"{BIN}/pg_dump", "-Fc", "-f", str(dump), dbname)
    fresh_database("rfm_restored_custom")
    run(f"{BIN}/pg_restore", "--exit-on-error", "-d", "rfm_restored_custom", str(dump))
    assert answers("rfm_restored_custom") == expected


@pytest.mark.parametrize("table,columns", [
    ("kept_values", "concentration, summary, text_summary"),
    ("kept_models", "bgnbd, pareto_nbd, gamma_gamma, sbg"),
])
@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_copy_out_and_back_in(source, table, columns, fmt):
    """COPY ... TO and FROM, text and binary: the values read back are the values written."""
    dbname, _ = source
    with connect(dbname) as conn:
        conn.execute(f"DROP TABLE IF EXISTS copied_{table}")
        conn.execute(f"CREATE TABLE copied_{table} AS SELECT {columns} FROM {table} WHERE false")
        with conn.cursor() as cur:
            with cur.copy(f"COPY (SELECT {columns} FROM {table}) TO STDOUT (FORMAT {fmt})") as out:
                data = b"".join(bytes(chunk) for chunk in out)
            with cur.copy(f"COPY copied_{table} FROM STDIN (FORMAT {fmt})") as into:
                into.write(data)
        texts = ", ".join(f"{c.strip()}::text" for c in columns.split(","))
        assert (conn.execute(f"SELECT {texts} FROM copied_{table}").fetchall()
                == conn.execute(f"SELECT {texts} FROM {table}").fetchall())
        conn.execute(f"DROP TABLE copied_{table}")
