-- The one-pass RFM path: rfm_agg over the orders builds a per-customer summary, rfm_scores
-- scores it. Three summary types, one per kind of customer id (bigint, text, uuid), so that
-- rfm_scores returns the ids in their own type.

CREATE TYPE rfm_summary;
CREATE FUNCTION rfm_summary_in(cstring) RETURNS rfm_summary
    AS 'MODULE_PATHNAME', 'rfm_summary_in_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_out(rfm_summary) RETURNS cstring
    AS 'MODULE_PATHNAME', 'rfm_summary_out_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_recv(internal) RETURNS rfm_summary
    AS 'MODULE_PATHNAME', 'rfm_summary_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_send(rfm_summary) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rfm_summary_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE rfm_summary (INPUT = rfm_summary_in, OUTPUT = rfm_summary_out,
    RECEIVE = rfm_summary_recv, SEND = rfm_summary_send, INTERNALLENGTH = VARIABLE, STORAGE = extended);
COMMENT ON FUNCTION rfm_summary_recv(internal) IS 'Binary input of rfm_summary (binary COPY, binary protocol); checks every invariant of the stored form.';
COMMENT ON FUNCTION rfm_summary_send(rfm_summary) IS 'Binary output of rfm_summary: its stored form, format version first.';
COMMENT ON TYPE rfm_summary IS 'Per-customer purchase statistics (bigint customer ids) from rfm_agg: first and last purchase, purchases, net amount.';

CREATE TYPE rfm_summary_text;
CREATE FUNCTION rfm_summary_text_in(cstring) RETURNS rfm_summary_text
    AS 'MODULE_PATHNAME', 'rfm_summary_text_in_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_text_out(rfm_summary_text) RETURNS cstring
    AS 'MODULE_PATHNAME', 'rfm_summary_text_out_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_text_recv(internal) RETURNS rfm_summary_text
    AS 'MODULE_PATHNAME', 'rfm_summary_text_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_text_send(rfm_summary_text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rfm_summary_text_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE rfm_summary_text (INPUT = rfm_summary_text_in, OUTPUT = rfm_summary_text_out,
    RECEIVE = rfm_summary_text_recv, SEND = rfm_summary_text_send, INTERNALLENGTH = VARIABLE, STORAGE = extended);
COMMENT ON FUNCTION rfm_summary_text_recv(internal) IS 'Binary input of rfm_summary_text (binary COPY, binary protocol); checks every invariant of the stored form.';
COMMENT ON FUNCTION rfm_summary_text_send(rfm_summary_text) IS 'Binary output of rfm_summary_text: its stored form, format version first.';
COMMENT ON TYPE rfm_summary_text IS 'Per-customer purchase statistics (text customer ids) from rfm_agg: first and last purchase, purchases, net amount.';

