-- ABC classification: whole-partition window functions. Each reads its partition once, on its
-- first row, and answers every row from what it computed then.

CREATE FUNCTION abc_class(value double precision, a double precision DEFAULT 0.8, b double precision DEFAULT 0.95)
    RETURNS text AS 'MODULE_PATHNAME', 'abc_class' LANGUAGE c WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION abc_class(double precision, double precision, double precision) IS
'Window function: ABC class by cumulative share, largest first. A = the smallest top set reaching the share a (0.8) of the positive total, B until b (0.95), C the rest and zeros, D negative values. Ties share a class.';

CREATE FUNCTION abc_class_by_rank(value double precision, a double precision DEFAULT 0.2, c double precision DEFAULT 0.2)
    RETURNS text AS 'MODULE_PATHNAME', 'abc_class_by_rank' LANGUAGE c WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION abc_class_by_rank(double precision, double precision, double precision) IS
'Window function: ABC class by head count among non-negative values: the best fraction a (0.2) A, the worst fraction c (0.2) C, the rest B, ties kept together; negative values D.';

CREATE FUNCTION cumulative_share(value double precision)
    RETURNS double precision AS 'MODULE_PATHNAME', 'cumulative_share' LANGUAGE c WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cumulative_share(double precision) IS
'Window function: the Pareto-chart series, running total largest first (ties included) over the total of the positive values.';

CREATE FUNCTION abc_class_computed(value double precision)
    RETURNS text AS 'MODULE_PATHNAME', 'abc_class_computed' LANGUAGE c WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION abc_class_computed(double precision) IS
'Window function: ABC class by limits computed from the data (Ultsch & Lötsch 2015): A up to the Pareto or break-even point, whichever comes first, B up to the sub-marginal point, C the rest; negative values D; ties share a class.';

CREATE FUNCTION abc_limits_trans(internal, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'abc_limits_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION abc_limits_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'abc_limits_combine_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION abc_limits_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'abc_limits_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION abc_limits_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'abc_limits_deserialize_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION abc_limits_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'abc_limits_final_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE abc_limits(double precision) (
    SFUNC = abc_limits_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = abc_limits_final,
    COMBINEFUNC = abc_limits_combine, SERIALFUNC = abc_limits_serialize,
    DESERIALFUNC = abc_limits_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE abc_limits(double precision) IS
'Computed ABC analysis (Ultsch & Lötsch 2015) as jsonb: the Pareto, break-even and sub-marginal points of the ABC curve, the class sizes a/b/c/d_count and the smallest A and B values.';
COMMENT ON FUNCTION abc_limits_trans(internal, double precision) IS 'Transition function of abc_limits(value).';
COMMENT ON FUNCTION abc_limits_combine(internal, internal) IS 'Combine function of abc_limits(value) (parallel plans).';
COMMENT ON FUNCTION abc_limits_serialize(internal) IS 'Serialize function of abc_limits(value) (parallel plans).';
COMMENT ON FUNCTION abc_limits_deserialize(bytea, internal) IS 'Deserialize function of abc_limits(value) (parallel plans).';
COMMENT ON FUNCTION abc_limits_final(internal) IS 'Final function of abc_limits(value).';
