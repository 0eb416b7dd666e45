"""Runs record the members a destination's ``require`` left out, and for a csv destination the
file written and its rows (``left_out``, ``file``, ``exported``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("left_out", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("exported", sa.Integer(), nullable=True),
        sa.Column("file", sa.String(length=1000), nullable=True),
    ]


def upgrade() -> None:
    # Each only if it is missing: MariaDB commits each DDL statement on its own, so running this
    # revision again completes what an interrupted run left half-done.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("syncer_runs")}
    for column in _columns():
        if column.name not in have:
            op.add_column("syncer_runs", column)


def downgrade() -> None:
    with op.batch_alter_table("syncer_runs") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
