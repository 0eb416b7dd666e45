"""Sync orchestration: diff the segment against the state, push through the outbox, record runs."""
