-- Big spender gone quiet: last order (any status) 91+ days ago, net spend over 300.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
JOIN (
  SELECT o.customer_id FROM orders o
  GROUP BY o.customer_id
  HAVING max(o.placed_at) <= :quiet_since
    AND sum(CASE WHEN o.status <> :cancelled THEN o.total_cents - o.refunded_cents ELSE 0 END)
      > :spent
) b ON b.customer_id = c.id
