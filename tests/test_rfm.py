"""RFM scores and segments: pandas and PostgreSQL's own ntile() as oracles, the segment table as
issue 3 states it (R package rfm 0.3.0 vignette), errors and row order."""
import contextlib
from datetime import date
import itertools
import json
import random

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, assert_clear_error, force_parallel, scalar


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
    ("""SELECT rfm_segment(1, 1, 1, '[{"name": "x", "rr": [1, 2]}]')""", "22023", "unknown field `rr`"),
    ("""SELECT rfm_segment(1, 1, 1, '[{"name": "", "r": [1, 2]}]')""", "22023", "\"name\""),
    ("""SELECT rfm_segment(1, 1, 1, '[{"name": "x", "r": [0, 2]}]')""", "22023", "\"r\" [0, 2]"),
]


@pytest.mark.parametrize("query,sqlstate,words", ERRORS)
def test_bad_input_is_a_clear_error(db, query, sqlstate, words):
    assert_clear_error(db, query, sqlstate, words)


# ---------------------------------------------------------------------------------------------
# The one-pass path: rfm_agg -> rfm_summary -> rfm_scores.

ONE_PASS = """SELECT customer_id::text, r, f, m, frequency, monetary, segment
              FROM rfm_scores((SELECT rfm_agg({id}, order_date, amount) FROM cdnow_orders)) ORDER BY 1"""
WINDOW_PATH = """SELECT ({id})::text, rfm_score(max(order_date)) OVER w, rfm_score(count(*)) OVER w,
                        rfm_score(sum(amount)) OVER w, count(*), sum(amount)::float8,
                        rfm_segment(rfm_score(max(order_date)) OVER w, rfm_score(count(*)) OVER w, rfm_score(sum(amount)) OVER w)
                 FROM cdnow_orders GROUP BY 1 WINDOW w AS () ORDER BY 1"""
# uuid ids made from the bigint ones: md5 spreads them over all 128 bits, as random uuids are.
AS_UUID = "md5({}::text)::uuid"


def same_summary(a, b):
    """Two summaries' text forms hold the same customers, times and purchases, and net amounts
    equal to 1e-9 (a compensated sum keeps its running error apart, which may be split
    differently when the rows are added in another order)."""
    a, b = json.loads(a)["customers"], json.loads(b)["customers"]
    assert [row[:4] for row in a] == [row[:4] for row in b]
    assert all(abs((x[4] + x[5]) - (y[4] + y[5])) <= 1e-9 * max(1, abs(x[4])) for x, y in zip(a, b))
    return True


@pytest.mark.parametrize("id_expression", ["customer_id", "customer_id::text", AS_UUID.format("customer_id")])
def test_one_pass_scores_equal_the_window_path(db, id_expression):
    one_pass = db.execute(ONE_PASS.format(id=id_expression)).fetchall()
    window = db.execute(WINDOW_PATH.format(id=id_expression)).fetchall()
    assert len(one_pass) == 23570
    assert [row[:5] + (row[6],) for row in one_pass] == [row[:5] + (row[6],) for row in window]
    assert all(abs(a[5] - b[5]) < 1e-9 for a, b in zip(one_pass, window))


