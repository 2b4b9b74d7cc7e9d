"""Stored values (concentration, rfm_summary, rfm_summary_text, rfm_summary_uuid) in binary: SEND / RECEIVE round
trips through COPY (FORMAT binary) and psycopg's binary results, and every invariant a decoder
checks, broken one at a time in crafted bytes: each a clear ERROR with SQLSTATE XX001."""
import struct
import uuid

import psycopg
import pytest

from conftest import assert_clear_error, scalar

# PostgreSQL's binary COPY format (the COPY reference page, "Binary Format"): a signature, flags
# and a header extension length, then per row a field count and each field's length and bytes.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER = struct.pack("!h", -1)


def binary_copy_file(payloads):
    """A binary COPY stream of one-column rows holding `payloads` as they are."""
    rows = b"".join(struct.pack("!hi", 1, len(p)) + p for p in payloads)
    return COPY_SIGNATURE + rows + COPY_TRAILER


def copy_out(conn, query):
    with conn.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
        return b"".join(bytes(chunk) for chunk in copy)


def copy_in(conn, table, data):
    with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
        copy.write(data)


SUMMARIES = {
    "concentration": "SELECT concentration_agg(amount) AS s FROM cdnow_orders",
    "rfm_summary": "SELECT rfm_agg(customer_id, order_date, amount) AS s FROM cdnow_orders",
    "rfm_summary_text": "SELECT rfm_agg('c' || customer_id, order_date, amount) AS s FROM cdnow_orders",
    "rfm_summary_uuid": "SELECT rfm_agg(md5(customer_id::text)::uuid, order_date, amount) AS s FROM cdnow_orders",
}


@pytest.mark.parametrize("type_name", SUMMARIES)
def test_binary_copy_round_trip(db, type_name):
    db.execute(f"CREATE TEMP TABLE stored_{type_name} AS {SUMMARIES[type_name]}")
    db.execute(f"CREATE TEMP TABLE back_{type_name} (s {type_name})")
    data = copy_out(db, f"SELECT s FROM stored_{type_name}")
    copy_in(db, f"back_{type_name}", data)
    same = scalar(
        db, f"SELECT a.s::text = b.s::text FROM stored_{type_name} a, back_{type_name} b"
    )
    assert same
    # The binary form is the SEND function's output, format version first.
    sent = scalar(db, f"SELECT {type_name}_send(s) FROM stored_{type_name}")
    assert data == binary_copy_file([sent])


def test_psycopg_binary_results_are_the_send_form(db):
    query = "SELECT concentration_agg(x) FROM generate_series(1, 5) x"
    binary = db.execute(query, binary=True).fetchone()[0]
    assert bytes(binary) == bytes(scalar(db, f"SELECT concentration_send(({query}))"))


def concentration_bytes(values, version=1, reserved=0):
    return struct.pack("<II", version, reserved) + b"".join(struct.pack("<d", v) for v in values)


def rfm_bytes(customers, kind=1, version=1, count=None):
    """An rfm_summary payload: (id, first, last, purchases, sum, compensation) per customer."""
    out = bytes([version, kind, 0, 0, 0, 0, 0, 0]) + struct.pack("<Q", len(customers) if count is None else count)
    for cid, first, last, purchases, amount, compensation in customers:
        if kind == 1:
            out += struct.pack("<q", cid)
        elif kind == 3:
            out += uuid.UUID(cid).bytes
        else:
            raw = cid.encode()
            out += struct.pack("<I", len(raw)) + raw
        out += struct.pack("<qqQdd", first, last, purchases, amount, compensation)
    return out


NONE = -(2**63)
DAY = 86_400_000_000
GOOD = (1, DAY, 2 * DAY, 2, 10.0, 0.0)


