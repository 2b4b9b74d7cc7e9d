"""The edges of the number line and of the executor: values near the largest double, times at the
ends of PostgreSQL's range, NULL parameters, aggregates as window functions, cancellation.
Each case either computes the true answer or raises a clear ERROR; none gives a wrong number."""
import time

import psycopg
import pytest

from conftest import assert_clear_error, scalar

BIG = "(VALUES (1e308::float8), (1e308::float8)) v(x)"


def test_concentration_of_values_whose_sum_overflows(db):
    """Every measure is a ratio: for two equal values it is what it is for (1, 1), whatever
    their size; G(0, a) = 1/2 by the definition (R ineq, ClickHouse)."""
    assert scalar(db, "SELECT gini(x) FROM (VALUES (1e308::float8), (0)) v(x)") == 0.5
    # The largest doubles, whose log2 rounds up to 1024.
    assert scalar(db, "SELECT gini(x) FROM (VALUES ('1.7976931348623157e308'::float8), (0)) v(x)") == 0.5
    assert scalar(db, "SELECT abc_class(x) OVER () FROM (VALUES ('1.7976931348623157e308'::float8), (1)) v(x) LIMIT 1") == "A"
    for measure, expected in [("gini(x)", 0.0), ("hhi(x)", 0.5), ("top_share(x, 0.5)", 0.5),
                              ("pareto_ratio(x, 0.5)", 0.5)]:
        assert scalar(db, f"SELECT {measure} FROM {BIG}") == expected, measure
    assert scalar(db, f"SELECT gini(concentration_agg(x)) FROM {BIG}") == 0.0
    assert scalar(db, f"SELECT hhi(c) FROM (SELECT rollup(c) c FROM (SELECT concentration_agg(x) c FROM {BIG}) s) r") == 0.5
    curve = db.execute(f"SELECT * FROM lorenz_curve((SELECT concentration_agg(x) FROM {BIG}), 2)").fetchall()
    assert curve == [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]
    # sum() itself overflows here (22003), and so does the one number the report cannot show.
    assert_clear_error(db, f"SELECT sum(x) FROM {BIG}", "22003", "out of range", None)
    assert_clear_error(db, f"SELECT concentration_report(concentration_agg(x)) FROM {BIG}",
                       "22003", "concentration_report")


def test_abc_of_values_whose_sum_overflows(db):
    """Each of two equal values holds half the total: the same classes and shares as (1, 1)."""
    big = db.execute(f"SELECT abc_class(x) OVER (), cumulative_share(x) OVER () FROM {BIG}").fetchall()
    small = db.execute("SELECT abc_class(x) OVER (), cumulative_share(x) OVER () FROM (VALUES (1.0::float8), (1.0)) v(x)").fetchall()
    assert big == small == [("A", 1.0), ("A", 1.0)]
    assert scalar(db, f"SELECT abc_limits(x)->>'a_count' FROM {BIG}") == scalar(
        db, "SELECT abc_limits(x)->>'a_count' FROM (VALUES (1.0::float8), (1.0)) v(x)")


def test_one_pass_amounts_that_overflow_are_an_error_at_the_aggregate(db):
    assert_clear_error(
        db, "SELECT rfm_agg(1::bigint, now(), x) FROM (VALUES (1.7e308::float8), (1.7e308)) v(x)",
        "22003", "rfm_agg")


def test_recency_at_the_ends_of_the_timestamp_range(db):
    """Orders 4713 BC and 294000 AD are 107 million days apart: recency_days says so, checked
    against PostgreSQL's own numeric epochs (no wrapped 64-bit difference)."""
    rows = db.execute(
        """SELECT s.customer_id, s.recency_days,
                  (extract(epoch FROM timestamptz '294000-01-01 00:00+00') - extract(epoch FROM s.last_order)) / 86400
           FROM rfm_scores((SELECT rfm_agg(c, t, 1.0) FROM (VALUES
                (1::bigint, timestamptz '4713-01-01 00:00+00 BC'),
                (2, timestamptz '294000-01-01 00:00+00')) v(c, t))) s ORDER BY 1""").fetchall()
    assert [r[0] for r in rows] == [1, 2]
    for _, recency, expected in rows:
        assert recency == pytest.approx(float(expected), rel=1e-15)
    assert rows[0][1] > 1e8 and rows[1][1] == 0.0
    for as_of in ("infinity", "-infinity"):
        assert_clear_error(
            db, f"SELECT * FROM rfm_scores((SELECT rfm_agg(1::bigint, now(), 1.0)), as_of => '{as_of}')",
            "22008", "as_of")


