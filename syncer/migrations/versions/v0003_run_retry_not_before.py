"""Runs record when the provider asked to be called again (``retry_not_before``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Only if it is missing: MariaDB commits each DDL statement on its own, so running this
    # revision again completes what an interrupted run left half-done.
    if "retry_not_before" not in {
        c["name"] for c in sa.inspect(op.get_bind()).get_columns("syncer_runs")
    }:
        op.add_column(
            "syncer_runs",
            sa.Column("retry_not_before", sa.DateTime(timezone=True), nullable=True),
        )


def downgrade() -> None:
    with op.batch_alter_table("syncer_runs") as batch:
        batch.drop_column("retry_not_before")
