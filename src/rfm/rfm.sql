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
