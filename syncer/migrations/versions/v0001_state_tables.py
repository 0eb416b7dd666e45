"""State tables: targets, snapshot, outbox, rejections, runs, locks, provider scratch.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

TABLES = (
    "syncer_runs",
    "syncer_rejections",
    "syncer_provider_tagged",
    "syncer_outbox",
    "syncer_members",
    "syncer_locks",
    "syncer_targets",
)


def _create_table(name: str, *elements: Any) -> None:
    """Create ``name`` unless it is there: MariaDB commits each CREATE on its own, so running
    this revision again completes what an interrupted first run left half-created."""
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *elements)


def _create_index(name: str, table: str, columns: list[str], *, unique: bool) -> None:
    if name not in {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, columns, unique=unique)


def upgrade() -> None:
    _create_table(
        "syncer_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=200), nullable=False),
        sa.Column("destination", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("segment", "destination", name="uq_syncer_targets"),
    )
    _create_table(
        "syncer_locks",
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["syncer_targets.id"],
        ),
        sa.PrimaryKeyConstraint("target_id"),
    )
    _create_table(
        "syncer_members",
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("fields_hash", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("provider_ref", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["syncer_targets.id"],
        ),
        sa.PrimaryKeyConstraint("target_id", "customer_id"),
    )
    _create_index("ix_syncer_members_email", "syncer_members", ["target_id", "email"], unique=False)

    _create_table(
        "syncer_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("fields_hash", sa.String(length=32), nullable=False),
        sa.Column("provider_ref", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["syncer_targets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_syncer_outbox_target_customer",
        "syncer_outbox",
        ["target_id", "customer_id"],
        unique=False,
    )

    _create_table(
        "syncer_provider_tagged",
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["syncer_targets.id"],
        ),
        sa.PrimaryKeyConstraint("target_id", "email"),
    )
    _create_table(
        "syncer_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["syncer_targets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target_id", "email", name="uq_syncer_rejections"),
    )
    _create_table(
        "syncer_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=200), nullable=False),
        sa.Column("destination", sa.String(length=400), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("adds", sa.Integer(), nullable=False),
        sa.Column("updates", sa.Integer(), nullable=False),
        sa.Column("removes", sa.Integer(), nullable=False),
        sa.Column("rejections", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["syncer_targets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_syncer_runs_segment", "syncer_runs", ["segment"], unique=False)
    _create_index(
        "ix_syncer_runs_target_started", "syncer_runs", ["target_id", "started_at"], unique=False
    )


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
