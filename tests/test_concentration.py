"""The concentration measures in SQL: reference values from sources outside this project,
edge cases, errors, the storable summary, parallel plans and row order."""
import math
import random
import time

import psycopg
import pytest

from conftest import force_parallel, scalar, sql_error

# R package ineq 0.2-13, examples of ?Gini and ?Herfindahl:
#   x <- c(541, 1463, 2445, 3438, 4437, 5401, 6392, 8304, 11904, 22261)
#   Gini(x) = 0.4620911, Gini(x, corr = TRUE) = 0.5134346, Herfindahl(x) = 0.1840812
INEQ_X = [541, 1463, 2445, 3438, 4437, 5401, 6392, 8304, 11904, 22261]
INEQ_VALUES = f"unnest(ARRAY{INEQ_X}) AS x"


def test_r_ineq_reference_values(db):
    gini, corrected, hhi = db.execute(
        f"SELECT gini(x), gini_unbiased(x), hhi(x) FROM {INEQ_VALUES}"
    ).fetchone()
    assert gini == pytest.approx(0.4620911, abs=5e-8)
    assert corrected == pytest.approx(0.5134346, abs=5e-8)
    assert hhi == pytest.approx(0.1840812, abs=5e-8)


def test_clickhouse_gini_of_numbers_0_to_9(db):
    # ClickHouse documentation, aggregate function gini:
    #   SELECT gini(number) FROM numbers(10)  ->  0.36666666666666664
    assert scalar(db, "SELECT gini(x) FROM generate_series(0, 9) AS x") == pytest.approx(
        0.36666666666666664, abs=1e-15
    )


def test_top_share_and_pareto_ratio_by_hand(db):
    # Total 66586; the top 10 % (one value) holds 22261/66586; the top 20 % (two values)
    # holds (22261 + 11904)/66586; 80 % of the total needs 4 values and part of a fifth.
    top10, top20, pareto = db.execute(
        f"SELECT top_share(x, 0.1), top_share(x, 0.2), pareto_ratio(x) FROM {INEQ_VALUES}"
    ).fetchone()
    assert top10 == pytest.approx(22261 / 66586, rel=1e-15)
    assert top20 == pytest.approx((22261 + 11904) / 66586, rel=1e-15)
    top4 = 22261 + 11904 + 8304 + 6392
    assert pareto == pytest.approx((4 + (0.8 * 66586 - top4) / 5401) / 10, rel=1e-14)


@pytest.mark.parametrize("column_type", ["integer", "bigint", "numeric(12,2)", "real", "double precision"])
def test_numeric_columns_need_no_cast(db, column_type):
    db.execute(f"CREATE TEMP TABLE typed (x {column_type})")
    db.execute(f"INSERT INTO typed SELECT unnest(ARRAY{INEQ_X})")
    assert scalar(db, "SELECT gini(x) FROM typed") == pytest.approx(0.4620911, abs=5e-8)
    assert scalar(db, "SELECT top_share(x, 0.1) FROM typed") == pytest.approx(22261 / 66586)
    assert scalar(db, "SELECT gini(concentration_agg(x)) FROM typed") == pytest.approx(0.4620911, abs=5e-8)


def test_no_rows_or_only_nulls_give_null(db):
    for source in ["(SELECT 1.0 AS x WHERE false) s", "(VALUES (NULL::float8), (NULL)) v(x)"]:
        row = db.execute(
            f"""SELECT gini(x), gini_unbiased(x), hhi(x), hhi_normalized(x), top_share(x, 0.2),
                       pareto_ratio(x), pareto_ratio(x, 0.5), concentration_agg(x) FROM {source}"""
        ).fetchone()
        assert row == (None,) * 8


def test_nulls_are_skipped_like_sum(db):
    with_nulls = scalar(db, f"SELECT gini(x) FROM (SELECT unnest(ARRAY{INEQ_X}::float8[] || ARRAY[NULL::float8, NULL])) s(x)")
    assert with_nulls == scalar(db, f"SELECT gini(x) FROM {INEQ_VALUES}")


def test_documented_edge_cases(db):
    # One value: no inequality; the n/(n-1) measures are undefined.
    assert db.execute(
        "SELECT gini(x), gini_unbiased(x), hhi(x), hhi_normalized(x), top_share(x, 0.3), pareto_ratio(x) FROM (VALUES (5.0)) v(x)"
    ).fetchone() == (0.0, None, 1.0, None, 0.3, pytest.approx(0.8))
    # All equal: Gini 0, HHI 1/n, top p holds p.
    row = db.execute(
        "SELECT gini(x), hhi_normalized(x), top_share(x, 0.2), pareto_ratio(x) FROM (SELECT 3.0 FROM generate_series(1, 50)) v(x)"
    ).fetchone()
    assert row == (0.0, 0.0, pytest.approx(0.2, abs=1e-15), pytest.approx(0.8, abs=1e-12))
    # All zero: shares of a zero total are undefined.
    assert db.execute(
        "SELECT gini(x), hhi(x), top_share(x, 0.2), pareto_ratio(x) FROM (SELECT 0.0 FROM generate_series(1, 5)) v(x)"
    ).fetchone() == (None, None, None, None)


