-- Engaged mobile browsers: mostly mobile, a visit in 30 days, an open in 3 months.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
JOIN (
  SELECT customer_id FROM visits
  GROUP BY customer_id
  HAVING sum(CASE WHEN device = :mobile THEN 1 ELSE 0 END)
      > sum(CASE WHEN device = :desktop THEN 1 ELSE 0 END)
    AND sum(CASE WHEN device = :mobile THEN 1 ELSE 0 END)
      > sum(CASE WHEN device = :tablet THEN 1 ELSE 0 END)
    AND count(CASE WHEN at >= :visit_since AND at <= :now THEN 1 END) > 0
) v ON v.customer_id = c.id
WHERE EXISTS (
  SELECT 1 FROM email_events e
  WHERE e.customer_id = c.id AND e.kind = :open AND e.at >= :open_since AND e.at <= :now)