def test_returns_and_rows_without_customer_or_time(db):
    orders = """(VALUES (1, '2024-01-05'::timestamptz, 100.0), (1, '2024-03-01', -30.0),
                        (2, '2024-02-01', 20.0), (2, '2024-02-10', 20.0), (3, '2024-01-20', -5.0),
                        (NULL, '2024-02-02', 999.0), (4, NULL, 999.0), (4, '2024-01-01', NULL)) o(c, ts, amount)"""
    rows = db.execute(
        f"SELECT customer_id, first_order::date, last_order::date, frequency, monetary, r, f, m "
        f"FROM rfm_scores((SELECT rfm_agg(c, ts, amount) FROM {orders}), as_of => '2024-03-31') ORDER BY 1"
    ).fetchall()
    # The return on 2024-03-01 lowers customer 1's amount but is not its last purchase.
    assert [r[:5] for r in rows] == [
        (1, date(2024, 1, 5), date(2024, 1, 5), 1, 70.0),
        (2, date(2024, 2, 1), date(2024, 2, 10), 2, 40.0),
        (3, None, None, 0, -5.0),
        (4, date(2024, 1, 1), date(2024, 1, 1), 1, 0.0),
    ]
    # The same scores as the window path over the purchases (returns are no purchases).
    window = db.execute(
        f"""SELECT c, rfm_score(max(ts) FILTER (WHERE amount >= 0 OR amount IS NULL)) OVER w,
                      rfm_score(count(*) FILTER (WHERE amount >= 0 OR amount IS NULL)) OVER w,
                      rfm_score(coalesce(sum(amount), 0)) OVER w
            FROM {orders} WHERE c IS NOT NULL AND ts IS NOT NULL GROUP BY c WINDOW w AS () ORDER BY c"""
    ).fetchall()
    assert [(r[0],) + r[5:] for r in rows] == window


