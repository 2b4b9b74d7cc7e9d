"""Customer-value benchmark: BG/NBD + Gamma-Gamma fits and a 12-month CLV for every customer,
in the database against `lifetimes` 0.11.3 on the same customers (its time excludes the export),
on CDNOW (23,570 customers) and on simulated customers. Prints medians and ratios.
Run it with bench/run.sh value."""
import os
import sys
import time

import pandas as pd
import psycopg
from lifetimes import BetaGeoFitter, GammaGammaFitter

from common import median_seconds, print_table

RUNS = int(os.environ.get("BENCH_RUNS", 3))
SIMULATED = int(os.environ.get("BENCH_CUSTOMERS", 200_000))

IN_DATABASE = """
WITH models AS (
    SELECT bgnbd_fit(x, t_x, "T") AS purchases,
           gamma_gamma_fit(x, mean_spend) FILTER (WHERE mean_spend > 0) AS spend
    FROM {table}
)
SELECT count(*), sum(clv(m.purchases, m.spend, h.x, h.t_x, h."T", nullif(h.mean_spend, 0), unit => '7 days'))
FROM {table} h, models m"""


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
        # Simulated customers: a Poisson number of repeat days (rate ~ Gamma), ages in days.
        print(f"\ngenerating {SIMULATED:,} simulated customers ...", flush=True)
        conn.execute("""CREATE TABLE bench_simulated_history AS
            SELECT x, CASE WHEN x = 0 THEN 0 ELSE round((random() * big_t)::numeric * 7) / 7 END AS t_x, big_t AS "T",
                   CASE WHEN x = 0 THEN NULL ELSE round((10 + 40 * random())::numeric, 2)::float8 END AS mean_spend
            FROM (SELECT floor(-ln(1 - random()) * power(random(), 2) * 6)::float8 AS x,
                         round((1 + random() * 77)::numeric * 7) / 7 AS big_t
                  FROM generate_series(1, %s)) c""", (SIMULATED,))
        conn.execute('ALTER TABLE bench_simulated_history ALTER COLUMN t_x TYPE float8, ALTER COLUMN "T" TYPE float8')
        conn.execute("ANALYZE bench_simulated_history")
        compare(conn, "bench_simulated_history", "simulated, weeks in whole days")


if __name__ == "__main__":
    main()
