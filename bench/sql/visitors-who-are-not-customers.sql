-- Visitors who are not customers: at least one visit, no order at all.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
WHERE EXISTS (SELECT 1 FROM visits v WHERE v.customer_id = c.id)
AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
