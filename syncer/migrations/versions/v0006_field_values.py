"""The mapped field values (a destination's ``fields``) last sent, on the snapshot, and those to
send, on the outbox (``field_values``, JSON text), so a change of any mapped value is an update.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("syncer_members", "syncer_outbox")


def upgrade() -> None:
    # Each only if it is missing: MariaDB commits each DDL statement on its own, so running this
    # revision again completes what an interrupted run left half-done.
    inspector = sa.inspect(op.get_bind())
    for table in TABLES:
        if "field_values" not in {c["name"] for c in inspector.get_columns(table)}:
            op.add_column(table, sa.Column("field_values", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("field_values")
