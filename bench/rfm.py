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
RUNS = int(os.environ.get("BENCH_RUNS", 5))

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
# The same shape with a built-in window function that does no work: the floor of any window
# function here (WindowAgg's tuplestore and the rows), so the bound on the ratio against ntile.
FLOOR_OVER_CUSTOMERS = """SELECT count(*), sum(r + f + m) FROM (
              SELECT first_value(1) OVER w AS r, first_value(2) OVER w AS f, first_value(3) OVER w AS m
              FROM bench_customers WINDOW w AS ()) s"""
ONE_PASS = """SELECT count(*), sum(r + f + m)
              FROM rfm_scores((SELECT rfm_agg(customer_id, ts, amount) FROM bench_orders))"""


def main():
    with psycopg.connect(dbname=sys.argv[1], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_orders, bench_customers")
        print(f"generating {ORDERS:,} orders ...", flush=True)
        generate_orders(conn, ORDERS, 1_000_000)
        # the same amounts as numeric(12, 2), the usual type of an order column
        conn.execute("ALTER TABLE bench_orders ADD COLUMN amount_numeric numeric(12, 2)")
        conn.execute("UPDATE bench_orders SET amount_numeric = amount")
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

        duck = in_duckdb(conn, "bench_orders", "customer_id BIGINT, ts TIMESTAMPTZ, amount DOUBLE")
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
        amounts_and_scan(conn, customers)

        over_customers(conn, customers, RUNS)
        conn.execute("DROP TABLE bench_orders")
        smaller(conn)


def generate_orders(conn, orders, id_range):
    """bench_orders: `orders` orders over two years, skewed ids below `id_range` (some
    customers buy often), amounts of a few cents to about 400."""
    conn.execute(
        """CREATE TABLE bench_orders AS
           SELECT (power(random(), 2) * %s)::bigint AS customer_id,
                  timestamptz '2023-01-01' + random() * interval '730 days' AS ts,
                  round(exp(random() * 6)::numeric, 2)::float8 AS amount
           FROM generate_series(1, %s)""", (id_range, orders))


def in_duckdb(conn, table, columns):
    """A DuckDB database holding a copy of `table` (exported as CSV; the load is not timed)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{table}.csv")
        names = ", ".join(c.split()[0] for c in columns.split(", "))
        with open(path, "wb") as out, conn.cursor().copy(f"COPY {table} ({names}) TO STDOUT WITH (FORMAT csv)") as copy:
            for chunk in copy:
                out.write(chunk)
        duck = duckdb.connect()
        duck.execute(f"SET threads = {os.cpu_count()}")
        types = ", ".join(f"'{c.split()[0]}': '{c.split()[1]}'" for c in columns.split(", "))
        duck.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', columns = {{{types}}})")
    return duck


def amounts_and_scan(conn, customers):
    """The one pass against a bare parallel scan of the same columns (the floor of any one pass
    in PostgreSQL), float8 against numeric(12, 2) amounts, and its peak memory per customer."""
    scan = "SELECT count(*), max(ts), sum(amount), min(customer_id) FROM bench_orders"
    one_pass = "SELECT count(*), sum(r + f + m) FROM rfm_scores((SELECT rfm_agg(customer_id, ts, {a}) FROM bench_orders))"
    runs = max(RUNS, 5)
    rows = [
        ("bare parallel scan: count, max, sum, min", median_seconds(conn, scan, runs)),
        ("one pass, float8 amounts", median_seconds(conn, one_pass.format(a="amount"), runs)),
        ("one pass, numeric(12,2) amounts, read directly", median_seconds(conn, one_pass.format(a="amount_numeric"), runs)),
        ("one pass, numeric(12,2)::float8 (the cast)", median_seconds(conn, one_pass.format(a="amount_numeric::float8"), runs)),
    ]
    print_table(f"the one pass against a bare scan, and by type of amount, median of {runs} runs", rows,
                ["bare parallel scan: count, max, sum, min", "one pass, float8 amounts"])
    # Peak memory: one backend without parallel workers, its high-water mark (VmHWM) before and
    # after, in a fresh connection.
    for what, query in (("rfm_agg alone", "SELECT rfm_agg(customer_id, ts, amount) IS NULL FROM bench_orders"),
                        ("rfm_scores(rfm_agg(...)), its rows kept in work_mem", one_pass.format(a="amount"))):
        with psycopg.connect(dbname=sys.argv[1], autocommit=True) as fresh:
            fresh.execute("SET max_parallel_workers_per_gather = 0")
            pid = fresh.execute("SELECT pg_backend_pid()").fetchone()[0]
            fresh.execute("SELECT count(*) FROM bench_orders").fetchall()
            before = peak_kb(pid)
            fresh.execute(query).fetchall()
            after = peak_kb(pid)
        print(f"  peak memory, {what} (serial): {(after - before) / 1024:.0f} MB more than a scan, "
              f"{(after - before) * 1024 / customers:.0f} bytes a customer")


def serial_seconds(conn, query, runs):
    """The query's median time without parallel workers."""
    conn.execute("SET max_parallel_workers_per_gather = 0")
    try:
        return median_seconds(conn, query, runs)
    finally:
        conn.execute("RESET max_parallel_workers_per_gather")


def peak_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def smaller(conn):
    """2 million orders of about 200,000 customers: the one pass against DuckDB, and the window
    functions over the 200,000 customers as a table."""
    orders = ORDERS // 5
    conn.execute("DROP TABLE IF EXISTS bench_orders, bench_customers")
    generate_orders(conn, orders, 200_000)
    conn.execute("VACUUM ANALYZE bench_orders")
    customers = conn.execute("SELECT count(DISTINCT customer_id) FROM bench_orders").fetchone()[0]
    duck = in_duckdb(conn, "bench_orders", "customer_id BIGINT, ts TIMESTAMPTZ, amount DOUBLE")
    runs = max(RUNS, 5)
    rows = [
        ("DuckDB NTILE SQL", median_seconds(duck, NTILE, runs)),
        ("one pass: rfm_scores(rfm_agg(...))", median_seconds(conn, ONE_PASS, runs)),
        ("one pass, serial (no parallel workers)", serial_seconds(conn, ONE_PASS, runs)),
    ]
    print_table(f"{orders:,} orders, {customers:,} customers, median of {runs} runs", rows, ["DuckDB NTILE SQL"])
    over_customers(conn, customers, runs)
    conn.execute("DROP TABLE bench_orders")


def over_customers(conn, customers, runs):
    """The three scores over bench_orders grouped beforehand into a customers table: rfm_score
    against ntile, and a window function that does nothing as the floor of both."""
    conn.execute(f"CREATE TABLE bench_customers AS {GROUPED}")
    conn.execute("VACUUM ANALYZE bench_customers")
    rows = [
        ("PostgreSQL NTILE SQL over the customers", median_seconds(conn, NTILE_OVER_CUSTOMERS, runs)),
        ("rfm_score(...) OVER () x3 over the customers", median_seconds(conn, WINDOW_OVER_CUSTOMERS, runs)),
        ("first_value(const) OVER () x3 (a no-op: the floor)", median_seconds(conn, FLOOR_OVER_CUSTOMERS, runs)),
    ]
    print_table(f"the same {customers:,} customers as a table, grouped beforehand", rows,
                ["PostgreSQL NTILE SQL over the customers"])
    conn.execute("DROP TABLE bench_customers")


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
