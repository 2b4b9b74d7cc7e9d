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


# --------------------------------------------------------------------------------------------
# BG/NBD and Gamma-Gamma on the CDNOW sample (tests/data/cdnow_customers_summary_with_transactions.csv:
# per customer x, t_x, T in weeks to 2 decimals, zbar the mean repeat spend; calibration ending
# 1997-09-30). Oracles: Fader, Hardie & Lee (2005) and Fader & Hardie (2013) for the parameters;
# `lifetimes` 0.11.3 run on the same file for the fit to 1e-4 and the predictions to 1e-9.

from conftest import ROOT, force_parallel  # noqa: E402

LIFETIMES_BGNBD = dict(r=0.24259292827982148, alpha=4.413532265271809, a=0.7928859664406578, b=2.4257523826257374)
LIFETIMES_GAMMA_GAMMA = dict(p=6.24880249607099, q=3.7445884609237634, gamma=15.447748064943575)
PUBLISHED = '{"r":0.243,"alpha":4.414,"a":0.793,"b":2.426,"log_likelihood":-9582.4,"customers":2357.0,"iterations":0,"converged":true}'


@pytest.fixture
def cdnow_summary(db):
    db.execute("CREATE TEMP TABLE IF NOT EXISTS cdnow_summary (id int, x float8, t_x float8, \"T\" float8, zbar float8)")
    if scalar(db, "SELECT count(*) FROM cdnow_summary") == 0:
        with open(ROOT / "tests/data/cdnow_customers_summary_with_transactions.csv") as data, \
                db.cursor().copy("COPY cdnow_summary FROM STDIN (FORMAT csv, HEADER)") as copy:
            copy.write(data.read())
    return "cdnow_summary"


def model_fields(db, query):
    import json
    return json.loads(scalar(db, f"SELECT ({query})::text"))


def test_bgnbd_fit_reproduces_the_paper_and_lifetimes(db, cdnow_summary):
    fitted = model_fields(db, 'SELECT bgnbd_fit(x, t_x, "T") FROM cdnow_summary')
    for name, value in LIFETIMES_BGNBD.items():
        assert fitted[name] == pytest.approx(value, rel=1e-4), name
    published = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)
    for name, value in published.items():
        assert fitted[name] == pytest.approx(value, rel=3e-3), name
    assert fitted["log_likelihood"] == pytest.approx(-9582.4, abs=0.5)
    assert fitted["customers"] == 2357 and fitted["converged"] is True


def test_bgnbd_fit_is_the_same_in_a_parallel_plan(db, cdnow_summary):
    serial = scalar(db, 'SELECT bgnbd_fit(x, t_x, "T")::text FROM cdnow_summary')
    # A plain table: parallel workers cannot read a temporary one.
    db.execute("DROP TABLE IF EXISTS bgnbd_many")
    db.execute("CREATE TABLE bgnbd_many AS SELECT s.* FROM cdnow_summary s, generate_series(1, 20)")
    db.execute("ANALYZE bgnbd_many")
    serial_many = scalar(db, 'SELECT bgnbd_fit(x, t_x, "T")::text FROM bgnbd_many')
    force_parallel(db)
    plan = "\n".join(r[0] for r in db.execute('EXPLAIN SELECT bgnbd_fit(x, t_x, "T") FROM bgnbd_many').fetchall())
    assert "Partial Aggregate" in plan
    assert scalar(db, 'SELECT bgnbd_fit(x, t_x, "T")::text FROM bgnbd_many') == serial_many
    # The other two fitting aggregates, serial against parallel, to the bit.
    for fit in ('pareto_nbd_fit(x, t_x, "T")', "gamma_gamma_fit(x, zbar)"):
        db.execute("RESET max_parallel_workers_per_gather")
        db.execute("SET max_parallel_workers_per_gather = 0")
        alone = scalar(db, f"SELECT {fit}::text FROM bgnbd_many")
        force_parallel(db)
        plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN SELECT {fit} FROM bgnbd_many").fetchall())
        assert "Partial Aggregate" in plan, fit
        assert scalar(db, f"SELECT {fit}::text FROM bgnbd_many") == alone, fit
    db.execute("DROP TABLE bgnbd_many")
    # 20 copies of every customer: the same parameters as the customers once.
    once, twenty = model_fields(db, f"SELECT '{serial}'::bgnbd_model"), model_fields(db, f"SELECT '{serial_many}'::bgnbd_model")
    assert twenty["r"] == pytest.approx(once["r"], rel=1e-6) and twenty["customers"] == 20 * 2357


