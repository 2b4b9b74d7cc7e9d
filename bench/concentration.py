"""Concentration benchmark: 10 million skewed values (Pareto, alpha 1.16: the 80/20 shape).

Prints the median time of gini(x) and concentration_report(concentration_agg(x)) and their
ratios against the plain-SQL Gini a DBA writes today (row_number over a sort, and the sum
formula) and against sum(x) over the same column. Run it with bench/run.sh.
"""
import os
import sys

import psycopg

from common import median_seconds, print_table

ROWS = int(os.environ.get("BENCH_ROWS", 10_000_000))
RUNS = int(os.environ.get("BENCH_RUNS", 5))

QUERIES = [
    ("sum(x)", "SELECT sum(x) FROM bench_values"),
    ("plain SQL Gini (row_number + sum formula)", """
        SELECT 2 * sum(i * x) / (count(*) * sum(x)) - (count(*) + 1.0) / count(*)
        FROM (SELECT x, row_number() OVER (ORDER BY x) AS i FROM bench_values) ranked"""),
    ("gini(x)", "SELECT gini(x) FROM bench_values"),
    ("hhi(x)", "SELECT hhi(x) FROM bench_values"),
    ("sum(x_numeric), the numeric(20,2) column", "SELECT sum(x_numeric) FROM bench_values"),
    ("gini(x_numeric), read directly", "SELECT gini(x_numeric) FROM bench_values"),
    ("gini(x_numeric::float8), the cast", "SELECT gini(x_numeric::float8) FROM bench_values"),
    ("concentration_report(concentration_agg(x))",
     "SELECT concentration_report(concentration_agg(x)) FROM bench_values"),
    ("gini(x), hhi(x), pareto_ratio(x) (one shared state)",
     "SELECT gini(x), hhi(x), pareto_ratio(x) FROM bench_values"),
]


def main():
    with psycopg.connect(dbname=sys.argv[1], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_values")
        print(f"generating {ROWS:,} Pareto-distributed values ...", flush=True)
        conn.execute(
            "CREATE TABLE bench_values AS SELECT round((1 / power(1 - random(), 1 / 1.16))::numeric, 2)::float8 AS x "
            "FROM generate_series(1, %s)", (ROWS,))
        conn.execute("ALTER TABLE bench_values ADD COLUMN x_numeric numeric(20, 2)")
        conn.execute("UPDATE bench_values SET x_numeric = x")
        conn.execute("VACUUM ANALYZE bench_values")
        conn.execute("SELECT sum(x) FROM bench_values").fetchall()  # warm the cache
        agreed = conn.execute(QUERIES[1][1]).fetchone()[0], conn.execute(QUERIES[2][1]).fetchone()[0]
        print(f"Gini: plain SQL {agreed[0]:.12f}, gini(x) {agreed[1]:.12f}")
        workers = conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[0]
        rows = [(name, median_seconds(conn, sql, RUNS)) for name, sql in QUERIES]
        print_table(
            f"{ROWS:,} values, median of {RUNS} runs, max_parallel_workers_per_gather = {workers}",
            rows, ["sum(x)", "plain SQL Gini (row_number + sum formula)"])
        conn.execute("DROP TABLE bench_values")


if __name__ == "__main__":
    main()
