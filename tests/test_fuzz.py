"""Bounded fuzzing: random queries of our own over the extension's functions, then sqlsmith.

test_random_queries: a seeded generator (RFM_FUZZ_SEED, RFM_FUZZ_QUERIES) calls the functions
the catalog lists in random query shapes: plain calls, set-returning functions in FROM, LATERAL
and the select list, aggregates with GROUP BY and FILTER and as window functions, window
functions OVER () and over partitions, orders and frames, calls nested in calls
(gini(concentration_agg(x)), rfm_scores(rfm_agg(...)), markov_projection(migration_matrix(...),
...)), with random and hostile arguments, over a small random table it refills every 100 queries
(NULLs, duplicates, negative, huge and NaN amounts, infinite and far times). Some queries run
with forced parallel plans, some with work_mem = 64kB. It fails on a backend crash, a query that
ignores statement_timeout, SQLSTATE XX000, Rust panic text, or an error class outside 22, 23, 42,
53, 54, 0A (and 57014, the fuzzer's own statement_timeout); a failure shows the seed, the
settings and the SQL. `pytest -s` prints the queries run and their errors by SQLSTATE.

test_sqlsmith: sqlsmith (Debian package sqlsmith) generates random SQL over every function and
operator of the catalog, ours included, in a database of its own with tables of the extension's
types, as a role that owns nothing else; afterwards the server must not have crashed, and no
error may be XX000 or panic text mentioning the extension.
"""
import collections
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time

import psycopg
import pytest
from psycopg.types.string import TextLoader

from conftest import ALLOWED_CLASSES, PANIC_TEXT, connect, force_parallel, fresh_database

SEED = int(os.environ.get("RFM_FUZZ_SEED", "20241130"))
QUERIES = int(os.environ.get("RFM_FUZZ_QUERIES", "10000"))  # about 65 s on 2 cores
SMITH_QUERIES = int(os.environ.get("RFM_SQLSMITH_QUERIES", "12000"))  # about 55 s
FUZZ_DB, SMITH_DB, SMITH_LOG_DB, SMITH_ROLE = "rfm_fuzz", "rfm_sqlsmith", "rfm_sqlsmith_log", "rfm_sqlsmith"

# Known bugs (test_catalogue.py's KNOWN_BUGS), as (SQLSTATE, words of the message): tolerated and
# counted while they are open. None now.
KNOWN_BUGS = {}
# Arguments that set how much work a call does (a month of clv costs a series per row), kept
# small so that the queries stay quick; test_catalogue.py calls them with extreme values.
BOUNDED = {("clv", "months"), ("markov_projection", "steps")}

# The random table: its columns by type, as expressions of the alias o.
COLUMNS = {
    "integer": ["o.g", "o.k"],
    "bigint": ["o.id", "o.k::bigint"],
    "double precision": ["o.x", "o.y", "o.k::float8"],
    "text": ["o.tid", "o.s1", "o.s2"],
    "uuid": ["o.uid"],
    "timestamp with time zone": ["o.ts", "o.d::timestamptz"],
    "date": ["o.d"],
    "boolean": ["o.b"],
}
TABLE = """CREATE TABLE fuzz_orders (g integer, id bigint, tid text, uid uuid, ts timestamptz, d date,
    x double precision, y double precision, k integer, b boolean, s1 text, s2 text)"""
HISTORY = """CREATE TABLE fuzz_history (as_of timestamptz NOT NULL, customer_id bigint NOT NULL,
    recency_days double precision, frequency bigint, monetary double precision, r smallint, f smallint,
    m smallint, segment text, PRIMARY KEY (as_of, customer_id))"""

