"""What each segment field reads: logical tables, and columns that a mapping may leave out."""

from __future__ import annotations

# Columns every mapping of a logical table gives (the rest may be left unmapped: NULL).
REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("id", "email", "created_at"),
    "customer_tags": ("customer_id", "tag"),
    "products": ("id", "name"),
    "collections": ("id", "name"),
    "product_collections": ("product_id", "collection_id"),
    "orders": ("id", "customer_id", "placed_at", "status"),
    "order_lines": ("order_id", "product_id"),
    "reviews": ("customer_id", "product_id", "created_at"),
    "visits": ("customer_id", "at"),
    "cart_events": ("customer_id", "product_id", "at"),
    "email_events": ("customer_id", "kind", "at"),
}

_SPEND = ("orders.total_cents", "orders.refunded_cents")
_BOUGHT = ("orders", "order_lines", "products")

# field -> the tables ("orders") and columns ("orders.coupon_code") it reads, beyond customers
NEEDS: dict[str, tuple[str, ...]] = {
    "consent": ("customers.accepts_marketing",),
    "email": (),
    "status": ("customers.status",),
    "quality": ("customers.quality",),
    "zip": ("customers.zip",),
    "country": ("customers.country",),
    "loyalty_card": ("customers.loyalty_card",),
    "tag": ("customer_tags",),
    "created": (),
    "orders": ("orders",),
    "cancelled_orders": ("orders",),
    "refunded_orders": ("orders",),
    "total_spent": _SPEND,
    "days_since_last_order": ("orders",),
    "average_order_value": _SPEND,
    "last_order_value": _SPEND,
    "first_order_date": ("orders",),
    "distinct_products_bought": ("orders", "order_lines"),
    "coupon": ("orders.coupon_code",),
    "coupon_orders": ("orders.coupon_code",),
    "purchased_product": _BOUGHT,
    "purchased_vendor": (*_BOUGHT, "products.vendor"),
    "purchased_collection": (*_BOUGHT, "collections", "product_collections"),
    "reviewed_product": ("reviews", "products"),
    "visits": ("visits",),
    "days_since_last_visit": ("visits",),
    "preferred_device": ("visits.device",),
    "visited_device": ("visits.device",),
    "cart_adds": ("cart_events",),
    "abandoned_carts": ("cart_events", "orders"),
    "email_opens": ("email_events",),
    "email_clicks": ("email_events",),
    "email_conversions": ("email_events",),
}
