"""numeric amounts read directly by rfm_agg and the concentration aggregates: the oracle is
PostgreSQL's own cast, numeric::float8 (numeric_out, then strtod), which the overloads must
match bit for bit while skipping its detour through text."""
import pytest

from conftest import assert_clear_error, force_parallel, scalar

# Short and long numeric headers, cents, tiny and huge values, 15 to 40 significant digits,
# trailing zero digits, negative weights: the fast path and the fallback.
VALUES = ["0", "0.00", "12.50", "1234567890.12", "0.01", "99999999999.99", "1e-30", "123456789012345678901234567890",
          "0.1234567890123456789", "3.14159265358979323846264338327950288", "1e300", "9007199254740993",
          "9007199254740992", "1e22", "1e23", "0.000100", "5e-324", "2.5e-308", "100000000000000000000",
          # long headers (a scale above 63): the fast path reads the weight and digits after them
          "12.5::numeric(80, 70)", "0.01::numeric(80, 70)", "123456.789::numeric(90, 70)"]


def test_every_value_reads_as_the_cast_reads_it(db):
    values = ", ".join(f"({v}::numeric)" for v in VALUES)
    assert scalar(db, f"SELECT concentration_agg(v)::text = concentration_agg(v::float8)::text FROM (VALUES {values}) t(v)") is True
    signed = ", ".join(f"({i}, {sign}{v}::numeric)" for i, v in enumerate(VALUES) for sign in ("", "-"))
    same = f"""SELECT rfm_agg(id, timestamptz '2024-01-01', v)::text
                    = rfm_agg(id, timestamptz '2024-01-01', v::float8)::text
               FROM (VALUES {signed}) t(id, v)"""
    assert scalar(db, same.replace("(id, timestamptz", "(id * 2 + (v < 0)::int, timestamptz")) is True


def test_random_amounts_in_cents_and_the_overload_is_chosen(db):
    amounts = "SELECT i, (round((random() * 2e6 - 1e6)::numeric, 2))::numeric(12, 2) AS v FROM generate_series(1, 200000) i"
    db.execute("SELECT setseed(0.25)")
    db.execute(f"DROP TABLE IF EXISTS numeric_amounts; CREATE TABLE numeric_amounts AS {amounts}")
    try:
        plan = "\n".join(r[0] for r in db.execute(
            "EXPLAIN (VERBOSE, COSTS OFF) SELECT gini(abs(v)) FROM numeric_amounts").fetchall())
        assert "double precision" not in plan, plan  # no cast: gini(numeric) reads it
        # serially, so that both sum each customer's amounts in the same order
        db.execute("SET max_parallel_workers_per_gather = 0")
        queries = [f"SELECT {f}(abs({{v}})) FROM numeric_amounts" for f in ("gini", "hhi", "pareto_ratio")]
        queries += ["SELECT top_share(abs({v}), 0.2) FROM numeric_amounts",
                    "SELECT rfm_agg(i % 1000, timestamptz '2024-01-01' + i * interval '1 minute', {v})::text FROM numeric_amounts"]
        for query in queries:
            ours, cast = (scalar(db, query.format(v=v)) for v in ("v", "v::float8"))
            assert ours == cast, query
        serial_gini = scalar(db, "SELECT gini(abs(v)::float8) FROM numeric_amounts")
        # in parallel the workers' shares of each customer vary from run to run: amounts to 1e-6
        force_parallel(db)
        assert "Partial Aggregate" in "\n".join(
            r[0] for r in db.execute("EXPLAIN SELECT gini(abs(v)) FROM numeric_amounts").fetchall())
        assert scalar(db, "SELECT gini(abs(v)) FROM numeric_amounts") == serial_gini  # sorted first: exact
        scores = """SELECT array_agg((customer_id, frequency, round(monetary::numeric, 6), r, f) ORDER BY customer_id)::text
                    FROM rfm_scores((SELECT rfm_agg(i % 1000, timestamptz '2024-01-01' + i * interval '1 minute', {v})
                                     FROM numeric_amounts))"""
        assert scalar(db, scores.format(v="v")) == scalar(db, scores.format(v="v::float8"))
    finally:
        db.execute("DROP TABLE numeric_amounts")


def test_cdnow_numeric_amounts_give_the_float8_summary(db):
    for ids in ("customer_id", "customer_id::text", "md5(customer_id::text)::uuid"):
        query = f"SELECT rfm_agg({ids}, order_date, {{amount}})::text FROM cdnow_orders"
        assert scalar(db, query.format(amount="amount")) == scalar(db, query.format(amount="amount::float8")), ids


@pytest.mark.parametrize("value, sqlstate, words", [
    ("'NaN'::numeric", "22023", "gini: NaN is not a valid value"),
    ("'Infinity'::numeric", "22003", "gini: value inf is out of range"),
    ("-0.01::numeric", "22023", "gini: value -0.01 is negative"),
])
def test_bad_numeric_values_are_the_errors_of_float8(db, value, sqlstate, words):
    assert_clear_error(db, f"SELECT gini(v) FROM (VALUES ({value})) t(v)", sqlstate, words)


@pytest.mark.parametrize("value", ["1e400", "-1e400", "1e-400"])
def test_a_value_beyond_double_is_the_error_of_the_cast(db, value):
    """The cast refuses a value beyond a double, or so small it would round to 0 (22003):
    so do the overloads, naming themselves."""
    assert_clear_error(db, f"SELECT {value}::numeric::float8", "22003", "out of range for type double precision", hint=None)
    assert_clear_error(db, f"SELECT rfm_agg(1, now(), {value}::numeric)", "22003",
                       "rfm_agg: the value ", hint="Scale")
    assert_clear_error(db, f"SELECT gini(abs(v)) OVER () FROM (VALUES ({value}::numeric)) t(v)", "22003",
                       "gini: the value ", hint="Scale")
