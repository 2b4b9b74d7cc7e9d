-- The segmentation report on CDNOW (needs cdnow_orders, see load_cdnow.sql).
\pset footer off
-- A percentage for the tables: one decimal, two below 1 % (a segment of 9 customers is not 0.0 %).
CREATE FUNCTION pg_temp.percent(p numeric) RETURNS text LANGUAGE sql IMMUTABLE
    RETURN to_char(p, CASE WHEN p < 1 THEN 'FM0.00 "%"' ELSE 'FM990.0 "%"' END);

\echo
\echo 'How concentrated is CDNOW revenue? (revenue per customer, 1997-01 .. 1998-06)'
WITH revenue AS (
    SELECT customer_id, sum(amount) AS revenue FROM cdnow_orders GROUP BY customer_id
), summary AS (
    SELECT concentration_agg(revenue) AS c FROM revenue
)
SELECT measure, value
FROM summary, LATERAL (VALUES
    ('customers',                                 to_char((concentration_report(c)->>'n')::bigint, 'FM999,999,999')),
    ('revenue',                                   to_char((concentration_report(c)->>'total')::numeric, 'FM$999,999,999.00')),
    ('Gini coefficient',                          to_char(gini(c), 'FM0.0000')),
    ('revenue share of the top 1 % of customers',  to_char(100 * top_share(c, 0.01), 'FM990.0 "%"')),
    ('revenue share of the top 5 %',              to_char(100 * top_share(c, 0.05), 'FM990.0 "%"')),
    ('revenue share of the top 10 %',             to_char(100 * top_share(c, 0.10), 'FM990.0 "%"')),
    ('revenue share of the top 20 %',             to_char(100 * top_share(c, 0.20), 'FM990.0 "%"')),
    ('share of customers making 80 % of revenue', to_char(100 * pareto_ratio(c, 0.8), 'FM990.0 "%"'))
) AS report(measure, value);

\echo
\echo 'ABC classes of CDNOW customers by revenue (A: the top until 80 % of revenue, B: until 95 %, C: the rest)'
WITH revenue AS (
    SELECT customer_id, sum(amount) AS revenue FROM cdnow_orders GROUP BY customer_id
), classed AS (
    SELECT revenue, abc_class(revenue) OVER () AS class FROM revenue
)
SELECT class,
       to_char(count(*), 'FM999,999')                                             AS customers,
       to_char(100.0 * count(*) / sum(count(*)) OVER (), 'FM990.0 "%"')          AS share_of_customers,
       to_char(100 * sum(revenue) / sum(sum(revenue)) OVER (), 'FM990.0 "%"')    AS share_of_revenue
FROM classed GROUP BY class ORDER BY class;

\echo
\echo 'RFM segments of CDNOW customers as of 1998-06-30, the last purchase (scores 1-5 of last purchase, purchases, revenue; ARPU = revenue per customer; shares below 1 % to two decimals)'
WITH customers AS (
    SELECT customer_id, sum(amount) AS revenue,
           rfm_segment(rfm_score(max(order_date)) OVER w, rfm_score(count(*)) OVER w,
                       rfm_score(sum(amount)) OVER w) AS segment
    FROM cdnow_orders GROUP BY customer_id WINDOW w AS ()
)
SELECT segment,
       to_char(count(*), 'FM999,999')                                           AS customers,
       pg_temp.percent(100.0 * count(*) / sum(count(*)) OVER ())              AS share_of_customers,
       to_char(sum(revenue), 'FM$999,999,990')                                  AS revenue,
       pg_temp.percent(100 * sum(revenue) / sum(sum(revenue)) OVER ())         AS share_of_revenue,
       to_char(avg(revenue), 'FM$9,990.00')                                     AS arpu,
       to_char(avg(revenue) / (sum(sum(revenue)) OVER () / sum(count(*)) OVER ()), 'FM990.00') AS arpu_vs_all
FROM customers GROUP BY segment ORDER BY sum(revenue) DESC;

\echo
\echo 'What to do with each RFM segment (rfm_segment_rules(); Others: scores no rule matches)'
SELECT rule->>'name' AS segment, rule->>'action' AS action
FROM jsonb_array_elements(rfm_segment_rules()) AS rule;