def test_bgnbd_predictions_equal_lifetimes(db):
    """lifetimes 0.11.3, BetaGeoFitter with the published parameters: conditional expected
    purchases, P(alive) and expected purchases of a new customer."""
    model = f"'{PUBLISHED}'::bgnbd_model"
    for t, x, t_x, big_t, expected, alive in [
        (39, 2, 30.43, 38.86, 1.226028174767135, 0.72657857),
        (39, 0, 0, 38.86, 0.19509805201125396, 1.0),
        (78, 5, 20, 38, 2.053434721179427, 0.30926907),
    ]:
        assert scalar(db, f"SELECT expected_purchases({model}, %s, %s, %s, %s)", (t, x, t_x, big_t)) == pytest.approx(expected, rel=1e-9)
        assert scalar(db, f"SELECT p_alive({model}, %s, %s, %s)", (x, t_x, big_t)) == pytest.approx(alive, abs=1e-8)
    assert scalar(db, f"SELECT expected_purchases({model}, 39)") == pytest.approx(1.1967231933207985, rel=1e-9)


def test_p_purchases_equals_lifetimes(db):
    """lifetimes 0.11.3, BetaGeoFitter.probability_of_n_purchases_up_to_time with the parameters
    fitted to the CDNOW sample."""
    model = ('{"r": 0.242593, "alpha": 4.413532, "a": 0.792886, "b": 2.425754, "log_likelihood": 0, '
             '"customers": 2357, "iterations": 1, "converged": true}')
    for t, n, expected in [(39, 0, 0.5743071817198866), (39, 2, 0.08532243073340832),
                           (520, 40, 0.0007613350049456521), (39, 60, 9.131101139536718e-07)]:
        p = scalar(db, "SELECT p_purchases(%s::bgnbd_model, %s, %s)", (model, n, t))
        assert p == pytest.approx(expected, rel=1e-9)
    assert_clear_error(db, f"SELECT p_purchases('{model}'::bgnbd_model, -1, 39)", "22023", "n = -1")
    assert_clear_error(db, f"SELECT p_purchases('{model}'::bgnbd_model, 1, -39)", "22023", "t = -39")


def test_gamma_gamma_fit_and_spend_equal_the_paper_and_lifetimes(db, cdnow_summary):
    fitted = model_fields(db, "SELECT gamma_gamma_fit(x, zbar) FROM cdnow_summary")
    assert fitted["customers"] == 946  # the repeat customers; x = 0 rows are left out
    for name, value in LIFETIMES_GAMMA_GAMMA.items():
        assert fitted[name] == pytest.approx(value, rel=1e-4), name
    for name, value in dict(p=6.25, q=3.74, gamma=15.44).items():
        assert fitted[name] == pytest.approx(value, rel=2e-3), name
    model = """'{"p":6.25,"q":3.74,"gamma":15.44,"log_likelihood":-4055.9,"customers":946.0,"iterations":0,"converged":true}'::gamma_gamma_model"""
    # lifetimes: conditional_expected_average_profit(2, 22.35) with (6.25, 3.74, 15.44).
    assert scalar(db, f"SELECT expected_spend({model}, 2, 22.35)") == pytest.approx(24.663713910761157, rel=1e-12)
    assert scalar(db, f"SELECT expected_spend({model})") == pytest.approx(6.25 * 15.44 / 2.74, rel=1e-14)
    assert scalar(db, f"SELECT expected_spend({model}, 0, NULL::float8)") == pytest.approx(6.25 * 15.44 / 2.74, rel=1e-14)
    assert scalar(db, f"SELECT expected_spend({model}, 2, NULL::float8)") is None
    assert scalar(db, f"SELECT expected_spend({model}, 0, 0)") == pytest.approx(6.25 * 15.44 / 2.74, rel=1e-14)


