"""rfm_segment on a Citus cluster: a coordinator and two workers, three local servers that
scripts/citus.sh starts (Citus 13.2.2 built from ../shared/vendor/citus).

Every query runs twice, on a local table and on a copy distributed by customer_id, and must give
the same rows: the source of truth is the extension on one PostgreSQL, which the other tests
check against published numbers. EXPLAIN (VERBOSE) shows where each stage runs; the weighted
forms must ship histograms, not rows, to the coordinator.
"""
import json
import math
import os
import re
import subprocess

import psycopg
import pytest

from conftest import PSQL, ROOT

PORTS = os.environ.get("RFM_CITUS_PORTS", "")
pytestmark = pytest.mark.skipif(
    not PORTS,
    reason="no Citus cluster: scripts/test.sh starts one on PostgreSQL 15 when ../shared/vendor/citus is there",
)
DB = "rfm_citus"
AS_OF = "timestamptz '1998-07-01'"


def connect(port):
    return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=DB, autocommit=True)


def psql(port, sql=None, file=None, stdin=None):
    args = [PSQL, "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", DB,
            "-v", "ON_ERROR_STOP=1"] + (["-f", str(file)] if file else [])
    result = subprocess.run(args, input=sql if sql is not None else stdin, capture_output=True, text=True)
    assert result.returncode == 0, f"psql failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def coordinator():
    """The coordinator with rfm_segment installed as 0.1.0 and updated (ALTER EXTENSION on the
    coordinator reaches the workers), CDNOW as cdnow_orders (local) and cdnow_dist, and a
    generated table of 2 million orders as gen_orders (local) and gen_dist."""
    port = int(PORTS.split(",")[0])
    with connect(port) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("DROP EXTENSION IF EXISTS rfm_segment CASCADE")
        conn.execute("CREATE EXTENSION rfm_segment VERSION '0.1.0'")
        conn.execute("ALTER EXTENSION rfm_segment UPDATE")
    with open(ROOT / "tests/data/CDNOW_master.txt") as data:
        psql(port, file=ROOT / "scripts/load_cdnow.sql", stdin=data.read())
    psql(port, sql="""
        SET client_min_messages = warning;
        DROP TABLE IF EXISTS cdnow_dist, gen_orders, gen_dist;
        CREATE TABLE cdnow_dist (LIKE cdnow_orders);
        SELECT create_distributed_table('cdnow_dist', 'customer_id');
        INSERT INTO cdnow_dist SELECT * FROM cdnow_orders;
        -- 2 million orders of 200,000 customers over two years, returns among them; the same
        -- rows in both tables (arithmetic, not random()).
        CREATE TABLE gen_orders AS
        SELECT 1 + (i * 7919) % 200000 AS customer_id,
               timestamptz '2024-01-01' + ((i * 104729) % 63072000) * interval '1 second' AS ordered_at,
               (CASE WHEN i % 50 = 0 THEN -1 ELSE 1 END * (1 + (i * 31337) % 20000) / 100.0)::numeric(12, 2) AS amount
        FROM generate_series(1::bigint, 2000000) AS i;
        CREATE TABLE gen_dist (LIKE gen_orders);
        SELECT create_distributed_table('gen_dist', 'customer_id');
        INSERT INTO gen_dist SELECT * FROM gen_orders;
        ANALYZE cdnow_orders; ANALYZE cdnow_dist; ANALYZE gen_orders; ANALYZE gen_dist;
    """)
    with connect(port) as conn:
        yield conn


def same(a, b, rel):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=rel * 1e-3) or a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "{[" and a != b:
        try:
            return same(json.loads(a), json.loads(b), rel)
        except ValueError:
            return False
    return a == b


def assert_same_on_both(conn, query, local, distributed, rel=0.0):
    """`query` ({orders} in it) gives the same rows on the local and the distributed table.
    Floats may differ by `rel` (0: not at all): sums over rows that arrive in another order."""
    expected = conn.execute(query.format(orders=local)).fetchall()
    actual = conn.execute(query.format(orders=distributed)).fetchall()
    assert expected, "the query must return rows"
    assert len(actual) == len(expected)
    for e, a in zip(expected, actual):
        assert same(list(e), list(a), rel), f"{query}\nlocal: {e}\ndistributed: {a}"


def plan(conn, query):
    rows = conn.execute(f"EXPLAIN (VERBOSE, ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {query}").fetchall()
    return "\n".join(r[0] for r in rows)


def worker_queries(text):
    return re.findall(r"Query: (.*)", text)