\echo
\echo 'What CDNOW customers are worth: value of the next 12 months per RFM segment (BG/NBD and Gamma-Gamma fitted on 1997-01 .. 1997-09)'
WITH history AS (
    SELECT customer_id, (btyd_history(order_date, amount, '1997-09-30', '7 days')).*
    FROM cdnow_orders GROUP BY customer_id
), models AS (
    SELECT bgnbd_fit(x, t_x, "T") AS purchases,
           gamma_gamma_fit(x, mean_spend) FILTER (WHERE mean_spend > 0) AS spend
    FROM history
), segments AS (
    SELECT customer_id, segment
    FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders
                     WHERE order_date <= '1997-09-30'), as_of => '1997-09-30')
), valued AS (
    SELECT s.segment, clv(m.purchases, m.spend, h.x, h.t_x, h."T", nullif(h.mean_spend, 0), unit => '7 days') AS clv
    FROM segments s JOIN history h USING (customer_id), models m
)
SELECT segment,
       to_char(count(*), 'FM999,999')                                   AS customers,
       to_char(sum(clv), 'FM$999,999,990')                              AS value_12_months,
       to_char(avg(clv), 'FM$9,990.00')                                 AS per_customer,
       to_char(100 * sum(clv) / sum(sum(clv)) OVER (), 'FM990.0 "%"')  AS share_of_value
FROM valued GROUP BY segment ORDER BY sum(clv) DESC;

\echo
\echo 'What a new customer is worth (the most its acquisition may cost)'
WITH history AS (
    SELECT (btyd_history(order_date, amount, '1997-09-30', '7 days')).*
    FROM cdnow_orders GROUP BY customer_id
), models AS (
    SELECT bgnbd_fit(x, t_x, "T") AS purchases,
           gamma_gamma_fit(x, mean_spend) FILTER (WHERE mean_spend > 0) AS spend
    FROM history
)
SELECT to_char(expected_purchases(purchases, 360 / 7.0), 'FM990.00') AS purchases_12_months, -- 12 months of 30 days, in weeks
       to_char(expected_spend(spend), 'FM$990.00')                                  AS spend_per_purchase,
       to_char(clv(purchases, spend, unit => '7 days'), 'FM$990.00')                AS value_12_months
FROM models;

\echo
\echo 'Churn per RFM segment: customers of each segment at 1997-12-31 who bought nothing in 1998-01 .. 1998-06 (95 % interval: Wilson)'
-- The two snapshots the churn, migration and fluctuation sections compare, each scored once.
CREATE TEMP TABLE segments_1997 AS
SELECT customer_id, segment, monetary
FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders
                 WHERE order_date <= '1997-12-31'), as_of => '1997-12-31');
CREATE TEMP TABLE segments_1998 AS
SELECT customer_id, segment
FROM rfm_scores((SELECT rfm_agg(customer_id, order_date, amount) FROM cdnow_orders
                 WHERE order_date <= '1998-06-30'), as_of => '1998-06-30');
WITH segments AS (
    SELECT s.segment, s.monetary,
           NOT EXISTS (SELECT FROM cdnow_orders o WHERE o.customer_id = s.customer_id
                       AND o.order_date > '1997-12-31') AS churned
    FROM segments_1997 s
), churn AS (
    SELECT segment, churn_rate(churned) AS customers, value_churn_rate(churned, monetary) AS revenue
    FROM segments GROUP BY segment
)
SELECT segment,
       to_char((customers).customers, 'FM999,999')                                          AS customers,
       to_char(100 * (customers).rate, 'FM990.0 "%"')                                       AS churned,
       to_char(100 * (customers).low, 'FM990.0') || ' .. ' || to_char(100 * (customers).high, 'FM990.0 "%"') AS interval_95,
       to_char(100 * (revenue).rate, 'FM990.0 "%"')                                         AS revenue_churned
FROM churn ORDER BY (customers).rate;

\echo
\echo 'Migration between RFM segments, 1997-12-31 -> 1998-06-30: the largest moves (customers who changed segment)'
WITH moves AS (
    SELECT b.segment AS from_segment, a.segment AS to_segment, count(*) AS customers
    FROM segments_1997 b FULL JOIN segments_1998 a USING (customer_id) GROUP BY 1, 2
)
SELECT from_segment, to_segment, to_char(customers, 'FM999,999') AS customers,
       to_char(100.0 * customers / sum(customers) OVER (PARTITION BY from_segment), 'FM990.0 "%"') AS share_of_from_segment
FROM moves
ORDER BY (from_segment IS DISTINCT FROM to_segment) DESC, moves.customers DESC LIMIT 8;

\echo
\echo 'Fluctuation between RFM segments, 1997-12-31 -> 1998-06-30 (share of customers whose segment changed)'
SELECT to_char(100 * fluctuation_rate(b.segment, a.segment), 'FM990.0 "%"') AS fluctuation_rate
FROM segments_1997 b FULL JOIN segments_1998 a USING (customer_id);
