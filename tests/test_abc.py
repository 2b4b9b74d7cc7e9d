"""ABC classification window functions: classes derived from published cumulative shares,
pandas computations of the same rules on CDNOW, contribution margins, errors, row order."""
import random

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, assert_clear_error, force_parallel, scalar, sql_error

# R ineq's example values; issue 4 publishes their cumulative shares, largest first.
Y = [541, 1463, 2445, 3438, 4437, 5401, 6392, 8304, 11904, 22261]
PUBLISHED_SHARES = [0.3343, 0.5131, 0.6378, 0.7338, 0.8149, 0.8816, 0.9332, 0.9699, 0.9919, 1.0]


def classes_from_shares(shares, a, b):
    """The rule, applied to the published series: the value whose share crosses a is A, ..."""
    before = [0.0] + shares[:-1]
    return ["A" if s < a else "B" if s < b else "C" for s in before]


def test_cumulative_share_is_the_published_series(db):
    rows = db.execute(
        f"SELECT cumulative_share(x) OVER () FROM unnest(ARRAY{Y}) x ORDER BY x DESC"
    ).fetchall()
    assert [r[0] for r in rows] == pytest.approx(PUBLISHED_SHARES, abs=5e-5)


@pytest.mark.parametrize("a,b", [(0.8, 0.95), (0.7, 0.9), (0.5, 1.0)])
def test_classes_follow_from_the_published_shares(db, a, b):
    rows = db.execute(
        f"SELECT abc_class(x, a => %s, b => %s) OVER () FROM unnest(ARRAY{Y}) x ORDER BY x DESC", (a, b)
    ).fetchall()
    assert [r[0] for r in rows] == classes_from_shares(PUBLISHED_SHARES, a, b)


def test_defaults_and_positional_parameters(db):
    default = db.execute(f"SELECT abc_class(x) OVER () FROM unnest(ARRAY{Y}) x ORDER BY x DESC").fetchall()
    positional = db.execute(f"SELECT abc_class(x, 0.8, 0.95) OVER () FROM unnest(ARRAY{Y}) x ORDER BY x DESC").fetchall()
    assert default == positional
    assert [r[0] for r in default].count("A") == 5