def bytes_received(text):
    """Every "Tuple data received from nodes" of a plan (the coordinator's intake), in bytes."""
    units = {"bytes": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3}
    return sum(int(n) * units[u] for n, u in re.findall(r"Tuple data received from nodes: (\d+) (\w+)", text))


# ---------------------------------------------------------------------------------------------
# The extension on every node.

def test_the_update_reached_every_worker(coordinator):
    mine = coordinator.execute(
        "SELECT extversion, (SELECT count(*) FROM pg_depend WHERE refobjid = e.oid AND deptype = 'e') "
        "FROM pg_extension e WHERE extname = 'rfm_segment'").fetchone()
    assert mine[0] == "0.2.0" and mine[1] > 150
    workers = coordinator.execute(
        "SELECT result FROM run_command_on_workers($$SELECT extversion || ' ' || (SELECT count(*) "
        "FROM pg_depend WHERE refobjid = e.oid AND deptype = 'e') FROM pg_extension e "
        "WHERE extname = 'rfm_segment'$$)").fetchall()
    assert [w[0] for w in workers] == [f"{mine[0]} {mine[1]}"] * 2


# ---------------------------------------------------------------------------------------------
# Every family, local against distributed. CDNOW amounts are numeric(12,2), as order tables have.

UNGROUPED = {
    "concentration": """SELECT gini(amount::float8), gini_unbiased(amount::float8), hhi(amount::float8),
                               hhi_normalized(amount::float8), top_share(amount::float8, 0.2),
                               pareto_ratio(amount::float8), pareto_ratio(amount::float8, 0.5),
                               concentration_report(concentration_agg(amount::float8))::text
                        FROM {orders} WHERE amount >= 0""",
    "rfm_breaks": "SELECT rfm_breaks(amount::float8), rfm_breaks(cds, 3, true) FROM {orders}",
    "abc_limits": """SELECT abc_limits(v) FROM (SELECT customer_id, sum(amount)::float8 AS v
                                                FROM {orders} GROUP BY customer_id) c""",
    "rfm_scores": f"""SELECT s.* FROM rfm_scores((SELECT rfm_agg(customer_id, order_date::timestamptz, amount::float8)
                                                  FROM {{orders}}), {AS_OF}) s ORDER BY customer_id""",
    "churn": """SELECT (churn_rate(last < '1998-01-01')).*, (value_churn_rate(last < '1998-01-01', v)).*,
                       migration_matrix(first_half, second_half)::text, fluctuation_rate(first_half, second_half)
                FROM (SELECT customer_id, max(order_date) AS last, sum(amount)::float8 AS v,
                             CASE WHEN min(order_date) < '1997-02-15' THEN 'early' ELSE 'late' END AS first_half,
                             CASE WHEN max(order_date) >= '1997-10-01' THEN 'active' ELSE 'lapsed' END AS second_half
                      FROM {orders} GROUP BY customer_id) c""",
    "sbg_fit": """SELECT sbg_fit(k, survivors)::text FROM (
                      SELECT k, count(*) FILTER (WHERE last_quarter >= k) AS survivors
                      FROM (SELECT customer_id, (extract(year FROM max(order_date)) - 1997) * 4
                                   + extract(quarter FROM max(order_date)) - 1 AS last_quarter
                            FROM {orders} WHERE customer_id <= 5000 GROUP BY customer_id) c,
                           generate_series(0, 5) AS k
                      GROUP BY k) s""",
}


@pytest.mark.parametrize("name", UNGROUPED)
def test_ungrouped_aggregates_are_the_same(coordinator, name):
    assert_same_on_both(coordinator, UNGROUPED[name], "cdnow_orders", "cdnow_dist", rel=1e-9)


HISTORIES = """SELECT customer_id, (btyd_history(order_date, amount::float8, '1997-09-30', '7 days')).*
               FROM {orders} GROUP BY customer_id"""
FITS = {
    "bgnbd": f"SELECT bgnbd_fit(x, t_x, \"T\")::text FROM ({HISTORIES}) h",
    "pareto_nbd": f"SELECT pareto_nbd_fit(x, t_x, \"T\")::text FROM ({HISTORIES}) h",
    "gamma_gamma": f"SELECT gamma_gamma_fit(x, mean_spend)::text FROM ({HISTORIES}) h WHERE x > 0 AND mean_spend > 0",
}


@pytest.mark.parametrize("name", FITS)
def test_model_fits_are_the_same(coordinator, name):
    # The fits sort their groups first, so the same customers give the same model to the last
    # bit; a customer's mean spend is a sum of amounts that may arrive in another order.
    rel = 1e-12 if name == "gamma_gamma" else 0.0
    assert_same_on_both(coordinator, FITS[name], "cdnow_orders", "cdnow_dist", rel=rel)


