-- rfm_segment 0.1.0 -> 0.2.0. Every change to the SQL surface since 0.1.0, in the order made;
-- a test checks that the catalog after `ALTER EXTENSION rfm_segment UPDATE` equals a fresh
-- 0.2.0 install.

-- Binary I/O for the storable types: COPY ... (FORMAT binary), binary-protocol clients and
-- pg_dump's custom format carry the stored form, checked when read back.
CREATE FUNCTION concentration_recv(internal) RETURNS concentration
    AS 'MODULE_PATHNAME', 'concentration_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION concentration_send(concentration) RETURNS bytea
    AS 'MODULE_PATHNAME', 'concentration_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
ALTER TYPE concentration SET (RECEIVE = concentration_recv, SEND = concentration_send);
COMMENT ON FUNCTION concentration_recv(internal) IS 'Binary input of concentration (binary COPY, binary protocol); checks every invariant of the stored form.';
COMMENT ON FUNCTION concentration_send(concentration) IS 'Binary output of concentration: its stored form, format version first.';

CREATE FUNCTION rfm_summary_recv(internal) RETURNS rfm_summary
    AS 'MODULE_PATHNAME', 'rfm_summary_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_send(rfm_summary) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rfm_summary_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
ALTER TYPE rfm_summary SET (RECEIVE = rfm_summary_recv, SEND = rfm_summary_send);
COMMENT ON FUNCTION rfm_summary_recv(internal) IS 'Binary input of rfm_summary (binary COPY, binary protocol); checks every invariant of the stored form.';
COMMENT ON FUNCTION rfm_summary_send(rfm_summary) IS 'Binary output of rfm_summary: its stored form, format version first.';

CREATE FUNCTION rfm_summary_text_recv(internal) RETURNS rfm_summary_text
    AS 'MODULE_PATHNAME', 'rfm_summary_text_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_text_send(rfm_summary_text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rfm_summary_text_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
ALTER TYPE rfm_summary_text SET (RECEIVE = rfm_summary_text_recv, SEND = rfm_summary_text_send);
COMMENT ON FUNCTION rfm_summary_text_recv(internal) IS 'Binary input of rfm_summary_text (binary COPY, binary protocol); checks every invariant of the stored form.';
COMMENT ON FUNCTION rfm_summary_text_send(rfm_summary_text) IS 'Binary output of rfm_summary_text: its stored form, format version first.';

-- rfm_scores(summary, bins) raises 22004 for a NULL bins, as the as_of overloads do, instead of
-- returning no rows.
ALTER FUNCTION rfm_scores(rfm_summary, integer) CALLED ON NULL INPUT;
ALTER FUNCTION rfm_scores(rfm_summary_text, integer) CALLED ON NULL INPUT;

-- Customer value: simple CLV.
CREATE FUNCTION clv_simple(margin double precision, retention double precision, discount double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'clv_simple_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION clv_simple(double precision, double precision, double precision) IS
'Customer lifetime value m·r/(1+d−r): margin m per period received at the end of each period, retention rate r in [0, 1), discount rate d > −1 per period, infinite horizon (Gupta & Lehmann).';
CREATE FUNCTION clv_simple(margin double precision, retention double precision, discount double precision, periods integer)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'clv_simple_periods_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION clv_simple(double precision, double precision, double precision, integer) IS
'Customer lifetime value over the first n periods: the sum for t = 1..n of m·r^t/(1+d)^t, margins at the end of each period.';
