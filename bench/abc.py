"""ABC benchmark: 200,000 and 1 million customers with skewed revenue.

Prints the median time of abc_class(v) OVER () and its ratio against the plain SQL a DBA writes
today (a running sum over ORDER BY v DESC divided by the total, then CASE), after checking that
both give the same classes (the values are distinct, so ties cannot make them differ).
Run it with bench/run.sh abc.
"""
import os
import sys

import psycopg

from common import median_seconds, print_table

SIZES = [int(n) for n in os.environ.get("BENCH_CUSTOMERS", "200000,1000000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", 5))

PLAIN_SQL = """
    SELECT id, CASE WHEN running - v < 0.8 * total THEN 'A'
                    WHEN running - v < 0.95 * total THEN 'B' ELSE 'C' END AS class
    FROM (SELECT id, v, sum(v) OVER (ORDER BY v DESC ROWS UNBOUNDED PRECEDING) AS running,
                 sum(v) OVER () AS total
          FROM bench_customers) ranked"""
OURS = "SELECT id, abc_class(v) OVER () AS class FROM bench_customers"
# A built-in window function that does no work and gives a text: the floor of any window
# function in this query, so the bound on the ratio against the plain SQL.
FLOOR = "SELECT id, first_value('A'::text) OVER () AS class FROM bench_customers"


def counted(query):
    """Consumes every class so the planner cannot skip the window function."""
    return f"SELECT class, count(*) FROM ({query}) q GROUP BY class ORDER BY class"


def main():
    for rows in SIZES:
        run(rows)


def run(customers):
    with psycopg.connect(dbname=sys.argv[1], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_customers")
        print(f"generating {customers:,} customers ...", flush=True)
        conn.execute(
            "CREATE TABLE bench_customers AS SELECT g AS id, exp(random() * 12) AS v FROM generate_series(1, %s) g",
            (customers,))
        conn.execute("VACUUM ANALYZE bench_customers")
        disagreeing = conn.execute(
            f"SELECT count(*) FROM ({PLAIN_SQL}) p JOIN ({OURS}) o USING (id) WHERE p.class <> o.class"
        ).fetchone()[0]
        print(f"rows where the plain SQL and abc_class disagree: {disagreeing}")
        rows = [
            ("plain SQL (running sum + CASE)", median_seconds(conn, counted(PLAIN_SQL), RUNS)),
            ("abc_class(v) OVER ()", median_seconds(conn, counted(OURS), RUNS)),
            ("abc_class_computed(v) OVER ()",
             median_seconds(conn, counted("SELECT abc_class_computed(v) OVER () AS class FROM bench_customers"), RUNS)),
            ("cumulative_share(v) OVER ()",
             median_seconds(conn, "SELECT max(s) FROM (SELECT cumulative_share(v) OVER () AS s FROM bench_customers) q", RUNS)),
            ("first_value('A'::text) OVER () (a no-op: the floor)", median_seconds(conn, counted(FLOOR), RUNS)),
        ]
        print_table(f"{customers:,} customers, median of {RUNS} runs", rows, ["plain SQL (running sum + CASE)"])
        conn.execute("DROP TABLE bench_customers")


if __name__ == "__main__":
    main()
