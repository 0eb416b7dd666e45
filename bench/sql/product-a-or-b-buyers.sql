-- Product A or B buyers: bought the French Press or the AeroPress in the last year.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
WHERE EXISTS (
  SELECT 1 FROM orders o
  JOIN order_lines l ON l.order_id = o.id
  JOIN products p ON p.id = l.product_id
  WHERE o.customer_id = c.id AND o.status <> :cancelled AND p.name IN (:a, :b)
    AND o.placed_at >= :since AND o.placed_at <= :now)
