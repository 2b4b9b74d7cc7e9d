"""Citus: the same queries on a local table and on a copy distributed over two workers, in one
run on the cluster scripts/citus.sh starts (bench/run.sh citus). The three servers share this
machine's cores, so the ratios say what the distribution costs or saves here, not what two
machines would do. Also the bytes the coordinator receives, with and without the weighted forms.

Usage: python bench/citus.py <coordinator port> [orders]
"""
import re
import sys

import psycopg

from common import median_seconds, print_table

RUNS = 5


def bytes_received(conn, query):
    rows = conn.execute(f"EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) {query}").fetchall()
    text = "\n".join(r[0] for r in rows)
    units = {"bytes": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3}
    return sum(int(n) * units[u] for n, u in re.findall(r"Tuple data received from nodes: (\d+) (\w+)", text))


def main():
    port = int(sys.argv[1])
    orders = int(sys.argv[2]) if len(sys.argv) > 2 else 4_000_000
    customers = orders // 10
    conn = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="rfm_citus", autocommit=True)
    conn.execute("SET client_min_messages = warning")
    conn.execute("CREATE EXTENSION IF NOT EXISTS rfm_segment")
    conn.execute("DROP TABLE IF EXISTS bench_local, bench_dist")
    conn.execute(f"""
        CREATE TABLE bench_local AS
        SELECT 1 + (i * 7919) % {customers} AS customer_id,
               timestamptz '2024-01-01' + ((i * 104729) % 63072000) * interval '1 second' AS ordered_at,
               ((1 + (i * 31337) % 20000) / 100.0)::float8 AS amount
        FROM generate_series(1::bigint, {orders}) AS i""")
    conn.execute("CREATE TABLE bench_dist (LIKE bench_local)")
    conn.execute("SELECT create_distributed_table('bench_dist', 'customer_id')")
    conn.execute("INSERT INTO bench_dist SELECT * FROM bench_local")
    conn.execute("VACUUM ANALYZE bench_local")
    conn.execute("VACUUM ANALYZE bench_dist")
    shards = conn.execute("SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'bench_dist'::regclass").fetchone()[0]
    print(f"\n{orders:,} orders of {customers:,} customers; bench_dist has {shards} shards on 2 workers")

    per_customer = """SELECT customer_id, max(ordered_at) AS last, count(*) AS f, sum(amount) AS m
                      FROM {t} GROUP BY customer_id"""
    queries = {
        "per-customer stage (GROUP BY customer_id), counted": "SELECT count(*), sum(f) FROM (" + per_customer + ") c",
        "window scores OVER () over the per-customer rows": """SELECT count(*), sum(r + f + m) FROM (
            SELECT rfm_score(max(ordered_at)) OVER () AS r, rfm_score(count(*)) OVER () AS f,
                   rfm_score(sum(amount)) OVER () AS m FROM {t} GROUP BY customer_id) s""",
        "one pass rfm_scores(rfm_agg(...))": """SELECT count(*), sum(r + f + m) FROM rfm_scores(
            (SELECT rfm_agg(customer_id, ordered_at, amount) FROM {t}), timestamptz '2026-01-01')""",
        "one pass, summaries per customer rolled up": """SELECT count(*), sum(r + f + m) FROM rfm_scores(
            (SELECT rollup(s) FROM (SELECT rfm_agg(customer_id, ordered_at, amount) AS s FROM {t}
                                    GROUP BY customer_id) c), timestamptz '2026-01-01')""",
        "gini(amount) over every order": "SELECT gini(amount) FROM {t}",
    }
    for name, query in queries.items():
        local = median_seconds(conn, query.format(t="bench_local"), RUNS)
        dist = median_seconds(conn, query.format(t="bench_dist"), RUNS)
        print_table(name, [("local table", local), ("distributed table", dist)], ["local table"])

    recency = """(SELECT customer_id, floor(extract(epoch FROM timestamptz '2026-01-01' - max(ordered_at)) / 86400) AS d,
                         count(*) AS f FROM bench_dist GROUP BY customer_id)"""
    compact = {
        "recency edges": (f"SELECT rfm_breaks(d, 5, true) FROM {recency} c",
                          f"SELECT rfm_breaks(d, 5, true, n) FROM (SELECT d, count(*) AS n FROM {recency} c GROUP BY d) h"),
        "frequency edges": (f"SELECT rfm_breaks(f, 5, false) FROM {recency} c",
                            f"SELECT rfm_breaks(f, 5, false, n) FROM (SELECT f, count(*) AS n FROM {recency} c GROUP BY f) h"),
        "gini of purchase counts": (f"SELECT gini(f) FROM {recency} c",
                                    f"SELECT gini(concentration_agg(f, n)) FROM (SELECT f, count(*) AS n FROM {recency} c GROUP BY f) h"),
        "gini of amounts (no histogram)": ("SELECT gini(amount) FROM bench_dist", None),
    }
    print("\nBytes the coordinator receives (EXPLAIN ANALYZE: Tuple data received from nodes)")
    print(f"  {'global step':<34} {'rows gathered':>15} {'histogram':>12} {'ratio':>8}")
    for name, (rows, histogram) in compact.items():
        gathered = bytes_received(conn, rows)
        if histogram is None:
            print(f"  {name:<34} {gathered:>15,} {'-':>12} {'-':>8}")
            continue
        assert conn.execute(rows).fetchall() == conn.execute(histogram).fetchall(), name
        shipped = bytes_received(conn, histogram)
        print(f"  {name:<34} {gathered:>15,} {shipped:>12,} {gathered / shipped:>7.0f}x")
    conn.execute("DROP TABLE bench_local, bench_dist")


if __name__ == "__main__":
    main()
