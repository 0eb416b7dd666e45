-- Abandoned cart: a cart add in the last 7 days with no (not cancelled) order at or after it.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
WHERE EXISTS (
  SELECT 1 FROM cart_events e
  WHERE e.customer_id = c.id AND e.at >= :since AND e.at <= :now
    AND NOT EXISTS (
      SELECT 1 FROM orders o
      WHERE o.customer_id = c.id AND o.placed_at >= e.at AND o.status <> :cancelled))