ERROR_CASES = [
    # (query, SQLSTATE, words the message must contain, words the hint must contain)
    ("SELECT gini(x) FROM (VALUES (1.0), ('NaN'::float8)) v(x)", "22023", ["gini", "NaN"], ["WHERE"]),
    ("SELECT hhi(x) FROM (VALUES (1.0), ('Infinity'::float8)) v(x)", "22003", ["hhi", "inf"], ["Infinity"]),
    ("SELECT gini_unbiased(x) FROM (VALUES ('-Infinity'::float8)) v(x)", "22003", ["gini_unbiased"], ["Infinity"]),
    ("SELECT gini(x) FROM (VALUES (1.0), (-3.5)) v(x)", "22023", ["gini", "-3.5", "negative"], ["greatest(x, 0)", "WHERE x >= 0"]),
    ("SELECT concentration_agg(x) FROM (VALUES (-1)) v(x)", "22023", ["concentration_agg", "-1"], ["greatest"]),
    ("SELECT top_share(x, -1) FROM (VALUES (-1)) v(x)", "22023", ["top_share", "p = -1", "(0, 1]"], ["top 20 %"]),
    ("SELECT top_share(x, 0) FROM (VALUES (1)) v(x)", "22023", ["top_share", "p = 0"], ["0.2"]),
    ("SELECT top_share(x, 1.5) FROM (VALUES (1)) v(x)", "22023", ["p = 1.5"], ["0.2"]),
    ("SELECT top_share(x, NULL) FROM (VALUES (1)) v(x)", "22004", ["top_share", "p must not be NULL"], ["0.2"]),
    ("SELECT top_share(x, 'NaN') FROM (VALUES (1)) v(x)", "22023", ["p = NaN"], []),
    ("SELECT pareto_ratio(x, 0) FROM (VALUES (1)) v(x)", "22023", ["pareto_ratio", "q = 0"], ["80 %"]),
    ("SELECT pareto_ratio(x, NULL) FROM (VALUES (1)) v(x)", "22004", ["q must not be NULL"], []),
    ("SELECT top_share(x, p) FROM (VALUES (1, 0.1), (2, 0.2)) v(x, p)", "22023", ["same on every row", "0.1", "0.2"], ["concentration_agg"]),
    ("SELECT top_share(concentration_agg(x), NULL) FROM (VALUES (1)) v(x)", "22004", ["p must not be NULL"], []),
    ("SELECT top_share(concentration_agg(x), 2) FROM (VALUES (1)) v(x)", "22023", ["p = 2"], []),
    ("SELECT pareto_ratio(concentration_agg(x), 0) FROM (VALUES (1)) v(x)", "22023", ["q = 0"], []),
    ("SELECT * FROM lorenz_curve((SELECT concentration_agg(x) FROM (VALUES (1)) v(x)), 0)", "22023", ["lorenz_curve", "points = 0"], ["100"]),
    ("SELECT * FROM lorenz_curve(NULL, NULL)", "22004", ["points must not be NULL"], []),
    ("SELECT 'nonsense'::concentration", "22P02", ["invalid input syntax for type concentration"], ["values"]),
    ("""SELECT '{"n": 1, "values": [-2]}'::concentration""", "22P02", ["-2"], []),
    ("""SELECT '{"n": 2, "values": [1]}'::concentration""", "22P02", ["n"], []),
]


@pytest.mark.parametrize("query,sqlstate,message_words,hint_words", ERROR_CASES)
def test_bad_input_is_a_clear_error(db, query, sqlstate, message_words, hint_words):
    diag = sql_error(db, query)
    assert diag.sqlstate == sqlstate, diag.message_primary
    for word in message_words:
        assert word.lower() in diag.message_primary.lower(), diag.message_primary
    for word in hint_words:
        assert diag.message_hint and word in diag.message_hint, diag.message_hint


def test_null_summary_gives_null_not_error(db):
    assert db.execute(
        "SELECT gini(NULL::concentration), top_share(NULL::concentration, 0.2), pareto_ratio(NULL::concentration)"
    ).fetchone() == (None, None, None)
    assert db.execute("SELECT count(*) FROM lorenz_curve(NULL::concentration)").fetchone() == (0,)


