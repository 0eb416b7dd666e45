-- What every hand-written WooCommerce query returns, as the compiled query does: each member's
-- email, names and consent. The members come from one of the other files (put in below):
-- their folded email and the id of their first guest order (NULL for an account's orders).
-- Names are the account's billing meta, else the guest order's billing address; consent is
-- the account's newsletter_optin meta (the bench sets the preset's consent_meta_key to it).
-- The account is found by e-mail through the user_email key WordPress creates on wp_users.
SELECT m.email,
       COALESCE(fn.meta_value, a.first_name) AS first_name,
       COALESCE(ln.meta_value, a.last_name) AS last_name,
       COALESCE(LOWER(cm.meta_value) IN ('yes', '1', 'true', 'on', 'subscribed'), 0)
         AS accepts_marketing
FROM ({members}) m
LEFT JOIN wp_users u ON u.user_email = m.email
LEFT JOIN wp_usermeta fn ON fn.user_id = u.ID AND fn.meta_key = 'billing_first_name'
LEFT JOIN wp_usermeta ln ON ln.user_id = u.ID AND ln.meta_key = 'billing_last_name'
LEFT JOIN wp_usermeta cm ON cm.user_id = u.ID AND cm.meta_key = 'newsletter_optin'
LEFT JOIN wp_wc_order_addresses a ON a.order_id = m.guest_order AND a.address_type = 'billing'