# Literals per argument type: sane ones and hostile ones.
FIT = '"log_likelihood": -1000.0, "iterations": 20, "converged": true'  # a model's fit report
MATRIX = '{"segments": ["a", "b"], "probabilities": [[0.9, 0.1], [0.2, 0.8]]}'
LITERALS = {
    "double precision": ["0.5", "1", "2", "30", "0.95", "0", "-1", "'NaN'", "'Infinity'", "'-Infinity'",
                         "1e308", "-1e308", "5e-324"],
    "integer": ["1", "2", "3", "5", "12", "100", "0", "-1", "2147483647", "'-2147483648'"],
    "bigint": ["1", "1000", "0", "-1", "9223372036854775807", "'-9223372036854775808'"],
    "boolean": ["true", "false"],
    "text": ["'a'", "'b'", "'Champions'", "'rank'", "'ntile'", "''", "repeat('x', 10000)"],
    "uuid": ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"],
    "timestamp with time zone": ["'1997-06-30'", "now()", "'infinity'", "'-infinity'",
                                 "'4713-01-01 00:00+00 BC'", "'294276-12-31 23:59:59+00'"],
    "date": ["'1997-09-30'", "'2024-01-01'", "'infinity'", "'-infinity'", "'4713-01-01 BC'", "'294276-12-31'"],
    "interval": ["'7 days'", "'1 day'", "'1 mon'", "'-1 day'", "'0'", "'1000000 years'"],
    "jsonb": ["'{}'", "'[]'", "'null'", """'{"a": 1e400}'""", """'{"a": 0.5, "b": 0.5}'""",
              """'[{"name": "VIP", "r": [4, 5]}]'""", f"'{MATRIX}'"],
    "double precision[]": ["'{1,2,3,4}'", "'{4,3,2,1}'", "'{}'", "'{NULL}'", "'{NaN}'", "'{Infinity,-Infinity}'",
                           "'{1e308,-1e308,5e-324}'"],
    "regclass": ["'fuzz_orders'", "'fuzz_history'", "'pg_class'"],
    "name": ["'id'", "'tid'", "'uid'", "'ts'", "'d'", "'x'", "'no_such_column'", "''"],
    "anyelement": ["NULL::rfm_summary", "NULL::rfm_summary_text", "NULL::rfm_summary_uuid", "NULL::integer"],
    "concentration": ["""'{"n": 3, "values": [1, 2, 3]}'""", """'{"n": 2, "values": [0, 0]}'"""],
    "bgnbd_model": [f"""'{{"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258, "customers": 2357, {FIT}}}'"""],
    "pareto_nbd_model": [f"""'{{"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67, "customers": 2357, {FIT}}}'"""],
    "gamma_gamma_model": [f"""'{{"p": 6.25, "q": 3.74, "gamma": 15.45, "customers": 946, {FIT}}}'"""],
    "sbg_model": [f"""'{{"alpha": 0.704, "beta": 1.182, "cohort": 1000, "periods": 7, {FIT}}}'"""],
}

FRAMES = ["", "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW", "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
          "RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING", "GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING",
          "ROWS BETWEEN 1 FOLLOWING AND 3 FOLLOWING", "ROWS UNBOUNDED PRECEDING"]
CONDITIONS = ["o.b", "o.x > 0", "o.g = 1", "o.id IS NOT NULL", "o.ts < now()"]

CATALOG_QUERY = """
SELECT p.proname, p.prokind, p.proretset, array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t),
       coalesce(p.proargnames, '{}'), p.pronargdefaults, format_type(p.prorettype, NULL)
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rfm_segment'
WHERE NOT p.proargtypes::oid[] && ARRAY['internal'::regtype, 'cstring'::regtype]::oid[]
ORDER BY p.oid
"""
Function = collections.namedtuple("Function", "name kind retset argtypes argnames defaults result")

ROWS, GROUPS, CONST = "rows", "groups", "const"  # what an expression may use: columns, aggregates, neither