CREATE FUNCTION rfm_agg_trans(internal, bigint, timestamp with time zone, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_agg_text_trans(internal, text, timestamp with time zone, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_text_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_agg_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_combine_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_agg_text_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_text_combine_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_agg_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rfm_agg_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_agg_text_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rfm_agg_text_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_agg_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_deserialize_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_agg_text_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_text_deserialize_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_agg_final(internal) RETURNS rfm_summary
    AS 'MODULE_PATHNAME', 'rfm_agg_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_agg_text_final(internal) RETURNS rfm_summary_text
    AS 'MODULE_PATHNAME', 'rfm_agg_text_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_rollup_trans(internal, rfm_summary) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_rollup_trans_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_rollup_text_trans(internal, rfm_summary_text) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_rollup_text_trans_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;

-- About 56 bytes a customer: SSPACE assumes groups of about a thousand customers.
CREATE AGGREGATE rfm_agg(customer_id bigint, order_ts timestamp with time zone, amount double precision) (
    SFUNC = rfm_agg_trans, STYPE = internal, SSPACE = 65536, FINALFUNC = rfm_agg_final,
    COMBINEFUNC = rfm_agg_combine, SERIALFUNC = rfm_agg_serialize, DESERIALFUNC = rfm_agg_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE rfm_agg(customer_id text, order_ts timestamp with time zone, amount double precision) (
    SFUNC = rfm_agg_text_trans, STYPE = internal, SSPACE = 65536, FINALFUNC = rfm_agg_text_final,
    COMBINEFUNC = rfm_agg_text_combine, SERIALFUNC = rfm_agg_text_serialize, DESERIALFUNC = rfm_agg_text_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE rollup(rfm_summary) (
    SFUNC = rfm_rollup_trans, STYPE = internal, SSPACE = 65536, FINALFUNC = rfm_agg_final,
    COMBINEFUNC = rfm_agg_combine, SERIALFUNC = rfm_agg_serialize, DESERIALFUNC = rfm_agg_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE rollup(rfm_summary_text) (
    SFUNC = rfm_rollup_text_trans, STYPE = internal, SSPACE = 65536, FINALFUNC = rfm_agg_text_final,
    COMBINEFUNC = rfm_agg_text_combine, SERIALFUNC = rfm_agg_text_serialize, DESERIALFUNC = rfm_agg_text_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE rfm_agg(bigint, timestamp with time zone, double precision) IS
'One pass over the orders: per customer the first and last purchase, the number of purchases and the net amount. A negative amount is a return: it lowers the amount but is no purchase. Rows without customer or time are skipped.';
COMMENT ON AGGREGATE rfm_agg(text, timestamp with time zone, double precision) IS
'rfm_agg for text customer ids.';
COMMENT ON AGGREGATE rollup(rfm_summary) IS 'Merges RFM summaries (per day into a month, per shop into all): the summary rfm_agg would build from all their orders.';
COMMENT ON AGGREGATE rollup(rfm_summary_text) IS 'Merges RFM summaries with text customer ids.';

CREATE FUNCTION rfm_scores(summary rfm_summary, bins integer DEFAULT 5)
    RETURNS TABLE (customer_id bigint, first_order timestamp with time zone, last_order timestamp with time zone,
                   recency_days double precision, frequency bigint, monetary double precision,
                   r smallint, f smallint, m smallint, rfm_cell text, rfm_total integer, segment text)
    AS 'MODULE_PATHNAME', 'rfm_scores_latest' LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 1000;
CREATE FUNCTION rfm_scores(summary rfm_summary, as_of timestamp with time zone, bins integer DEFAULT 5)
    RETURNS TABLE (customer_id bigint, first_order timestamp with time zone, last_order timestamp with time zone,
                   recency_days double precision, frequency bigint, monetary double precision,
                   r smallint, f smallint, m smallint, rfm_cell text, rfm_total integer, segment text)
    AS 'MODULE_PATHNAME', 'rfm_scores_as_of' LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 1000;
CREATE FUNCTION rfm_scores(summary rfm_summary_text, bins integer DEFAULT 5)
    RETURNS TABLE (customer_id text, first_order timestamp with time zone, last_order timestamp with time zone,
                   recency_days double precision, frequency bigint, monetary double precision,
                   r smallint, f smallint, m smallint, rfm_cell text, rfm_total integer, segment text)
    AS 'MODULE_PATHNAME', 'rfm_scores_text_latest' LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 1000;
CREATE FUNCTION rfm_scores(summary rfm_summary_text, as_of timestamp with time zone, bins integer DEFAULT 5)
    RETURNS TABLE (customer_id text, first_order timestamp with time zone, last_order timestamp with time zone,
                   recency_days double precision, frequency bigint, monetary double precision,
                   r smallint, f smallint, m smallint, rfm_cell text, rfm_total integer, segment text)
    AS 'MODULE_PATHNAME', 'rfm_scores_text_as_of' LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION rfm_scores(rfm_summary, integer) IS
'Scores every customer of a summary (as of its latest purchase): recency_days, frequency, monetary, r, f, m (the rank method of rfm_score), rfm_cell ''545'', rfm_total r+f+m, and the default segment when bins = 5.';
COMMENT ON FUNCTION rfm_scores(rfm_summary, timestamp with time zone, integer) IS
'Scores every customer of a summary as of as_of (not before the latest purchase in it).';
COMMENT ON FUNCTION rfm_scores(rfm_summary_text, integer) IS 'rfm_scores for text customer ids, as of the latest purchase.';
COMMENT ON FUNCTION rfm_scores(rfm_summary_text, timestamp with time zone, integer) IS 'rfm_scores for text customer ids, as of as_of.';

COMMENT ON FUNCTION rfm_summary_in(cstring) IS 'Text input of rfm_summary.';
COMMENT ON FUNCTION rfm_summary_out(rfm_summary) IS 'Text output of rfm_summary.';
COMMENT ON FUNCTION rfm_summary_text_in(cstring) IS 'Text input of rfm_summary_text.';
COMMENT ON FUNCTION rfm_summary_text_out(rfm_summary_text) IS 'Text output of rfm_summary_text.';
COMMENT ON FUNCTION rfm_agg_trans(internal, bigint, timestamp with time zone, double precision) IS 'Transition function of rfm_agg (bigint ids).';
COMMENT ON FUNCTION rfm_agg_text_trans(internal, text, timestamp with time zone, double precision) IS 'Transition function of rfm_agg (text ids).';
COMMENT ON FUNCTION rfm_agg_combine(internal, internal) IS 'Combine function of rfm_agg (bigint ids).';
COMMENT ON FUNCTION rfm_agg_text_combine(internal, internal) IS 'Combine function of rfm_agg (text ids).';
COMMENT ON FUNCTION rfm_agg_serialize(internal) IS 'Serialize function of rfm_agg (bigint ids).';
COMMENT ON FUNCTION rfm_agg_text_serialize(internal) IS 'Serialize function of rfm_agg (text ids).';
COMMENT ON FUNCTION rfm_agg_deserialize(bytea, internal) IS 'Deserialize function of rfm_agg (bigint ids).';
COMMENT ON FUNCTION rfm_agg_text_deserialize(bytea, internal) IS 'Deserialize function of rfm_agg (text ids).';
COMMENT ON FUNCTION rfm_agg_final(internal) IS 'Final function of rfm_agg and rollup (bigint ids).';
COMMENT ON FUNCTION rfm_agg_text_final(internal) IS 'Final function of rfm_agg and rollup (text ids).';
COMMENT ON FUNCTION rfm_rollup_trans(internal, rfm_summary) IS 'Transition function of rollup(rfm_summary).';
COMMENT ON FUNCTION rfm_rollup_text_trans(internal, rfm_summary_text) IS 'Transition function of rollup(rfm_summary_text).';

-- uuid customer ids: a summary kind of its own (16-byte keys), so that rfm_scores returns them as
-- uuid and they sort and merge as fast as bigint ids.
CREATE TYPE rfm_summary_uuid;
CREATE FUNCTION rfm_summary_uuid_in(cstring) RETURNS rfm_summary_uuid
    AS 'MODULE_PATHNAME', 'rfm_summary_uuid_in_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_uuid_out(rfm_summary_uuid) RETURNS cstring
    AS 'MODULE_PATHNAME', 'rfm_summary_uuid_out_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_uuid_recv(internal) RETURNS rfm_summary_uuid
    AS 'MODULE_PATHNAME', 'rfm_summary_uuid_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_summary_uuid_send(rfm_summary_uuid) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rfm_summary_uuid_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE rfm_summary_uuid (INPUT = rfm_summary_uuid_in, OUTPUT = rfm_summary_uuid_out,
    RECEIVE = rfm_summary_uuid_recv, SEND = rfm_summary_uuid_send, INTERNALLENGTH = VARIABLE, STORAGE = extended);
COMMENT ON TYPE rfm_summary_uuid IS 'Per-customer purchase statistics (uuid customer ids) from rfm_agg: first and last purchase, purchases, net amount.';
COMMENT ON FUNCTION rfm_summary_uuid_in(cstring) IS 'Text input of rfm_summary_uuid.';
COMMENT ON FUNCTION rfm_summary_uuid_out(rfm_summary_uuid) IS 'Text output of rfm_summary_uuid.';
COMMENT ON FUNCTION rfm_summary_uuid_recv(internal) IS 'Binary input of rfm_summary_uuid (binary COPY, binary protocol); checks every invariant of the stored form.';
COMMENT ON FUNCTION rfm_summary_uuid_send(rfm_summary_uuid) IS 'Binary output of rfm_summary_uuid: its stored form, format version first.';

CREATE FUNCTION rfm_agg_uuid_trans(internal, uuid, timestamp with time zone, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_uuid_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_agg_uuid_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_uuid_combine' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_agg_uuid_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rfm_agg_uuid_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_agg_uuid_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_uuid_deserialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_agg_uuid_final(internal) RETURNS rfm_summary_uuid
    AS 'MODULE_PATHNAME', 'rfm_agg_uuid_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_rollup_uuid_trans(internal, rfm_summary_uuid) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_rollup_uuid_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION rfm_agg_uuid_trans(internal, uuid, timestamp with time zone, double precision) IS 'Transition function of rfm_agg (uuid ids).';
COMMENT ON FUNCTION rfm_agg_uuid_combine(internal, internal) IS 'Combine function of rfm_agg (uuid ids).';
COMMENT ON FUNCTION rfm_agg_uuid_serialize(internal) IS 'Serialize function of rfm_agg (uuid ids).';
COMMENT ON FUNCTION rfm_agg_uuid_deserialize(bytea, internal) IS 'Deserialize function of rfm_agg (uuid ids).';
COMMENT ON FUNCTION rfm_agg_uuid_final(internal) IS 'Final function of rfm_agg and rollup (uuid ids).';
COMMENT ON FUNCTION rfm_rollup_uuid_trans(internal, rfm_summary_uuid) IS 'Transition function of rollup(rfm_summary_uuid).';

CREATE AGGREGATE rfm_agg(customer_id uuid, order_ts timestamp with time zone, amount double precision) (
    SFUNC = rfm_agg_uuid_trans, STYPE = internal, SSPACE = 65536, FINALFUNC = rfm_agg_uuid_final,
    COMBINEFUNC = rfm_agg_uuid_combine, SERIALFUNC = rfm_agg_uuid_serialize, DESERIALFUNC = rfm_agg_uuid_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE rollup(rfm_summary_uuid) (
    SFUNC = rfm_rollup_uuid_trans, STYPE = internal, SSPACE = 65536, FINALFUNC = rfm_agg_uuid_final,
    COMBINEFUNC = rfm_agg_uuid_combine, SERIALFUNC = rfm_agg_uuid_serialize, DESERIALFUNC = rfm_agg_uuid_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE rfm_agg(uuid, timestamp with time zone, double precision) IS 'rfm_agg for uuid customer ids.';
COMMENT ON AGGREGATE rollup(rfm_summary_uuid) IS 'Merges RFM summaries with uuid customer ids.';

CREATE FUNCTION rfm_scores(summary rfm_summary_uuid, bins integer DEFAULT 5)
    RETURNS TABLE (customer_id uuid, first_order timestamp with time zone, last_order timestamp with time zone,
                   recency_days double precision, frequency bigint, monetary double precision,
                   r smallint, f smallint, m smallint, rfm_cell text, rfm_total integer, segment text)
    AS 'MODULE_PATHNAME', 'rfm_scores_uuid_latest' LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 1000;
CREATE FUNCTION rfm_scores(summary rfm_summary_uuid, as_of timestamp with time zone, bins integer DEFAULT 5)
    RETURNS TABLE (customer_id uuid, first_order timestamp with time zone, last_order timestamp with time zone,
                   recency_days double precision, frequency bigint, monetary double precision,
                   r smallint, f smallint, m smallint, rfm_cell text, rfm_total integer, segment text)
    AS 'MODULE_PATHNAME', 'rfm_scores_uuid_as_of' LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION rfm_scores(rfm_summary_uuid, integer) IS 'rfm_scores for uuid customer ids, as of the latest purchase.';
COMMENT ON FUNCTION rfm_scores(rfm_summary_uuid, timestamp with time zone, integer) IS 'rfm_scores for uuid customer ids, as of as_of.';

-- numeric amounts (the usual order column, numeric(12, 2)) read directly: the same double the
-- cast numeric::float8 gives, without its detour through text.
CREATE FUNCTION rfm_agg_numeric_trans(internal, bigint, timestamp with time zone, numeric) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_numeric_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_agg_text_numeric_trans(internal, text, timestamp with time zone, numeric) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_text_numeric_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_agg_uuid_numeric_trans(internal, uuid, timestamp with time zone, numeric) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_agg_uuid_numeric_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION rfm_agg_numeric_trans(internal, bigint, timestamp with time zone, numeric) IS 'Transition function of rfm_agg (bigint ids, numeric amounts).';
COMMENT ON FUNCTION rfm_agg_text_numeric_trans(internal, text, timestamp with time zone, numeric) IS 'Transition function of rfm_agg (text ids, numeric amounts).';
COMMENT ON FUNCTION rfm_agg_uuid_numeric_trans(internal, uuid, timestamp with time zone, numeric) IS 'Transition function of rfm_agg (uuid ids, numeric amounts).';
CREATE AGGREGATE rfm_agg(customer_id bigint, order_ts timestamp with time zone, amount numeric) (
    SFUNC = rfm_agg_numeric_trans, STYPE = internal, SSPACE = 65536, FINALFUNC = rfm_agg_final,
    COMBINEFUNC = rfm_agg_combine, SERIALFUNC = rfm_agg_serialize, DESERIALFUNC = rfm_agg_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE rfm_agg(customer_id text, order_ts timestamp with time zone, amount numeric) (
    SFUNC = rfm_agg_text_numeric_trans, STYPE = internal, SSPACE = 65536, FINALFUNC = rfm_agg_text_final,
    COMBINEFUNC = rfm_agg_text_combine, SERIALFUNC = rfm_agg_text_serialize, DESERIALFUNC = rfm_agg_text_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE rfm_agg(customer_id uuid, order_ts timestamp with time zone, amount numeric) (
    SFUNC = rfm_agg_uuid_numeric_trans, STYPE = internal, SSPACE = 65536, FINALFUNC = rfm_agg_uuid_final,
    COMBINEFUNC = rfm_agg_uuid_combine, SERIALFUNC = rfm_agg_uuid_serialize, DESERIALFUNC = rfm_agg_uuid_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE rfm_agg(bigint, timestamp with time zone, numeric) IS 'rfm_agg with numeric amounts, read directly: the same summary as with amount::float8, faster.';
COMMENT ON AGGREGATE rfm_agg(text, timestamp with time zone, numeric) IS 'rfm_agg for text customer ids with numeric amounts.';
COMMENT ON AGGREGATE rfm_agg(uuid, timestamp with time zone, numeric) IS 'rfm_agg for uuid customer ids with numeric amounts.';