def test_crafted_good_values_are_accepted(db):
    db.execute("CREATE TEMP TABLE good_c (s concentration)")
    copy_in(db, "good_c", binary_copy_file([concentration_bytes([0.0, 1.5, 2.0])]))
    # G = sum((2i - n - 1) x_i) / (n sum x) = (-2*0 + 0*1.5 + 2*2) / (3 * 3.5), by hand.
    assert scalar(db, "SELECT gini(s) FROM good_c") == pytest.approx(4 / 10.5, rel=1e-15)
    assert scalar(db, "SELECT s::text FROM good_c") == '{"n":3,"values":[0.0,1.5,2.0]}'
    db.execute("CREATE TEMP TABLE good_r (s rfm_summary)")
    copy_in(db, "good_r", binary_copy_file([rfm_bytes([GOOD, (5, NONE, NONE, 0, -3.0, 0.0)])]))
    rows = db.execute("SELECT customer_id, frequency, monetary FROM good_r, rfm_scores(s)").fetchall()
    assert rows == [(1, 2, 10.0), (5, 0, -3.0)]


BAD_CONCENTRATION = {
    "values out of order": concentration_bytes([2.0, 1.0]),
    "negative value": concentration_bytes([-1.0]),
    "NaN": concentration_bytes([float("nan")]),
    "infinity": concentration_bytes([float("inf")]),
    "unknown version": concentration_bytes([1.0], version=9),
    "reserved word": concentration_bytes([1.0], reserved=1),
    "truncated": concentration_bytes([1.0])[:-3],
    "negative zero": concentration_bytes([-0.0, 1.0]),
}


def assert_refused(conn, type_name, payload):
    """Reading `payload` as a `type_name` by binary COPY is ERROR XX001 naming the type, and
    the session carries on."""
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS refused_{type_name} (s {type_name})")
    with pytest.raises(psycopg.Error) as caught:
        copy_in(conn, f"refused_{type_name}", binary_copy_file([payload]))
    assert caught.value.diag.sqlstate == "XX001", caught.value.diag.message_primary
    assert caught.value.diag.message_primary.startswith(f"{type_name}:")
    assert scalar(conn, "SELECT 1") == 1


@pytest.mark.parametrize("why", BAD_CONCENTRATION)
def test_corrupted_concentration_is_refused(db, why):
    assert_refused(db, "concentration", BAD_CONCENTRATION[why])


BAD_RFM = {
    "ids out of order": rfm_bytes([(2,) + GOOD[1:], (1,) + GOOD[1:]]),
    "id twice": rfm_bytes([GOOD, GOOD]),
    "first after last": rfm_bytes([(1, 3 * DAY, DAY, 1, 1.0, 0.0)]),
    "purchases beyond bigint": rfm_bytes([(1, DAY, DAY, 2**64 - 1, 1.0, 0.0)]),
    "times without purchases": rfm_bytes([(1, DAY, DAY, 0, 1.0, 0.0)]),
    "purchases without times": rfm_bytes([(1, NONE, NONE, 3, 1.0, 0.0)]),
    "time beyond the timestamp range": rfm_bytes([(1, DAY, 2**63 - 1, 1, 1.0, 0.0)]),
    "NaN amount": rfm_bytes([(1, DAY, DAY, 1, float("nan"), 0.0)]),
    "infinite compensation": rfm_bytes([(1, DAY, DAY, 1, 1.0, float("inf"))]),
    "count larger than the customers": rfm_bytes([GOOD], count=2),
    "trailing bytes": rfm_bytes([GOOD]) + b"\x00",
    "text ids in a bigint summary": rfm_bytes([("a",) + GOOD[1:]], kind=2),
    "unknown version": rfm_bytes([GOOD], version=7),
}


@pytest.mark.parametrize("why", BAD_RFM)
def test_corrupted_rfm_summary_is_refused(db, why):
    assert_refused(db, "rfm_summary", BAD_RFM[why])


@pytest.mark.parametrize("payload", [
    rfm_bytes([("b",) + GOOD[1:], ("a",) + GOOD[1:]], kind=2),
    rfm_bytes([("a\x00b",) + GOOD[1:]], kind=2),
    rfm_bytes([GOOD], kind=1),
])
def test_corrupted_rfm_summary_text_is_refused(db, payload):
    assert_refused(db, "rfm_summary_text", payload)


U1, U2 = "00000000-0000-0000-0000-000000000001", "ffffffff-0000-0000-0000-000000000000"


