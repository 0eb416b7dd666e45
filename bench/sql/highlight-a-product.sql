-- Highlight a product: bought from Brewing, never bought the Pour-over Kettle.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
WHERE EXISTS (
  SELECT 1 FROM orders o
  JOIN order_lines l ON l.order_id = o.id
  JOIN product_collections pc ON pc.product_id = l.product_id
  JOIN collections k ON k.id = pc.collection_id
  WHERE o.customer_id = c.id AND o.status <> :cancelled AND k.name = :collection)
AND NOT EXISTS (
  SELECT 1 FROM orders o
  JOIN order_lines l ON l.order_id = o.id
  JOIN products p ON p.id = l.product_id
  WHERE o.customer_id = c.id AND o.status <> :cancelled AND p.name = :product)
