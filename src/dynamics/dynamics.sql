-- Segment dynamics: churn rates with confidence intervals, migration between segments, its
-- Markov projection, and the shifted-beta-geometric model of contractual churn.

CREATE TYPE churn_estimate AS (rate double precision, low double precision, high double precision, customers bigint, churned bigint);
COMMENT ON TYPE churn_estimate IS 'A churn rate with its 95 % confidence interval [low, high], the customers counted and those churned.';

CREATE FUNCTION churn_rate_trans(internal, boolean) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_rate_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION churn_rate_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_rate_combine' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION churn_rate_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'churn_rate_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn_rate_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'churn_rate_deserialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION churn_rate_final(internal) RETURNS churn_estimate
    AS 'MODULE_PATHNAME', 'churn_rate_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE churn_rate(churned boolean) (
    SFUNC = churn_rate_trans, STYPE = internal, FINALFUNC = churn_rate_final,
    COMBINEFUNC = churn_rate_combine, SERIALFUNC = churn_rate_serialize,
    DESERIALFUNC = churn_rate_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE churn_rate(boolean) IS
'The share of customers churned, with Wilson''s 95 % score interval; one row per customer, a NULL flag is an error.';
COMMENT ON FUNCTION churn_rate_trans(internal, boolean) IS 'Transition function of churn_rate.';
COMMENT ON FUNCTION churn_rate_combine(internal, internal) IS 'Combine function of churn_rate.';
COMMENT ON FUNCTION churn_rate_serialize(internal) IS 'Serialize function of churn_rate.';
COMMENT ON FUNCTION churn_rate_deserialize(bytea, internal) IS 'Deserialize function of churn_rate.';
COMMENT ON FUNCTION churn_rate_final(internal) IS 'Final function of churn_rate.';

