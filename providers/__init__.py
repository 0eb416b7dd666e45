"""Email-provider adapters behind one interface (``providers.base``).

Providers know nothing about segments or databases: they take batches of changes against a
destination (list + tag) and answer with one outcome per member.
"""
