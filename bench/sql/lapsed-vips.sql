-- Lapsed VIPs: VIP customers whose last visit is 61+ days ago.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
JOIN (
  SELECT o.customer_id FROM orders o
  GROUP BY o.customer_id
  HAVING count(*) > :orders
    AND sum(CASE WHEN o.status <> :cancelled THEN o.total_cents - o.refunded_cents ELSE 0 END)
      > :spent
) vip ON vip.customer_id = c.id
JOIN (
  SELECT customer_id FROM visits
  GROUP BY customer_id
  HAVING max(at) <= :since
) v ON v.customer_id = c.id
