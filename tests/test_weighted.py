"""The weighted forms: a histogram's rows, (value, how many customers have it), stand for the
customers themselves. They are how a distributed table ships compact states (tests/citus); here
they must equal numpy and the published fits on the expanded data, serially and in parallel,
and refuse bad weights clearly."""
import numpy as np
import pytest

from conftest import assert_clear_error, force_parallel, scalar
from test_value import LIFETIMES_BGNBD, LIFETIMES_PARETO, cdnow_summary, model_fields  # noqa: F401

# 3,000 customers' purchase counts with many repeats: value 1 + i % 17, i = 0 .. 2999.
HISTOGRAM = "SELECT 1 + i % 17 AS v, count(*) AS n FROM generate_series(0, 2999) AS i GROUP BY 1"
CUSTOMERS = np.array([1 + i % 17 for i in range(3000)], dtype=float)


def numpy_gini(values):
    """Gini as R's ineq and the reference define it: 2·Σ i·x(i) / (n·Σx) − (n+1)/n, ascending."""
    x = np.sort(values)
    n = len(x)
    return 2 * np.sum(np.arange(1, n + 1) * x) / (n * x.sum()) - (n + 1) / n


def numpy_rank_edges(values, bins, descending):
    """The rank method's edges, from numpy: the score of a value is 1 + floor(bins·(rank−1)/n),
    rank the smallest 1-based position of the value in sorted order (ties share the lowest);
    edge k is the smallest value scoring k + 1 or more (largest, when descending)."""
    x = np.sort(-values if descending else values)
    n = len(x)
    ranks = np.searchsorted(x, x, side="left") + 1
    scores = 1 + (bins * (ranks - 1)) // n
    edges = []
    for k in range(1, bins):
        reaching = x[scores >= k + 1]
        edges.append(float("inf") if len(reaching) == 0 else reaching[0])
    return [-e if descending else e for e in edges]


def test_the_concentration_of_a_histogram_is_that_of_its_customers(db):
    expected = numpy_gini(CUSTOMERS)
    assert scalar(db, f"SELECT gini(concentration_agg(v, n)) FROM ({HISTOGRAM}) h") == pytest.approx(expected, rel=1e-12)
    same_summary = f"""SELECT concentration_agg(v, n)::text = (SELECT concentration_agg(1 + i % 17)::text
                                                               FROM generate_series(0, 2999) AS i)
                       FROM ({HISTOGRAM}) h"""
    assert scalar(db, same_summary) is True
    # parallel workers cannot read temp tables: a plain one, dropped again
    db.execute(f"DROP TABLE IF EXISTS weighted_histogram; CREATE TABLE weighted_histogram AS {HISTOGRAM}")
    force_parallel(db)
    try:
        assert_parallel(db, "SELECT gini(concentration_agg(v, n)) FROM weighted_histogram")
        assert scalar(db, "SELECT gini(concentration_agg(v, n)) FROM weighted_histogram") == pytest.approx(expected, rel=1e-12)
        for descending in (False, True):
            edges = f"SELECT rfm_breaks(v, 5, {str(descending).lower()}, n) FROM weighted_histogram"
            assert_parallel(db, edges)
            assert scalar(db, edges) == numpy_rank_edges(CUSTOMERS, 5, descending)
    finally:
        db.execute("DROP TABLE weighted_histogram")


@pytest.mark.parametrize("descending", [False, True])
def test_the_edges_of_a_histogram_are_those_of_its_customers(db, descending):
    expected = numpy_rank_edges(CUSTOMERS, 5, descending)
    flag = "true" if descending else "false"
    assert scalar(db, f"SELECT rfm_breaks(v, 5, {flag}, n) FROM ({HISTOGRAM}) h") == expected
    assert scalar(db, f"SELECT rfm_breaks(1 + i % 17, 5, {flag}) FROM generate_series(0, 2999) AS i") == expected


