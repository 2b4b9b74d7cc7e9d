"""RFM scores and segments: pandas and PostgreSQL's own ntile() as oracles, the segment table as
issue 3 states it (R package rfm 0.3.0 vignette), errors and row order."""
import itertools
import json
import random

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, scalar, sql_error


@pytest.fixture(scope="module")
def customers():
    orders = pd.read_csv(ROOT / "tests/data/CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    orders["date"] = pd.to_datetime(orders["date"], format="%Y%m%d")
    return orders.groupby("customer_id").agg(
        last=("date", "max"), frequency=("date", "size"), monetary=("dollar_value", "sum"))


def pandas_score(series, bins=5):
    """The default method as issue 3 states it: 1 + floor(bins * (rank(method='min') - 1) / n)."""
    below = series.rank(method="min") - 1
    return (1 + np.floor(bins * below / len(series))).astype(int)


RFM_SQL = """SELECT customer_id,
                    rfm_score(max(order_date)) OVER w AS r,
                    rfm_score(count(*)) OVER w AS f,
                    rfm_score(sum(amount)) OVER w AS m,
                    rfm_score(DATE '1998-07-01' - max(order_date), descending => true) OVER w AS r_by_days
             FROM cdnow_orders GROUP BY customer_id WINDOW w AS () ORDER BY customer_id"""


def test_default_scores_match_pandas_on_cdnow(db, customers):
    ours = pd.DataFrame(db.execute(RFM_SQL).fetchall(), columns=["customer_id", "r", "f", "m", "r_by_days"]).set_index("customer_id")
    assert (ours["r"] == pandas_score(customers["last"])).all()
    assert (ours["f"] == pandas_score(customers["frequency"])).all()
    assert (ours["m"] == pandas_score(customers["monetary"].round(2))).all()
    # Recency in days, descending, ranks the customers as the last purchase date does.
    assert (ours["r_by_days"] == ours["r"]).all()
    days = (pd.Timestamp("1998-07-01") - customers["last"]).dt.days
    assert (ours["r_by_days"] == pandas_score(-days)).all()


@pytest.mark.parametrize("bins,descending", [(5, False), (3, False), (7, True), (100, False)])
def test_ntile_method_equals_postgres_ntile_for_distinct_values(db, bins, descending):
    values = random.Random(bins).sample(range(1, 100000), 997)
    order = "DESC" if descending else ""
    rows = db.execute(
        f"""SELECT x, rfm_score(x, bins => %s, descending => %s, method => 'ntile') OVER (),
                   ntile(%s) OVER (ORDER BY x {order}) AS pg_ntile
            FROM unnest(%s::float8[]) AS x""",
        (bins, descending, bins, values)).fetchall()
    assert all(ours == theirs for _, ours, theirs in rows)


def test_ties_score_the_same_whatever_the_row_order(db):
    values = [random.Random(5).choice([1, 2, 2, 3, 5, 8, 8, 8, 13]) for _ in range(2000)]
    query = """SELECT i, rfm_score(x) OVER (), rfm_score(x, descending => true) OVER ()
               FROM unnest(%s::float8[], %s::int[]) AS t(x, i) ORDER BY i"""
    first = db.execute(query, (values, list(range(len(values))))).fetchall()
    shuffled = list(range(len(values)))
    random.Random(6).shuffle(shuffled)
    again = db.execute(query, ([values[i] for i in shuffled], shuffled)).fetchall()
    assert again == first
    by_value = {}
    for (i, score, _), x in zip(first, values):
        assert by_value.setdefault(x, score) == score


def test_partitions_and_numeric_and_integer_inputs(db):
    rows = db.execute(
        """SELECT customer_id % 2 AS half, rfm_score(sum(amount)) OVER (PARTITION BY customer_id % 2) AS m,
                  rfm_score(sum(amount)::float8) OVER (PARTITION BY customer_id % 2) AS m_float
           FROM cdnow_orders GROUP BY customer_id"""
    ).fetchall()
    assert all(m == mf for _, m, mf in rows)
    assert {m for _, m, _ in rows} == {1, 2, 3, 4, 5}


# Issue 3's default table, "tried in this order" (R package rfm 0.3.0 vignette).
ISSUE_TABLE = [
    ("Champions", (5, 5), (5, 5), (5, 5)),
    ("Potential Loyalist", (3, 5), (3, 5), (2, 5)),
    ("Loyal Customers", (2, 4), (2, 4), (2, 4)),
    ("Promising", (3, 4), (1, 3), (3, 5)),
    ("New Customers", (4, 5), (1, 3), (1, 5)),
    ("Can't Lose Them", (1, 2), (3, 4), (4, 5)),
    ("At Risk", (1, 2), (2, 5), (4, 5)),
    ("Need Attention", (1, 3), (3, 5), (3, 5)),
    ("About To Sleep", (2, 3), (1, 3), (1, 4)),
    ("Lost", (1, 1), (1, 5), (1, 5)),
]


def first_match(table, scores):
    for name, *ranges in table:
        if all(low <= s <= high for s, (low, high) in zip(scores, ranges)):
            return name
    return "Others"


def test_default_segments_follow_the_issue_table_for_all_125_cells(db):
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        assert scalar(db, "SELECT rfm_segment(%s, %s, %s)", (r, f, m)) == first_match(ISSUE_TABLE, (r, f, m)), (r, f, m)


def test_rfm_segment_rules_is_the_issue_table(db):
    rules = scalar(db, "SELECT rfm_segment_rules()")
    assert [(x["name"], tuple(x["r"]), tuple(x["f"]), tuple(x["m"])) for x in rules] == ISSUE_TABLE
    # Fed back as the user's rules, it gives the default segments.
    assert scalar(db, "SELECT rfm_segment(2, 5, 1, rfm_segment_rules())") == "Others"
    assert scalar(db, "SELECT rfm_segment(1, 5, 5, rfm_segment_rules())") == "At Risk"


def test_own_rules(db):
    rules = json.dumps([{"name": "VIP", "r": [4, 5], "f": [4, 5], "m": [4, 5]}, {"name": "Big once", "m": [5, 5]}])
    assert db.execute(
        "SELECT rfm_segment(5, 4, 4, %s), rfm_segment(1, 1, 5, %s), rfm_segment(1, 1, 1, %s), rfm_segment(NULL, 1, 1, %s)",
        (rules,) * 4).fetchone() == ("VIP", "Big once", "Others", None)


ERRORS = [
    ("SELECT rfm_score(x) OVER () FROM (VALUES (1.0), ('NaN')) v(x)", "22023", "rfm_score: NaN"),
    ("SELECT rfm_score(x) OVER () FROM (VALUES ('Infinity'::float8)) v(x)", "22003", "rfm_score"),
    ("SELECT rfm_score(x) OVER () FROM (VALUES ('infinity'::timestamptz)) v(x)", "22008", "infinity"),
    ("SELECT rfm_score(x, 1) OVER () FROM (VALUES (1.0)) v(x)", "22023", "bins = 1 is outside [2, 100]"),
    ("SELECT rfm_score(x, bins => 101) OVER () FROM (VALUES (1.0)) v(x)", "22023", "bins = 101"),
    ("SELECT rfm_score(x, NULL) OVER () FROM (VALUES (1.0)) v(x)", "22004", "bins must not be NULL"),
    ("SELECT rfm_score(x, descending => NULL) OVER () FROM (VALUES (1.0)) v(x)", "22004", "descending must not be NULL"),
    ("SELECT rfm_score(x, method => 'qcut') OVER () FROM (VALUES (1.0)) v(x)", "22023", "unknown method 'qcut'"),
    ("SELECT rfm_score(x, method => NULL) OVER () FROM (VALUES (1.0)) v(x)", "22004", "method must not be NULL"),
    ("SELECT rfm_segment(0, 1, 1)", "22023", "r = 0 is outside [1, 100]"),
    ("SELECT rfm_segment(1, 101, 1)", "22023", "f = 101"),
    ("SELECT rfm_segment(1, 1, 1, NULL)", "22004", "rules must not be NULL"),
    ("""SELECT rfm_segment(1, 1, 1, '{"name": "x"}')""", "22023", "array"),
    ("""SELECT rfm_segment(1, 1, 1, '[{"name": "x", "rr": [1, 2]}]')""", "22023", "unknown key \"rr\""),
    ("""SELECT rfm_segment(1, 1, 1, '[{"name": "", "r": [1, 2]}]')""", "22023", "\"name\""),
    ("""SELECT rfm_segment(1, 1, 1, '[{"name": "x", "r": [0, 2]}]')""", "22023", "\"r\" [0, 2]"),
]


@pytest.mark.parametrize("query,sqlstate,words", ERRORS)
def test_bad_input_is_a_clear_error(db, query, sqlstate, words):
    diag = sql_error(db, query)
    assert diag.sqlstate == sqlstate, diag.message_primary
    assert words in diag.message_primary
    assert diag.message_hint