class QueryGenerator:
    """Random SQL over fuzz_orders (alias o) calling the extension's functions."""

    def __init__(self, rng, functions):
        self.rng, self.functions = rng, functions
        self.makers = collections.defaultdict(list)  # type → functions and aggregates returning one
        for fn in functions:
            if not fn.retset and fn.kind in "fa":
                self.makers[fn.result].append(fn)

    def literal(self, type_name):
        value = "NULL" if self.rng.random() < 0.1 else self.rng.choice(LITERALS.get(type_name, ["NULL"]))
        return value if type_name.startswith("any") else f"{value}::{type_name}"

    def expr(self, type_name, scope, depth=2):
        """An expression of the type: a column, a literal, or a call of a function making one."""
        makers = self.makers[type_name] if depth > 0 else []
        options = ["literal"]
        options += ["column"] * 3 if scope == ROWS and type_name in COLUMNS else []
        options += ["group key"] if scope == GROUPS and type_name == "integer" else []
        options += ["call"] * 2 if any(f.kind == "f" for f in makers) else []
        options += ["subquery"] if any(f.kind == "a" for f in makers) else []
        options += ["aggregate"] * 3 if scope == GROUPS and any(f.kind == "a" for f in makers) else []
        match self.rng.choice(options):
            case "literal":
                return self.literal(type_name)
            case "column":
                return self.rng.choice(COLUMNS[type_name])
            case "group key":
                return "o.g"
            case "call":
                return self.call(self.rng.choice([f for f in makers if f.kind == "f"]), scope, depth - 1)
            case "aggregate":
                return self.aggregate(self.rng.choice([f for f in makers if f.kind == "a"]), depth - 1)
            case "subquery":
                agg = self.aggregate(self.rng.choice([f for f in makers if f.kind == "a"]), depth - 1)
                return f"(SELECT {agg} FROM fuzz_orders o{self.where()})"

    def arguments(self, fn, scope, depth):
        args = []
        for i, type_name in enumerate(fn.argtypes):
            name = fn.argnames[i] if i < len(fn.argnames) else ""
            if (fn.name, name) in BOUNDED:
                args.append(self.rng.choice(["0", "1", "12", "120"]))
            else:
                args.append(self.expr(type_name, scope, depth))
        # Leave out defaulted arguments, or name them, now and then.
        first_default = len(args) - fn.defaults
        if fn.kind != "a" and fn.defaults and self.rng.random() < 0.5:
            keep = self.rng.randint(first_default, len(args))
            named = [f"{fn.argnames[i]} => {args[i]}" for i in range(first_default, keep)]
            return ", ".join(args[:first_default] + (named if self.rng.random() < 0.5 else args[first_default:keep]))
        return ", ".join(args)

    def call(self, fn, scope, depth=2):
        return f"{fn.name}({self.arguments(fn, scope, depth)})"

    def aggregate(self, fn, depth=2):
        call = self.call(fn, ROWS, depth)
        return call + (f" FILTER (WHERE {self.rng.choice(CONDITIONS)})" if self.rng.random() < 0.3 else "")

    def where(self):
        return f" WHERE {self.rng.choice(CONDITIONS)}" if self.rng.random() < 0.3 else ""

    def window(self):
        partition = self.rng.choice(["", "PARTITION BY o.g", "PARTITION BY o.b"])
        order = self.rng.choice(["", "ORDER BY o.id", "ORDER BY o.x DESC", "ORDER BY o.ts NULLS FIRST"])
        frame = self.rng.choice(FRAMES) if order else ""
        return f"OVER ({' '.join(filter(None, [partition, order, frame]))})"

    def query(self):
        fn = self.rng.choice(self.functions)
        shapes = {
            "w": [self.window_query, self.window_query_grouped_after],
            "a": [self.grouped, self.whole_table, self.aggregate_as_window],
            "srf": [self.srf_from, self.srf_lateral, self.srf_select_list, self.srf_of_aggregates],
            "f": [self.plain_rows, self.plain_grouped, self.plain_const],
        }["srf" if fn.retset else fn.kind]
        return self.rng.choice(shapes)(fn)

    def window_query(self, fn):
        return f"SELECT o.id, {self.call(fn, ROWS)} {self.window()} FROM fuzz_orders o{self.where()}"

    def window_query_grouped_after(self, fn):
        return (f"SELECT c, count(*) FROM (SELECT {self.call(fn, ROWS)} {self.window()} AS c "
                f"FROM fuzz_orders o) s GROUP BY c")

    def grouped(self, fn):
        return f"SELECT o.g, {self.aggregate(fn)} FROM fuzz_orders o{self.where()} GROUP BY o.g"

    def whole_table(self, fn):
        return f"SELECT {self.aggregate(fn)} FROM fuzz_orders o{self.where()}"

    def aggregate_as_window(self, fn):
        return f"SELECT {self.call(fn, ROWS)} {self.window()} FROM fuzz_orders o"

    def srf_from(self, fn):
        return f"SELECT * FROM {self.call(fn, CONST)} LIMIT 100"

    def srf_lateral(self, fn):
        return f"SELECT o.id, s.* FROM fuzz_orders o, LATERAL {self.call(fn, ROWS)} s LIMIT 100"

    def srf_select_list(self, fn):
        return f"SELECT o.id, {self.call(fn, ROWS)} FROM fuzz_orders o LIMIT 100"

    def srf_of_aggregates(self, fn):
        return f"SELECT o.g, {self.call(fn, GROUPS)} FROM fuzz_orders o GROUP BY o.g LIMIT 100"

    def plain_rows(self, fn):
        return f"SELECT {self.call(fn, ROWS)} FROM fuzz_orders o{self.where()}"

    def plain_grouped(self, fn):
        return f"SELECT o.g, {self.call(fn, GROUPS)} FROM fuzz_orders o GROUP BY o.g"

    def plain_const(self, fn):
        return f"SELECT {self.call(fn, CONST)}"


