-- Cross sell: bought from Coffee, last order 14..60 days ago, never bought from Equipment.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
JOIN (
  SELECT customer_id FROM orders
  GROUP BY customer_id
  HAVING max(placed_at) <= :recent AND max(placed_at) > :oldest
) r ON r.customer_id = c.id
WHERE EXISTS (
  SELECT 1 FROM orders o
  JOIN order_lines l ON l.order_id = o.id
  JOIN product_collections pc ON pc.product_id = l.product_id
  JOIN collections k ON k.id = pc.collection_id
  WHERE o.customer_id = c.id AND o.status <> :cancelled AND k.name = :has)
AND NOT EXISTS (
  SELECT 1 FROM orders o
  JOIN order_lines l ON l.order_id = o.id
  JOIN product_collections pc ON pc.product_id = l.product_id
  JOIN collections k ON k.id = pc.collection_id
  WHERE o.customer_id = c.id AND o.status <> :cancelled AND k.name = :has_not)