CREATE FUNCTION value_churn_rate_trans(internal, boolean, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'value_churn_rate_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION value_churn_rate_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'value_churn_rate_combine' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION value_churn_rate_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'value_churn_rate_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION value_churn_rate_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'value_churn_rate_deserialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION value_churn_rate_final(internal) RETURNS churn_estimate
    AS 'MODULE_PATHNAME', 'value_churn_rate_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE value_churn_rate(churned boolean, value double precision) (
    SFUNC = value_churn_rate_trans, STYPE = internal, FINALFUNC = value_churn_rate_final,
    COMBINEFUNC = value_churn_rate_combine, SERIALFUNC = value_churn_rate_serialize,
    DESERIALFUNC = value_churn_rate_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE value_churn_rate(boolean, double precision) IS
'The share of value churned (value of the churned customers / value of all), with a 95 % interval from the ratio estimator''s linearised variance; values >= 0.';
COMMENT ON FUNCTION value_churn_rate_trans(internal, boolean, double precision) IS 'Transition function of value_churn_rate.';
COMMENT ON FUNCTION value_churn_rate_combine(internal, internal) IS 'Combine function of value_churn_rate.';
COMMENT ON FUNCTION value_churn_rate_serialize(internal) IS 'Serialize function of value_churn_rate.';
COMMENT ON FUNCTION value_churn_rate_deserialize(bytea, internal) IS 'Deserialize function of value_churn_rate.';
COMMENT ON FUNCTION value_churn_rate_final(internal) IS 'Final function of value_churn_rate.';

CREATE FUNCTION migration_matrix_trans(internal, text, text) RETURNS internal
    AS 'MODULE_PATHNAME', 'migration_matrix_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION migration_matrix_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'migration_matrix_combine' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION migration_matrix_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'migration_matrix_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION migration_matrix_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'migration_matrix_deserialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION migration_matrix_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'migration_matrix_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE migration_matrix(from_segment text, to_segment text) (
    SFUNC = migration_matrix_trans, STYPE = internal, FINALFUNC = migration_matrix_final,
    COMBINEFUNC = migration_matrix_combine, SERIALFUNC = migration_matrix_serialize,
    DESERIALFUNC = migration_matrix_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE migration_matrix(text, text) IS
'Customers moving between the segments of two snapshots, one row per customer: segments in byte order, counts, row probabilities, new (from NULL) and lost (to NULL) customers, the fluctuation rate; as jsonb.';
COMMENT ON FUNCTION migration_matrix_trans(internal, text, text) IS 'Transition function of migration_matrix and fluctuation_rate.';
COMMENT ON FUNCTION migration_matrix_combine(internal, internal) IS 'Combine function of migration_matrix and fluctuation_rate.';
COMMENT ON FUNCTION migration_matrix_serialize(internal) IS 'Serialize function of migration_matrix and fluctuation_rate.';
COMMENT ON FUNCTION migration_matrix_deserialize(bytea, internal) IS 'Deserialize function of migration_matrix and fluctuation_rate.';
COMMENT ON FUNCTION migration_matrix_final(internal) IS 'Final function of migration_matrix.';

CREATE FUNCTION fluctuation_rate_final(internal) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fluctuation_rate_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE fluctuation_rate(from_segment text, to_segment text) (
    SFUNC = migration_matrix_trans, STYPE = internal, FINALFUNC = fluctuation_rate_final,
    COMBINEFUNC = migration_matrix_combine, SERIALFUNC = migration_matrix_serialize,
    DESERIALFUNC = migration_matrix_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE fluctuation_rate(text, text) IS
'The share of the customers present in both snapshots whose segment changed.';
COMMENT ON FUNCTION fluctuation_rate_final(internal) IS 'Final function of fluctuation_rate.';

CREATE FUNCTION markov_projection(matrix jsonb, shares jsonb, steps integer) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'markov_projection_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION markov_projection(jsonb, jsonb, integer) IS
'Segment shares projected through a migration matrix''s row probabilities for each of steps steps, and the mix they settle at (steady_state, null for a periodic chain).';

-- Contractual churn: the shifted-beta-geometric model.

CREATE TYPE sbg_model;
CREATE FUNCTION sbg_model_in(cstring) RETURNS sbg_model
    AS 'MODULE_PATHNAME', 'sbg_model_in_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sbg_model_out(sbg_model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'sbg_model_out_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sbg_model_recv(internal) RETURNS sbg_model
    AS 'MODULE_PATHNAME', 'sbg_model_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sbg_model_send(sbg_model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'sbg_model_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE sbg_model (INPUT = sbg_model_in, OUTPUT = sbg_model_out,
    RECEIVE = sbg_model_recv, SEND = sbg_model_send, INTERNALLENGTH = VARIABLE, STORAGE = extended);
COMMENT ON TYPE sbg_model IS 'A fitted shifted-beta-geometric model of contractual churn (Fader & Hardie 2007): alpha, beta, log-likelihood, cohort, periods, iterations, converged; text form JSON.';
COMMENT ON FUNCTION sbg_model_in(cstring) IS 'Text input of sbg_model (JSON), checked.';
COMMENT ON FUNCTION sbg_model_out(sbg_model) IS 'Text output of sbg_model (JSON).';
COMMENT ON FUNCTION sbg_model_recv(internal) IS 'Binary input of sbg_model, checked.';
COMMENT ON FUNCTION sbg_model_send(sbg_model) IS 'Binary output of sbg_model: its stored form, format version first.';

CREATE FUNCTION sbg_fit_trans(internal, integer, bigint) RETURNS internal
    AS 'MODULE_PATHNAME', 'sbg_fit_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION sbg_fit_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'sbg_fit_combine' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION sbg_fit_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'sbg_fit_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sbg_fit_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'sbg_fit_deserialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sbg_fit_final(internal) RETURNS sbg_model
    AS 'MODULE_PATHNAME', 'sbg_fit_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE sbg_fit(period integer, survivors bigint) (
    SFUNC = sbg_fit_trans, STYPE = internal, FINALFUNC = sbg_fit_final,
    COMBINEFUNC = sbg_fit_combine, SERIALFUNC = sbg_fit_serialize,
    DESERIALFUNC = sbg_fit_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE sbg_fit(integer, bigint) IS
'Fits the shifted-beta-geometric model to a cohort''s survivors, one row per period 0, 1, ..., T, by maximum likelihood.';
COMMENT ON FUNCTION sbg_fit_trans(internal, integer, bigint) IS 'Transition function of sbg_fit.';
COMMENT ON FUNCTION sbg_fit_combine(internal, internal) IS 'Combine function of sbg_fit.';
COMMENT ON FUNCTION sbg_fit_serialize(internal) IS 'Serialize function of sbg_fit.';
COMMENT ON FUNCTION sbg_fit_deserialize(bytea, internal) IS 'Deserialize function of sbg_fit.';
COMMENT ON FUNCTION sbg_fit_final(internal) IS 'Final function of sbg_fit: the fit.';

CREATE FUNCTION sbg_survival(model sbg_model, period integer) RETURNS double precision
    AS 'MODULE_PATHNAME', 'sbg_survival_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sbg_survival(sbg_model, integer) IS
'S(t) = B(alpha, beta + t) / B(alpha, beta): the share of a cohort still subscribed after t periods.';
CREATE FUNCTION sbg_retention(model sbg_model, period integer) RETURNS double precision
    AS 'MODULE_PATHNAME', 'sbg_retention_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sbg_retention(sbg_model, integer) IS
'r(t) = (beta + t - 1) / (alpha + beta + t - 1): the share of subscribers of period t - 1 who renew for period t (t >= 1).';
CREATE FUNCTION sbg_derl(model sbg_model, discount double precision, renewals integer DEFAULT 0) RETURNS double precision
    AS 'MODULE_PATHNAME', 'sbg_derl_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sbg_derl(sbg_model, double precision, integer) IS
'Discounted expected residual lifetime (Fader & Hardie 2010): the payments a subscriber who has renewed renewals times is still expected to make, the next one undiscounted, later ones at discount per period.';

-- Segment history: a snapshot of every customer's RFM scores and segment, appended to a
-- history table by one call (pg_cron schedules it).
-- Both functions pin their search_path: no object a user creates can stand in for the
-- built-ins they call (format, isfinite, unnest); the extension's own are schema-qualified.

CREATE FUNCTION rfm_snapshot_summary(orders regclass, customer_id name, ordered_at name, amount name,
                                     as_of timestamp with time zone, kind anyelement)
    RETURNS SETOF anyelement
    LANGUAGE plpgsql STABLE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $function$
BEGIN
    IF orders IS NULL OR customer_id IS NULL OR ordered_at IS NULL OR amount IS NULL OR as_of IS NULL THEN
        RAISE EXCEPTION 'rfm_snapshot_summary: orders, customer_id, ordered_at, amount and as_of must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'It is rfm_snapshot''s helper; call rfm_snapshot.';
    END IF;
    IF pg_typeof(kind) NOT IN ('@extschema@.rfm_summary'::regtype, '@extschema@.rfm_summary_text'::regtype,
                               '@extschema@.rfm_summary_uuid'::regtype) THEN
        RAISE EXCEPTION 'rfm_snapshot_summary: kind has type %, not a summary type', pg_typeof(kind)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'kind is NULL::rfm_summary, NULL::rfm_summary_text or NULL::rfm_summary_uuid.';
    END IF;
    -- RETURN QUERY EXECUTE may plan in parallel (a plain EXECUTE, or INSERT ... SELECT, may not):
    -- the one pass over the orders runs on every core.
    RETURN QUERY EXECUTE format(
        'SELECT @extschema@.rfm_agg(o.%1$I, o.%2$I, o.%3$I) FROM %4$s AS o WHERE o.%2$I <= $1',
        customer_id, ordered_at, amount, orders) USING as_of;
EXCEPTION WHEN undefined_column OR undefined_table OR undefined_function OR syntax_error THEN
    -- A name that is no column or table, or columns of types rfm_agg does not take.
    RAISE EXCEPTION 'rfm_snapshot_summary: %', SQLERRM USING ERRCODE = SQLSTATE,
        HINT = 'orders is a table; customer_id (bigint, uuid or text), ordered_at (timestamptz or date) and amount (a number) name its columns.';
END
$function$;
COMMENT ON FUNCTION rfm_snapshot_summary(regclass, name, name, name, timestamp with time zone, anyelement) IS
'Helper of rfm_snapshot: the rfm_summary (or rfm_summary_text or rfm_summary_uuid, after kind) of an orders table up to as_of, computed by a query that may run in parallel.';

CREATE FUNCTION rfm_snapshot(orders regclass, customer_id name, ordered_at name, amount name,
                             history regclass, as_of timestamp with time zone DEFAULT now())
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $function$
DECLARE
    by_bigint @extschema@.rfm_summary;
    by_text @extschema@.rfm_summary_text;
    by_uuid @extschema@.rfm_summary_uuid;
    id_type regtype;
    time_type regtype;
    amount_type regtype;
    missing name;
    write text;
    written bigint;
BEGIN
    IF orders IS NULL OR customer_id IS NULL OR ordered_at IS NULL OR amount IS NULL OR history IS NULL
       OR as_of IS NULL THEN
        RAISE EXCEPTION 'rfm_snapshot: orders, customer_id, ordered_at, amount, history and as_of must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'rfm_snapshot(''orders'', ''customer_id'', ''ordered_at'', ''amount'', ''rfm_history'', as_of => now())';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = orders)
       OR NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = history) THEN
        RAISE EXCEPTION 'rfm_snapshot: orders (%) and history (%) must be tables', orders::oid, history::oid
            USING ERRCODE = 'undefined_table', HINT = 'Name them: rfm_snapshot(''orders'', ..., ''rfm_history'').';
    END IF;
    IF NOT isfinite(as_of) THEN
        RAISE EXCEPTION 'rfm_snapshot: as_of must be a finite time, got %', as_of
            USING ERRCODE = 'datetime_field_overflow', HINT = 'Snapshot as of a date, e.g. now() or ''1997-12-31''.';
    END IF;
    SELECT c INTO missing FROM unnest(ARRAY[customer_id, ordered_at, amount]) AS c
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = orders AND a.attname = c
                      AND a.attnum > 0 AND NOT a.attisdropped);
    IF FOUND THEN
        RAISE EXCEPTION 'rfm_snapshot: column % does not exist in %', pg_catalog.quote_ident(missing), orders
            USING ERRCODE = 'undefined_column',
                  HINT = 'customer_id, ordered_at and amount name columns of the orders table.';
    END IF;
    SELECT a.atttypid INTO id_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = orders AND a.attname = customer_id;
    SELECT a.atttypid INTO time_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = orders AND a.attname = ordered_at;
    SELECT a.atttypid INTO amount_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = orders AND a.attname = amount;
    IF id_type::text NOT IN ('bigint', 'integer', 'smallint', 'uuid', 'text', 'character varying', 'character')
       OR time_type::text NOT IN ('timestamp with time zone', 'timestamp without time zone', 'date')
       OR amount_type::text NOT IN ('double precision', 'real', 'numeric', 'bigint', 'integer', 'smallint') THEN
        RAISE EXCEPTION 'rfm_snapshot: the columns of % are % (id), % (time) and % (amount), types rfm_agg does not take',
            orders, id_type, time_type, amount_type
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'customer_id is bigint (or integer), uuid or text; ordered_at timestamptz or date; amount a number.';
    END IF;
    -- The one pass over the orders first, in its own query (which may run in parallel); then
    -- the write. Names are quoted (regclass prints a quoted name, %I quotes a column), values
    -- passed as parameters: nothing can be injected through them. One transaction: a re-run
    -- for the same as_of replaces its snapshot, and an error leaves the history as it was.
    IF id_type::text IN ('text', 'character varying', 'character') THEN
        SELECT s INTO by_text FROM @extschema@.rfm_snapshot_summary(orders, customer_id, ordered_at, amount, as_of, NULL::@extschema@.rfm_summary_text) AS s;
    ELSIF id_type::text = 'uuid' THEN
        SELECT s INTO by_uuid FROM @extschema@.rfm_snapshot_summary(orders, customer_id, ordered_at, amount, as_of, NULL::@extschema@.rfm_summary_uuid) AS s;
    ELSE
        SELECT s INTO by_bigint FROM @extschema@.rfm_snapshot_summary(orders, customer_id, ordered_at, amount, as_of, NULL::@extschema@.rfm_summary) AS s;
    END IF;
    EXECUTE format('DELETE FROM %s WHERE as_of = $1', history) USING as_of;
    write := format(
        'INSERT INTO %s (as_of, customer_id, recency_days, frequency, monetary, r, f, m, segment)
         SELECT $1, s.customer_id, s.recency_days, s.frequency, s.monetary, s.r, s.f, s.m, s.segment
         FROM @extschema@.rfm_scores($2, as_of => $1) AS s', history);
    -- By the ids' type, not by which summary is set: an empty one is NULL.
    IF id_type::text IN ('text', 'character varying', 'character') THEN
        EXECUTE write USING as_of, by_text;
    ELSIF id_type::text = 'uuid' THEN
        EXECUTE write USING as_of, by_uuid;
    ELSE
        EXECUTE write USING as_of, by_bigint;
    END IF;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
EXCEPTION WHEN undefined_column THEN
    RAISE EXCEPTION 'rfm_snapshot: %', SQLERRM USING ERRCODE = 'undefined_column',
        HINT = format('customer_id, ordered_at and amount name columns of %s; the history table has the columns of the reference''s CREATE TABLE rfm_history.', orders);
END
$function$;
COMMENT ON FUNCTION rfm_snapshot(regclass, name, name, name, regclass, timestamp with time zone) IS
'Scores every customer of an orders table as of a time (orders up to it) and writes the snapshot (as_of, customer_id, recency_days, frequency, monetary, r, f, m, segment) into a history table, replacing an earlier snapshot of the same as_of; returns the customers written.';