def random_rows(rng):
    """INSERT statements of a few random orders: duplicates, NULLs and hostile values included."""
    def pick(sane, hostile):
        r = rng.random()
        return "NULL" if r < 0.08 else rng.choice(hostile) if r < 0.18 else sane()

    rows = []
    for _ in range(rng.choice([0, 1, 3, 20, 100, 500])):
        rows.append("(" + ", ".join([
            pick(lambda: str(rng.randint(0, 3)), ["-1", "2147483647"]),
            pick(lambda: str(rng.randint(1, 30)), ["0", "-1", "9223372036854775807", "'-9223372036854775808'"]),
            pick(lambda: f"'c{rng.randint(1, 30)}'", ["''", "repeat('x', 1000)", "'é'"]),
            pick(lambda: f"'{rng.randint(1, 30):08x}-0000-4000-8000-000000000000'", ["'ffffffff-ffff-ffff-ffff-ffffffffffff'"]),
            pick(lambda: f"'2024-01-01'::timestamptz + {rng.randint(-800, 0)} * interval '1 day 1 hour'",
                 ["'infinity'", "'-infinity'", "'4713-01-01 00:00+00 BC'", "'294276-12-31 23:59:59+00'"]),
            pick(lambda: f"'2024-01-01'::date + {rng.randint(-800, 0)}",
                 ["'infinity'", "'-infinity'", "'4713-01-01 BC'", "'294276-12-31'"]),
            pick(lambda: str(round(rng.uniform(0, 200), 2)), ["-5", "0", "'NaN'", "'Infinity'", "1e308", "5e-324"]),
            pick(lambda: str(rng.choice([0, 1, 2, 5, 13.5])), ["-1", "'NaN'", "'-Infinity'", "1.7e308"]),
            pick(lambda: str(rng.randint(0, 7)), ["-1", "2147483647", "'-2147483648'"]),
            pick(lambda: rng.choice(["true", "false"]), ["false"]),
            pick(lambda: rng.choice(["'Champions'", "'Lost'", "'a'"]), ["''"]),
            pick(lambda: rng.choice(["'Champions'", "'Lost'", "'b'"]), ["repeat('y', 500)"]),
        ]) + ")")
    return ["TRUNCATE fuzz_orders"] + ([f"INSERT INTO fuzz_orders VALUES {', '.join(rows)}"] if rows else [])


def problem(error):
    """Why an error is a failure, or None when it is a clear one."""
    d = error.diag
    text = " ".join(filter(None, (d.message_primary, d.message_detail, d.message_hint)))
    found = [f"panic text {p!r} in the message" for p in PANIC_TEXT if p in text]
    if d.sqlstate == "XX000":
        found.append("an internal error")
    elif d.sqlstate is None or (d.sqlstate[:2] not in ALLOWED_CLASSES and d.sqlstate != "57014"):
        found.append(f"SQLSTATE class not in {', '.join(sorted(ALLOWED_CLASSES))}")
    return f"{'; '.join(found)} ({d.sqlstate}: {d.message_primary})" if found else None


