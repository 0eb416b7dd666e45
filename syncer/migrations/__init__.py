"""Alembic migrations of the state tables (``syncer db upgrade`` runs them)."""
