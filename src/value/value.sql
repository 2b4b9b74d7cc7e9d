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

-- ---------------------------------------------------------------------------------------------
-- Buy-till-you-die models: an aggregate fits, a storable model predicts.

CREATE TYPE bgnbd_model;
CREATE FUNCTION bgnbd_model_in(cstring) RETURNS bgnbd_model
    AS 'MODULE_PATHNAME', 'bgnbd_model_in_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bgnbd_model_out(bgnbd_model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'bgnbd_model_out_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bgnbd_model_recv(internal) RETURNS bgnbd_model
    AS 'MODULE_PATHNAME', 'bgnbd_model_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bgnbd_model_send(bgnbd_model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'bgnbd_model_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE bgnbd_model (INPUT = bgnbd_model_in, OUTPUT = bgnbd_model_out,
    RECEIVE = bgnbd_model_recv, SEND = bgnbd_model_send, INTERNALLENGTH = VARIABLE, STORAGE = extended);
COMMENT ON TYPE bgnbd_model IS 'A fitted BG/NBD model (Fader, Hardie & Lee 2005): r, alpha, a, b, log-likelihood, customers, iterations, converged; text form JSON.';
COMMENT ON FUNCTION bgnbd_model_in(cstring) IS 'Text input of bgnbd_model (JSON), checked.';
COMMENT ON FUNCTION bgnbd_model_out(bgnbd_model) IS 'Text output of bgnbd_model (JSON).';
COMMENT ON FUNCTION bgnbd_model_recv(internal) IS 'Binary input of bgnbd_model, checked.';
COMMENT ON FUNCTION bgnbd_model_send(bgnbd_model) IS 'Binary output of bgnbd_model: its stored form, format version first.';