GROUPED = {
    "by_customer": f"""SELECT customer_id, gini(amount::float8), top_share(amount::float8, 0.5),
                              rfm_agg(customer_id, order_date::timestamptz, amount::float8)::text,
                              (btyd_history(order_date, amount::float8, '1997-09-30', '7 days')).*
                       FROM {{orders}} GROUP BY customer_id ORDER BY customer_id""",
    "by_other_column": """SELECT cds, gini(amount::float8), hhi(amount::float8),
                                 concentration_agg(amount::float8)::text, rfm_breaks(amount::float8)
                          FROM {orders} WHERE amount >= 0 GROUP BY cds ORDER BY cds""",
    "scores_per_quarter": """SELECT q, s.segment, count(*), sum(s.monetary)
                             FROM (SELECT date_trunc('quarter', order_date) AS q,
                                          rfm_agg(customer_id, order_date::timestamptz, amount::float8) AS summary
                                   FROM {orders} GROUP BY 1) t, rfm_scores(t.summary) s
                             GROUP BY q, s.segment ORDER BY q, s.segment""",
}


@pytest.mark.parametrize("name", GROUPED)
def test_grouped_aggregates_are_the_same(coordinator, name):
    assert_same_on_both(coordinator, GROUPED[name], "cdnow_orders", "cdnow_dist", rel=1e-12)


WINDOWS = {
    "over_all_customers": f"""SELECT customer_id,
                                     rfm_score(max(order_date)::timestamptz) OVER () AS r,
                                     rfm_score(count(*)) OVER () AS f,
                                     rfm_score(sum(amount)::float8) OVER () AS m,
                                     abc_class(sum(amount)::float8) OVER (),
                                     abc_class_by_rank(sum(amount)::float8) OVER (),
                                     abc_class_computed(sum(amount)::float8) OVER (),
                                     cumulative_share(sum(amount)::float8) OVER ()
                              FROM {{orders}} GROUP BY customer_id ORDER BY customer_id""",
    "per_customer": """SELECT customer_id, order_date, amount,
                              rfm_score(amount::float8) OVER w, rfm_score(cds, 3, true) OVER w,
                              abc_class(greatest(amount, 0)::float8) OVER w
                       FROM {orders} WINDOW w AS (PARTITION BY customer_id)
                       ORDER BY customer_id, order_date, amount, cds""",
}


@pytest.mark.parametrize("name", WINDOWS)
def test_window_functions_are_the_same(coordinator, name):
    assert_same_on_both(coordinator, WINDOWS[name], "cdnow_orders", "cdnow_dist", rel=1e-12)