def test_summary_accessors_equal_the_aggregates(db):
    aggregates = db.execute(
        """SELECT gini(amount), gini_unbiased(amount), hhi(amount), hhi_normalized(amount),
                  top_share(amount, 0.2), pareto_ratio(amount), pareto_ratio(amount, 0.5)
           FROM cdnow_orders"""
    ).fetchone()
    accessors = db.execute(
        """SELECT gini(c), gini_unbiased(c), hhi(c), hhi_normalized(c), top_share(c, 0.2),
                  pareto_ratio(c), pareto_ratio(c, 0.5)
           FROM (SELECT concentration_agg(amount) AS c FROM cdnow_orders) s"""
    ).fetchone()
    assert accessors == aggregates


def test_report_reads_the_same_numbers(db):
    report, expected = db.execute(
        """SELECT concentration_report(c),
                  jsonb_build_object('gini', gini(c), 'top_20pct_share', top_share(c, 0.2),
                                     'top_1pct_share', top_share(c, 0.01), 'pareto_80', pareto_ratio(c, 0.8),
                                     'pareto_50', pareto_ratio(c, 0.5), 'hhi', hhi(c))
           FROM (SELECT concentration_agg(amount) AS c FROM cdnow_orders) s"""
    ).fetchone()
    for key, value in expected.items():
        assert report[key] == pytest.approx(value, rel=1e-15), key
    assert report["n"] == 69659
    assert set(report) == {
        "n", "total", "gini", "gini_unbiased", "hhi", "hhi_normalized", "top_1pct_share",
        "top_5pct_share", "top_10pct_share", "top_20pct_share", "pareto_80", "pareto_50",
    }


def test_summary_text_form_round_trips_and_stores(db):
    db.execute("CREATE TEMP TABLE stored AS SELECT concentration_agg(amount) AS c FROM cdnow_orders")
    text = scalar(db, "SELECT c::text FROM stored")
    assert text.startswith('{"n":69659,"values":[')
    assert scalar(db, "SELECT c::text::concentration::text = c::text FROM stored")
    assert scalar(db, "SELECT gini(c::text::concentration) = gini(c) FROM stored")
    assert scalar(db, """SELECT gini('{"n": 3, "values": [3, 1, 2]}'::concentration)""") == pytest.approx(2 / 9)


