-- RFM scores (a whole-partition window function, like the ABC classes) and named segments.

CREATE FUNCTION rfm_score(value double precision, bins integer DEFAULT 5, descending boolean DEFAULT false, method text DEFAULT 'rank')
    RETURNS smallint AS 'MODULE_PATHNAME', 'rfm_score' LANGUAGE c WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION rfm_score(double precision, integer, boolean, text) IS
'Window function: RFM score 1..bins (5), higher values higher (lower with descending => true). method ''rank'' (default): 1 + floor(bins · values strictly below / n), equal values score the same; ''ntile'': equal-sized bins like ntile().';

CREATE FUNCTION rfm_score(value timestamp with time zone, bins integer DEFAULT 5, descending boolean DEFAULT false, method text DEFAULT 'rank')
    RETURNS smallint AS 'MODULE_PATHNAME', 'rfm_score_timestamptz' LANGUAGE c WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION rfm_score(timestamp with time zone, integer, boolean, text) IS
'Window function: RFM score 1..bins of a timestamp (or date): a later purchase scores higher. Same methods as for numbers.';

CREATE FUNCTION rfm_segment(r integer, f integer, m integer) RETURNS text
    AS 'MODULE_PATHNAME', 'rfm_segment_default_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION rfm_segment(integer, integer, integer) IS
'The RFM segment of scores r, f, m by the default table (rfm_segment_rules()): the first matching of Champions, Potential Loyalist, Loyal Customers, Promising, New Customers, Can''t Lose Them, At Risk, Need Attention, About To Sleep, Lost; ''Others'' if none.';

CREATE FUNCTION rfm_segment(r integer, f integer, m integer, rules jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'rfm_segment_with_rules_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION rfm_segment(integer, integer, integer, jsonb) IS
'The RFM segment of scores r, f, m by your own rule table [{"name": ..., "r": [low, high], "f": [...], "m": [...]}, ...]: the first matching rule, ''Others'' if none. A rule without r, f or m accepts any score there.';

CREATE FUNCTION rfm_segment_rules() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rfm_segment_rules_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION rfm_segment_rules() IS
'The default RFM segment table (R package rfm 0.3.0 ranges) as jsonb, to copy and edit for rfm_segment(r, f, m, rules).';

CREATE FUNCTION rfm_breaks_trans(internal, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_breaks_trans_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_breaks_bins_trans(internal, double precision, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_breaks_bins_trans_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_breaks_full_trans(internal, double precision, integer, boolean) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_breaks_full_trans_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_breaks_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_breaks_combine_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION rfm_breaks_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rfm_breaks_serialize_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_breaks_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_breaks_deserialize_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rfm_breaks_final(internal) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'rfm_breaks_final_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE rfm_breaks(double precision) (
    SFUNC = rfm_breaks_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = rfm_breaks_final,
    COMBINEFUNC = rfm_breaks_combine, SERIALFUNC = rfm_breaks_serialize, DESERIALFUNC = rfm_breaks_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE rfm_breaks(double precision, integer) (
    SFUNC = rfm_breaks_bins_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = rfm_breaks_final,
    COMBINEFUNC = rfm_breaks_combine, SERIALFUNC = rfm_breaks_serialize, DESERIALFUNC = rfm_breaks_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE rfm_breaks(double precision, integer, boolean) (
    SFUNC = rfm_breaks_full_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = rfm_breaks_final,
    COMBINEFUNC = rfm_breaks_combine, SERIALFUNC = rfm_breaks_serialize, DESERIALFUNC = rfm_breaks_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE rfm_breaks(double precision) IS 'The 4 edges of the 5 RFM scores of the rank method: rfm_bin(v, rfm_breaks(v)) = rfm_score(v) OVER ().';
COMMENT ON AGGREGATE rfm_breaks(double precision, integer) IS 'rfm_breaks(value, bins): the bins - 1 edges of the rank method''s scores.';
COMMENT ON AGGREGATE rfm_breaks(double precision, integer, boolean) IS 'rfm_breaks(value, bins, descending): the edges of descending scores, for rfm_bin(v, edges, true).';
-- A histogram's rows, (value, how many customers have it): on a distributed table the histogram
-- is counted on the workers, and only its (value, count) pairs travel to the coordinator.
CREATE FUNCTION rfm_breaks_weighted_trans(internal, double precision, integer, boolean, bigint) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_breaks_weighted_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE rfm_breaks(value double precision, bins integer, descending boolean, weight bigint) (
    SFUNC = rfm_breaks_weighted_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = rfm_breaks_final,
    COMBINEFUNC = rfm_breaks_combine, SERIALFUNC = rfm_breaks_serialize, DESERIALFUNC = rfm_breaks_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE rfm_breaks(double precision, integer, boolean, bigint) IS 'rfm_breaks(value, bins, descending, weight): the edges from a histogram, each row standing for weight customers with that value (e.g. count(*) of a GROUP BY value); the same edges as over the customers themselves.';
COMMENT ON FUNCTION rfm_breaks_weighted_trans(internal, double precision, integer, boolean, bigint) IS 'Transition function of rfm_breaks(value, bins, descending, weight).';

CREATE FUNCTION rfm_bin(value double precision, edges double precision[], descending boolean DEFAULT false) RETURNS smallint
    AS 'MODULE_PATHNAME', 'rfm_bin_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION rfm_bin(double precision, double precision[], boolean) IS
'The RFM score of value by edges from rfm_breaks: 1 + the number of edges <= value (>= when descending). Scores new customers and prospects with edges learned earlier.';

COMMENT ON FUNCTION rfm_breaks_trans(internal, double precision) IS 'Transition function of rfm_breaks(value).';
COMMENT ON FUNCTION rfm_breaks_bins_trans(internal, double precision, integer) IS 'Transition function of rfm_breaks(value, bins).';
COMMENT ON FUNCTION rfm_breaks_full_trans(internal, double precision, integer, boolean) IS 'Transition function of rfm_breaks(value, bins, descending).';
COMMENT ON FUNCTION rfm_breaks_combine(internal, internal) IS 'Combine function of rfm_breaks (parallel plans).';
COMMENT ON FUNCTION rfm_breaks_serialize(internal) IS 'Serialize function of rfm_breaks (parallel plans).';
COMMENT ON FUNCTION rfm_breaks_deserialize(bytea, internal) IS 'Deserialize function of rfm_breaks (parallel plans).';
COMMENT ON FUNCTION rfm_breaks_final(internal) IS 'Final function of rfm_breaks.';