def test_null_zero_and_bad_weights(db):
    assert scalar(db, "SELECT rfm_breaks(v, 2, false, n) FROM (VALUES (1.0, 2::bigint), (5.0, NULL), (9.0, 0), (3.0, 2)) h(v, n)") == [3.0]
    assert scalar(db, "SELECT concentration_agg(v, n)::text FROM (VALUES (1.0, 2::bigint), (NULL, 5), (9.0, 0)) h(v, n)") \
        == '{"n":2,"values":[1.0,1.0]}'
    assert scalar(db, "SELECT concentration_agg(v, n) FROM (VALUES (1.0, 0::bigint)) h(v, n)") is None
    # a negative weight is an error, also beside a NULL (which would skip the row)
    for query, function in (
            ("SELECT concentration_agg(1.0, -1::bigint)", "concentration_agg"),
            ("SELECT concentration_agg(NULL::float8, -1::bigint)", "concentration_agg"),
            ("SELECT rfm_breaks(1.0, 5, false, -3::bigint)", "rfm_breaks"),
            ("SELECT rfm_breaks(NULL::float8, 5, false, -3::bigint)", "rfm_breaks"),
            ('SELECT bgnbd_fit(1.0, 1.0, 2.0, -1::bigint)', "bgnbd_fit"),
            ('SELECT bgnbd_fit(NULL, 1.0, 2.0, -1::bigint)', "bgnbd_fit")):
        assert_clear_error(db, query, "22023", f"{function}: weight = ")
    assert_clear_error(db, "SELECT concentration_agg(1.0, 200000000::bigint)", "54000", "concentration_agg")
    assert_clear_error(db, "SELECT rfm_breaks(1.0, 5, false, 200000000::bigint)", "54000", "rfm_breaks")
    assert_clear_error(db, "SELECT pareto_nbd_fit(1.0, 1.0, 2.0, 9007199254740993::bigint)", "22023", "pareto_nbd_fit")
    assert_clear_error(db, "SELECT concentration_agg(-1.0, 2::bigint)", "22023", "concentration_agg")
    assert_clear_error(db, "SELECT bgnbd_fit(1.0, 3.0, 2.0, 0::bigint)", "22023", "bgnbd_fit")


TRIPLES = 'SELECT x, t_x, "T", count(*) AS n FROM cdnow_summary GROUP BY 1, 2, 3'


@pytest.mark.parametrize("fit, oracle", [("bgnbd_fit", LIFETIMES_BGNBD), ("pareto_nbd_fit", LIFETIMES_PARETO)])
def test_a_fit_to_a_histogram_of_triples_is_the_fit_to_its_customers(db, cdnow_summary, fit, oracle):  # noqa: F811
    """The CDNOW sample's 2,357 customers as distinct triples with counts: the parameters of
    lifetimes 0.11.3 on the customers (as in test_value), and the very model of the
    unweighted fit."""
    assert scalar(db, f"SELECT count(*) < 2357 FROM ({TRIPLES}) t") is True
    fitted = model_fields(db, f'SELECT {fit}(x, t_x, "T", n) FROM ({TRIPLES}) t')
    for name, value in oracle.items():
        assert fitted[name] == pytest.approx(value, rel=1e-3), name
    assert fitted["customers"] == 2357
    unweighted = model_fields(db, f'SELECT {fit}(x, t_x, "T") FROM cdnow_summary')
    assert fitted == unweighted  # the same groups: the very same model
    db.execute(f"DROP TABLE IF EXISTS weighted_triples; CREATE TABLE weighted_triples AS {TRIPLES}")
    force_parallel(db)
    try:
        assert_parallel(db, f'SELECT {fit}(x, t_x, "T", n) FROM weighted_triples')
        in_parallel = model_fields(db, f'SELECT {fit}(x, t_x, "T", n) FROM weighted_triples')
    finally:
        db.execute("DROP TABLE weighted_triples")
    assert in_parallel == unweighted


def assert_parallel(db, query):
    plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN {query}").fetchall())
    assert "Partial Aggregate" in plan and "Gather" in plan, plan