def test_models_are_storable_values(db, cdnow_summary):
    db.execute('CREATE TEMP TABLE kept_models AS SELECT bgnbd_fit(x, t_x, "T") AS bg, gamma_gamma_fit(x, zbar) AS gg FROM cdnow_summary')
    text = scalar(db, "SELECT bg::text FROM kept_models")
    assert scalar(db, f"SELECT '{text}'::bgnbd_model::text") == text
    sent = scalar(db, "SELECT bgnbd_model_send(bg) FROM kept_models")
    assert bytes(sent)[4:].decode() == text  # the binary form is the text behind a version
    assert scalar(db, "SELECT count(*) FROM (SELECT bgnbd_fit(x, t_x, \"T\") FROM cdnow_summary WHERE false) s") == 1
    assert scalar(db, 'SELECT bgnbd_fit(x, t_x, "T") IS NULL FROM cdnow_summary WHERE false')


@pytest.mark.parametrize("query,sqlstate,words", [
    ('SELECT bgnbd_fit(x, t_x, "T") FROM (VALUES (1.5, 1.0, 2.0)) v(x, t_x, "T")', "22023", "x a whole number"),
    ('SELECT bgnbd_fit(x, t_x, "T") FROM (VALUES (1.0, 3.0, 2.0)) v(x, t_x, "T")', "22023", "t_x must be at most T"),
    ('SELECT bgnbd_fit(x, t_x, "T") FROM (VALUES (-1.0, 0.0, 2.0)) v(x, t_x, "T")', "22023", "bgnbd_fit"),
    ("SELECT gamma_gamma_fit(x, m) FROM (VALUES (2.0, -5.0)) v(x, m)", "22023", "mean spend"),
    ("SELECT gamma_gamma_fit(x, m) FROM (VALUES (2.0, 'NaN'::float8)) v(x, m)", "22023", "mean spend"),
    (f"SELECT expected_purchases('{PUBLISHED}'::bgnbd_model, -1)", "22023", "t = -1"),
    (f"SELECT p_alive('{PUBLISHED}'::bgnbd_model, 2, 5, 3)", "22023", "p_alive"),
    ("""SELECT expected_spend('{"p":2,"q":0.9,"gamma":10,"log_likelihood":-1,"customers":10,"iterations":5,"converged":true}'::gamma_gamma_model)""", "22003", "q = 0.9"),
    ("""SELECT expected_purchases('{"r":0.2,"alpha":4,"a":0.8,"b":2.4,"log_likelihood":-1,"customers":10,"iterations":500,"converged":false}'::bgnbd_model, 10)""", "22023", "did not converge"),
    ("""SELECT '{"r":-0.2,"alpha":4,"a":0.8,"b":2.4,"log_likelihood":-1,"customers":10,"iterations":5,"converged":true}'::bgnbd_model""", "22P02", "r = -0.2"),
    ("""SELECT '{"r":0.2,"alpha":4,"a":0.8,"b":2.4,"log_likelihood":-1,"customers":10,"iterations":5,"converged":true,"s":1}'::bgnbd_model""", "22P02", "unknown field"),
])
def test_model_bad_input_is_a_clear_error(db, query, sqlstate, words):
    assert_clear_error(db, query, sqlstate, words)


