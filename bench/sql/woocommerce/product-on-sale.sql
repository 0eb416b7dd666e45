-- Product on sale: has ordered, never bought the SKU :sku.
SELECT po.email, MIN(po.guest_order) AS guest_order FROM (
  SELECT LOWER(TRIM(COALESCE(u.user_email, o.billing_email))) AS email, o.id, o.status,
         o.date_created_gmt AS placed_at, CASE WHEN u.ID IS NULL THEN o.id END AS guest_order
  FROM wp_wc_orders o
  LEFT JOIN wp_users u ON u.ID = o.customer_id AND o.customer_id > 0
  WHERE o.type = 'shop_order' AND o.status NOT IN ('trash', 'auto-draft', 'wc-checkout-draft')
) po
GROUP BY po.email
HAVING sum(CASE WHEN po.status NOT IN ('wc-cancelled', 'wc-failed', 'wc-pending') AND EXISTS (
      SELECT 1 FROM wp_woocommerce_order_items i
      JOIN wp_woocommerce_order_itemmeta m
        ON m.order_item_id = i.order_item_id AND m.meta_key = '_product_id'
      WHERE i.order_id = po.id AND i.order_item_type = 'line_item'
        AND CAST(m.meta_value AS UNSIGNED) IN (SELECT l.product_id FROM wp_wc_product_meta_lookup l WHERE l.sku = :sku)) THEN 1 ELSE 0 END) = 0
