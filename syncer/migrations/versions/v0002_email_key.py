"""Folded-address key on the snapshot and the outbox (providers compare addresses
case-insensitively, so customers whose addresses differ only in case share one contact).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = {
    "syncer_members": "ix_syncer_members_email_key",
    "syncer_outbox": "ix_syncer_outbox_email_key",
}


def upgrade() -> None:
    # Each step only if it is missing: MariaDB commits each DDL statement on its own, so running
    # this revision again completes what an interrupted run left half-done.
    inspect = sa.inspect(op.get_bind())
    for table, index in TABLES.items():
        if "email_key" not in {c["name"] for c in inspect.get_columns(table)}:
            op.add_column(table, sa.Column("email_key", sa.String(length=320), nullable=True))
        # SQL lower() folds ASCII letters on every supported database, which is what provider
        # addresses are in practice; rows written from now on are folded by Python.
        rows = sa.table(table, sa.column("email"), sa.column("email_key"))
        op.execute(
            rows.update()
            .where(rows.c.email_key.is_(None))
            .values(email_key=sa.func.lower(sa.func.trim(rows.c.email)))
        )
        if index not in {ix["name"] for ix in inspect.get_indexes(table)}:
            op.create_index(index, table, ["target_id", "email_key"], unique=False)


def downgrade() -> None:
    for table, index in TABLES.items():
        op.drop_index(index, table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("email_key")
