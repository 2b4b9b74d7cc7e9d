"""Timing helpers for the benchmarks: each query runs several times, the median counts, and
every figure is printed as a ratio against the baseline measured in the same run."""
import statistics
import time


def median_seconds(conn, query, runs):
    """conn: anything with execute(query).fetchall(): a psycopg or a DuckDB connection."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(query).fetchall()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def print_table(title, rows, baseline_names):
    """rows: (name, seconds). Prints each time and its ratio against each baseline."""
    timed = dict(rows)
    print(f"\n{title}")
    header = f"  {'query':<52} {'median s':>9}" + "".join(f" {'vs ' + b:>18}" for b in baseline_names)
    print(header)
    for name, seconds in rows:
        ratios = "".join(
            f" {timed[b] / seconds:>17.2f}x" if name != b else f" {'(baseline)':>18}" for b in baseline_names
        )
        print(f"  {name:<52} {seconds:>9.3f}{ratios}")
    print("  (a ratio is baseline time / this query's time: above 1 means faster than the baseline)")