def test_summary_in_a_materialized_view(db):
    db.execute(
        """CREATE MATERIALIZED VIEW revenue_concentration AS
           SELECT date_trunc('quarter', order_date) AS quarter, concentration_agg(amount) AS c
           FROM cdnow_orders GROUP BY 1"""
    )
    try:
        rows = db.execute(
            "SELECT quarter, gini(c) FROM revenue_concentration ORDER BY quarter"
        ).fetchall()
        assert len(rows) == 6
        direct = db.execute(
            "SELECT date_trunc('quarter', order_date), gini(amount) FROM cdnow_orders GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert rows == direct
    finally:
        db.execute("DROP MATERIALIZED VIEW revenue_concentration")


def test_lorenz_curve(db):
    rows = db.execute(
        f"SELECT * FROM lorenz_curve((SELECT concentration_agg(x) FROM {INEQ_VALUES}), 10)"
    ).fetchall()
    assert len(rows) == 11
    assert rows[0] == (0.0, 0.0) and rows[-1] == (1.0, 1.0)
    assert rows[1][1] == pytest.approx(541 / 66586)
    default = scalar(db, f"SELECT count(*) FROM lorenz_curve((SELECT concentration_agg(x) FROM {INEQ_VALUES}))")
    assert default == 101


def test_group_by_and_window_use(db):
    per_month = db.execute(
        """SELECT date_trunc('month', order_date) AS month, gini(amount), top_share(amount, 0.1)
           FROM cdnow_orders GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert len(per_month) == 18
    # The same aggregate as a window function over each month's partition.
    windowed = db.execute(
        """SELECT DISTINCT date_trunc('month', order_date),
                  gini(amount) OVER (PARTITION BY date_trunc('month', order_date)),
                  top_share(amount, 0.1) OVER (PARTITION BY date_trunc('month', order_date))
           FROM cdnow_orders ORDER BY 1"""
    ).fetchall()
    assert windowed == per_month


def test_row_order_does_not_matter(db):
    values = [round(random.Random(7).lognormvariate(3, 1.5), 2) for _ in range(5000)]
    query = """SELECT gini(x), hhi(x), top_share(x, 0.05), pareto_ratio(x), concentration_agg(x)::text
               FROM unnest(%s::float8[]) AS x"""
    first = db.execute(query, (values,)).fetchone()
    random.Random(8).shuffle(values)
    assert db.execute(query, (values,)).fetchone() == first


SERIAL = "SET max_parallel_workers_per_gather = 0"
ALL_MEASURES = """SELECT gini(x), gini_unbiased(x), hhi(x), hhi_normalized(x), top_share(x, 0.01),
                         pareto_ratio(x), pareto_ratio(x, 0.5), concentration_agg(x)::text
                  FROM parallel_values"""


def test_parallel_plan_gives_the_serial_result(db):
    db.execute("DROP TABLE IF EXISTS parallel_values")
    db.execute(
        """CREATE TABLE parallel_values AS
           SELECT round((exp(random() * 12))::numeric, 2)::float8 AS x, g % 7 AS grp
           FROM generate_series(1, 300000) g"""
    )
    db.execute("ANALYZE parallel_values")
    try:
        db.execute(SERIAL)
        serial = db.execute(ALL_MEASURES).fetchone()
        serial_groups = db.execute("SELECT grp, gini(x), top_share(x, 0.2) FROM parallel_values GROUP BY grp ORDER BY grp").fetchall()
        force_parallel(db)
        plan = "\n".join(r[0] for r in db.execute("EXPLAIN (COSTS OFF) " + ALL_MEASURES))
        assert "Partial Aggregate" in plan and "Gather" in plan, plan
        assert db.execute(ALL_MEASURES).fetchone() == serial
        group_plan = "\n".join(r[0] for r in db.execute(
            "EXPLAIN (COSTS OFF) SELECT grp, gini(x), top_share(x, 0.2) FROM parallel_values GROUP BY grp ORDER BY grp"))
        assert "Partial" in group_plan, group_plan
        assert db.execute("SELECT grp, gini(x), top_share(x, 0.2) FROM parallel_values GROUP BY grp ORDER BY grp").fetchall() == serial_groups
        # rollup(concentration) shares the combine/serialize path: parallel over 20,000 summaries.
        db.execute(SERIAL)
        db.execute("CREATE TABLE summaries AS SELECT concentration_agg(x) AS c FROM parallel_values GROUP BY (x * 100)::bigint % 20000")
        db.execute("ANALYZE summaries")
        rolled_serially = scalar(db, "SELECT rollup(c)::text FROM summaries")
        force_parallel(db)
        plan = "\n".join(r[0] for r in db.execute("EXPLAIN (COSTS OFF) SELECT rollup(c) FROM summaries"))
        assert "Partial Aggregate" in plan, plan
        assert scalar(db, "SELECT rollup(c)::text FROM summaries") == rolled_serially == serial[-1]
    finally:
        db.execute("RESET ALL")
        db.execute("DROP TABLE IF EXISTS summaries")
        db.execute("DROP TABLE parallel_values")


def test_parallel_workers_must_agree_on_p(db):
    db.execute("DROP TABLE IF EXISTS varying_p")
    db.execute("CREATE TABLE varying_p AS SELECT g::float8 AS x, CASE WHEN g > 150000 THEN 0.2 ELSE 0.1 END AS p FROM generate_series(1, 300000) g")
    try:
        force_parallel(db)
        diag = sql_error(db, "SELECT top_share(x, p) FROM varying_p")
        assert diag.sqlstate == "22023" and "same on every row" in diag.message_primary
    finally:
        db.execute("RESET ALL")
        db.execute("DROP TABLE varying_p")


def test_statement_timeout_stops_a_long_aggregate(db):
    db.execute("SET statement_timeout = '300ms'")
    started = time.monotonic()
    diag = sql_error(db, "SELECT gini(x), concentration_report(concentration_agg(x)) FROM generate_series(1, 40000000) x")
    elapsed = time.monotonic() - started
    db.execute("RESET statement_timeout")
    assert diag.sqlstate == "57014"
    assert elapsed < 5, f"cancel took {elapsed:.1f} s"


def test_rollup_of_summaries_equals_one_summary_of_all_values(db):
    whole = scalar(db, "SELECT concentration_agg(amount)::text FROM cdnow_orders")
    rolled = scalar(
        db,
        """SELECT rollup(c)::text FROM (
               SELECT date_trunc('month', order_date), concentration_agg(amount) AS c
               FROM cdnow_orders GROUP BY 1) per_month""",
    )
    assert rolled == whole
    assert scalar(db, "SELECT rollup(c) FROM (SELECT NULL::concentration AS c) s") is None
    nothing = scalar(db, "SELECT rollup(c) FROM (SELECT concentration_agg(x) AS c FROM (VALUES (1.0)) v(x) WHERE false) s")
    assert nothing is None
