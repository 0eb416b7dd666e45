-- Email-engaged in Germany: DE, consent, a click or conversion in the last 6 months.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
WHERE c.country = :country AND c.accepts_marketing = :consent
AND EXISTS (
  SELECT 1 FROM email_events e
  WHERE e.customer_id = c.id AND e.kind IN (:click, :conversion)
    AND e.at >= :since AND e.at <= :now)
