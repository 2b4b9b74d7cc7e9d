-- Loads the CDNOW transactions, given on psql's standard input, into cdnow_orders, one row a
-- purchase. The file is whitespace separated with CRLF line ends: it is read as lines and split.
SET client_min_messages = warning;
DROP TABLE IF EXISTS cdnow_orders;
CREATE TEMP TABLE cdnow_raw (line text);
\copy cdnow_raw (line) FROM pstdin

CREATE TABLE cdnow_orders AS
SELECT f[1]::bigint                   AS customer_id,
       to_date(f[2], 'YYYYMMDD')      AS order_date,
       f[3]::integer                  AS cds,
       f[4]::numeric(12, 2)           AS amount
FROM (SELECT regexp_split_to_array(btrim(line, E' \t\r'), '\s+') AS f FROM cdnow_raw) AS split
WHERE f[1] <> 'customer_id';

COMMENT ON TABLE cdnow_orders IS 'CDNOW purchases 1997-01 .. 1998-06 (Fader, Hardie & Lee 2005), one row a purchase';
ANALYZE cdnow_orders;