def test_rfm_score_orders_distant_times_exactly(db):
    """Two times 1 microsecond apart in the year 2400 are one double: they used to tie. Their
    scores now follow PostgreSQL's own order of the timestamps (rank())."""
    rows = db.execute(
        """SELECT rfm_score(t, 2) OVER (), rank() OVER (ORDER BY t) FROM (VALUES
               (timestamptz '2400-01-01 00:00:00+00'), (timestamptz '2400-01-01 00:00:00.000001+00')) v(t)
           ORDER BY t""").fetchall()
    # Rank method: 1 + floor(bins · (rank - 1) / n).
    assert [score for score, _ in rows] == [1 + (2 * (rank - 1)) // 2 for _, rank in rows] == [1, 2]


@pytest.mark.parametrize("summary", ["rfm_agg(1::bigint, now(), 1.0)", "rfm_agg('a', now(), 1.0)"])
def test_rfm_scores_null_bins_is_an_error_in_every_overload(db, summary):
    assert_clear_error(db, f"SELECT * FROM rfm_scores((SELECT {summary}), NULL::int)", "22004", "bins")
    assert_clear_error(db, f"SELECT * FROM rfm_scores((SELECT {summary}), now(), NULL::int)", "22004", "bins")


def test_aggregate_errors_name_the_function_also_as_a_window(db):
    for query in ("SELECT gini(x) FROM (VALUES (-1.0::float8)) v(x)",
                  "SELECT gini(x) OVER () FROM (VALUES (-1.0::float8)) v(x)",
                  "SELECT hhi(x) OVER (PARTITION BY x > 0) FROM (VALUES (-1.0::float8)) v(x)",
                  # another aggregate in the same window is not named
                  "SELECT gini(x) OVER (), sum(x) OVER () FROM (VALUES (-1.0::float8)) v(x)"):
        diag = pytest.raises(psycopg.Error, db.execute, query).value.diag
        name = query.split()[1].split("(")[0]
        assert diag.message_primary.startswith(f"{name}: value -1"), diag.message_primary


def test_aggregates_over_a_whole_window_equal_the_plain_aggregate(db):
    rows = db.execute(
        """SELECT gini(x) OVER (PARTITION BY x % 2), hhi(x) OVER (), (SELECT gini(y) FROM generate_series(1, 100) y WHERE y % 2 = x % 2)
           FROM generate_series(1, 100) x""").fetchall()
    assert all(window == plain for window, _, plain in rows)
    assert rows[0][1] == scalar(db, "SELECT hhi(x) FROM generate_series(1, 100) x")


@pytest.mark.parametrize("aggregate", ["gini(x)", "top_share(x, 0.2)", "concentration_agg(x)", "abc_limits(x)",
                                       "rfm_breaks(x)", "rfm_agg(x::bigint, now(), x)"])
def test_running_window_frames_are_refused(db, aggregate):
    """Each row of a running frame would re-sort the whole frame: quadratic. A clear error with
    a hint to the whole-partition form instead; sliding frames (rebuilt per row) still work."""
    assert_clear_error(db, f"SELECT {aggregate} OVER (ORDER BY x) FROM generate_series(1, 50) x",
                       "0A000", "running window frame", "PARTITION BY")
    rows = db.execute(
        f"SELECT {aggregate} OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM generate_series(1, 5) x").fetchall()
    assert len(rows) == 5


def test_several_final_functions_read_one_shared_state(db):
    """gini and hhi over the same column share one state; each final function leaves it as it
    found it, so each equals its own query."""
    together = db.execute("SELECT gini(amount), hhi(amount), top_share(amount, 0.2), gini(amount) FROM cdnow_orders").fetchone()
    apart = [scalar(db, f"SELECT {m} FROM cdnow_orders") for m in ("gini(amount)", "hhi(amount)", "top_share(amount, 0.2)")]
    assert list(together[:3]) == apart and together[3] == together[0]
    twice = db.execute("SELECT rfm_agg(customer_id, order_date, amount)::text, rfm_agg(customer_id, order_date, amount)::text FROM cdnow_orders").fetchone()
    assert twice[0] == twice[1]


def test_a_long_window_computation_stops_at_statement_timeout(db):
    """rfm_score over 20 million rows takes many seconds (3 million took under 1 s on
    PostgreSQL 16); with a 1 s statement_timeout the query stops with 57014 well before it
    would finish, and the session carries on."""
    query = "SELECT count(s) FROM (SELECT rfm_score(random()) OVER () AS s FROM generate_series(1, 20000000)) t"
    db.execute("SET statement_timeout = '1s'")
    start = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        db.execute(query)
    elapsed = time.monotonic() - start
    db.execute("RESET statement_timeout")
    assert elapsed < 2.5, f"cancelled after {elapsed:.1f} s"
    assert scalar(db, "SELECT 1") == 1


@pytest.mark.parametrize("rules", [
    '[{"name": "A", "r": [1e400, 5]}]',  # beyond double range
    "[" * 200 + "]" * 200,  # deeper than serde_json's recursion limit
])
def test_segment_rules_that_pgrx_could_not_read_are_invalid_parameters(db, rules):
    """Both used to come back as an internal error (XX000, a panic in pgrx's jsonb reader)."""
    assert_clear_error(db, f"SELECT rfm_segment(5, 5, 5, '{rules}'::jsonb)", "22023", "invalid rules")
