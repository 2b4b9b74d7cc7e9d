-- Customer value: simple CLV from a margin, a retention rate and a discount rate.

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
