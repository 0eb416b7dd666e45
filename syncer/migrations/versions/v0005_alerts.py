"""Alert de-duplication state (``syncer_alerts``); run outcomes long enough for ``interrupted``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Each step only if it is still needed: MariaDB commits each DDL statement on its own, so
    # running this revision again completes what an interrupted run left half-done.
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("syncer_alerts"):
        op.create_table(
            "syncer_alerts",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("segment", sa.String(length=200), nullable=False),
            sa.Column("destination", sa.String(length=400), nullable=False),
            sa.Column("condition", sa.String(length=20), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("since", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("sends", sa.Integer(), nullable=False),
            sa.Column("suppressed", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("segment", "destination", "condition", name="uq_syncer_alerts"),
        )
    outcome = {c["name"]: c for c in inspector.get_columns("syncer_runs")}["outcome"]
    if getattr(outcome["type"], "length", None) != 20:
        with op.batch_alter_table("syncer_runs") as batch:
            batch.alter_column(
                "outcome",
                existing_type=sa.String(length=10),
                type_=sa.String(length=20),
                existing_nullable=False,
            )


def downgrade() -> None:
    with op.batch_alter_table("syncer_runs") as batch:
        batch.alter_column(
            "outcome",
            existing_type=sa.String(length=20),
            type_=sa.String(length=10),
            existing_nullable=False,
        )
    op.drop_table("syncer_alerts")
