-- Concentration measures: the aggregates over raw values, and the storable summary.
-- Every function is IMMUTABLE and PARALLEL SAFE; aggregates run in parallel plans through
-- serialize/deserialize/combine and give the same result as serially (the values are sorted
-- before any sum is taken, so their arrival order does not matter).

-- ---------------------------------------------------------------------------------------------
-- Aggregate support: one transition state (every value, validated) for all the aggregates.

CREATE FUNCTION concentration_trans(internal, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'concentration_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION top_share_trans(internal, double precision, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'top_share_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pareto_ratio_trans(internal, double precision, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'pareto_ratio_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION concentration_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'concentration_combine_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION concentration_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'concentration_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION concentration_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'concentration_deserialize_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION gini_final(internal) RETURNS double precision
    AS 'MODULE_PATHNAME', 'gini_final_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gini_unbiased_final(internal) RETURNS double precision
    AS 'MODULE_PATHNAME', 'gini_unbiased_final_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION hhi_final(internal) RETURNS double precision
    AS 'MODULE_PATHNAME', 'hhi_final_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION hhi_normalized_final(internal) RETURNS double precision
    AS 'MODULE_PATHNAME', 'hhi_normalized_final_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION top_share_final(internal) RETURNS double precision
    AS 'MODULE_PATHNAME', 'top_share_final_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pareto_ratio_final(internal) RETURNS double precision
    AS 'MODULE_PATHNAME', 'pareto_ratio_final_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;

-- The state holds 8 bytes per value, so its size is that of the group: SSPACE tells the planner
-- to expect groups of a few thousand values rather than the 1 kB default for internal.
CREATE AGGREGATE gini(double precision) (
    SFUNC = concentration_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = gini_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE gini_unbiased(double precision) (
    SFUNC = concentration_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = gini_unbiased_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE hhi(double precision) (
    SFUNC = concentration_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = hhi_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE hhi_normalized(double precision) (
    SFUNC = concentration_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = hhi_normalized_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE pareto_ratio(double precision) (
    SFUNC = concentration_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = pareto_ratio_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE pareto_ratio(double precision, double precision) (
    SFUNC = pareto_ratio_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = pareto_ratio_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE top_share(double precision, double precision) (
    SFUNC = top_share_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = top_share_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);

COMMENT ON AGGREGATE gini(double precision) IS
'Gini coefficient of non-negative values: 2·Σ i·x(i) / (n·Σx) − (n+1)/n, x ascending (as R ineq, PySAL, ClickHouse). 0 = all equal. NULL when no rows or the total is 0.';
COMMENT ON AGGREGATE gini_unbiased(double precision) IS
'Gini coefficient times n/(n−1), the small-sample correction (R DescTools default). NULL for fewer than 2 values or a zero total.';
COMMENT ON AGGREGATE hhi(double precision) IS
'Herfindahl–Hirschman index Σ sᵢ² of the shares sᵢ = xᵢ/Σx: 1/n when equal, 1 when one unit holds everything.';
COMMENT ON AGGREGATE hhi_normalized(double precision) IS
'Normalized HHI (H − 1/n)/(1 − 1/n), from 0 (equal) to 1 (one unit holds everything). NULL for fewer than 2 values.';
COMMENT ON AGGREGATE pareto_ratio(double precision) IS
'Smallest fraction of units, largest first, that holds 80 % of the total (interpolated on the Lorenz curve).';
COMMENT ON AGGREGATE pareto_ratio(double precision, double precision) IS
'pareto_ratio(x, q): smallest fraction of units, largest first, that holds the share q in (0, 1] of the total.';
COMMENT ON AGGREGATE top_share(double precision, double precision) IS
'top_share(x, p): share of the total held by the largest fraction p in (0, 1] of units; exact when p·n is whole, linearly interpolated otherwise.';

-- ---------------------------------------------------------------------------------------------
-- The storable summary: all values, sorted; every measure can be read from it later.

CREATE TYPE concentration;
CREATE FUNCTION concentration_in(cstring) RETURNS concentration
    AS 'MODULE_PATHNAME', 'concentration_in_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION concentration_out(concentration) RETURNS cstring
    AS 'MODULE_PATHNAME', 'concentration_out_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
-- Binary I/O (COPY ... (FORMAT binary), binary-protocol clients): the stored form, checked.
CREATE FUNCTION concentration_recv(internal) RETURNS concentration
    AS 'MODULE_PATHNAME', 'concentration_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION concentration_send(concentration) RETURNS bytea
    AS 'MODULE_PATHNAME', 'concentration_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE concentration (
    INPUT = concentration_in, OUTPUT = concentration_out,
    RECEIVE = concentration_recv, SEND = concentration_send,
    INTERNALLENGTH = VARIABLE, STORAGE = extended);
COMMENT ON FUNCTION concentration_recv(internal) IS 'Binary input of concentration (binary COPY, binary protocol); checks every invariant of the stored form.';
COMMENT ON FUNCTION concentration_send(concentration) IS 'Binary output of concentration: its stored form, format version first.';
COMMENT ON TYPE concentration IS
'Summary of a distribution of non-negative values (all of them, sorted) from concentration_agg(x); text form {"n": 3, "values": [1, 2.5, 4]}.';

CREATE FUNCTION concentration_agg_final(internal) RETURNS concentration
    AS 'MODULE_PATHNAME', 'concentration_agg_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE concentration_agg(double precision) (
    SFUNC = concentration_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = concentration_agg_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE concentration_agg(double precision) IS
'Builds a concentration summary of non-negative values, to read gini(c), top_share(c, p), pareto_ratio(c, q), hhi(c), lorenz_curve(c) and concentration_report(c) from without rescanning.';

CREATE FUNCTION concentration_rollup_trans(internal, concentration) RETURNS internal
    AS 'MODULE_PATHNAME', 'concentration_rollup_trans_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE rollup(concentration) (
    SFUNC = concentration_rollup_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = concentration_agg_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE rollup(concentration) IS
'Merges concentration summaries into one, e.g. per-day summaries into a month: the same summary as concentration_agg over all their values.';
COMMENT ON FUNCTION concentration_rollup_trans(internal, concentration) IS 'Transition function of rollup(concentration).';

-- A histogram's rows, (value, how many units have it): on a distributed table the histogram is
-- counted on the workers, and only its (value, count) pairs travel to the coordinator.
CREATE FUNCTION concentration_weighted_trans(internal, double precision, bigint) RETURNS internal
    AS 'MODULE_PATHNAME', 'concentration_weighted_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE concentration_agg(value double precision, weight bigint) (
    SFUNC = concentration_weighted_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = concentration_agg_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE concentration_agg(double precision, bigint) IS
'concentration_agg(value, weight): the summary of a histogram, each row standing for weight units with that value (e.g. count(*) of a GROUP BY value); the same summary as concentration_agg over the units themselves.';
COMMENT ON FUNCTION concentration_weighted_trans(internal, double precision, bigint) IS 'Transition function of concentration_agg(value, weight).';

CREATE FUNCTION gini(c concentration) RETURNS double precision
    AS 'MODULE_PATHNAME', 'concentration_gini_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gini_unbiased(c concentration) RETURNS double precision
    AS 'MODULE_PATHNAME', 'concentration_gini_unbiased_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION hhi(c concentration) RETURNS double precision
    AS 'MODULE_PATHNAME', 'concentration_hhi_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION hhi_normalized(c concentration) RETURNS double precision
    AS 'MODULE_PATHNAME', 'concentration_hhi_normalized_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION top_share(c concentration, p double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'concentration_top_share_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pareto_ratio(c concentration, q double precision DEFAULT 0.8) RETURNS double precision
    AS 'MODULE_PATHNAME', 'concentration_pareto_ratio_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lorenz_curve(c concentration, points integer DEFAULT 100)
    RETURNS TABLE (population_share double precision, value_share double precision)
    AS 'MODULE_PATHNAME', 'lorenz_curve_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE ROWS 101;
CREATE FUNCTION concentration_report(c concentration) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'concentration_report_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION concentration_in(cstring) IS 'Text input of the concentration type.';
COMMENT ON FUNCTION concentration_out(concentration) IS 'Text output of the concentration type.';
COMMENT ON FUNCTION gini(concentration) IS 'Gini coefficient of a concentration summary (see the gini aggregate).';
COMMENT ON FUNCTION gini_unbiased(concentration) IS 'Gini coefficient times n/(n−1) of a concentration summary.';
COMMENT ON FUNCTION hhi(concentration) IS 'Herfindahl–Hirschman index of a concentration summary.';
COMMENT ON FUNCTION hhi_normalized(concentration) IS 'Normalized Herfindahl–Hirschman index of a concentration summary.';
COMMENT ON FUNCTION top_share(concentration, double precision) IS
'Share of the total held by the largest fraction p in (0, 1] of units of a concentration summary.';
COMMENT ON FUNCTION pareto_ratio(concentration, double precision) IS
'Smallest fraction of units, largest first, holding the share q (default 0.8) of the total of a concentration summary.';
COMMENT ON FUNCTION lorenz_curve(concentration, integer) IS
'points + 1 points (default 101) of the Lorenz curve from (0,0) to (1,1): population_share, value_share of the smallest units. No rows when the total is 0.';
COMMENT ON FUNCTION concentration_report(concentration) IS
'All concentration measures of a summary as jsonb: n, total, gini, gini_unbiased, hhi, hhi_normalized, top 1/5/10/20 % shares, pareto_80, pareto_50.';

-- The support functions are not for calling directly.
COMMENT ON FUNCTION concentration_trans(internal, double precision) IS 'Transition function of the concentration aggregates.';
COMMENT ON FUNCTION top_share_trans(internal, double precision, double precision) IS 'Transition function of top_share(x, p).';
COMMENT ON FUNCTION pareto_ratio_trans(internal, double precision, double precision) IS 'Transition function of pareto_ratio(x, q).';
COMMENT ON FUNCTION concentration_combine(internal, internal) IS 'Combine function of the concentration aggregates (parallel plans).';
COMMENT ON FUNCTION concentration_serialize(internal) IS 'Serialize function of the concentration aggregates (parallel plans).';
COMMENT ON FUNCTION concentration_deserialize(bytea, internal) IS 'Deserialize function of the concentration aggregates (parallel plans).';
COMMENT ON FUNCTION gini_final(internal) IS 'Final function of gini(x).';
COMMENT ON FUNCTION gini_unbiased_final(internal) IS 'Final function of gini_unbiased(x).';
COMMENT ON FUNCTION hhi_final(internal) IS 'Final function of hhi(x).';
COMMENT ON FUNCTION hhi_normalized_final(internal) IS 'Final function of hhi_normalized(x).';
COMMENT ON FUNCTION top_share_final(internal) IS 'Final function of top_share(x, p).';
COMMENT ON FUNCTION pareto_ratio_final(internal) IS 'Final function of pareto_ratio(x) and pareto_ratio(x, q).';
COMMENT ON FUNCTION concentration_agg_final(internal) IS 'Final function of concentration_agg(x).';

-- numeric values (amounts in numeric(12, 2)) read directly: the same double the cast
-- numeric::float8 gives, without its detour through text.
CREATE FUNCTION concentration_numeric_trans(internal, numeric) RETURNS internal
    AS 'MODULE_PATHNAME', 'concentration_numeric_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION top_share_numeric_trans(internal, numeric, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'top_share_numeric_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pareto_ratio_numeric_trans(internal, numeric, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'pareto_ratio_numeric_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION concentration_numeric_trans(internal, numeric) IS 'Transition function of the concentration aggregates over numeric values.';
COMMENT ON FUNCTION top_share_numeric_trans(internal, numeric, double precision) IS 'Transition function of top_share(x numeric, p).';
COMMENT ON FUNCTION pareto_ratio_numeric_trans(internal, numeric, double precision) IS 'Transition function of pareto_ratio(x numeric, q).';
CREATE AGGREGATE gini(numeric) (
    SFUNC = concentration_numeric_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = gini_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE gini_unbiased(numeric) (
    SFUNC = concentration_numeric_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = gini_unbiased_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE hhi(numeric) (
    SFUNC = concentration_numeric_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = hhi_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE hhi_normalized(numeric) (
    SFUNC = concentration_numeric_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = hhi_normalized_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE pareto_ratio(numeric) (
    SFUNC = concentration_numeric_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = pareto_ratio_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE pareto_ratio(numeric, double precision) (
    SFUNC = pareto_ratio_numeric_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = pareto_ratio_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE top_share(numeric, double precision) (
    SFUNC = top_share_numeric_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = top_share_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE concentration_agg(numeric) (
    SFUNC = concentration_numeric_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = concentration_agg_final,
    COMBINEFUNC = concentration_combine, SERIALFUNC = concentration_serialize,
    DESERIALFUNC = concentration_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE gini(numeric) IS 'gini over numeric values, read directly: the same result as gini(x::float8), faster.';
COMMENT ON AGGREGATE gini_unbiased(numeric) IS 'gini_unbiased over numeric values, read directly.';
COMMENT ON AGGREGATE hhi(numeric) IS 'hhi over numeric values, read directly.';
COMMENT ON AGGREGATE hhi_normalized(numeric) IS 'hhi_normalized over numeric values, read directly.';
COMMENT ON AGGREGATE pareto_ratio(numeric) IS 'pareto_ratio over numeric values, read directly.';
COMMENT ON AGGREGATE pareto_ratio(numeric, double precision) IS 'pareto_ratio(x, q) over numeric values, read directly.';
COMMENT ON AGGREGATE top_share(numeric, double precision) IS 'top_share(x, p) over numeric values, read directly.';
COMMENT ON AGGREGATE concentration_agg(numeric) IS 'concentration_agg over numeric values, read directly: the same summary as concentration_agg(x::float8).';
