"""Customer-value benchmark: BG/NBD + Gamma-Gamma fits and a 12-month CLV for every customer,
in the database against `lifetimes` 0.11.3 on the same customers (its time excludes the export),
on CDNOW (23,570 customers) and on simulated customers. Prints medians and ratios.
Run it with bench/run.sh value."""
import os
import sys
import time

import numpy as np
import pandas as pd
import psycopg
from lifetimes import BetaGeoFitter, GammaGammaFitter

from common import median_seconds, print_table

RUNS = int(os.environ.get("BENCH_RUNS", 3))
SIMULATED = [int(n) for n in os.environ.get("BENCH_CUSTOMERS", "200000,1000000").split(",")]
ORDERS = int(os.environ.get("BENCH_ORDERS", 2_000_000))

IN_DATABASE = """
WITH models AS (
    SELECT bgnbd_fit(x, t_x, "T") AS purchases,
           gamma_gamma_fit(x, mean_spend) FILTER (WHERE mean_spend > 0) AS spend
    FROM {table}
)
SELECT count(*), sum(clv(m.purchases, m.spend, h.x, h.t_x, h."T", nullif(h.mean_spend, 0), unit => '7 days'))
FROM {table} h, models m"""


TRUE = (0.25, 4.0, 0.8, 2.5)


def simulate(n, seed=1):
    """n customers of a BG/NBD process with parameters TRUE (weeks): purchases at rate
    lambda ~ Gamma(r, alpha) until, after a repeat purchase, they drop out with probability
    p ~ Beta(a, b); observed for T ~ U(1, 78) weeks in whole days; spend per purchase
    Gamma(6, nu), nu ~ Gamma(4, 15)."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = TRUE
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    big_t = np.round(rng.uniform(1, 78, n) * 7) / 7
    t, x, t_x = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        t_next = t + rng.exponential(1 / np.maximum(lam, 1e-12))
        bought = alive & (t_next <= big_t)
        x[bought] += 1
        t_x[bought] = t_next[bought]
        t = np.where(bought, t_next, t)
        alive = bought & (rng.random(n) >= p)
    t_x = np.minimum(np.round(t_x * 7) / 7, big_t)
    nu = rng.gamma(4, 1 / 15, n)
    mean = np.where(x > 0, rng.gamma(6 * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), np.nan)
    for i in range(n):
        yield (x[i], t_x[i], big_t[i], None if x[i] == 0 else round(float(mean[i]), 2))


def lifetimes_seconds(customers, runs):
    """Fit both models and value every customer with lifetimes; median of `runs`."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        bgf = BetaGeoFitter().fit(customers.x, customers.t_x, customers["T"])
        repeat = customers[customers.mean_spend > 0]
        ggf = GammaGammaFitter().fit(repeat.x, repeat.mean_spend)
        valued = customers[(customers.x == 0) | (customers.mean_spend > 0)]
        ggf.customer_lifetime_value(bgf, valued.x, valued.t_x, valued["T"], valued.mean_spend.fillna(0),
                                    time=12, discount_rate=0.01, freq="W").sum()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def compare(conn, table, title):
    customers = pd.DataFrame(conn.execute(f'SELECT x, t_x, "T", mean_spend FROM {table}').fetchall(),
                             columns=["x", "t_x", "T", "mean_spend"]).astype(float)
    groups = conn.execute(f'SELECT count(*) FROM (SELECT DISTINCT x, t_x, "T" FROM {table}) g').fetchone()[0]
    rows = [
        ("lifetimes: fit both, CLV of every customer", lifetimes_seconds(customers, RUNS)),
        ("rfm_segment: bgnbd_fit, gamma_gamma_fit, clv", median_seconds(conn, IN_DATABASE.format(table=table), RUNS)),
    ]
    print_table(f"{title}: {len(customers):,} customers in {groups:,} distinct (x, t_x, T), median of {RUNS} runs",
                rows, ["lifetimes: fit both, CLV of every customer"])


def main():
    with psycopg.connect(dbname=sys.argv[1], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_cdnow_history, bench_simulated_history")
        with open(os.path.join(os.path.dirname(__file__), "..", "tests", "data", "CDNOW_master.txt")) as data:
            conn.execute("CREATE TEMP TABLE cdnow_raw (line text)")
            with conn.cursor().copy("COPY cdnow_raw FROM STDIN") as copy:
                copy.write(data.read())
        conn.execute("""CREATE TABLE bench_cdnow_history AS
            SELECT (btyd_history(to_date(f[2], 'YYYYMMDD'), f[4]::float8, '1997-09-30', '7 days')).*
            FROM (SELECT regexp_split_to_array(btrim(line, E' \\t\\r'), '\\s+') AS f FROM cdnow_raw) s
            WHERE f[1] <> 'customer_id' GROUP BY f[1]""")
        compare(conn, "bench_cdnow_history", "CDNOW, calibration to 1997-09-30, weeks")
        for customers in SIMULATED:
            print(f"\nsimulating {customers:,} BG/NBD customers ...", flush=True)
            conn.execute("DROP TABLE IF EXISTS bench_simulated_history")
            conn.execute('CREATE TABLE bench_simulated_history (x float8, t_x float8, "T" float8, mean_spend float8)')
            with conn.cursor().copy("COPY bench_simulated_history FROM STDIN") as copy:
                for row in simulate(customers):
                    copy.write_row(row)
            conn.execute("ANALYZE bench_simulated_history")
            fitted = conn.execute('SELECT bgnbd_fit(x, t_x, "T")::text FROM bench_simulated_history').fetchone()[0]
            print(f"true (r, alpha, a, b) = {TRUE}; fitted: {fitted}")
            compare(conn, "bench_simulated_history", "simulated, weeks in whole days")
        histories_from_orders(conn)


HISTORIES = {
    "rfm_agg (one pass, the RFM statistics)":
        "SELECT rfm_agg(customer_id, ordered_at, amount) IS NOT NULL FROM bench_value_orders",
    "btyd_histories (one pass)":
        "SELECT cardinality(btyd_histories(customer_id, ordered_at::date, amount, '2021-06-30', '7 days')) "
        "FROM bench_value_orders",
    "btyd_history under GROUP BY customer_id":
        "SELECT count(h) FROM (SELECT btyd_history(ordered_at::date, amount, '2021-06-30', '7 days') h "
        "FROM bench_value_orders GROUP BY customer_id) s",
}


def histories_from_orders(conn):
    """The models' per-customer statistics from an orders table, against the one-pass RFM
    statistics over the same orders."""
    conn.execute("DROP TABLE IF EXISTS bench_value_orders")
    conn.execute(f"""CREATE TABLE bench_value_orders AS
        SELECT (random() * {ORDERS // 10})::bigint AS customer_id,
               timestamptz '2020-01-01' + random() * interval '730 days' AS ordered_at,
               round((random() * 100)::numeric, 2)::float8 AS amount
        FROM generate_series(1, {ORDERS})""")
    conn.execute("VACUUM ANALYZE bench_value_orders")
    rows = [(name, median_seconds(conn, query, RUNS)) for name, query in HISTORIES.items()]
    print_table(f"per-customer statistics from {ORDERS:,} orders of ~{ORDERS // 10:,} customers, median of {RUNS} runs",
                rows, [next(iter(HISTORIES))])
    conn.execute("DROP TABLE bench_value_orders")

if __name__ == "__main__":
    main()
