"""A catalogue test of bad input, generated from the catalog rather than written by hand.

Every function, aggregate and window function the extension owns (pg_depend, deptype 'e') is
called with NULL in each argument in turn, then with hostile values of each argument's type
(NaN, ±Infinity, the ends of each integer and time range, empty and huge text, odd JSON and
arrays, extreme but valid values of the extension's own types), the other arguments sane.
Aggregates and window functions also run over 0 rows, 1 row, equal rows and rows mixing
hostile values. Each call must either return (a function that is not an aggregate must not
return NaN) or fail with a clear ERROR: SQLSTATE class 22, 23, 42, 53, 54 or 0A, a message that
names the function (for a type's output functions, the type), no Rust panic text; and the
session must survive it.

The list of functions is read from the catalog when pytest collects the tests, so a function
added to the extension is covered without touching this file; a new argument type needs a sane
value in SANE (the test of such a function says so), a new type of the extension a recipe in
VALUE_RECIPES. Left out: support functions taking `internal`, which SQL cannot call, and input
functions taking cstring (bad text and bytes are test_stored_values.py's).
"""
import math
import os
import socket
import threading
import time
from dataclasses import dataclass

import psycopg
import pytest
from psycopg.types.string import TextLoader

from conftest import ALLOWED_CLASSES, PANIC_TEXT, connect, fresh_database


# A sane value per argument type: one that a function of this type of argument accepts.
SANE = {
    "double precision": "1",
    "numeric": "12.50",
    "integer": "5",  # a score, a number of bins, a period, a count of months: 5 fits all
    "bigint": "1",
    "boolean": "false",
    "text": "'a'",
    "jsonb": "'{}'",
    "timestamp with time zone": "'2024-01-01 00:00+00'",
    "date": "'2024-01-01'",
    "interval": "'7 days'",
    "uuid": "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
    "double precision[]": "'{1,2,3,4}'",
    "regclass": "'cdnow_orders'",
    "name": "'customer_id'",
}

# Where no value of the type can be sane for every function: (function, argument) → value.
OVERRIDES = {
    # retention is a probability below 1, and 1 is the generic double
    ("clv_simple", "retention"): "0.5",
    # a rule table is an array of rules, not the generic '{}'
    ("rfm_segment", "rules"): """'[{"name": "VIP", "r": [4, 5]}]'""",
    # a migration matrix and shares of its segments
    ("markov_projection", "matrix"): """'{"segments": ["a", "b"], "probabilities": [[0.9, 0.1], [0.2, 0.8]]}'""",
    ("markov_projection", "shares"): """'{"a": 0.5, "b": 0.5}'""",
    # the columns of cdnow_orders, and a history table of the reference's shape
    ("rfm_snapshot", "ordered_at"): "'order_date'",
    ("rfm_snapshot", "amount"): "'amount'",
    ("rfm_snapshot", "history"): "'catalogue_history'",
    ("rfm_snapshot_summary", "ordered_at"): "'order_date'",
    ("rfm_snapshot_summary", "amount"): "'amount'",
    # the polymorphic kind says which summary to build
    ("rfm_snapshot_summary", "kind"): "NULL::rfm_summary",
}

# Hostile values per argument type; every type also gets NULL. Arrays get theirs from their
# element type (see hostile_values); the extension's own types from VALUE_RECIPES.
HOSTILE = {
    "double precision": ["'NaN'", "'Infinity'", "'-Infinity'", "-1", "0", "1e308", "-1e308", "5e-324"],
    "real": ["'NaN'", "'Infinity'", "'-Infinity'", "-1", "0", "3.4e38", "1e-45"],
    "integer": ["0", "-1", "'2147483647'", "'-2147483648'"],
    "bigint": ["0", "-1", "'9223372036854775807'", "'-9223372036854775808'"],
    "smallint": ["0", "-1", "'32767'", "'-32768'"],
    "numeric": ["'NaN'", "'Infinity'", "'-Infinity'", "1e300", "1e400", "-1", "0.1234567890123456789012345"],
    "timestamp with time zone": ["'infinity'", "'-infinity'", "'4713-01-01 00:00+00 BC'", "'294276-12-31 23:59:59+00'"],
    "date": ["'infinity'", "'-infinity'", "'4713-01-01 BC'", "'294276-12-31'"],
    "interval": ["'-1 day'", "'0'", "'1000000 years'"],
    "text": ["''", "repeat('x', 10000)"],
    "jsonb": ["'{}'", "'[]'", "'null'", """'{"a": 1e400}'"""],
    "boolean": ["true"],
    "uuid": ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"],
    "name": ["''", "repeat('x', 10000)", "'no_such_column'", "'cds'", """'x"; DROP TABLE cdnow_orders; --'"""],
    "regclass": ["'pg_class'", "'catalogue_history'", "0"],
    "anyelement": ["NULL::integer"],
}