@pytest.fixture(scope="module")
def revenue():
    orders = pd.read_csv(ROOT / "tests/data/CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    return orders.groupby("customer_id")["dollar_value"].sum().round(2)


def pandas_abc_by_value(values, a, b):
    """Independent: cumulative share of the ties-grouped, descending positive values."""
    positive = values[values > 0]
    grouped = positive.groupby(positive).sum().sort_index(ascending=False)
    share_before = (grouped.cumsum() - grouped) / positive.sum()
    cls = pd.Series(np.where(share_before < a, "A", np.where(share_before < b, "B", "C")), index=grouped.index)
    return values.map(lambda v: "D" if v < 0 else "C" if v == 0 else cls[v])


def pandas_abc_by_rank(values, a, c):
    ranked = values[values >= 0]
    m = len(ranked)
    above = ranked.rank(method="min", ascending=False) - 1
    below = ranked.rank(method="min", ascending=True) - 1
    cls = np.where(above < a * m, "A", np.where(below < c * m, "C", "B"))
    return pd.Series(cls, index=ranked.index).reindex(values.index).fillna("D")


REVENUE_SQL = "SELECT customer_id, round(sum(amount), 2) AS revenue FROM cdnow_orders GROUP BY customer_id"


def test_cdnow_classes_by_value_match_pandas(db, revenue):
    rows = db.execute(f"SELECT customer_id, abc_class(revenue) OVER () FROM ({REVENUE_SQL}) r").fetchall()
    ours = pd.Series(dict(rows)).sort_index()
    expected = pandas_abc_by_value(revenue, 0.8, 0.95).sort_index()
    assert (ours.values == expected.values).all()
    assert ours.value_counts().to_dict() == expected.value_counts().to_dict()


def test_cdnow_class_sizes_by_rank_match_pandas(db, revenue):
    sizes = dict(db.execute(
        f"SELECT cls, count(*) FROM (SELECT abc_class_by_rank(revenue) OVER () AS cls FROM ({REVENUE_SQL}) r) s GROUP BY cls"
    ).fetchall())
    expected = pandas_abc_by_rank(revenue, 0.2, 0.2).value_counts().to_dict()
    assert sizes == expected
    assert sizes["A"] == pytest.approx(0.2 * len(revenue), rel=0.01)


# Contribution margin (Kundendeckungsbeitrag) per customer: revenue minus cost of goods (here 60 %
# of revenue, an assumption for the example) minus a service cost of $6 per order. Customers with
# many small orders lose money and must come out 'D'.
MARGIN_SQL = """SELECT customer_id, sum(amount) - 0.6 * sum(amount) - 6 * count(*) AS margin
                FROM cdnow_orders GROUP BY customer_id"""


def test_loss_making_customers_are_d(db, revenue):
    orders = pd.read_csv(ROOT / "tests/data/CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    per_customer = orders.groupby("customer_id")["dollar_value"].agg(["sum", "count"])
    margin = (per_customer["sum"] * 0.4 - 6 * per_customer["count"]).round(6)
    rows = db.execute(f"SELECT customer_id, abc_class(margin) OVER () FROM ({MARGIN_SQL}) m").fetchall()
    ours = pd.Series(dict(rows)).sort_index()
    assert set(ours[ours == "D"].index) == set(margin[margin < -1e-9].index)
    assert (ours == "D").sum() > 1000
    # Shares are of the positive margins only: A reaches 80 % of what the profitable customers earn.
    assert (ours.values == pandas_abc_by_value(margin, 0.8, 0.95).sort_index().values).all()


def test_partitions_are_classified_separately(db):
    per_partition = db.execute(
        """SELECT customer_id, abc_class(revenue) OVER (PARTITION BY customer_id % 4)
           FROM (SELECT customer_id, sum(amount) AS revenue FROM cdnow_orders GROUP BY customer_id) r
           ORDER BY customer_id"""
    ).fetchall()
    one_at_a_time = []
    for k in range(4):
        one_at_a_time += db.execute(
            f"""SELECT customer_id, abc_class(revenue) OVER ()
                FROM (SELECT customer_id, sum(amount) AS revenue FROM cdnow_orders GROUP BY customer_id) r
                WHERE customer_id % 4 = {k}"""
        ).fetchall()
    assert per_partition == sorted(one_at_a_time)


def test_group_by_in_the_same_select(db):
    rows = db.execute(
        """SELECT customer_id, sum(amount), abc_class(sum(amount)) OVER (), cumulative_share(sum(amount)) OVER ()
           FROM cdnow_orders GROUP BY customer_id"""
    ).fetchall()
    assert len(rows) == 23570
    assert max(r[3] for r in rows) == pytest.approx(1.0)


def test_row_order_does_not_matter(db):
    values = [round(random.Random(3).lognormvariate(3, 1), 1) for _ in range(3000)] + [-4.0, 0.0, 0.0]
    query = """SELECT i, abc_class(x) OVER (), abc_class_by_rank(x) OVER (), cumulative_share(x) OVER ()
               FROM unnest(%s::float8[]) WITH ORDINALITY AS t(x, i) ORDER BY i"""
    first = db.execute(query, (values,)).fetchall()
    shuffled = list(enumerate(values, start=1))
    random.Random(4).shuffle(shuffled)
    again = db.execute(
        """SELECT i, abc_class(x) OVER (), abc_class_by_rank(x) OVER (), cumulative_share(x) OVER ()
           FROM unnest(%s::float8[], %s::bigint[]) AS t(x, i) ORDER BY i""",
        ([v for _, v in shuffled], [i for i, _ in shuffled]),
    ).fetchall()
    assert again == first
    ordered_window = db.execute(
        """SELECT i, abc_class(x) OVER w, abc_class_by_rank(x) OVER w, cumulative_share(x) OVER w
           FROM unnest(%s::float8[]) WITH ORDINALITY AS t(x, i) WINDOW w AS (ORDER BY i DESC) ORDER BY i""",
        (values,),
    ).fetchall()
    assert ordered_window == first


def test_nulls_zeros_and_all_zero(db):
    rows = db.execute(
        "SELECT x, abc_class(x) OVER (), abc_class_by_rank(x) OVER (), cumulative_share(x) OVER () FROM (VALUES (NULL::float8), (0), (0)) v(x) ORDER BY x NULLS FIRST"
    ).fetchall()
    assert rows == [(None, None, None, None), (0.0, "C", "A", None), (0.0, "C", "A", None)]


ERRORS = [
    ("SELECT abc_class(x) FROM (VALUES (1.0)) v(x)", "42809", "OVER"),
    ("SELECT abc_class(x) OVER () FROM (VALUES (1.0), ('NaN')) v(x)", "22023", "abc_class: NaN"),
    ("SELECT abc_class_by_rank(x) OVER () FROM (VALUES ('Infinity'::float8)) v(x)", "22003", "abc_class_by_rank: value inf"),
    ("SELECT cumulative_share(x) OVER () FROM (VALUES ('-Infinity'::float8)) v(x)", "22003", "cumulative_share"),
    ("SELECT abc_class(x, a => 0) OVER () FROM (VALUES (1.0)) v(x)", "22023", "a = 0 is outside (0, 1)"),
    ("SELECT abc_class(x, a => 1) OVER () FROM (VALUES (1.0)) v(x)", "22023", "a = 1 is outside"),
    ("SELECT abc_class(x, b => 0.7) OVER () FROM (VALUES (1.0)) v(x)", "22023", "b = 0.7 is outside (a, 1]"),
    ("SELECT abc_class(x, b => 1.01) OVER () FROM (VALUES (1.0)) v(x)", "22023", "b = 1.01"),
    ("SELECT abc_class(x, a => NULL) OVER () FROM (VALUES (1.0)) v(x)", "22004", "a must not be NULL"),
    ("SELECT abc_class(x, 0.8, NULL) OVER () FROM (VALUES (1.0)) v(x)", "22004", "b must not be NULL"),
    ("SELECT abc_class_by_rank(x, a => 0.6, c => 0.5) OVER () FROM (VALUES (1.0)) v(x)", "22023", "c = 0.5"),
    ("SELECT abc_class_by_rank(x, c => -0.1) OVER () FROM (VALUES (1.0)) v(x)", "22023", "c = -0.1"),
    ("SELECT abc_class_by_rank(x, a => NULL) OVER () FROM (VALUES (1.0)) v(x)", "22004", "a must not be NULL"),
]


@pytest.mark.parametrize("query,sqlstate,words", ERRORS)
def test_bad_input_is_a_clear_error(db, query, sqlstate, words):
    # 42809 is PostgreSQL's own error for a window function called without OVER: no hint.
    assert_clear_error(db, query, sqlstate, words, hint=None if sqlstate == "42809" else "")


def numpy_computed_abc(values):
    """Independent numpy reading of Ultsch & Lötsch's computed ABC on the curve's data points:
    Pareto point closest to (0,1); break-even where the slope n·x/Σx falls below 1; A/B limit the
    one of the two with less effort; B/C limit the point closest to (effort of the other, 1)."""
    x = np.sort(values[values >= 0])[::-1]
    n, total = len(x), x.sum()
    effort = np.arange(n + 1) / n
    yield_ = np.concatenate([[0.0], np.cumsum(x) / total])
    pareto = int(np.argmin(effort**2 + (1 - yield_) ** 2))
    break_even = int(np.sum(x * n >= total))
    ab, other = min(pareto, break_even), max(pareto, break_even)
    submarginal = int(np.argmin((effort - effort[other]) ** 2 + (1 - yield_) ** 2))
    # Ties share the class of their first (best-ranked) member.
    first_rank = pd.Series(x).rank(method="min", ascending=False).to_numpy() - 1
    classes = np.where(first_rank < ab, "A", np.where(first_rank < submarginal, "B", "C"))
    by_value = dict(zip(x, classes))
    return pareto, break_even, submarginal, values.map(lambda v: "D" if v < 0 else by_value[v])


def test_computed_abc_of_one_to_ten_by_hand(db):
    # Σ = 55, mean 5.5: break-even after the 5 values >= 5.5. Distance² to (0,1) after k values:
    # k=3: 0.09 + (28/55)² = 0.349, k=4: 0.16 + (21/55)² = 0.306, k=5: 0.25 + (15/55)² = 0.324,
    # so the Pareto point is k=4 = the A/B limit. Distance² to (0.5, 1): k=6: 0.01 + (10/55)² =
    # 0.043, k=7: 0.04 + (6/55)² = 0.052, so the sub-marginal point is k=6.
    limits = scalar(db, "SELECT abc_limits(x) FROM generate_series(1, 10) x")
    assert (limits["pareto_point"]["items"], limits["break_even_point"]["items"], limits["submarginal_point"]["items"]) == (4, 5, 6)
    assert (limits["a_count"], limits["b_count"], limits["c_count"], limits["d_count"]) == (4, 2, 4, 0)
    classes = db.execute("SELECT abc_class_computed(x) OVER () FROM generate_series(1, 10) x ORDER BY x DESC").fetchall()
    assert "".join(r[0] for r in classes) == "AAAABBCCCC"


def test_computed_abc_on_cdnow_matches_numpy(db, revenue):
    pareto, break_even, submarginal, expected = numpy_computed_abc(revenue)
    limits = scalar(db, f"SELECT abc_limits(revenue) FROM ({REVENUE_SQL}) r")
    assert limits["pareto_point"]["items"] == pareto
    assert limits["break_even_point"]["items"] == break_even
    assert limits["submarginal_point"]["items"] == submarginal
    rows = db.execute(f"SELECT customer_id, abc_class_computed(revenue) OVER () FROM ({REVENUE_SQL}) r").fetchall()
    ours = pd.Series(dict(rows)).sort_index()
    assert (ours.values == expected.sort_index().values).all()
    counts = ours.value_counts()
    assert (limits["a_count"], limits["b_count"], limits["c_count"]) == (counts["A"], counts["B"], counts["C"])


def test_abc_limits_with_losses_and_parallel_plan(db):
    db.execute("DROP TABLE IF EXISTS margins")
    db.execute(
        "CREATE TABLE margins AS SELECT round((exp(random() * 8) - 30)::numeric, 2)::float8 AS m FROM generate_series(1, 200000)"
    )
    db.execute("ANALYZE margins")
    try:
        serial = scalar(db, "SELECT abc_limits(m) FROM margins")
        negatives = scalar(db, "SELECT count(*) FROM margins WHERE m < 0")
        assert serial["d_count"] == negatives > 0
        assert serial["n"] == 200000
        force_parallel(db)
        plan = "\n".join(r[0] for r in db.execute("EXPLAIN (COSTS OFF) SELECT abc_limits(m) FROM margins"))
        assert "Partial Aggregate" in plan, plan
        assert scalar(db, "SELECT abc_limits(m) FROM margins") == serial
    finally:
        db.execute("RESET ALL")
        db.execute("DROP TABLE margins")


def test_abc_limits_empty_and_bad_values(db):
    assert scalar(db, "SELECT abc_limits(x) FROM (SELECT NULL::float8 AS x) s") is None
    only_losses = scalar(db, "SELECT abc_limits(x) FROM (VALUES (-1.0), (-2.0)) v(x)")
    assert only_losses["d_count"] == 2 and only_losses["pareto_point"] is None
    for query in ("SELECT abc_limits(x) FROM (VALUES ('NaN'::float8)) v(x)",
                  "SELECT abc_class_computed(x) OVER () FROM (VALUES ('Infinity'::float8)) v(x)"):
        diag = sql_error(db, query)
        assert diag.sqlstate in ("22023", "22003") and diag.message_hint