def test_clv_equals_lifetimes(db):
    """lifetimes 0.11.3: GammaGammaFitter(p 6.25, q 3.74, v 15.44).customer_lifetime_value(
    BetaGeoFitter(0.243, 4.414 · 7, 0.793, 2.426), frequency 2, recency 30.43 · 7, T 38.86 · 7,
    monetary 22.35, time=12, discount_rate=0.01, freq="D") = 35.88165264756731: the paper's model
    re-expressed in days (where lifetimes' months are exactly 30 days). The same model in weeks
    with unit => '7 days' is worth the same."""
    spend = """'{"p":6.25,"q":3.74,"gamma":15.44,"log_likelihood":-4055.9,"customers":946.0,"iterations":0,"converged":true}'::gamma_gamma_model"""
    days = """'{"r":0.243,"alpha":30.898,"a":0.793,"b":2.426,"log_likelihood":-9582.4,"customers":2357.0,"iterations":0,"converged":true}'::bgnbd_model"""
    weeks = f"'{PUBLISHED}'::bgnbd_model"
    in_days = scalar(db, f"SELECT clv({days}, {spend}, 2, 30.43 * 7, 38.86 * 7, 22.35, unit => '1 day')")
    assert in_days == pytest.approx(35.88165264756731, rel=1e-9)
    in_weeks = scalar(db, f"SELECT clv({weeks}, {spend}, 2, 30.43, 38.86, 22.35, unit => '7 days', months => 12, monthly_discount => 0.01)")
    assert in_weeks == pytest.approx(in_days, rel=1e-12)
    # Fed days where the model is in weeks, the number would differ: the unit is not optional.
    assert scalar(db, f"SELECT clv({weeks}, {spend}, 2, 30.43, 38.86, 22.35, unit => '1 day')") != pytest.approx(in_days, rel=1e-3)
    prospect = scalar(db, f"SELECT clv({weeks}, {spend}, unit => '7 days')")
    assert prospect > 0 and scalar(db, f"SELECT clv({weeks}, {spend}, unit => '7 days', months => 0)") == 0
    assert scalar(db, f"SELECT clv({weeks}, {spend}, 2, 30.43, 38.86, NULL, unit => '7 days')") is None


@pytest.mark.parametrize("arguments,sqlstate,words", [
    ("unit => NULL", "22004", "unit"),
    ("unit => '0 days'", "22023", "unit"),
    ("unit => '7 days', months => -1", "22023", "months = -1"),
    # More than a century: refused at once (it had run for hours, deaf to statement_timeout).
    ("unit => '7 days', months => 1201", "22023", "months = 1201"),
    ("unit => '7 days', months => 2147483647", "22023", "months = 2147483647"),
    ("unit => '7 days', monthly_discount => -1", "22023", "monthly_discount = -1"),
])
def test_clv_bad_parameters(db, arguments, sqlstate, words):
    spend = """'{"p":6.25,"q":3.74,"gamma":15.44,"log_likelihood":-4055.9,"customers":946.0,"iterations":0,"converged":true}'::gamma_gamma_model"""
    assert_clear_error(db, f"SELECT clv('{PUBLISHED}'::bgnbd_model, {spend}, {arguments})", sqlstate, words)