# How to make a value of each of the extension's types, with the extension's own aggregates:
# the first is sane, the others extreme but valid (what a summary or a fit can really give).
BTYD = """(SELECT (h).* FROM unnest((SELECT btyd_histories(customer_id, order_date, amount, '1997-09-30', '7 days')
           FROM cdnow_orders WHERE customer_id <= 2000)) h) c"""
ONE_CUSTOMER = "(VALUES (1.0::float8, 1.0::float8, 2.0::float8)) v(x, t_x, T)"
VALUE_RECIPES = {
    "concentration": [
        "SELECT concentration_agg(amount) FROM cdnow_orders WHERE customer_id <= 5",
        "SELECT concentration_agg(x) FROM (VALUES (0.0), (0.0)) v(x)",
        "SELECT concentration_agg(x) FROM (VALUES (1.7e308::float8), (1.7e308), (5e-324)) v(x)",
    ],
    "rfm_summary": [
        "SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders WHERE customer_id <= 3",
        """SELECT rfm_agg(c, t, a) FROM (VALUES (1::bigint, timestamptz '4713-01-01 00:00+00 BC', -5.0::float8),
           (2, '294276-12-31 23:59:59+00', NULL), ('9223372036854775807', '2000-01-01', 1e308)) v(c, t, a)""",
    ],
    "rfm_summary_text": [
        "SELECT rfm_agg(customer_id::text, order_date, amount) FROM cdnow_orders WHERE customer_id <= 3",
        """SELECT rfm_agg(c, t, a) FROM (VALUES ('', timestamptz '4713-01-01 00:00+00 BC', -5.0::float8),
           (repeat('x', 1000), '294276-12-31 23:59:59+00', NULL)) v(c, t, a)""",
    ],
    "rfm_summary_uuid": [
        "SELECT rfm_agg(md5(customer_id::text)::uuid, order_date, amount) FROM cdnow_orders WHERE customer_id <= 3",
        """SELECT rfm_agg(c, t, a) FROM (VALUES (uuid '00000000-0000-0000-0000-000000000000',
           timestamptz '4713-01-01 00:00+00 BC', -5.0::float8), ('ffffffff-ffff-ffff-ffff-ffffffffffff', '294276-12-31 23:59:59+00', NULL)) v(c, t, a)""",
    ],
    "bgnbd_model": [f'SELECT bgnbd_fit(x, t_x, "T") FROM {BTYD}',
                    f"SELECT bgnbd_fit(x, t_x, T) FROM {ONE_CUSTOMER}"],
    "pareto_nbd_model": [f'SELECT pareto_nbd_fit(x, t_x, "T") FROM {BTYD}',
                         f"SELECT pareto_nbd_fit(x, t_x, T) FROM {ONE_CUSTOMER}"],
    "gamma_gamma_model": [f"SELECT gamma_gamma_fit(x, mean_spend) FILTER (WHERE mean_spend > 0) FROM {BTYD}",
                          # one customer: the fit does not converge, and its use is refused
                          "SELECT gamma_gamma_fit(x, m) FROM (VALUES (1.0::float8, 5.0::float8)) v(x, m)"],
    "sbg_model": [
        """SELECT sbg_fit(period, survivors) FROM (VALUES (0, 1000), (1, 631), (2, 468), (3, 382), (4, 326),
           (5, 289), (6, 262), (7, 241)) AS c(period, survivors)""",
        # nobody cancels: α → 0, β → ∞
        "SELECT sbg_fit(p, s) FROM (VALUES (0, 100::bigint), (1, 100)) v(p, s)",
    ],
}