def known_bug(error):
    d = error.diag
    return next((bug for (state, words), bug in KNOWN_BUGS.items()
                 if d.sqlstate == state and words in (d.message_primary or "")), None)


class Fuzzer:
    """Runs the queries on one connection, in settings that change from query to query."""

    GIVE_UP_AFTER = 30  # seconds: a query running this much past statement_timeout ignores it

    def __init__(self):
        self.settings, self.conn = None, self.connect()

    def connect(self):
        for _ in range(120):  # after a crash the server takes a moment to come back
            try:
                conn = connect(FUZZ_DB)
                break
            except psycopg.OperationalError:
                time.sleep(0.5)
        else:
            pytest.exit("the server did not come back after a backend crash", 3)
        for type_name in ("date", "timestamptz", "interval"):  # Python's datetime ends in 9999
            conn.adapters.register_loader(type_name, TextLoader)
        return conn

    def use_settings(self, settings):
        if settings != self.settings:
            self.conn.execute("RESET ALL")
            self.conn.execute("SET statement_timeout = '5s'")
            if "parallel" in settings:
                force_parallel(self.conn)
            if "work_mem 64kB" in settings:
                self.conn.execute("SET work_mem = '64kB'")
            self.settings = settings

    def run(self, sql):
        """None, an error, or the reason the connection was lost (a crash, or a hang)."""
        watchdog = threading.Timer(self.GIVE_UP_AFTER, lambda: socket.socket(
            fileno=os.dup(self.conn.fileno())).shutdown(socket.SHUT_RDWR))
        started = time.monotonic()
        watchdog.start()
        try:
            self.conn.execute(sql).fetchall()
            return None
        except psycopg.Error as error:
            if not self.conn.broken:
                return error
            hung = time.monotonic() - started >= self.GIVE_UP_AFTER
            self.conn, self.settings = self.connect(), None
            return ("ignored statement_timeout (its backend runs on)" if hung
                    else f"the backend crashed: {error}")
        finally:
            watchdog.cancel()


def require_server():
    if "PGPORT" not in os.environ:
        pytest.exit("run the tests with scripts/test.sh, which starts the database they need", 2)


@pytest.fixture(scope="module")
def fuzz_database():
    """A database of the fuzzer's own (left for a look after a failure); the functions to call."""
    require_server()
    fresh_database(FUZZ_DB)
    with connect(FUZZ_DB) as conn:
        conn.execute("CREATE EXTENSION rfm_segment")
        conn.execute(TABLE)
        conn.execute(HISTORY)
        functions = [Function(*row) for row in conn.execute(CATALOG_QUERY)]
    return functions


def test_random_queries(fuzz_database):
    rng = random.Random(SEED)
    generator, fuzzer = QueryGenerator(rng, fuzz_database), Fuzzer()
    sentinel = connect(FUZZ_DB)  # a crash anywhere ends every session, this one too
    outcomes, known, failures = collections.Counter(), collections.Counter(), []
    print(f"\nfuzzing with RFM_FUZZ_SEED={SEED}, {QUERIES} queries")
    for n in range(QUERIES):
        if n % 100 == 0:
            fuzzer.use_settings(())
            for statement in random_rows(rng):
                fuzzer.conn.execute(statement)
        settings = tuple(s for s, p in [("parallel", 0.3), ("work_mem 64kB", 0.2)] if rng.random() < p)
        sql = generator.query()
        fuzzer.use_settings(settings)
        error = fuzzer.run(sql)
        if error is None:
            outcomes["ok"] += 1
            continue
        if isinstance(error, str):  # the connection was lost: a crash, or a query that ignored its timeout
            outcomes["lost"] += 1
            why = error
        else:
            outcomes[error.diag.sqlstate] += 1
            if bug := known_bug(error):
                known[bug] += 1
                continue
            why = problem(error)
        if why:
            failures.append(f"query {n} (settings: {', '.join(settings) or 'default'}):\n  {sql}\n  -> {why}")
            if len(failures) >= 5:
                break
    summary = (f"{sum(outcomes.values())} queries: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common())
               + "; known bugs hit: " + (", ".join(f"{k} ({v})" for k, v in known.items()) or "none"))
    print(summary)
    try:
        sentinel.execute("SELECT 1")
        sentinel.close()
    except psycopg.OperationalError:
        failures.append("a backend crashed: the server restarted and ended the sentinel session")
    assert not failures, (f"RFM_FUZZ_SEED={SEED} (rerun with it: the same data and queries); {summary}\n"
                          + "\n".join(failures))
    with connect("postgres") as admin:  # kept only after a failure, to look at
        admin.execute(f"DROP DATABASE {FUZZ_DB} WITH (FORCE)")