def test_one_summary_per_group_rollup_and_text_form(db):
    per_quarter = db.execute(
        "SELECT date_trunc('quarter', order_date) AS q, rfm_agg(customer_id, order_date, amount) AS s FROM cdnow_orders GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert len(per_quarter) == 6
    whole = scalar(db, "SELECT rfm_agg(customer_id, order_date, amount)::text FROM cdnow_orders")
    rolled = scalar(db, """SELECT rollup(s)::text FROM (SELECT rfm_agg(customer_id, order_date, amount) AS s
                           FROM cdnow_orders GROUP BY date_trunc('month', order_date)) m""")
    assert same_summary(rolled, whole)
    assert scalar(db, "SELECT %s::rfm_summary::text", (whole,)) == whole
    text_ids = scalar(db, "SELECT rfm_agg(customer_id::text, order_date, amount)::text FROM cdnow_orders WHERE customer_id < 3")
    assert text_ids.startswith('{"customers":[["1",')
    assert scalar(db, "SELECT %s::rfm_summary_text::text", (text_ids,)) == text_ids
    uuid_ids = scalar(db, f"SELECT rfm_agg({AS_UUID.format('customer_id')}, order_date, amount)::text FROM cdnow_orders WHERE customer_id < 3")
    # md5('1') = c4ca4238a0b923820dcc509a6f75849b (Python's hashlib), printed as PostgreSQL prints a uuid.
    assert uuid_ids.startswith('{"customers":[["c4ca4238-a0b9-2382-0dcc-509a6f75849b",')
    assert scalar(db, "SELECT %s::rfm_summary_uuid::text", (uuid_ids,)) == uuid_ids


@contextlib.contextmanager
def random_orders(db, table, rows, customers):
    """A table (c, ts, amount) of random orders, some of them returns, skewed towards the low
    customer ids; dropped afterwards, and the session's settings reset."""
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(
        f"""CREATE TABLE {table} AS SELECT (power(random(), 2) * {customers})::bigint - 1000 AS c,
                   '2024-01-01'::timestamptz + random() * interval '365 days' AS ts,
                   round((random() * 200 - 20)::numeric, 2)::float8 AS amount
            FROM generate_series(1, {rows})"""
    )
    db.execute(f"ANALYZE {table}")
    try:
        yield
    finally:
        db.execute("RESET ALL")
        db.execute(f"DROP TABLE {table}")


def assert_parallel_plan(db, query):
    force_parallel(db)
    plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN (COSTS OFF) {query}"))
    assert "Partial Aggregate" in plan, plan


def test_one_pass_under_a_parallel_plan(db):
    with random_orders(db, "many_orders", 200_000, 20_000):
        serial = scalar(db, "SELECT rfm_agg(c, ts, amount)::text FROM many_orders")
        serial_text = scalar(db, "SELECT rfm_agg(c::text, ts, amount)::text FROM many_orders")
        by_uuid = f"SELECT rfm_agg({AS_UUID.format('c')}, ts, amount)::text FROM many_orders"
        serial_uuid = scalar(db, by_uuid)
        assert_parallel_plan(db, "SELECT rfm_agg(c, ts, amount) FROM many_orders")
        assert same_summary(scalar(db, "SELECT rfm_agg(c, ts, amount)::text FROM many_orders"), serial)
        assert same_summary(scalar(db, "SELECT rfm_agg(c::text, ts, amount)::text FROM many_orders"), serial_text)
        assert same_summary(scalar(db, by_uuid), serial_uuid)


@pytest.mark.parametrize("id_expression", ["c", "c::text", AS_UUID.format("c")])
def test_one_pass_counts_millions_of_orders_like_group_by(db, id_expression):
    """2.5 million orders of 300,000 customers: rfm_agg counts bigint ids in several sorted
    batches (a million orders each) and text ids in a hash table split into partitions, and in
    a parallel plan merges the workers' states; PostgreSQL's own GROUP BY is the oracle,
    serially and in parallel."""
    by_group_by = f"""SELECT {id_expression}, min(ts) FILTER (WHERE amount >= 0), max(ts) FILTER (WHERE amount >= 0),
                             count(*) FILTER (WHERE amount >= 0), sum(amount::numeric)::float8
                      FROM big_orders GROUP BY 1"""
    by_rfm_agg = f"""SELECT customer_id, first_order, last_order, frequency, monetary
                     FROM rfm_scores((SELECT rfm_agg({id_expression}, ts, amount) FROM big_orders))"""
    with random_orders(db, "big_orders", 2_500_000, 300_000):
        expected = sorted(db.execute(by_group_by).fetchall())
        for parallel in (False, True):
            if parallel:
                assert_parallel_plan(db, f"SELECT rfm_agg({id_expression}, ts, amount) FROM big_orders")
            ours = db.execute(by_rfm_agg).fetchall()
            assert [row[0] for row in ours] == sorted(row[0] for row in ours), "rows come by id"
            assert len(ours) == len(expected)
            assert [row[:4] for row in ours] == [row[:4] for row in expected]
            assert all(abs(a[4] - b[4]) <= 1e-9 * max(1, abs(b[4])) for a, b in zip(ours, expected))


def test_scores_of_no_summary_are_no_rows(db):
    assert db.execute("SELECT * FROM rfm_scores(NULL::rfm_summary)").fetchall() == []
    assert db.execute("SELECT * FROM rfm_scores(NULL::rfm_summary_text, now())").fetchall() == []


ONE_PASS_ERRORS = [
    ("SELECT * FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders), as_of => '1998-01-01')",
     "22023", "is before the last purchase", "FILTER"),
    ("SELECT * FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders), bins => 1)",
     "22023", "bins = 1", "bins"),
    ("SELECT * FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders), as_of => NULL)",
     "22004", "as_of must not be NULL", "as_of"),
    ("SELECT rfm_agg(1, now(), 'NaN')", "22023", "rfm_agg: NaN", "WHERE"),
    ("SELECT rfm_agg(1, 'infinity', 1.0)", "22008", "infinity", "isfinite"),
    ("SELECT '{\"customers\": [[1, 5, 4, 1, 1.0, 0.0]]}'::rfm_summary", "22P02", "type rfm_summary", "customers"),
    # A time outside PostgreSQL's timestamp range (here before 4714 BC).
    ("SELECT '{\"customers\": [[1, -211813488000000001, 0, 2, 1.0, 0.0]]}'::rfm_summary", "22P02", "type rfm_summary", "customers"),
    # Finite amounts whose sum is not: an error, as PostgreSQL's sum(float8) gives one.
    ("SELECT * FROM rfm_scores((SELECT rfm_agg(1, now(), 1.5e308) FROM generate_series(1, 2)))",
     "22003", "out of the range of double precision", "scale"),
]


@pytest.mark.parametrize("query,sqlstate,words,hint", ONE_PASS_ERRORS)
def test_one_pass_bad_input(db, query, sqlstate, words, hint):
    assert_clear_error(db, query, sqlstate, words, hint)


# ---------------------------------------------------------------------------------------------
# rfm_breaks / rfm_bin: edges learned once, applied later.

def test_binning_by_learned_edges_equals_the_window_scores(db):
    rows = db.execute(
        """WITH c AS (SELECT customer_id, count(*)::float8 AS f, sum(amount)::float8 AS m,
                             DATE '1998-07-01' - max(order_date) AS days
                      FROM cdnow_orders GROUP BY customer_id),
                e AS (SELECT rfm_breaks(f) AS f_edges, rfm_breaks(m, 7) AS m_edges,
                             rfm_breaks(days, 5, true) AS days_edges FROM c)
           SELECT rfm_bin(f, f_edges) = rfm_score(f) OVER (),
                  rfm_bin(m, m_edges) = rfm_score(m, 7) OVER (),
                  rfm_bin(days, days_edges, true) = rfm_score(days, descending => true) OVER ()
           FROM c, e"""
    ).fetchall()
    assert len(rows) == 23570 and all(all(row) for row in rows)


def test_scoring_prospects_with_yesterdays_edges(db):
    edges = scalar(db, "SELECT rfm_breaks(x) FROM unnest(ARRAY[10, 20, 30, 40, 50]) x")
    assert edges == [20, 30, 40, 50]
    assert db.execute("SELECT rfm_bin(5, %s), rfm_bin(35, %s), rfm_bin(1e9, %s), rfm_bin(NULL, %s)",
                      (edges,) * 4).fetchone() == (1, 3, 5, None)


def test_rfm_breaks_parallel_plan(db):
    db.execute("DROP TABLE IF EXISTS spend")
    db.execute("CREATE TABLE spend AS SELECT round((random() * 1000 - 50)::numeric, 1)::float8 AS v FROM generate_series(1, 200000)")
    db.execute("ANALYZE spend")
    try:
        serial = scalar(db, "SELECT rfm_breaks(v, 10) FROM spend")
        force_parallel(db)
        plan = "\n".join(r[0] for r in db.execute("EXPLAIN (COSTS OFF) SELECT rfm_breaks(v, 10) FROM spend"))
        assert "Partial Aggregate" in plan
        assert scalar(db, "SELECT rfm_breaks(v, 10) FROM spend") == serial
    finally:
        db.execute("RESET ALL")
        db.execute("DROP TABLE spend")


BREAKS_ERRORS = [
    ("SELECT rfm_breaks(x, 1) FROM (VALUES (1.0)) v(x)", "22023", "bins = 1"),
    ("SELECT rfm_breaks(x, NULL) FROM (VALUES (1.0)) v(x)", "22004", "bins must not be NULL"),
    ("SELECT rfm_breaks(x, b) FROM (VALUES (1.0, 4), (2.0, 5)) v(x, b)", "22023", "same on every row"),
    ("SELECT rfm_breaks(x) FROM (VALUES ('NaN'::float8)) v(x)", "22023", "rfm_breaks: NaN"),
    ("SELECT rfm_bin(1, NULL)", "22004", "edges must not be NULL"),
    ("SELECT rfm_bin(1, ARRAY[3, 2, 1])", "22023", "not ascending"),
    ("SELECT rfm_bin(1, ARRAY[1, 2, 3], true)", "22023", "not descending"),
    ("SELECT rfm_bin(1, ARRAY[1, NULL])", "22023", "NULL or NaN"),
    ("SELECT rfm_bin('Infinity', ARRAY[1, 2])", "22003", "rfm_bin"),
]


@pytest.mark.parametrize("query,sqlstate,words", BREAKS_ERRORS)
def test_breaks_bad_input(db, query, sqlstate, words):
    assert_clear_error(db, query, sqlstate, words)