# Functions with a known bug, signature → what is wrong: expected to fail until it is fixed.
KNOWN_BUGS = {}

# Calls that ignore statement_timeout and a cancel, running for days or until the OOM killer
# ends them (nothing else stops their backend): not run, but counted as failures, while the
# bug is open.
NOT_RUN = {}

# Aggregates without a sane single row, whose sane call is therefore an error.
NO_SANE_ROW = {"sbg_fit"}  # its rows are a cohort's periods 0, 1, ..., T, each once


CATALOG_QUERY = """
SELECT p.oid::regprocedure::text, p.proname, p.prokind, p.proretset,
       array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) AS argtypes,
       coalesce(p.proargnames, '{}') AS argnames,
       array(SELECT pg_get_function_arg_default(p.oid, i) FROM generate_series(1, p.pronargs) i) AS defaults,
       (SELECT min(t.typname) FROM pg_type t WHERE p.oid IN (t.typoutput, t.typsend)) AS io_type
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment'
WHERE NOT p.proargtypes::oid[] && ARRAY['internal'::regtype, 'cstring'::regtype]::oid[]
ORDER BY 1
"""


@dataclass
class Function:
    signature: str
    name: str
    kind: str  # 'f' function, 'a' aggregate, 'w' window function
    retset: bool
    argtypes: list
    argnames: list
    defaults: list
    io_type: str | None

    def names(self):
        """What an error message must name: the function, or for an output function its type."""
        return (self.name, self.io_type) if self.io_type else (self.name,)


def catalogue(conn):
    return [Function(*row) for row in conn.execute(CATALOG_QUERY)]


def collect_functions():
    """The extension's functions, read at collection time from a database made for it."""
    if "PGPORT" not in os.environ:
        return []
    fresh_database("rfm_catalogue")
    try:
        with connect("rfm_catalogue") as conn:
            conn.execute("CREATE EXTENSION rfm_segment")
            return catalogue(conn)
    finally:
        with connect("postgres") as admin:
            admin.execute("DROP DATABASE rfm_catalogue WITH (FORCE)")


FUNCTIONS = collect_functions()


def quote(text):
    return "'" + text.replace("'", "''") + "'"


class BackendDied(Exception):
    pass


class Session:
    """A connection that runs each call in a transaction that is rolled back (rfm_snapshot
    writes), and reconnects when a call killed its backend."""

    # A call still running this long after statement_timeout ignores it: the client gives up
    # (its backend runs on) so that the suite does not hang.
    GIVE_UP_AFTER = 30

    def __init__(self, dbname):
        self.dbname = dbname
        self.conn = self.connect()

    def connect(self):
        conn = connect(self.dbname)
        conn.execute("SET statement_timeout = '5s'")
        for type_name in ("date", "timestamptz", "interval"):  # Python's datetime ends in 9999
            conn.adapters.register_loader(type_name, TextLoader)
        return conn

    def run(self, sql):
        """(rows, None) or (None, error); raises BackendDied if `SELECT 1` fails afterwards."""
        pid, started = self.conn.info.backend_pid, time.monotonic()
        watchdog = threading.Timer(self.GIVE_UP_AFTER, self.hang_up)
        watchdog.start()
        try:
            with self.conn.transaction(force_rollback=True):
                cursor = self.conn.execute(sql)
                outcome = (cursor.fetchall() if cursor.description else [], None)
        except psycopg.Error as error:
            outcome = (None, error)
        finally:
            watchdog.cancel()
        if time.monotonic() - started >= self.GIVE_UP_AFTER:
            self.conn = self.reconnect()
            raise BackendDied(f"ignored statement_timeout: still running after {self.GIVE_UP_AFTER} s "
                              f"(backend pid {pid} runs on; pg_terminate_backend cannot stop it)")
        try:
            self.conn.execute("SELECT 1").fetchone()
        except psycopg.OperationalError as lost:
            self.conn = self.reconnect()
            raise BackendDied(f"the backend died: {lost}") from None
        return outcome

    def hang_up(self):
        socket.socket(fileno=os.dup(self.conn.fileno())).shutdown(socket.SHUT_RDWR)

    def reconnect(self):
        """After a crash the postmaster restarts every backend: wait for it (up to 60 s)."""
        for _ in range(120):
            try:
                return self.connect()
            except psycopg.OperationalError:
                time.sleep(0.5)
        pytest.exit("the server did not come back after a backend crash", 3)


