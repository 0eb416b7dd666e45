"""State tables (all prefixed ``syncer_`` so they can live in the commerce database).

syncer_targets        one row per (segment, destination key): the id the other tables use
syncer_members        snapshot: what the provider was last told per member of a target
                      (email pushed, merge-field hash, status applied/accepted/rejected, ref)
                      and ``email_key``, the folded address (one provider contact per key)
                      and ``field_values``, the mapped field values last sent (JSON)
syncer_outbox         pending changes (with the mapped ``field_values`` to send), written and
                      committed before they are sent; a row leaves only when the provider's
                      answer for that member is settled
syncer_rejections     members the provider refused, with its reason (shown by `syncer runs`)
syncer_runs           one row per sync run: trigger, times, counts, outcome, masked error;
                      for a csv destination the file written and its rows
syncer_locks          one row per target while a sync holds it (owner + expiry, heartbeat)
syncer_provider_tagged  scratch: the provider's tagged emails during a ``--full`` repair
syncer_alerts         what alerts were sent about each destination's conditions (failing,
                      stale, rejections), so several workers send one alert per repeat interval

Timestamps are UTC, time-zone aware. Change the tables only together with a migration in
``syncer/migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

EMAIL = 320


class Target(SQLModel, table=True):
    __tablename__ = "syncer_targets"
    __table_args__ = (UniqueConstraint("segment", "destination", name="uq_syncer_targets"),)

    id: int | None = Field(default=None, primary_key=True)
    segment: str = Field(max_length=200)
    destination: str = Field(max_length=400)  # DestinationConfig.key: profile/list/tag
    created_at: datetime


class SnapshotMember(SQLModel, table=True):
    __tablename__ = "syncer_members"
    __table_args__ = (
        Index("ix_syncer_members_email", "target_id", "email"),
        Index("ix_syncer_members_email_key", "target_id", "email_key"),
    )

    target_id: int = Field(foreign_key="syncer_targets.id", primary_key=True)
    customer_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    email: str = Field(max_length=EMAIL)
    # ``syncer.state.rows.fold(email)``; set by every write (rows of older versions: migration).
    email_key: str | None = Field(default=None, max_length=EMAIL)
    fields_hash: str = Field(max_length=32)
    status: str = Field(max_length=10)  # applied | accepted | rejected
    provider_ref: str | None = Field(default=None, max_length=500)
    # JSON {provider field: value} last sent for a destination's ``fields`` (None: none mapped)
    field_values: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime


class OutboxChange(SQLModel, table=True):
    __tablename__ = "syncer_outbox"
    __table_args__ = (
        Index("ix_syncer_outbox_target_customer", "target_id", "customer_id"),
        Index("ix_syncer_outbox_email_key", "target_id", "email_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="syncer_targets.id")
    kind: str = Field(max_length=10)  # add | update | remove
    # None for an address tagged on the provider by hand (a --full repair removes it).
    customer_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    email: str = Field(max_length=EMAIL)
    email_key: str | None = Field(default=None, max_length=EMAIL)  # fold(email), as above
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    consent: bool = False
    fields_hash: str = Field(max_length=32)
    provider_ref: str | None = Field(default=None, max_length=500)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    field_values: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime


class Rejection(SQLModel, table=True):
    __tablename__ = "syncer_rejections"
    __table_args__ = (UniqueConstraint("target_id", "email", name="uq_syncer_rejections"),)

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="syncer_targets.id")
    customer_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    email: str = Field(max_length=EMAIL)
    kind: str = Field(max_length=10)
    reason: str = Field(max_length=500)
    retryable: bool = False
    first_seen: datetime
    last_seen: datetime
    count: int = 1


class Run(SQLModel, table=True):
    __tablename__ = "syncer_runs"
    __table_args__ = (Index("ix_syncer_runs_target_started", "target_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="syncer_targets.id")
    segment: str = Field(max_length=200, index=True)
    destination: str = Field(max_length=400)
    trigger: str = Field(max_length=20)  # cli | schedule | ...
    full: bool = False
    owner: str = Field(max_length=200)
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = Field(max_length=20)  # running | ok | partial | failed | skipped | interrupted
    adds: int = 0
    updates: int = 0
    removes: int = 0
    rejections: int = 0
    retries: int = 0
    api_calls: int = 0
    pending: int = 0  # outbox rows left for the next run
    error: str | None = Field(default=None, max_length=1000)
    # the provider asked not to be called before this (Retry-After); the worker waits for it
    retry_not_before: datetime | None = None
    left_out: int = 0  # members a destination's ``require`` kept out (missing values)
    exported: int | None = None  # a csv destination: rows written (None: not a file run)
    file: str | None = Field(default=None, max_length=1000)  # a csv destination: the file


class Lock(SQLModel, table=True):
    __tablename__ = "syncer_locks"

    target_id: int = Field(foreign_key="syncer_targets.id", primary_key=True)
    owner: str = Field(max_length=200)
    acquired_at: datetime
    expires_at: datetime


class ProviderTagged(SQLModel, table=True):
    __tablename__ = "syncer_provider_tagged"

    target_id: int = Field(foreign_key="syncer_targets.id", primary_key=True)
    email: str = Field(max_length=EMAIL, primary_key=True)


class AlertState(SQLModel, table=True):
    """One condition of one destination that alerts are sent about (``syncer.state.alerts``)."""

    __tablename__ = "syncer_alerts"
    __table_args__ = (
        UniqueConstraint("segment", "destination", "condition", name="uq_syncer_alerts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    segment: str = Field(max_length=200)
    destination: str = Field(max_length=400)
    condition: str = Field(max_length=20)  # failing | stale | rejections
    active: bool = False  # the condition holds now (cleared by a recovery)
    since: datetime  # when it last became active
    last_sent_at: datetime | None = None  # the last alert about it that went out
    sends: int = 0  # alerts sent about it (also what a concurrent claim is checked against)
    suppressed: int = 0  # events not sent since the last alert (within ``repeat_after``)


STATE_MODELS = (
    Target,
    SnapshotMember,
    OutboxChange,
    Rejection,
    Run,
    Lock,
    ProviderTagged,
    AlertState,
)
STATE_TABLES = [m.__table__ for m in STATE_MODELS]  # type: ignore[attr-defined,union-attr]
