"""Segment-dynamics benchmark: a snapshot of every customer written to the history table by
rfm_snapshot, against rfm_scores(rfm_agg(...)) alone over the same orders; and migration_matrix
over two snapshots, against a plain count(*) GROUP BY (from, to) over the same join.
Prints medians and ratios. Run it with bench/run.sh dynamics."""
import os
import sys

import psycopg

import statistics
import time

from common import median_seconds, print_table

ORDERS = int(os.environ.get("BENCH_ORDERS", 10_000_000))
RUNS = int(os.environ.get("BENCH_RUNS", 3))

SCORES_ALONE = """SELECT count(*), count(segment)
                  FROM rfm_scores((SELECT rfm_agg(customer_id, ts, amount) FROM bench_dyn_orders
                                   WHERE ts <= '2022-12-31'), as_of => '2022-12-31')"""
SNAPSHOT = """SELECT rfm_snapshot('bench_dyn_orders', 'customer_id', 'ts', 'amount', 'bench_history', '{as_of}')"""
BY_HAND = """INSERT INTO bench_history (as_of, customer_id, recency_days, frequency, monetary, r, f, m, segment)
             SELECT '{as_of}', customer_id, recency_days, frequency, monetary, r, f, m, segment
             FROM rfm_scores((SELECT rfm_agg(customer_id, ts, amount) FROM bench_dyn_orders
                              WHERE ts <= '{as_of}'), as_of => '{as_of}')"""
JOIN = """FROM (SELECT * FROM bench_history WHERE as_of = '2022-06-30') b
          FULL JOIN (SELECT * FROM bench_history WHERE as_of = '2022-12-31') a USING (customer_id)"""
MIGRATION = f"SELECT migration_matrix(b.segment, a.segment) IS NOT NULL {JOIN}"
GROUP_BY = f"SELECT count(*) FROM (SELECT b.segment, a.segment, count(*) {JOIN} GROUP BY 1, 2) g"


def median_of_snapshots(conn, query, dates):
    """The median time of `query` run once per as_of in `dates` (each a new snapshot)."""
    times = []
    for as_of in dates:
        started = time.perf_counter()
        conn.execute(query.format(as_of=as_of))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    with psycopg.connect(dbname=sys.argv[1], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_dyn_orders, bench_history")
        print(f"generating {ORDERS:,} orders of ~{ORDERS // 10:,} customers ...", flush=True)
        conn.execute(f"""CREATE TABLE bench_dyn_orders AS
            SELECT (random() * {ORDERS // 10})::bigint AS customer_id,
                   timestamptz '2021-01-01' + random() * interval '730 days' AS ts,
                   round((random() * 100)::numeric, 2)::float8 AS amount
            FROM generate_series(1, {ORDERS})""")
        conn.execute("VACUUM ANALYZE bench_dyn_orders")
        conn.execute("""CREATE TABLE bench_history (
            as_of timestamptz NOT NULL, customer_id bigint NOT NULL, recency_days double precision,
            frequency bigint, monetary double precision, r smallint, f smallint, m smallint, segment text,
            PRIMARY KEY (as_of, customer_id))""")
        dates = [f"2022-12-{31 - i:02d}" for i in range(RUNS)]
        rows = [
            ("rfm_scores(rfm_agg(...)) alone", median_seconds(conn, SCORES_ALONE, RUNS)),
            ("INSERT ... SELECT from rfm_scores, written by hand", median_of_snapshots(conn, BY_HAND, dates)),
        ]
        conn.execute("TRUNCATE bench_history")
        rows += [
            ("rfm_snapshot, a new as_of", median_of_snapshots(conn, SNAPSHOT, dates)),
            ("rfm_snapshot again, same as_of (replaces)", median_of_snapshots(conn, SNAPSHOT, dates)),
        ]
        conn.execute("DELETE FROM bench_history WHERE as_of <> '2022-12-31'")
        customers = conn.execute("SELECT count(*) FROM bench_history").fetchone()[0]
        print_table(f"a snapshot of {customers:,} customers from {ORDERS:,} orders, median of {RUNS} runs",
                    rows, [rows[0][0], rows[1][0]])
        conn.execute("SELECT rfm_snapshot('bench_dyn_orders', 'customer_id', 'ts', 'amount', 'bench_history', '2022-06-30')")
        conn.execute("VACUUM ANALYZE bench_history")
        rows = [
            ("count(*) GROUP BY (from, to) over the join", median_seconds(conn, GROUP_BY, RUNS)),
            ("migration_matrix(from, to) over the join", median_seconds(conn, MIGRATION, RUNS)),
        ]
        print_table(f"migration between two snapshots of {customers:,} customers, median of {RUNS} runs",
                    rows, [rows[0][0]])
        conn.execute("DROP TABLE bench_dyn_orders, bench_history")


if __name__ == "__main__":
    main()