@pytest.fixture(scope="module")
def session(database):
    s = Session(database)
    s.conn.execute("DROP TABLE IF EXISTS catalogue_history")
    s.conn.execute("""CREATE TABLE catalogue_history (as_of timestamptz NOT NULL, customer_id bigint NOT NULL,
        recency_days double precision, frequency bigint, monetary double precision, r smallint, f smallint,
        m smallint, segment text, PRIMARY KEY (as_of, customer_id))""")
    yield s
    s.conn.execute("DROP TABLE IF EXISTS catalogue_history")
    s.conn.close()


@pytest.fixture(scope="module")
def stored_values(session):
    """Type → [sane literal, extreme literals...] made by the extension's aggregates."""
    values = {}
    for type_name, recipes in VALUE_RECIPES.items():
        texts = [session.conn.execute(f"SELECT ({recipe})::text").fetchone()[0] for recipe in recipes]
        values[type_name] = [quote(text) for text in texts]
    return values


def typed(value, type_name):
    return value if type_name.startswith("any") else f"{value}::{type_name}"


def sane_value(fn, i, stored):
    name, type_name = (fn.argnames[i] if i < len(fn.argnames) else ""), fn.argtypes[i]
    if (fn.name, name) in OVERRIDES:
        return OVERRIDES[(fn.name, name)]
    if fn.defaults[i] is not None:
        return fn.defaults[i]
    if type_name in stored:
        return stored[type_name][0]
    if type_name not in SANE:
        pytest.fail(f"{fn.signature}: no sane value for an argument of type {type_name}: add one to SANE")
    return SANE[type_name]


def hostile_values(type_name, stored):
    if type_name in stored:
        return stored[type_name][1:]
    if type_name.endswith("[]"):
        elements = HOSTILE.get(type_name[:-2], [])
        cast = [f"{e}::{type_name[:-2]}" for e in elements]
        return ["'{}'", "'{NULL}'"] + [f"ARRAY[{e}]" for e in cast] + ([f"ARRAY[{', '.join(cast)}]"] if cast else [])
    return HOSTILE.get(type_name, [])


def call_sql(fn, rows, arity=None):
    """The SQL of a call with these rows of argument values: one for a function, a VALUES list
    for an aggregate or a window function; `arity` leaves the arguments past it to defaults."""
    n = len(fn.argtypes) if arity is None else arity
    rows = [[typed(v, t) for v, t in zip(row[:n], fn.argtypes)] for row in rows]
    if fn.kind == "f":
        call = f"{fn.name}({', '.join(rows[0])})"
        return f"SELECT * FROM {call}" if fn.retset else f"SELECT {call}"
    columns = ", ".join(f"a{i + 1}" for i in range(n))
    values = ", ".join(f"({', '.join(row)})" for row in rows)
    over = " OVER ()" if fn.kind == "w" else ""
    return f"SELECT {fn.name}({columns}){over} FROM (VALUES {values}) v({columns})"