def test_crafted_uuid_summary_is_read_in_byte_order(db):
    db.execute("CREATE TEMP TABLE good_u (s rfm_summary_uuid)")
    copy_in(db, "good_u", binary_copy_file([rfm_bytes([(U1,) + GOOD[1:], (U2,) + GOOD[1:]], kind=3)]))
    rows = db.execute("SELECT customer_id::text, frequency FROM good_u, rfm_scores(s)").fetchall()
    assert rows == [(U1, 2), (U2, 2)]


@pytest.mark.parametrize("payload", [
    rfm_bytes([(U2,) + GOOD[1:], (U1,) + GOOD[1:]], kind=3),
    rfm_bytes([(U1,) + GOOD[1:], (U1,) + GOOD[1:]], kind=3),
    rfm_bytes([(U1,) + GOOD[1:]], kind=3)[:-5],
    rfm_bytes([GOOD], kind=1),
])
def test_corrupted_rfm_summary_uuid_is_refused(db, payload):
    assert_refused(db, "rfm_summary_uuid", payload)


def test_text_forms_refuse_what_the_binary_refuses(db):
    """The purchase count that read back as frequency -1 (a u64 cast to bigint) and a NUL
    inside a text id (which would print as another id) are input errors now."""
    assert_clear_error(
        db, """SELECT '{"customers": [[1, 0, 0, 18446744073709551615, 1.0, 0.0]]}'::rfm_summary""",
        "22P02", "rfm_summary")
    assert_clear_error(
        db, """SELECT '{"customers": [["a\\u0000b", 0, 0, 1, 1.0, 0.0]]}'::rfm_summary_text""",
        "22021", "rfm_summary_text")
    assert_clear_error(
        db, """SELECT '{"customers": [["not-a-uuid", 0, 0, 1, 1.0, 0.0]]}'::rfm_summary_uuid""",
        "22P02", "rfm_summary_uuid")
    assert_clear_error(
        db, """SELECT '{"n": 2, "values": [1, 2], "x": 1}'::concentration""", "22P02", "concentration")


def test_pg_dump_custom_format_and_restore(database):
    """pg_dump -Fc of a database holding stored summaries, restored into a fresh database:
    the same values (text forms compared) and the same scores."""
    import os
    import subprocess

    from conftest import PSQL, connect, fresh_database

    bindir = os.path.dirname(PSQL)
    fresh_database("rfm_dump_source")
    with connect("rfm_dump_source") as conn:
        conn.execute("CREATE EXTENSION rfm_segment")
        conn.execute("""CREATE TABLE kept AS
            SELECT concentration_agg(x) AS c, rfm_agg(x::bigint % 7, timestamptz '2024-01-01' + x * interval '1 day', x) AS r,
                   rfm_agg('c' || x::bigint % 7, timestamptz '2024-01-01' + x * interval '1 day', x) AS t
            FROM generate_series(1, 100) x""")
        before = conn.execute("SELECT c::text, r::text, t::text FROM kept").fetchone()
    dump = subprocess.run([f"{bindir}/pg_dump", "-Fc", "-d", "rfm_dump_source"], capture_output=True, check=True).stdout
    fresh_database("rfm_dump_target")
    subprocess.run([f"{bindir}/pg_restore", "-d", "rfm_dump_target"], input=dump, capture_output=True, check=True)
    with connect("rfm_dump_target") as conn:
        assert conn.execute("SELECT c::text, r::text, t::text FROM kept").fetchone() == before
        assert scalar(conn, "SELECT count(*) FROM kept, rfm_scores(r)") == 7
    with connect("postgres") as admin:
        admin.execute("DROP DATABASE rfm_dump_source WITH (FORCE)")
        admin.execute("DROP DATABASE rfm_dump_target WITH (FORCE)")


def test_rollup_whose_purchase_counts_pass_bigint_is_an_error(db):
    """Two stored summaries, each valid, whose counts add up beyond bigint: 22003 at the rollup,
    not a summary that would fail its own check later."""
    half = 2**62 + 1
    db.execute("CREATE TEMP TABLE big_counts (s rfm_summary)")
    copy_in(db, "big_counts", binary_copy_file([rfm_bytes([(1, DAY, DAY, half, 1.0, 0.0)])] * 2))
    assert_clear_error(db, "SELECT rollup(s) FROM big_counts", "22003", "bigint")
