-- Active frequent: more than 10 visits, the last one within 7 days.
SELECT c.id AS customer_id, c.email, c.first_name, c.last_name, c.accepts_marketing
FROM customers c
JOIN (
  SELECT customer_id FROM visits
  GROUP BY customer_id
  HAVING count(*) > :visits AND max(at) > :since
) v ON v.customer_id = c.id