def calls(fn, stored):
    """Every call of `fn`: the sane one, then NULL and each hostile value in each argument."""
    sane = [sane_value(fn, i, stored) for i in range(len(fn.argtypes))]
    out = [call_sql(fn, [sane])]
    required = sum(d is None for d in fn.defaults)
    if required < len(sane):
        out.append(call_sql(fn, [sane], arity=required))  # the defaults themselves
    if fn.kind != "f":
        out += [call_sql(fn, [sane]) + " WHERE false", call_sql(fn, [sane] * 3)]  # no rows, equal rows
    for i, type_name in enumerate(fn.argtypes):
        # A polymorphic argument's values carry their type: a bare NULL would have none.
        bad = ([] if type_name.startswith("any") else ["NULL"]) + hostile_values(type_name, stored)
        rows = [sane[:i] + [v] + sane[i + 1:] for v in bad]
        for row in rows:
            out.append(call_sql(fn, [row]))
            if fn.kind != "f":
                out.append(call_sql(fn, [sane, row]))  # a hostile row after a sane one
        if fn.kind != "f" and len(rows) > 1:
            out.append(call_sql(fn, [sane] + rows))  # every hostile value of the argument at once
    return out


def problems_with(fn, rows, error):
    """What is wrong with the outcome of one call, if anything."""
    if error is None:
        floats = [v for row in rows for v in row if isinstance(v, float)]
        return ["returned NaN"] if fn.kind != "a" and any(map(math.isnan, floats)) else []
    d = error.diag
    found = []
    if d.sqlstate is None or d.sqlstate[:2] not in ALLOWED_CLASSES:
        found.append(f"SQLSTATE {d.sqlstate} is not of class {', '.join(sorted(ALLOWED_CLASSES))}")
    if not any(word in (d.message_primary or "") for word in fn.names()):
        found.append(f"the message does not name {' or '.join(fn.names())}")
    text = " ".join(filter(None, (d.message_primary, d.message_detail, d.message_hint)))
    found += [f"panic text {p!r} in the message" for p in PANIC_TEXT if p in text]
    return [f"{'; '.join(found)} ({d.sqlstate}: {d.message_primary})"] if found else []


def params():
    for fn in FUNCTIONS:
        marks = [pytest.mark.xfail(reason=KNOWN_BUGS[fn.signature], strict=True)] if fn.signature in KNOWN_BUGS else []
        yield pytest.param(fn, id=fn.signature, marks=marks)


@pytest.mark.parametrize("fn", params())
def test_bad_input(session, stored_values, fn):
    failures, returned, all_calls = [], 0, calls(fn, stored_values)
    for n, sql in enumerate(all_calls):
        if any(fragment in sql for fragment in NOT_RUN.get(fn.signature, ())):
            failures.append(f"{sql}\n    -> not run: known to ignore statement_timeout")
            continue
        try:
            rows, error = session.run(sql)
        except BackendDied as lost:
            failures.append(f"{sql}\n    -> {lost}")
            continue
        if n == 0 and error is not None and fn.name not in NO_SANE_ROW:
            failures.append(f"{sql}\n    -> the sane call failed, so the others test little: fix SANE or OVERRIDES "
                            f"({error.diag.sqlstate}: {error.diag.message_primary})")
        returned += error is None
        failures += [f"{sql}\n    -> {problem}" for problem in problems_with(fn, rows, error)]
        if error is None and any(abs(v) == math.inf for row in rows for v in row if isinstance(v, float)):
            print(f"note: {sql} -> an infinite double")
    print(f"{fn.signature}: {len(all_calls)} calls, {returned} returned")
    assert not failures, f"{len(failures)} bad outcomes of {fn.signature}:\n" + "\n".join(failures)


def test_the_catalogue_covers_the_extension(session):
    """The collected list is the test database's, it is not empty, and every type of the
    extension that a function can take has a recipe for its values."""
    assert [fn.signature for fn in FUNCTIONS] == [fn.signature for fn in catalogue(session.conn)]
    assert "gini(double precision)" in [fn.signature for fn in FUNCTIONS]
    base_types = {row[0] for row in session.conn.execute(
        """SELECT t.typname FROM pg_type t JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid
           AND d.deptype = 'e' JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment'
           WHERE t.typtype = 'b' AND t.typcategory <> 'A'""")}  # PostgreSQL 18 lists their arrays too
    assert base_types == set(VALUE_RECIPES)
