-- VIP customers: more than :orders orders (any status), net spend (refunds subtracted,
-- cancelled/failed/pending orders left out) over :spent cents.
SELECT po.email, MIN(po.guest_order) AS guest_order FROM (
  SELECT LOWER(TRIM(COALESCE(u.user_email, o.billing_email))) AS email, o.id, o.status,
         o.date_created_gmt AS placed_at, CASE WHEN u.ID IS NULL THEN o.id END AS guest_order,
         o.total_amount + COALESCE(r.refunds, 0) AS net
  FROM wp_wc_orders o
  LEFT JOIN wp_users u ON u.ID = o.customer_id AND o.customer_id > 0
  LEFT JOIN (SELECT parent_order_id, SUM(total_amount) AS refunds FROM wp_wc_orders
             WHERE type = 'shop_order_refund' GROUP BY parent_order_id) r
         ON r.parent_order_id = o.id
  WHERE o.type = 'shop_order' AND o.status NOT IN ('trash', 'auto-draft', 'wc-checkout-draft')
) po
GROUP BY po.email
HAVING count(*) > :orders
  AND sum(CASE WHEN po.status NOT IN ('wc-cancelled', 'wc-failed', 'wc-pending') THEN po.net ELSE 0 END) * 100 > :spent
