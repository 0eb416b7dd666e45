-- Loyal: five orders or more (any status).
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
JOIN (
  SELECT customer_id FROM orders
  GROUP BY customer_id
  HAVING count(*) >= :orders
) o ON o.customer_id = c.id