def test_the_one_pass_is_the_same_on_two_million_orders(coordinator):
    query = f"""SELECT s.* FROM rfm_scores((SELECT rfm_agg(customer_id, ordered_at, amount::float8)
                                            FROM {{orders}}), timestamptz '2026-01-01') s
                ORDER BY customer_id"""
    assert_same_on_both(coordinator, query, "gen_orders", "gen_dist", rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Stored summaries and models in distributed and reference tables.

def test_summaries_stored_in_a_distributed_table_roll_up_the_same(coordinator):
    coordinator.execute("""
        DROP TABLE IF EXISTS summaries_local, summaries_dist, cds_local, cds_dist;
        CREATE TABLE summaries_local AS
            SELECT customer_id, rfm_agg(customer_id, order_date::timestamptz, amount::float8) AS summary
            FROM cdnow_orders GROUP BY customer_id;
        CREATE TABLE summaries_dist (LIKE summaries_local);
        SELECT create_distributed_table('summaries_dist', 'customer_id');
        INSERT INTO summaries_dist SELECT customer_id, rfm_agg(customer_id, order_date::timestamptz, amount::float8)
            FROM cdnow_dist GROUP BY customer_id;
        CREATE TABLE cds_local AS SELECT cds, concentration_agg(amount::float8) AS c
            FROM cdnow_orders WHERE amount >= 0 GROUP BY cds;
        CREATE TABLE cds_dist (LIKE cds_local);
        SELECT create_distributed_table('cds_dist', 'cds');
        INSERT INTO cds_dist SELECT cds, concentration_agg(amount::float8) FROM cdnow_dist WHERE amount >= 0 GROUP BY cds;
    """)
    assert_same_on_both(coordinator, f"""SELECT s.* FROM rfm_scores((SELECT rollup(summary) FROM {{orders}}), {AS_OF}) s
                                         ORDER BY customer_id""", "summaries_local", "summaries_dist")
    assert_same_on_both(coordinator, "SELECT concentration_report(rollup(c))::text FROM {orders}",
                        "cds_local", "cds_dist", rel=1e-12)
    # and the same as from the orders themselves
    assert_same_on_both(coordinator, "SELECT concentration_report(concentration_agg(amount::float8))::text FROM {orders} WHERE amount >= 0",
                        "cdnow_orders", "cdnow_dist", rel=1e-12)


def test_models_in_a_reference_table_score_distributed_customers(coordinator):
    coordinator.execute(f"""
        DROP TABLE IF EXISTS models, histories_local, histories_dist;
        CREATE TABLE models (name text PRIMARY KEY, purchases bgnbd_model, spend gamma_gamma_model);
        SELECT create_reference_table('models');
        INSERT INTO models
        SELECT 'cdnow', (SELECT bgnbd_fit(x, t_x, "T") FROM ({HISTORIES.format(orders='cdnow_orders')}) h),
               (SELECT gamma_gamma_fit(x, mean_spend) FROM ({HISTORIES.format(orders='cdnow_orders')}) h WHERE x > 0 AND mean_spend > 0);
        CREATE TABLE histories_local AS {HISTORIES.format(orders='cdnow_orders')};
        CREATE TABLE histories_dist (LIKE histories_local);
        SELECT create_distributed_table('histories_dist', 'customer_id');
        INSERT INTO histories_dist {HISTORIES.format(orders='cdnow_dist')};
    """)
    query = """SELECT h.customer_id, expected_purchases(m.purchases, 52, x, t_x, "T"), p_alive(m.purchases, x, t_x, "T"),
                      expected_spend(m.spend, x, mean_spend),
                      clv(m.purchases, m.spend, x, t_x, "T", mean_spend, '7 days')
               FROM {orders} h JOIN models m ON m.name = 'cdnow'
               WHERE coalesce(h.mean_spend, 1) > 0 ORDER BY h.customer_id"""
    assert_same_on_both(coordinator, query, "histories_local", "histories_dist")
    # the scoring ran on the workers, with the models' shard copies
    text = plan(coordinator, query.format(orders="histories_dist"))
    assert any("expected_purchases" in q and "models_" in q for q in worker_queries(text)), text


def test_the_segment_history_is_the_same(coordinator):
    history = """(as_of timestamptz NOT NULL, customer_id bigint NOT NULL, recency_days double precision,
                  frequency bigint, monetary double precision, r smallint, f smallint, m smallint,
                  segment text, PRIMARY KEY (as_of, customer_id))"""
    coordinator.execute(f"""
        DROP TABLE IF EXISTS history_local, history_dist;
        CREATE TABLE history_local {history};
        CREATE TABLE history_dist {history};
        SELECT create_distributed_table('history_dist', 'customer_id');
    """)
    for table, orders in (("history_local", "cdnow_orders"), ("history_dist", "cdnow_dist")):
        for as_of in ("1997-12-31", "1998-06-30"):
            count = coordinator.execute(
                f"SELECT rfm_snapshot('{orders}', 'customer_id', 'order_date', 'amount', '{table}', '{as_of}')"
            ).fetchone()[0]
            assert count == 23570
    assert_same_on_both(coordinator, "SELECT * FROM {orders} ORDER BY as_of, customer_id",
                        "history_local", "history_dist", rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Where each stage runs.

def test_the_per_customer_stage_runs_on_the_workers(coordinator):
    text = plan(coordinator, GROUPED["by_customer"].format(orders="cdnow_dist"))
    tasks = worker_queries(text)
    assert tasks and all("GROUP BY" in q and "gini(" in q and "btyd_history(" in q for q in tasks), text
    text = plan(coordinator, WINDOWS["per_customer"].format(orders="cdnow_dist"))
    tasks = worker_queries(text)
    assert tasks and all("rfm_score(" in q and "PARTITION BY" in q for q in tasks), text


def test_a_global_aggregate_gathers_the_rows(coordinator):
    # An internal state is never split by Citus: the workers return the column itself.
    text = plan(coordinator, "SELECT gini(amount::float8) FROM gen_dist WHERE amount >= 0")
    assert not any("gini(" in q for q in worker_queries(text)), text
    assert re.search(r"Custom Scan \(Citus Adaptive\) \(actual rows=19\d{5} ", text), text


def test_over_all_customers_runs_on_the_coordinator(coordinator):
    text = plan(coordinator, WINDOWS["over_all_customers"].format(orders="cdnow_dist"))
    tasks = worker_queries(text)
    assert tasks and all("GROUP BY" in q and "rfm_score(" not in q for q in tasks), text


# ---------------------------------------------------------------------------------------------
# The compact forms: histograms counted on the workers, weighted aggregates on the coordinator.

RECENCY = """(SELECT customer_id, extract(epoch FROM timestamptz '2026-01-01' - max(ordered_at))::float8 / 86400 AS d,
                     count(*) AS orders
              FROM {orders} GROUP BY customer_id)"""
COMPACT = {
    "rfm_breaks": (
        f"SELECT rfm_breaks(floor(d), 5, true) FROM {RECENCY} c",
        f"SELECT rfm_breaks(d, 5, true, n) FROM (SELECT floor(d) AS d, count(*) AS n FROM {RECENCY} c GROUP BY 1) h",
    ),
    "concentration": (
        f"SELECT concentration_report(concentration_agg(orders::float8))::text FROM {RECENCY} c",
        f"""SELECT concentration_report(concentration_agg(orders::float8, n))::text
            FROM (SELECT orders, count(*) AS n FROM {RECENCY} c GROUP BY 1) h""",
    ),
}


@pytest.mark.parametrize("name", COMPACT)
def test_a_histogram_ships_a_fraction_of_the_rows(coordinator, name):
    rows, histogram = COMPACT[name]
    expected = coordinator.execute(rows.format(orders="gen_orders")).fetchall()
    assert coordinator.execute(histogram.format(orders="gen_orders")).fetchall() == expected
    assert coordinator.execute(histogram.format(orders="gen_dist")).fetchall() == expected
    gathered = bytes_received(plan(coordinator, rows.format(orders="gen_dist")))
    text = plan(coordinator, histogram.format(orders="gen_dist"))
    histogram_tasks = [q for q in worker_queries(text) if "read_intermediate_result" not in q]
    assert histogram_tasks and all("count(*)" in q and "GROUP BY" in q for q in histogram_tasks), text
    shipped = bytes_received(text)
    print(f"{name}: {shipped} bytes shipped as a histogram, {gathered} gathered as rows")
    assert 0 < shipped * 10 < gathered, f"{shipped} bytes against {gathered} gathered"


def test_a_fit_over_a_histogram_of_triples_is_the_fit_over_customers(coordinator):
    triples = f"SELECT x, t_x, \"T\", count(*) AS n FROM ({HISTORIES}) h GROUP BY 1, 2, 3"
    for model in ("bgnbd_fit", "pareto_nbd_fit"):
        customers = coordinator.execute(
            f"SELECT {model}(x, t_x, \"T\")::text FROM ({HISTORIES.format(orders='cdnow_orders')}) h").fetchone()
        assert_same_on_both(coordinator, f"SELECT {model}(x, t_x, \"T\", n)::text FROM ({triples}) t",
                            "cdnow_orders", "cdnow_dist")
        weighted = coordinator.execute(
            f"SELECT {model}(x, t_x, \"T\", n)::text FROM ({triples.format(orders='cdnow_dist')}) t").fetchone()
        assert weighted == customers  # the same groups, so the very same model
    gathered = bytes_received(plan(coordinator, FITS["bgnbd"].format(orders="cdnow_dist")))
    shipped = bytes_received(plan(coordinator, f"SELECT bgnbd_fit(x, t_x, \"T\", n) FROM ({triples.format(orders='cdnow_dist')}) t"))
    print(f"bgnbd_fit: {shipped} bytes shipped as a histogram, {gathered} gathered as rows")
    assert 0 < shipped < gathered, f"{shipped} bytes against {gathered} gathered"


# ---------------------------------------------------------------------------------------------
# The reference's Citus examples, run on the cluster.

CITUS_BLOCK = re.compile(r"```sql citus\n(.*?)```\n(?:```\n(.*?)```\n)?", re.S)


def test_the_reference_citus_examples_run(coordinator):
    blocks = CITUS_BLOCK.findall((ROOT / "docs/reference.md").read_text())
    assert blocks, "docs/reference.md has no ```sql citus examples"
    port = int(PORTS.split(",")[0])

    def lines(text):
        return [line.rstrip() for line in text.splitlines()
                if line.strip() and not re.fullmatch(r"\(\d+ rows?\)", line)]

    for sql, expected in blocks:
        actual = psql(port, sql=sql)
        if expected:
            assert lines(actual) == lines(expected), sql
    # the example that scores with rfm_bin does so on the workers
    scoring = next(sql for sql, _ in blocks if "rfm_bin(" in sql)
    tasks = worker_queries(plan(coordinator, scoring.rstrip().rstrip(";")))
    assert tasks and all("rfm_bin(" in q for q in tasks), tasks
