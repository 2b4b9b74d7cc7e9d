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

-- The probability of n purchases of a new customer under BG/NBD.
CREATE FUNCTION p_purchases(model bgnbd_model, n integer, t double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bgnbd_p_purchases_wrapper' LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION p_purchases(bgnbd_model, integer, double precision) IS
'Probability that a customer just acquired makes exactly n repeat purchases in the first t, under a BG/NBD model (FHL 2005, eq. 8); t in the unit of the fit.';

-- ---------------------------------------------------------------------------------------------
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

-- ---------------------------------------------------------------------------------------------
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

-- Weighted forms (a histogram's rows): the compact states of distributed tables (Citus).

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

-- A histogram's rows, (value, how many customers have it): on a distributed table the histogram
-- is counted on the workers, and only its (value, count) pairs travel to the coordinator.
CREATE FUNCTION rfm_breaks_weighted_trans(internal, double precision, integer, boolean, bigint) RETURNS internal
    AS 'MODULE_PATHNAME', 'rfm_breaks_weighted_trans' LANGUAGE c IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE rfm_breaks(value double precision, bins integer, descending boolean, weight bigint) (
    SFUNC = rfm_breaks_weighted_trans, STYPE = internal, SSPACE = 32768, FINALFUNC = rfm_breaks_final,
    COMBINEFUNC = rfm_breaks_combine, SERIALFUNC = rfm_breaks_serialize, DESERIALFUNC = rfm_breaks_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE rfm_breaks(double precision, integer, boolean, bigint) IS 'rfm_breaks(value, bins, descending, weight): the edges from a histogram, each row standing for weight customers with that value (e.g. count(*) of a GROUP BY value); the same edges as over the customers themselves.';
COMMENT ON FUNCTION rfm_breaks_weighted_trans(internal, double precision, integer, boolean, bigint) IS 'Transition function of rfm_breaks(value, bins, descending, weight).';

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

CREATE AGGREGATE pareto_nbd_fit(x double precision, t_x double precision, "T" double precision, weight bigint) (
    SFUNC = btyd_fit_weighted_trans, STYPE = internal, SSPACE = 8192, FINALFUNC = pareto_nbd_fit_final,
    COMBINEFUNC = btyd_fit_combine, SERIALFUNC = btyd_fit_serialize,
    DESERIALFUNC = btyd_fit_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE pareto_nbd_fit(double precision, double precision, double precision, bigint) IS
'pareto_nbd_fit(x, t_x, T, weight): the fit to a histogram of customers, each row standing for weight customers with that (x, t_x, T); the same fit as over the customers themselves.';

-- numeric overloads: numeric amounts read directly, without the cast's detour through text.

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
