"""The sync engine's state database: what each provider was last told, pending changes, runs."""
