-- Loyal, over the WooCommerce HPOS tables: at least :orders orders (any status), by email.
SELECT po.email, MIN(po.guest_order) AS guest_order FROM (
  SELECT LOWER(TRIM(COALESCE(u.user_email, o.billing_email))) AS email, o.id, o.status,
         o.date_created_gmt AS placed_at, CASE WHEN u.ID IS NULL THEN o.id END AS guest_order
  FROM wp_wc_orders o
  LEFT JOIN wp_users u ON u.ID = o.customer_id AND o.customer_id > 0
  WHERE o.type = 'shop_order' AND o.status NOT IN ('trash', 'auto-draft', 'wc-checkout-draft')
) po
GROUP BY po.email HAVING count(*) >= :orders