CREATE FUNCTION btyd_fit_trans(internal, double precision, double precision, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_fit_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION btyd_fit_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_fit_combine' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION btyd_fit_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'btyd_fit_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION btyd_fit_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_fit_deserialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bgnbd_fit_final(internal) RETURNS bgnbd_model
    AS 'MODULE_PATHNAME', 'bgnbd_fit_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE bgnbd_fit(x double precision, t_x double precision, "T" double precision) (
    SFUNC = btyd_fit_trans, STYPE = internal, SSPACE = 8192, FINALFUNC = bgnbd_fit_final,
    COMBINEFUNC = btyd_fit_combine, SERIALFUNC = btyd_fit_serialize,
    DESERIALFUNC = btyd_fit_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE bgnbd_fit(double precision, double precision, double precision) IS
'Fits the BG/NBD model to customers (x repeat purchase days, t_x age at the last, T age at the calibration end, one time unit) by maximum likelihood; identical customers are grouped.';
COMMENT ON FUNCTION btyd_fit_trans(internal, double precision, double precision, double precision) IS 'Transition function of bgnbd_fit and pareto_nbd_fit: the customers'' (x, t_x, T), grouped.';
COMMENT ON FUNCTION btyd_fit_combine(internal, internal) IS 'Combine function of bgnbd_fit and pareto_nbd_fit.';
COMMENT ON FUNCTION btyd_fit_serialize(internal) IS 'Serialize function of bgnbd_fit and pareto_nbd_fit.';
COMMENT ON FUNCTION btyd_fit_deserialize(bytea, internal) IS 'Deserialize function of bgnbd_fit and pareto_nbd_fit.';
COMMENT ON FUNCTION bgnbd_fit_final(internal) IS 'Final function of bgnbd_fit: the fit.';

-- A histogram of triples, (x, t_x, T, how many customers share them): on a distributed table it
-- is counted on the workers, and only the distinct triples travel to the coordinator.
CREATE FUNCTION btyd_fit_weighted_trans(internal, double precision, double precision, double precision, bigint) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_fit_weighted_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE bgnbd_fit(x double precision, t_x double precision, "T" double precision, weight bigint) (
    SFUNC = btyd_fit_weighted_trans, STYPE = internal, SSPACE = 8192, FINALFUNC = bgnbd_fit_final,
    COMBINEFUNC = btyd_fit_combine, SERIALFUNC = btyd_fit_serialize,
    DESERIALFUNC = btyd_fit_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE bgnbd_fit(double precision, double precision, double precision, bigint) IS
'bgnbd_fit(x, t_x, T, weight): the fit to a histogram of customers, each row standing for weight customers with that (x, t_x, T) (e.g. count(*) of a GROUP BY x, t_x, T); the same fit as over the customers themselves.';
COMMENT ON FUNCTION btyd_fit_weighted_trans(internal, double precision, double precision, double precision, bigint) IS 'Transition function of bgnbd_fit and pareto_nbd_fit with a weight: weight customers share the (x, t_x, T).';

CREATE FUNCTION expected_purchases(model bgnbd_model, t double precision, x double precision, t_x double precision, "T" double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bgnbd_expected_purchases_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION expected_purchases(bgnbd_model, double precision, double precision, double precision, double precision) IS
'Expected purchases in the next t of a customer with history (x, t_x, T) under a BG/NBD model (FHL 2005, eq. 10); t in the unit of the fit.';
CREATE FUNCTION expected_purchases(model bgnbd_model, t double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bgnbd_expected_purchases_new_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION expected_purchases(bgnbd_model, double precision) IS
'Expected purchases in the first t of a customer just acquired, a prospect (FHL 2005, eq. 9).';
CREATE FUNCTION p_alive(model bgnbd_model, x double precision, t_x double precision, "T" double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bgnbd_p_alive_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION p_alive(bgnbd_model, double precision, double precision, double precision) IS
'Probability that a customer with history (x, t_x, T) is still active, under a BG/NBD model.';

CREATE FUNCTION p_purchases(model bgnbd_model, n integer, t double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bgnbd_p_purchases_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION p_purchases(bgnbd_model, integer, double precision) IS
'Probability that a customer just acquired makes exactly n repeat purchases in the first t, under a BG/NBD model (FHL 2005, eq. 8); t in the unit of the fit.';

CREATE TYPE gamma_gamma_model;
CREATE FUNCTION gamma_gamma_model_in(cstring) RETURNS gamma_gamma_model
    AS 'MODULE_PATHNAME', 'gamma_gamma_model_in_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gamma_gamma_model_out(gamma_gamma_model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'gamma_gamma_model_out_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gamma_gamma_model_recv(internal) RETURNS gamma_gamma_model
    AS 'MODULE_PATHNAME', 'gamma_gamma_model_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gamma_gamma_model_send(gamma_gamma_model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gamma_gamma_model_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE gamma_gamma_model (INPUT = gamma_gamma_model_in, OUTPUT = gamma_gamma_model_out,
    RECEIVE = gamma_gamma_model_recv, SEND = gamma_gamma_model_send, INTERNALLENGTH = VARIABLE, STORAGE = extended);
COMMENT ON TYPE gamma_gamma_model IS 'A fitted Gamma-Gamma model of spend per transaction (Fader & Hardie 2013): p, q, gamma, log-likelihood, customers, iterations, converged; text form JSON.';
COMMENT ON FUNCTION gamma_gamma_model_in(cstring) IS 'Text input of gamma_gamma_model (JSON), checked.';
COMMENT ON FUNCTION gamma_gamma_model_out(gamma_gamma_model) IS 'Text output of gamma_gamma_model (JSON).';
COMMENT ON FUNCTION gamma_gamma_model_recv(internal) IS 'Binary input of gamma_gamma_model, checked.';
COMMENT ON FUNCTION gamma_gamma_model_send(gamma_gamma_model) IS 'Binary output of gamma_gamma_model: its stored form, format version first.';

CREATE FUNCTION gamma_gamma_fit_trans(internal, double precision, double precision) RETURNS internal
    AS 'MODULE_PATHNAME', 'gamma_gamma_fit_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION gamma_gamma_fit_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'gamma_gamma_fit_combine' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION gamma_gamma_fit_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'gamma_gamma_fit_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gamma_gamma_fit_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'gamma_gamma_fit_deserialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gamma_gamma_fit_final(internal) RETURNS gamma_gamma_model
    AS 'MODULE_PATHNAME', 'gamma_gamma_fit_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE gamma_gamma_fit(x double precision, mean_spend double precision) (
    SFUNC = gamma_gamma_fit_trans, STYPE = internal, SSPACE = 16384, FINALFUNC = gamma_gamma_fit_final,
    COMBINEFUNC = gamma_gamma_fit_combine, SERIALFUNC = gamma_gamma_fit_serialize,
    DESERIALFUNC = gamma_gamma_fit_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE gamma_gamma_fit(double precision, double precision) IS
'Fits the Gamma-Gamma model of spend to the repeat customers (x repeat purchase days, mean_spend their mean spend); customers with x = 0 are left out.';
COMMENT ON FUNCTION gamma_gamma_fit_trans(internal, double precision, double precision) IS 'Transition function of gamma_gamma_fit.';
COMMENT ON FUNCTION gamma_gamma_fit_combine(internal, internal) IS 'Combine function of gamma_gamma_fit.';
COMMENT ON FUNCTION gamma_gamma_fit_serialize(internal) IS 'Serialize function of gamma_gamma_fit.';
COMMENT ON FUNCTION gamma_gamma_fit_deserialize(bytea, internal) IS 'Deserialize function of gamma_gamma_fit.';
COMMENT ON FUNCTION gamma_gamma_fit_final(internal) IS 'Final function of gamma_gamma_fit: the fit.';

CREATE FUNCTION expected_spend(model gamma_gamma_model, x double precision, mean_spend double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'gamma_gamma_expected_spend_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION expected_spend(gamma_gamma_model, double precision, double precision) IS
'Expected spend per transaction of a customer with x repeat purchases of mean mean_spend (Fader & Hardie 2013, eq. 5); the population mean when x = 0.';
CREATE FUNCTION expected_spend(model gamma_gamma_model)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'gamma_gamma_expected_spend_new_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION expected_spend(gamma_gamma_model) IS
'Expected spend per transaction of a customer never seen, a prospect: p·gamma/(q − 1); an error when q <= 1.';

CREATE FUNCTION clv(purchases bgnbd_model, spend gamma_gamma_model, x double precision, t_x double precision,
                    "T" double precision, mean_spend double precision, unit interval,
                    months integer DEFAULT 12, monthly_discount double precision DEFAULT 0.01)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'clv_customer_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION clv(bgnbd_model, gamma_gamma_model, double precision, double precision, double precision, double precision, interval, integer, double precision) IS
'Customer lifetime value: expected purchases month by month (BG/NBD) times expected spend per purchase (Gamma-Gamma), months of 30 days discounted at a monthly rate (the lifetimes convention); unit is the time unit of x, t_x and T.';
CREATE FUNCTION clv(purchases bgnbd_model, spend gamma_gamma_model, unit interval,
                    months integer DEFAULT 12, monthly_discount double precision DEFAULT 0.01)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'clv_prospect_wrapper' LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION clv(bgnbd_model, gamma_gamma_model, interval, integer, double precision) IS
'Lifetime value of a customer just acquired (a prospect): what acquiring one is worth, to compare with its cost.';

-- ---------------------------------------------------------------------------------------------
-- btyd_history: a customer's (x, t_x, T, mean_spend) from their orders, for the models.

CREATE TYPE btyd_history AS (x double precision, t_x double precision, "T" double precision, mean_spend double precision);
COMMENT ON TYPE btyd_history IS 'A customer''s purchase history as the BG/NBD and Gamma-Gamma models read it: repeat purchase days x, ages t_x at the last and T at the calibration end (in the unit asked for), mean spend of the repeat purchase days.';

CREATE FUNCTION btyd_history_trans(internal, date, double precision, date, interval) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_history_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION btyd_history_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_history_combine' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION btyd_history_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'btyd_history_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION btyd_history_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_history_deserialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION btyd_history_final(internal) RETURNS btyd_history
    AS 'MODULE_PATHNAME', 'btyd_history_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE btyd_history(order_date date, amount double precision, calibration_end date, unit interval) (
    SFUNC = btyd_history_trans, STYPE = internal, SSPACE = 256, FINALFUNC = btyd_history_final,
    COMBINEFUNC = btyd_history_combine, SERIALFUNC = btyd_history_serialize,
    DESERIALFUNC = btyd_history_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE btyd_history(date, double precision, date, interval) IS
'A customer''s (x, t_x, T, mean_spend) from their orders up to calibration_end, same-day orders merged into one purchase day, times in unit (e.g. ''7 days''); use with GROUP BY customer_id.';
COMMENT ON FUNCTION btyd_history_trans(internal, date, double precision, date, interval) IS 'Transition function of btyd_history.';
COMMENT ON FUNCTION btyd_history_combine(internal, internal) IS 'Combine function of btyd_history.';
COMMENT ON FUNCTION btyd_history_serialize(internal) IS 'Serialize function of btyd_history.';
COMMENT ON FUNCTION btyd_history_deserialize(bytea, internal) IS 'Deserialize function of btyd_history.';
COMMENT ON FUNCTION btyd_history_final(internal) IS 'Final function of btyd_history.';

-- ---------------------------------------------------------------------------------------------
-- The Pareto/NBD model: the same customers' state as bgnbd_fit, another model.

CREATE TYPE pareto_nbd_model;
CREATE FUNCTION pareto_nbd_model_in(cstring) RETURNS pareto_nbd_model
    AS 'MODULE_PATHNAME', 'pareto_nbd_model_in_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pareto_nbd_model_out(pareto_nbd_model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'pareto_nbd_model_out_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pareto_nbd_model_recv(internal) RETURNS pareto_nbd_model
    AS 'MODULE_PATHNAME', 'pareto_nbd_model_recv' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pareto_nbd_model_send(pareto_nbd_model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pareto_nbd_model_send' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE pareto_nbd_model (INPUT = pareto_nbd_model_in, OUTPUT = pareto_nbd_model_out,
    RECEIVE = pareto_nbd_model_recv, SEND = pareto_nbd_model_send, INTERNALLENGTH = VARIABLE, STORAGE = extended);
COMMENT ON TYPE pareto_nbd_model IS 'A fitted Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): r, alpha, s, beta, log-likelihood, customers, iterations, converged; text form JSON.';
COMMENT ON FUNCTION pareto_nbd_model_in(cstring) IS 'Text input of pareto_nbd_model (JSON), checked.';
COMMENT ON FUNCTION pareto_nbd_model_out(pareto_nbd_model) IS 'Text output of pareto_nbd_model (JSON).';
COMMENT ON FUNCTION pareto_nbd_model_recv(internal) IS 'Binary input of pareto_nbd_model, checked.';
COMMENT ON FUNCTION pareto_nbd_model_send(pareto_nbd_model) IS 'Binary output of pareto_nbd_model: its stored form, format version first.';

CREATE FUNCTION pareto_nbd_fit_final(internal) RETURNS pareto_nbd_model
    AS 'MODULE_PATHNAME', 'pareto_nbd_fit_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE pareto_nbd_fit(x double precision, t_x double precision, "T" double precision) (
    SFUNC = btyd_fit_trans, STYPE = internal, SSPACE = 8192, FINALFUNC = pareto_nbd_fit_final,
    COMBINEFUNC = btyd_fit_combine, SERIALFUNC = btyd_fit_serialize,
    DESERIALFUNC = btyd_fit_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE pareto_nbd_fit(double precision, double precision, double precision) IS
'Fits the Pareto/NBD model to customers (x repeat purchase days, t_x age at the last, T age at the calibration end, one time unit) by maximum likelihood; identical customers are grouped.';
COMMENT ON FUNCTION pareto_nbd_fit_final(internal) IS 'Final function of pareto_nbd_fit: the fit.';
CREATE AGGREGATE pareto_nbd_fit(x double precision, t_x double precision, "T" double precision, weight bigint) (
    SFUNC = btyd_fit_weighted_trans, STYPE = internal, SSPACE = 8192, FINALFUNC = pareto_nbd_fit_final,
    COMBINEFUNC = btyd_fit_combine, SERIALFUNC = btyd_fit_serialize,
    DESERIALFUNC = btyd_fit_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE pareto_nbd_fit(double precision, double precision, double precision, bigint) IS
'pareto_nbd_fit(x, t_x, T, weight): the fit to a histogram of customers, each row standing for weight customers with that (x, t_x, T); the same fit as over the customers themselves.';

CREATE FUNCTION expected_purchases(model pareto_nbd_model, t double precision, x double precision, t_x double precision, "T" double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'pareto_nbd_expected_purchases_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION expected_purchases(pareto_nbd_model, double precision, double precision, double precision, double precision) IS
'Expected purchases in the next t of a customer with history (x, t_x, T) under a Pareto/NBD model; t in the unit of the fit.';
CREATE FUNCTION expected_purchases(model pareto_nbd_model, t double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'pareto_nbd_expected_purchases_new_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION expected_purchases(pareto_nbd_model, double precision) IS
'Expected purchases in the first t of a customer just acquired, under a Pareto/NBD model.';
CREATE FUNCTION p_alive(model pareto_nbd_model, x double precision, t_x double precision, "T" double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'pareto_nbd_p_alive_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION p_alive(pareto_nbd_model, double precision, double precision, double precision) IS
'Probability that a customer with history (x, t_x, T) is still active, under a Pareto/NBD model.';

-- ---------------------------------------------------------------------------------------------
-- btyd_histories: every customer's history in one pass over the orders.

CREATE TYPE btyd_customer AS (customer_id bigint, x double precision, t_x double precision, "T" double precision, mean_spend double precision);
COMMENT ON TYPE btyd_customer IS 'One customer''s purchase history as btyd_histories returns it: the customer id and the fields of btyd_history.';

CREATE FUNCTION btyd_histories_trans(internal, bigint, date, double precision, date, interval) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_histories_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION btyd_histories_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_histories_combine' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION btyd_histories_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'btyd_histories_serialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION btyd_histories_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'btyd_histories_deserialize' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION btyd_histories_final(internal) RETURNS btyd_customer[]
    AS 'MODULE_PATHNAME', 'btyd_histories_final' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE btyd_histories(customer_id bigint, order_date date, amount double precision, calibration_end date, unit interval) (
    SFUNC = btyd_histories_trans, STYPE = internal, FINALFUNC = btyd_histories_final,
    COMBINEFUNC = btyd_histories_combine, SERIALFUNC = btyd_histories_serialize,
    DESERIALFUNC = btyd_histories_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE btyd_histories(bigint, date, double precision, date, interval) IS
'Every customer''s (x, t_x, T, mean_spend) from one pass over the orders, as an array by customer id (unnest it); the numbers of btyd_history under GROUP BY customer_id. Customers without a purchase day up to calibration_end are left out.';
COMMENT ON FUNCTION btyd_histories_trans(internal, bigint, date, double precision, date, interval) IS 'Transition function of btyd_histories.';
COMMENT ON FUNCTION btyd_histories_combine(internal, internal) IS 'Combine function of btyd_histories.';
COMMENT ON FUNCTION btyd_histories_serialize(internal) IS 'Serialize function of btyd_histories.';
COMMENT ON FUNCTION btyd_histories_deserialize(bytea, internal) IS 'Deserialize function of btyd_histories.';
COMMENT ON FUNCTION btyd_histories_final(internal) IS 'Final function of btyd_histories.';
