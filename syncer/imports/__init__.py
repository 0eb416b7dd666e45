"""Loading a platform's exports into the native commerce schema (``syncer import ...``).

csvfile   streamed CSV reading: headers matched without case, line numbers, one-line errors
values    one cell -> one native value (money, times with offsets, yes/no, emails, tags)
writer    batched inserts and updates with explicit ids, external-id mapping
shopify   Shopify's customers, orders and products exports -> customers, orders, products
"""
