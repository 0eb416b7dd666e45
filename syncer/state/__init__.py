"""The sync engine's state database, owner of every ``syncer_`` table: what each provider was
last told, pending changes, settlement, runs, locks, history and the staged tagged set."""
