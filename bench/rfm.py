"""RFM benchmark: 10 million orders of about 1 million customers (skewed: some buy often).

Prints the median times and ratios against the NTILE query DBAs write today (three
ntile(5) OVER (ORDER BY ...) over a GROUP BY), in PostgreSQL and in DuckDB (same data, same
query, loaded from a CSV export beforehand; the load is not timed), and the time of that
GROUP BY alone, which the window path cannot beat. Run it with bench/run.sh rfm.
"""
import os
import sys
import tempfile

import duckdb
import psycopg

from common import median_seconds, print_table

ORDERS = int(os.environ.get("BENCH_ORDERS", 10_000_000))
RUNS = int(os.environ.get("BENCH_RUNS", 3))

GROUPED = "SELECT customer_id, max(ts) AS last, count(*) AS f, sum(amount) AS m FROM bench_orders GROUP BY customer_id"
NTILE = f"""SELECT count(*), sum(r + f + m) FROM (
              SELECT ntile(5) OVER (ORDER BY last) AS r, ntile(5) OVER (ORDER BY f) AS f,
                     ntile(5) OVER (ORDER BY m) AS m FROM ({GROUPED}) g) s"""
WINDOW = """SELECT count(*), sum(r + f + m) FROM (
              SELECT rfm_score(max(ts)) OVER w AS r, rfm_score(count(*)) OVER w AS f,
                     rfm_score(sum(amount)) OVER w AS m
              FROM bench_orders GROUP BY customer_id WINDOW w AS ()) s"""
# The GROUP BY both the NTILE query and the window path start from: no scoring at all, so a
# bound on how fast the window path can be.
GROUP_BY_ONLY = f"SELECT count(*), max(last), sum(f), sum(m) FROM ({GROUPED}) g"
# The same scores over a customers table grouped beforehand (the window path's usual input):
# what the window functions themselves cost against ntile.
NTILE_OVER_CUSTOMERS = """SELECT count(*), sum(r + f + m) FROM (
              SELECT ntile(5) OVER (ORDER BY last) AS r, ntile(5) OVER (ORDER BY f) AS f,
                     ntile(5) OVER (ORDER BY m) AS m FROM bench_customers) s"""
WINDOW_OVER_CUSTOMERS = """SELECT count(*), sum(r + f + m) FROM (
              SELECT rfm_score(last) OVER w AS r, rfm_score(f) OVER w AS f, rfm_score(m) OVER w AS m
              FROM bench_customers WINDOW w AS ()) s"""
ONE_PASS = """SELECT count(*), sum(r + f + m)
              FROM rfm_scores((SELECT rfm_agg(customer_id, ts, amount) FROM bench_orders))"""


def main():
    with psycopg.connect(dbname=sys.argv[1], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_orders, bench_customers")
        print(f"generating {ORDERS:,} orders ...", flush=True)
        conn.execute(
            """CREATE TABLE bench_orders AS
               SELECT (power(random(), 2) * 1000000)::bigint AS customer_id,
                      timestamptz '2023-01-01' + random() * interval '730 days' AS ts,
                      round(exp(random() * 6)::numeric, 2)::float8 AS amount
               FROM generate_series(1, %s)""", (ORDERS,))
        conn.execute("VACUUM ANALYZE bench_orders")
        customers = conn.execute("SELECT count(DISTINCT customer_id) FROM bench_orders").fetchone()[0]
        summary_bytes = conn.execute(
            "SELECT pg_column_size(rfm_agg(customer_id, ts, amount)) FROM bench_orders").fetchone()[0]
        print(f"{customers:,} customers; the rfm_summary takes {summary_bytes / customers:.1f} bytes a customer")
        same = conn.execute(
            f"""SELECT count(*) FROM (SELECT customer_id, rfm_score(max(ts)) OVER w AS r, rfm_score(count(*)) OVER w AS f,
                                             rfm_score(sum(amount)) OVER w AS m
                                      FROM bench_orders GROUP BY customer_id WINDOW w AS ()) a
                JOIN rfm_scores((SELECT rfm_agg(customer_id, ts, amount) FROM bench_orders)) b USING (customer_id)
                WHERE (a.r, a.f, a.m) IS DISTINCT FROM (b.r, b.f, b.m)""").fetchone()[0]
        print(f"customers whose window-path and one-pass scores differ: {same}")

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "orders.csv")
            with open(path, "wb") as out, conn.cursor().copy(
                    "COPY bench_orders TO STDOUT WITH (FORMAT csv)") as copy:
                for chunk in copy:
                    out.write(chunk)
            duck = duckdb.connect()
            duck.execute(f"""CREATE TABLE bench_orders AS SELECT * FROM read_csv('{path}',
                             columns = {{'customer_id': 'BIGINT', 'ts': 'TIMESTAMPTZ', 'amount': 'DOUBLE'}})""")

        rows = [
            ("PostgreSQL NTILE SQL", median_seconds(conn, NTILE, RUNS)),
            ("DuckDB NTILE SQL", median_seconds(duck, NTILE, RUNS)),
            ("PostgreSQL GROUP BY alone (window path's bound)", median_seconds(conn, GROUP_BY_ONLY, RUNS)),
            ("window path: rfm_score(...) OVER () x3", median_seconds(conn, WINDOW, RUNS)),
            ("one pass: rfm_scores(rfm_agg(...))", median_seconds(conn, ONE_PASS, RUNS)),
        ]
        print_table(f"{ORDERS:,} orders, {customers:,} customers, median of {RUNS} runs",
                    rows, ["PostgreSQL NTILE SQL", "DuckDB NTILE SQL"])

        id_kinds(conn, customers)

        conn.execute(f"CREATE TABLE bench_customers AS {GROUPED}")
        conn.execute("VACUUM ANALYZE bench_customers")
        rows = [
            ("PostgreSQL NTILE SQL over the customers", median_seconds(conn, NTILE_OVER_CUSTOMERS, RUNS)),
            ("rfm_score(...) OVER () x3 over the customers", median_seconds(conn, WINDOW_OVER_CUSTOMERS, RUNS)),
        ]
        print_table(f"the same {customers:,} customers as a table, grouped beforehand",
                    rows, ["PostgreSQL NTILE SQL over the customers"])
        conn.execute("DROP TABLE bench_customers")
        conn.execute("DROP TABLE bench_orders")


def id_kinds(conn, customers):
    """The one pass over the same orders with bigint, uuid and text ids: the three id columns
    sit in one table, so every query scans the same rows; the uuids are md5 hashes of the
    bigint ids, spread over all 128 bits as random uuids are."""
    conn.execute("""CREATE TABLE bench_ids AS SELECT customer_id, md5(customer_id::text)::uuid AS customer_uuid,
                           customer_id::text AS customer_text, ts, amount FROM bench_orders""")
    conn.execute("VACUUM ANALYZE bench_ids")
    one_pass = """SELECT count(*), sum(r + f + m) FROM rfm_scores((SELECT rfm_agg({id}, ts, amount) FROM bench_ids))"""
    rows = [(f"one pass, {kind} ids", median_seconds(conn, one_pass.format(id=column), max(RUNS, 5)))
            for kind, column in [("bigint", "customer_id"), ("uuid", "customer_uuid"), ("text", "customer_text")]]
    print_table(f"the same orders by kind of customer id, {customers:,} customers", rows, ["one pass, bigint ids"])
    conn.execute("DROP TABLE bench_ids")


if __name__ == "__main__":
    main()