# sqlsmith: a database with a few small tables of the extension's types and views calling it.
SMITH_SCHEMA = [
    """CREATE TABLE orders AS
       SELECT (i % 37)::bigint AS customer_id, 'c' || (i % 37) AS customer_text, md5((i % 37)::text)::uuid AS customer_uuid,
              timestamptz '2024-01-01' - i * interval '7 hours' AS ordered_at, (i % 11) * 3.5 - 2 AS amount,
              i % 5 = 0 AS churned, (ARRAY['Champions', 'Lost', 'New Customers'])[1 + i % 3] AS segment
       FROM generate_series(1, 300) i""",
    "INSERT INTO orders VALUES (NULL, NULL, NULL, 'infinity', 'NaN', NULL, NULL), (1, '', NULL, '-infinity', -1e308, true, '')",
    """CREATE TABLE summaries AS
       SELECT o.segment, rfm_agg(o.customer_id, o.ordered_at, o.amount) FILTER (WHERE isfinite(o.ordered_at) AND o.amount <> 'NaN' AND o.amount > -1e300) AS by_id,
              rfm_agg(o.customer_text, o.ordered_at, o.amount) FILTER (WHERE isfinite(o.ordered_at) AND o.amount <> 'NaN' AND o.amount > -1e300) AS by_text,
              rfm_agg(o.customer_uuid, o.ordered_at, o.amount) FILTER (WHERE isfinite(o.ordered_at) AND o.amount <> 'NaN' AND o.amount > -1e300) AS by_uuid,
              concentration_agg(o.amount) FILTER (WHERE o.amount >= 0 AND o.amount <> 'NaN') AS amounts
       FROM orders o GROUP BY o.segment""",
    f"""CREATE TABLE models AS SELECT {LITERALS['bgnbd_model'][0]}::bgnbd_model AS purchases,
            {LITERALS['gamma_gamma_model'][0]}::gamma_gamma_model AS spend,
            {LITERALS['pareto_nbd_model'][0]}::pareto_nbd_model AS pareto, {LITERALS['sbg_model'][0]}::sbg_model AS subscriptions""",
    """CREATE VIEW scores AS SELECT s.segment AS summary_segment, r.*
       FROM summaries s, LATERAL rfm_scores(s.by_id, as_of => '2024-06-30') r""",
    """CREATE VIEW measures AS SELECT segment, gini(amounts) AS gini, hhi(amounts) AS hhi, concentration_report(amounts) AS report,
              abc_class(amount) OVER (PARTITION BY segment) AS class FROM summaries JOIN orders USING (segment)""",
]