@pytest.fixture
def cdnow_sample_orders(db):
    """tests/data/CDNOW_sample.txt: the papers' 2,357 customers, one row an order."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS sample_orders (master_id text, id int, order_date date, cds int, amount float8)")
    if scalar(db, "SELECT count(*) FROM sample_orders") == 0:
        rows = []
        with open(ROOT / "tests/data/CDNOW_sample.txt") as data:
            for line in data:
                if line.strip():
                    master, sample, date, cds, amount = line.split()
                    rows.append((master, int(sample), f"{date[:4]}-{date[4:6]}-{date[6:]}", int(cds), float(amount)))
        with db.cursor().copy("COPY sample_orders FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return "sample_orders"


def test_btyd_history_equals_the_summary_lifetimes_derived(db, cdnow_sample_orders, cdnow_summary):
    """The per-customer statistics of the CDNOW sample at 1997-09-30 in weeks equal the summary
    file `lifetimes` (summary_data_from_transaction_data) derived from the same orders: x exactly,
    t_x, T and the mean repeat spend to its 2 decimals."""
    rows = db.execute(
        """SELECT s.id, h.x, h.t_x, h."T", h.mean_spend, f.x, f.t_x, f."T", f.zbar
           FROM (SELECT id, btyd_history(order_date, amount, '1997-09-30', '7 days') AS h
                 FROM sample_orders GROUP BY id) AS s
           CROSS JOIN LATERAL (SELECT (s.h).*) AS h
           JOIN cdnow_summary f ON f.id = s.id ORDER BY s.id""").fetchall()
    assert len(rows) == 2357
    for _, x, t_x, big_t, mean, fx, ft_x, fbig_t, zbar in rows:
        assert x == fx
        assert t_x == pytest.approx(ft_x, abs=0.005 + 1e-9) and big_t == pytest.approx(fbig_t, abs=0.005 + 1e-9)
        assert (mean or 0.0) == pytest.approx(zbar, abs=0.005 + 1e-9)


def test_btyd_history_feeds_the_fit_serial_and_parallel(db, cdnow_sample_orders):
    db.execute("DROP TABLE IF EXISTS history_orders")
    db.execute("CREATE TABLE history_orders AS SELECT * FROM sample_orders")
    db.execute("ANALYZE history_orders")
    query = """SELECT bgnbd_fit((h).x, (h).t_x, (h)."T")::text FROM (
                 SELECT btyd_history(order_date, amount, '1997-09-30', '7 days') AS h FROM history_orders GROUP BY id) s"""
    serial = scalar(db, query)
    force_parallel(db)
    assert scalar(db, query) == serial
    # Under GROUP BY the planner keeps btyd_history whole; over all the orders at once (as if
    # one customer's) it splits it over workers: serialize, deserialize and combine run, and
    # give the same history.
    one = "SELECT btyd_history(order_date, amount, '1997-09-30', '7 days')::text FROM history_orders"
    plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN {one}").fetchall())
    assert "Partial Aggregate" in plan
    parallel_one = scalar(db, one)
    db.execute("SET max_parallel_workers_per_gather = 0")
    assert scalar(db, one) == parallel_one
    db.execute("DROP TABLE history_orders")
    import json
    fitted = json.loads(serial)
    for name, value in dict(r=0.243, alpha=4.414, a=0.793, b=2.426).items():
        assert fitted[name] == pytest.approx(value, rel=3e-3), name  # FHL 2005, from the raw orders
    assert fitted["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)


@pytest.mark.parametrize("query,sqlstate,words", [
    ("SELECT btyd_history(d, 1.0, '2024-01-01', NULL) FROM (VALUES (date '2023-05-01')) v(d)", "22004", "unit"),
    ("SELECT btyd_history(d, 1.0, NULL, '1 day') FROM (VALUES (date '2023-05-01')) v(d)", "22004", "calibration_end"),
    ("SELECT btyd_history(d, 1.0, '2024-01-01', '0 days') FROM (VALUES (date '2023-05-01')) v(d)", "22023", "unit"),
    ("SELECT btyd_history(d, 1.0, 'infinity', '1 day') FROM (VALUES (date '2023-05-01')) v(d)", "22008", "finite"),
    ("SELECT btyd_history(d, 1.0, e, '1 day') FROM (VALUES (date '2023-05-01', date '2024-01-01'), ('2023-06-01', '2024-02-01')) v(d, e)", "22023", "same on every row"),
    ("SELECT btyd_history(d, 'NaN', '2024-01-01', '1 day') FROM (VALUES (date '2023-05-01')) v(d)", "22023", "NaN"),
])
def test_btyd_history_bad_input(db, query, sqlstate, words):
    assert_clear_error(db, query, sqlstate, words)


def test_btyd_history_edges(db):
    h = db.execute(
        """SELECT (h).* FROM (SELECT btyd_history(d, a, '2024-01-31', '1 day') h FROM (VALUES
             (date '2024-01-01', 10.0), ('2024-01-01', 5.0), ('2024-01-05', -3.0), ('2024-01-11', 8.0),
             ('2024-01-11', -2.0), ('2024-03-01', 50.0), (NULL, 1.0)) v(d, a)) s""").fetchone()
    # Purchase days 1 Jan (15) and 11 Jan (8 - 2): x = 1, t_x = 10, T = 30; the lone return of
    # 5 Jan is no purchase day; 1 March is after the calibration end.
    assert h == (1.0, 10.0, 30.0, 6.0)
    assert scalar(db, "SELECT btyd_history(d, 1.0, '2024-01-31', '1 day') IS NULL FROM (VALUES (date '2024-02-01')) v(d)")


HISTORIES = """SELECT h.* FROM unnest((SELECT btyd_histories(id, order_date, amount, '1997-09-30', '7 days')
                                        FROM {table})) AS h ORDER BY customer_id"""


def test_btyd_histories_equal_lifetimes_summary_data(db, cdnow_sample_orders):
    """One pass over the CDNOW sample's orders gives, per customer, what lifetimes 0.11.3's
    utils.summary_data_from_transaction_data (freq='D', freq_multiplier=7: weeks from days)
    computes from the same orders."""
    import pandas
    from lifetimes.utils import summary_data_from_transaction_data
    orders = pandas.DataFrame(db.execute("SELECT id, order_date, amount FROM sample_orders").fetchall(),
                              columns=["id", "date", "amount"])
    orders["date"] = pandas.to_datetime(orders["date"])
    expected = summary_data_from_transaction_data(
        orders, "id", "date", monetary_value_col="amount", observation_period_end="1997-09-30",
        freq="D", freq_multiplier=7).sort_index()
    rows = db.execute(HISTORIES.format(table="sample_orders")).fetchall()
    assert [r[0] for r in rows] == list(expected.index)
    for (_, x, t_x, big_t, mean), (_, e) in zip(rows, expected.iterrows()):
        assert (x, t_x, big_t) == pytest.approx((e.frequency, e.recency, e["T"]), rel=1e-12)
        assert (mean or 0.0) == pytest.approx(e.monetary_value, rel=1e-12)


def test_btyd_histories_equal_btyd_history_bit_for_bit_serial_and_parallel(db):
    """Many customers over several of the one-pass path's batches (2^20 orders), same-day
    orders, returns on purchase days and alone, orders after the calibration end, NULL amounts:
    the one pass gives every customer exactly what btyd_history gives under GROUP BY, also with
    the orders split over parallel workers."""
    db.execute("DROP TABLE IF EXISTS many_orders")
    db.execute("""CREATE TABLE many_orders AS
                  SELECT (i * 7919) % 150001 - 50000 AS id, date '2020-01-01' + ((i * 31) % 800)::int AS order_date,
                         CASE WHEN i % 17 = 0 THEN -3.5 WHEN i % 101 = 0 THEN NULL ELSE (i % 97) * 1.37 END AS amount
                  FROM generate_series(1::bigint, 2200000) i""")
    db.execute("ANALYZE many_orders")
    per_customer = """SELECT id, (h).x, (h).t_x, (h)."T", (h).mean_spend FROM (
                        SELECT id, btyd_history(order_date, amount, '2021-12-31', '3 days') h
                        FROM many_orders GROUP BY id) s WHERE h IS NOT NULL ORDER BY id"""
    one_pass = """SELECT h.* FROM unnest((SELECT btyd_histories(id, order_date, amount, '2021-12-31', '3 days')
                                          FROM many_orders)) AS h ORDER BY customer_id"""
    expected = db.execute(per_customer).fetchall()
    assert len(expected) > 100_000
    assert db.execute(one_pass).fetchall() == expected
    force_parallel(db)
    plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN {one_pass}").fetchall())
    assert "Partial Aggregate" in plan
    assert db.execute(one_pass).fetchall() == expected
    db.execute("DROP TABLE many_orders")


@pytest.mark.parametrize("query,sqlstate,words", [
    ("SELECT btyd_histories(1, d, 1.0, '2024-01-01', NULL) FROM (VALUES (date '2023-05-01')) v(d)", "22004", "unit"),
    ("SELECT btyd_histories(1, d, 1.0, NULL, '1 day') FROM (VALUES (date '2023-05-01')) v(d)", "22004", "calibration_end"),
    ("SELECT btyd_histories(1, d, 1.0, '2024-01-01', '-1 day') FROM (VALUES (date '2023-05-01')) v(d)", "22023", "unit"),
    ("SELECT btyd_histories(1, d, 1.0, '-infinity', '1 day') FROM (VALUES (date '2023-05-01')) v(d)", "22008", "finite"),
    ("SELECT btyd_histories(1, d, 1.0, '2024-01-01', '1 day') FROM (VALUES (date 'infinity')) v(d)", "22008", "infinity"),
    ("SELECT btyd_histories(1, d, 1.0, '2024-01-01', u) FROM (VALUES (date '2023-05-01', interval '1 day'), ('2023-06-01', '7 days')) v(d, u)", "22023", "same on every row"),
    ("SELECT btyd_histories(1, d, 'Infinity', '2024-01-01', '1 day') FROM (VALUES (date '2023-05-01')) v(d)", "22003", "inf"),
])
def test_btyd_histories_bad_input(db, query, sqlstate, words):
    assert_clear_error(db, query, sqlstate, words)


def test_btyd_histories_edges(db):
    # No order up to the calibration end: an empty array; no row at all: NULL, like sum().
    assert scalar(db, "SELECT btyd_histories(1, d, 1.0, '2024-01-31', '1 day') = '{}' FROM (VALUES (date '2024-02-01')) v(d)")
    assert scalar(db, "SELECT btyd_histories(1, d, 1.0, '2024-01-31', '1 day') IS NULL FROM (VALUES (date '2024-02-01')) v(d) WHERE false")
    # Orders without a customer or a date are skipped; a customer with returns only is left out.
    rows = db.execute("""SELECT h.* FROM unnest((SELECT btyd_histories(c, d, a, '2024-01-31', '1 day') FROM (VALUES
                           (1, date '2024-01-01', 10.0), (NULL, '2024-01-02', 5.0), (1, NULL, 5.0), (2, '2024-01-03', -4.0),
                           (9223372036854775807, '2024-01-30', 1.0)) v(c, d, a))) h""").fetchall()
    assert rows == [(1, 0.0, 0.0, 30.0, None), (9223372036854775807, 0.0, 0.0, 1.0, None)]


LIFETIMES_PARETO = dict(r=0.5532676239239321, alpha=10.577677417703503, s=0.6061517085761136, beta=11.666265275718503)


def test_pareto_nbd_fit_and_predictions(db, cdnow_summary):
    """Fader, Hardie & Lee (2005): r 0.553, alpha 10.58, s 0.606, beta 11.67, LL -9595.0 on the
    CDNOW sample; lifetimes 0.11.3 (ParetoNBDFitter) to 1e-3 (beta is the flat direction), and
    its predictions at its own parameters to 1e-9."""
    fitted = model_fields(db, 'SELECT pareto_nbd_fit(x, t_x, "T") FROM cdnow_summary')
    assert fitted["log_likelihood"] == pytest.approx(-9595.0, abs=0.1)
    for name, value in LIFETIMES_PARETO.items():
        assert fitted[name] == pytest.approx(value, rel=1e-3), name
    import json
    model = f"'{json.dumps(dict(LIFETIMES_PARETO, log_likelihood=-9595.0, customers=2357.0, iterations=0, converged=True))}'::pareto_nbd_model"
    assert scalar(db, f"SELECT p_alive({model}, 2, 30.43, 38.86)") == pytest.approx(0.8691268233065149, rel=1e-9)
    assert scalar(db, f"SELECT expected_purchases({model}, 39, 2, 30.43, 38.86)") == pytest.approx(1.455139739193957, rel=1e-9)
    assert scalar(db, f"SELECT expected_purchases({model}, 39)") == pytest.approx(1.2133906687451361, rel=1e-9)
    assert_clear_error(db, 'SELECT pareto_nbd_fit(x, t_x, "T") FROM (VALUES (1.0, 3.0, 2.0)) v(x, t_x, "T")',
                       "22023", "pareto_nbd_fit")


@pytest.mark.parametrize("fit", ["bgnbd_fit", "pareto_nbd_fit"])
def test_fits_without_repeat_purchases_are_refused(db, fit):
    """Without a repeat purchase nothing is known of dropping out: an error, not a model whose
    dropout parameters stayed where the optimiser started."""
    assert_clear_error(db, f'SELECT {fit}(x, t_x, "T") FROM (VALUES (0.0, 0.0, 10.0), (0.0, 0.0, 20.0)) v(x, t_x, "T")',
                       "22023", "no customer has a repeat purchase")


def test_a_fit_that_does_not_converge_warns_and_its_model_is_refused(db):
    """One customer: the likelihood has no maximum, the fit runs out of iterations."""
    notices = []
    # The diagnostic is only valid inside the handler: keep its fields.
    db.add_notice_handler(lambda diag: notices.append((diag.severity, diag.message_primary)))
    text = scalar(db, 'SELECT bgnbd_fit(x, t_x, "T")::text FROM (VALUES (3.0, 5.0, 10.0)) v(x, t_x, "T")')
    assert '"converged":false' in text
    assert any(severity == "WARNING" and "did not converge" in message for severity, message in notices)
    assert_clear_error(db, f"SELECT p_alive('{text}'::bgnbd_model, 1, 1, 2)", "22023", "did not converge")
