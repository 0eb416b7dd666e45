-- Time to re-order: bought Espresso Beans, last order (any status) 31+ days ago.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
JOIN (
  SELECT customer_id FROM orders
  GROUP BY customer_id
  HAVING max(placed_at) <= :since
) q ON q.customer_id = c.id
WHERE EXISTS (
  SELECT 1 FROM orders o
  JOIN order_lines l ON l.order_id = o.id
  JOIN products p ON p.id = l.product_id
  WHERE o.customer_id = c.id AND o.status <> :cancelled AND p.name = :product)