@pytest.fixture
def smith_database():
    """sqlsmith's database, owned by its own unprivileged role, and a database for its log."""
    if shutil.which("sqlsmith") is None:
        pytest.skip("sqlsmith is not installed: apt-get install sqlsmith (Debian package sqlsmith)")
    require_server()
    for db in (SMITH_DB, SMITH_LOG_DB):
        fresh_database(db)
    with connect("postgres") as admin:
        admin.execute(f"DROP ROLE IF EXISTS {SMITH_ROLE}")
        admin.execute(f"CREATE ROLE {SMITH_ROLE} LOGIN")
        admin.execute(f"ALTER ROLE {SMITH_ROLE} SET statement_timeout = '2s'")
    with connect(SMITH_DB) as conn:
        conn.execute("CREATE EXTENSION rfm_segment")
        for statement in SMITH_SCHEMA:
            conn.execute(statement)
        for table in ("orders", "summaries", "models", "scores", "measures"):
            conn.execute(f"ALTER TABLE {table} OWNER TO {SMITH_ROLE}")
        ours = [row[0] for row in conn.execute(
            """SELECT DISTINCT p.proname FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass
               AND d.objid = p.oid AND d.deptype = 'e' JOIN pg_extension e ON e.oid = d.refobjid
               AND e.extname = 'rfm_segment'""")]
    with connect(SMITH_LOG_DB) as conn:  # the tables sqlsmith 1.4 writes to with --log-to
        conn.execute("CREATE TABLE instance (id bigserial PRIMARY KEY, rev text, target text, hostname text, "
                     "version text, seed text)")
        conn.execute("CREATE TABLE error (id bigint, msg text, query text, sqlstate text)")
        conn.execute("CREATE TABLE stat (id bigint, generated bigint, level float8, nodes float8, "
                     "updated timestamptz, retries float8, impedance text)")
    yield ours
    with connect("postgres") as admin:
        for db in (SMITH_DB, SMITH_LOG_DB):
            admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.execute(f"DROP ROLE IF EXISTS {SMITH_ROLE}")


def server_state(conn):
    """What a crash changes: the statistics are reset (the postmaster's start time stays)."""
    return conn.execute("SELECT pg_postmaster_start_time(), (SELECT stats_reset FROM pg_stat_bgwriter), "
                        "(SELECT count(*) FROM pg_stat_database) > 0").fetchone()


def test_sqlsmith(smith_database):
    ours = smith_database
    server = " ".join(f"{k}={os.environ[v]}" for k, v in [("host", "PGHOST"), ("port", "PGPORT")] if v in os.environ)
    sentinel = connect("postgres")  # a crash anywhere ends every session, this one too
    before, started = server_state(sentinel), time.monotonic()
    run = subprocess.run(
        ["sqlsmith", f"--target={server} dbname={SMITH_DB} user={SMITH_ROLE}", f"--seed={SEED}",
         f"--max-queries={SMITH_QUERIES}", "--exclude-catalog", "--dump-all-queries",
         f"--log-to={server} dbname={SMITH_LOG_DB} user={os.environ.get('PGUSER', 'postgres')}"],
        capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    failures = [] if run.returncode == 0 else [f"sqlsmith exited with {run.returncode}:\n{run.stderr[-2000:]}"]
    try:
        after = server_state(sentinel)
    except psycopg.OperationalError:
        failures.append("a backend crashed: the server restarted and ended the sentinel session")
        after = server_state(connect("postgres"))
    if after != before:
        failures.append(f"the server restarted or reset its statistics after a crash: {before} -> {after}")
    sentinel.close()
    failures += [f"panic text {p!r} in sqlsmith's output" for p in PANIC_TEXT if p in run.stderr]
    calls_ours = re.compile(r"\b(" + "|".join(map(re.escape, ours)) + r")\(")  # as in public.gini(
    with connect(SMITH_LOG_DB) as conn:
        errors = conn.execute("SELECT sqlstate, msg, query FROM error").fetchall()
    for state, msg, query in errors:
        state = state or "?????"
        crash = state.startswith("08") or state in ("57P01", "57P02", "57P03")
        # An internal error of a built-in names it ("float8_regr_avgx: expected 6-element float8
        # array", sqlsmith calling an aggregate's support function by hand): not ours.
        raised_by = re.match(r"(\w+): ", msg)
        builtin = raised_by is not None and raised_by.group(1) not in ours
        internal = state == "XX000" and calls_ours.search(query) and not builtin
        if crash or internal or any(p in msg for p in PANIC_TEXT):
            failures.append(f"{state} {msg.strip()}\n  in: {query}")
    called = collections.Counter(calls_ours.findall(run.stdout))  # --dump-all-queries prints them
    print(f"\nsqlsmith --seed={SEED}: {SMITH_QUERIES} queries in {elapsed:.0f} s; {sum(called.values())} calls "
          f"of {len(called)} of the extension's {len(ours)} functions; errors by SQLSTATE: "
          f"{dict(collections.Counter(state for state, _, _ in errors).most_common(12))}")
    assert not failures, f"sqlsmith --seed={SEED}:\n" + "\n".join(failures[:10])
