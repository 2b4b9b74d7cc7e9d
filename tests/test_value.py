"""Customer value: clv_simple against the sums written out term by term (Gupta & Lehmann 2003:
margins at the end of each period, retention r, discount d per period)."""
import pytest

from conftest import assert_clear_error, scalar


def by_terms(m, r, d, n):
    return sum(m * r**t / (1 + d) ** t for t in range(1, n + 1))


@pytest.mark.parametrize("m,r,d", [(100, 0.8, 0.1), (-40, 0.5, 0.02), (12.5, 0.0, 0.3), (1, 0.95, 0.01)])
def test_clv_simple_equals_the_sum_of_discounted_margins(db, m, r, d):
    assert scalar(db, "SELECT clv_simple(%s, %s, %s)", (m, r, d)) == pytest.approx(m * r / (1 + d - r), rel=1e-14)
    for n in (0, 1, 3, 40):
        assert scalar(db, "SELECT clv_simple(%s, %s, %s, %s)", (m, r, d, n)) == pytest.approx(by_terms(m, r, d, n), rel=1e-12, abs=1e-12)
    # Over a long horizon the finite sum reaches the infinite one.
    assert scalar(db, "SELECT clv_simple(%s, %s, %s, 5000)", (m, r, d)) == pytest.approx(m * r / (1 + d - r), rel=1e-9)


def test_numeric_columns_and_null_margins(db):
    rows = db.execute(
        """SELECT customer, clv_simple(margin, 0.8, 0.1) FROM (VALUES (1, 30.00::numeric(10, 2)), (2, NULL))
           AS c(customer, margin) ORDER BY customer""").fetchall()
    assert rows == [(1, pytest.approx(80.0)), (2, None)]


@pytest.mark.parametrize("query,sqlstate,words", [
    ("SELECT clv_simple(100, 1.0, 0.1)", "22023", "retention = 1"),
    ("SELECT clv_simple(100, -0.1, 0.1)", "22023", "retention = -0.1"),
    ("SELECT clv_simple(100, 0.5, -1)", "22023", "discount = -1"),
    ("SELECT clv_simple(100, 0.9, -0.2)", "22023", "infinite horizon"),
    ("SELECT clv_simple(100, 0.5, 0.1, -3)", "22023", "periods = -3"),
    ("SELECT clv_simple(100, NULL, 0.1)", "22004", "retention"),
    ("SELECT clv_simple(100, 0.5, NULL)", "22004", "discount"),
    ("SELECT clv_simple(100, 0.5, 0.1, NULL)", "22004", "periods"),
    ("SELECT clv_simple('NaN', 0.5, 0.1)", "22023", "NaN"),
])
def test_bad_rates_are_clear_errors(db, query, sqlstate, words):
    assert_clear_error(db, query, sqlstate, words)
