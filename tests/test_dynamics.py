"""Segment dynamics against independent computations: migration and churn on CDNOW snapshots
against pandas (crosstab, groupby), Wilson intervals against statsmodels, the Markov projection
against numpy matrix powers and eigenvectors, the sBG model against Fader & Hardie (2007) and
its DERL against scipy's hypergeometric function."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1
from statsmodels.stats.proportion import proportion_confint

from conftest import assert_clear_error, force_parallel, scalar

SNAPSHOT = """CREATE TEMP TABLE IF NOT EXISTS {name} AS
    SELECT customer_id, segment, monetary FROM rfm_scores(
        (SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders WHERE order_date <= '{as_of}'),
        as_of => '{as_of}')"""


@pytest.fixture
def snapshots(db):
    """The RFM segments of the CDNOW customers at the end of 1997 H1 and of 1997 H2."""
    db.execute(SNAPSHOT.format(name="h1", as_of="1997-06-30"))
    db.execute(SNAPSHOT.format(name="h2", as_of="1997-12-31"))
    return db


def frame(db, query, columns):
    return pd.DataFrame(db.execute(query).fetchall(), columns=columns)


JOINED = "SELECT h1.segment, h2.segment FROM h1 FULL JOIN h2 USING (customer_id)"


def test_migration_matrix_equals_a_pandas_crosstab(snapshots):
    db = snapshots
    matrix = scalar(db, f"SELECT migration_matrix(a, b) FROM ({JOINED}) j(a, b)")
    pairs = frame(db, JOINED, ["before", "after"])
    both = pairs.dropna()
    table = pd.crosstab(both.before, both.after)
    segments = sorted(set(pairs.before.dropna()) | set(pairs.after.dropna()))
    assert matrix["segments"] == segments
    table = table.reindex(index=segments, columns=segments, fill_value=0)
    assert matrix["counts"] == table.values.tolist()
    rows = table.div(table.sum(axis=1), axis=0)
    for got, (_, want) in zip(matrix["probabilities"], rows.iterrows()):
        if want.isna().all():
            assert got is None
        else:
            assert got == pytest.approx(want.tolist(), abs=1e-15)
    new = pairs[pairs.before.isna()].after.value_counts().reindex(segments, fill_value=0)
    lost = pairs[pairs.after.isna()].before.value_counts().reindex(segments, fill_value=0)
    assert matrix["new"] == new.tolist() and matrix["lost"] == lost.tolist()
    changed = (both.before != both.after).sum()
    assert (matrix["customers"], matrix["changed"]) == (len(both), changed)
    assert matrix["fluctuation_rate"] == pytest.approx(changed / len(both), rel=1e-15)
    assert scalar(db, f"SELECT fluctuation_rate(a, b) FROM ({JOINED}) j(a, b)") == matrix["fluctuation_rate"]
    # CDNOW's customers all arrived in 1997 Q1: none is new in H2, none was lost (a customer
    # stays in the RFM table once seen).
    assert matrix["new_customers"] == 0 and matrix["customers"] == 23570


def test_migration_matrix_is_the_same_in_a_parallel_plan(snapshots):
    db = snapshots
    db.execute("DROP TABLE IF EXISTS joined_segments")
    db.execute("""CREATE TABLE joined_segments AS
                  SELECT h1.segment AS before, h2.segment AS after FROM h1 FULL JOIN h2 USING (customer_id)""")
    query = "SELECT migration_matrix(before, after)::text FROM joined_segments"
    serial = scalar(db, query)
    force_parallel(db)
    plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN {query}").fetchall())
    assert "Partial Aggregate" in plan
    assert scalar(db, query) == serial
    db.execute("DROP TABLE joined_segments")


def churn_per_segment(db):
    """Per H1 segment, whether each customer bought nothing in H2, with their H1 monetary value."""
    return """SELECT h1.segment, NOT EXISTS (SELECT FROM cdnow_orders o WHERE o.customer_id = h1.customer_id
                                              AND o.order_date > '1997-06-30' AND o.order_date <= '1997-12-31') AS churned,
                     h1.monetary
              FROM h1"""


def test_churn_rate_per_segment_equals_pandas_and_statsmodels(snapshots):
    db = snapshots
    rows = db.execute(f"""SELECT segment, (c).* FROM (
                            SELECT segment, churn_rate(churned) AS c FROM ({churn_per_segment(db)}) s GROUP BY segment) g
                          ORDER BY segment""").fetchall()
    customers = frame(db, churn_per_segment(db), ["segment", "churned", "monetary"])
    grouped = customers.groupby("segment").churned.agg(["sum", "count"]).sort_index()
    assert [r[0] for r in rows] == list(grouped.index)
    for (_, rate, low, high, n, churned), (_, g) in zip(rows, grouped.iterrows()):
        assert (n, churned) == (g["count"], g["sum"])
        assert rate == pytest.approx(g["sum"] / g["count"], rel=1e-15)
        want_low, want_high = proportion_confint(g["sum"], g["count"], alpha=0.05, method="wilson")
        assert (low, high) == pytest.approx((want_low, want_high), abs=1e-12)


def test_value_churn_rate_equals_the_ratio_estimator(snapshots):
    """The share of H1 value lost in H2, its interval the normal one from the linearised
    variance of a ratio (Cochran 1977, 6.4), written out here with numpy."""
    db = snapshots
    rows = db.execute(f"""SELECT segment, (c).* FROM (
                            SELECT segment, value_churn_rate(churned, monetary) AS c
                            FROM ({churn_per_segment(db)}) s GROUP BY segment) g ORDER BY segment""").fetchall()
    customers = frame(db, churn_per_segment(db), ["segment", "churned", "monetary"])
    for segment, rate, low, high, n, churned in rows:
        group = customers[customers.segment == segment]
        v, c = group.monetary.to_numpy(float), group.churned.to_numpy(float)
        ratio = (v * c).sum() / v.sum()
        assert rate == pytest.approx(ratio, rel=1e-12)
        if len(v) > 1:
            se = np.sqrt(len(v) / (len(v) - 1) * ((v * c - ratio * v) ** 2).sum()) / v.sum()
            assert low == pytest.approx(max(0.0, ratio - 1.959963984540054 * se), abs=1e-12)
            assert high == pytest.approx(min(1.0, ratio + 1.959963984540054 * se), abs=1e-12)
        assert (n, churned) == (len(v), c.sum())


def test_markov_projection_equals_numpy(snapshots):
    db = snapshots
    matrix = scalar(db, f"SELECT migration_matrix(a, b) FROM ({JOINED}) j(a, b)")
    segments = matrix["segments"]
    shares = {s: 1 / len(segments) for s in segments}
    out = scalar(db, "SELECT markov_projection(%s::jsonb, %s::jsonb, 4)", (json.dumps(matrix), json.dumps(shares)))
    p = np.array(matrix["probabilities"], dtype=float)
    start = np.array([shares[s] for s in segments])
    for k, step in enumerate(out["steps"]):
        want = start @ np.linalg.matrix_power(p, k)
        assert [step[s] for s in segments] == pytest.approx(want.tolist(), abs=1e-12)
    values, vectors = np.linalg.eig(p.T)
    stationary = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    stationary /= stationary.sum()
    assert [out["steady_state"][s] for s in segments] == pytest.approx(stationary.tolist(), abs=1e-9)


@pytest.mark.parametrize("matrix,shares,words", [
    ('{"segments": ["A", "B"], "probabilities": [[0.5, 0.5], [0.2, 0.7]]}', '{"A": 1}', 'segment "B" adds up to'),
    ('{"segments": ["A", "B"], "probabilities": [[0.5, 0.5], [0.3, 0.7]]}', '{"C": 1}', '"C" is not in the matrix'),
    ('{"segments": ["A", "B"], "probabilities": [[0.5, 0.5], [0.3, 0.7]]}', '{"A": 0.5, "B": 0.6}', "add up to 1.1"),
    ('{"segments": ["A"]}', '{"A": 1}', 'no "probabilities"'),
])
def test_markov_projection_bad_input(db, matrix, shares, words):
    assert_clear_error(db, f"SELECT markov_projection('{matrix}', '{shares}', 3)", "22023", words)


def test_churn_bad_input(db):
    assert_clear_error(db, "SELECT churn_rate(c) FROM (VALUES (true), (NULL)) v(c)", "22004", "churned")
    assert_clear_error(db, "SELECT value_churn_rate(c, v) FROM (VALUES (true, -1.0)) t(c, v)", "22023", "value")
    assert_clear_error(db, "SELECT value_churn_rate(c, v) FROM (VALUES (true, NULL::float8)) t(c, v)", "22004", "value")
    assert scalar(db, "SELECT churn_rate(c) IS NULL FROM (VALUES (true)) v(c) WHERE false")


REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def cohort(counts):
    return "(VALUES " + ", ".join(f"({t}, {n})" for t, n in enumerate(counts)) + ") c(period, survivors)"


@pytest.mark.parametrize("counts,alpha,beta", [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)])
def test_sbg_fit_reproduces_fader_hardie_2007(db, counts, alpha, beta):
    """Fader & Hardie (2007), "How to Project Customer Retention": the regular and high-end
    cohorts, years 0 to 7."""
    model = json.loads(scalar(db, f"SELECT sbg_fit(period, survivors)::text FROM {cohort(counts)}"))
    assert model["converged"] and (model["alpha"], model["beta"]) == pytest.approx((alpha, beta), abs=1e-3)
    a, b = model["alpha"], model["beta"]
    m = f"(SELECT sbg_fit(period, survivors) FROM {cohort(counts)})"
    assert scalar(db, f"SELECT sbg_retention({m}, 3)") == pytest.approx((b + 2) / (a + b + 2), rel=1e-14)
    survival = np.prod([(b + t - 1) / (a + b + t - 1) for t in range(1, 11)])
    assert scalar(db, f"SELECT sbg_survival({m}, 10)") == pytest.approx(survival, rel=1e-12)
    # DERL (Fader & Hardie 2010, eq. 6) with scipy's 2F1: (b + n - 1)/(a + b + n - 1) 2F1(1, b + n; a + b + n; 1/(1 + d)).
    for d, renewals in [(0.1, 0), (0.1, 4), (0.25, 2)]:
        n = renewals + 1
        want = (b + n - 1) / (a + b + n - 1) * hyp2f1(1, b + n, a + b + n, 1 / (1 + d))
        assert scalar(db, f"SELECT sbg_derl({m}, {d}, {renewals})") == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("rows,words", [
    ("(VALUES (0, 100), (2, 50))", "period 1 is missing"),
    ("(VALUES (0, 100), (1, 120))", "more than the 100"),
    ("(VALUES (0, 100))", "only period 0"),
    ("(VALUES (0, 100), (1, -3))", "-3 survivors"),
])
def test_sbg_bad_survivors(db, rows, words):
    assert_clear_error(db, f"SELECT sbg_fit(p, n) FROM {rows} v(p, n)", "22023", words)


def test_sbg_bad_parameters(db):
    m = f"(SELECT sbg_fit(period, survivors) FROM {cohort(REGULAR)})"
    assert_clear_error(db, f"SELECT sbg_retention({m}, 0)", "22023", "period")
    assert_clear_error(db, f"SELECT sbg_derl({m}, -0.1)", "22023", "discount")
    # alpha < 1 and no discount: an infinite expected lifetime.
    assert_clear_error(db, f"SELECT sbg_derl({m}, 0)", "22003", "infinite")
    assert_clear_error(db, "SELECT sbg_fit(p, n) FROM (VALUES (0, NULL::bigint)) v(p, n)", "22004", "survivors")


def test_sbg_model_is_a_storable_value(db):
    text = scalar(db, f"SELECT sbg_fit(period, survivors)::text FROM {cohort(REGULAR)}")
    assert scalar(db, f"SELECT '{text}'::sbg_model::text") == text
    sent = scalar(db, f"SELECT sbg_model_send('{text}'::sbg_model)")
    assert bytes(sent)[4:].decode() == text  # the binary form is the text behind a version
    bad = text.replace('"alpha":', '"alpha":-')
    assert_clear_error(db, f"SELECT '{bad}'::sbg_model", "22P02", "alpha")
    unconverged = text.replace('"converged":true', '"converged":false')
    assert_clear_error(db, f"SELECT sbg_survival('{unconverged}'::sbg_model, 3)", "22023", "did not converge")


def test_every_dynamics_aggregate_is_the_same_in_a_parallel_plan(snapshots):
    """churn_rate, value_churn_rate, fluctuation_rate and sbg_fit, split over workers (serialize,
    deserialize, combine) and serially: the same answers, to the last bit."""
    db = snapshots
    db.execute("DROP TABLE IF EXISTS churn_rows")
    db.execute(f"CREATE TABLE churn_rows AS {churn_per_segment(db)}")
    db.execute("""CREATE TEMP TABLE IF NOT EXISTS joined AS
                  SELECT h1.segment AS before, h2.segment AS after FROM h1 FULL JOIN h2 USING (customer_id)""")
    db.execute("DROP TABLE IF EXISTS cohort_rows")
    db.execute(f"CREATE TABLE cohort_rows AS SELECT * FROM {cohort(REGULAR)}")
    db.execute("DROP TABLE IF EXISTS joined_rows")
    db.execute("CREATE TABLE joined_rows AS SELECT * FROM joined")
    queries = [
        "SELECT churn_rate(churned)::text FROM churn_rows",
        "SELECT value_churn_rate(churned, monetary)::text FROM churn_rows",
        "SELECT fluctuation_rate(before, after) FROM joined_rows",
        "SELECT sbg_fit(period, survivors)::text FROM cohort_rows",
    ]
    serial = [scalar(db, q) for q in queries]
    force_parallel(db)
    for query, expected in zip(queries, serial):
        plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN {query}").fetchall())
        assert "Partial Aggregate" in plan, query
        assert scalar(db, query) == expected, query
    db.execute("DROP TABLE churn_rows, cohort_rows, joined_rows")


@pytest.mark.parametrize("query,sqlstate,words", [
    ("SELECT value_churn_rate(c, v) FROM (VALUES (true, 'NaN'::float8)) t(c, v)", "22023", "NaN"),
    ("SELECT value_churn_rate(c, v) FROM (VALUES (true, 'Infinity'::float8)) t(c, v)", "22003", "inf"),
    ("""SELECT markov_projection('{"segments": ["A"], "probabilities": [[1]]}', '{"A": 1}', -1)""", "22023", "steps"),
    ("""SELECT markov_projection('{"segments": ["A"], "probabilities": [[1]]}', '[1]', 1)""", "22023", "JSON object"),
])
def test_dynamics_bad_values(db, query, sqlstate, words):
    assert_clear_error(db, query, sqlstate, words)


def test_sbg_bad_values(db):
    m = f"(SELECT sbg_fit(period, survivors) FROM {cohort(REGULAR)})"
    assert_clear_error(db, f"SELECT sbg_derl({m}, 'NaN')", "22023", "discount")
    assert_clear_error(db, f"SELECT sbg_derl({m}, 'Infinity')", "22023", "discount")
    assert_clear_error(db, f"SELECT sbg_derl({m}, 0.1, -1)", "22023", "renewals")
    assert_clear_error(db, f"SELECT sbg_survival({m}, -1)", "22023", "period")
