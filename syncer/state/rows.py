"""The rows of the state tables as the code passes them around, and the snapshot's statuses.

A snapshot row (``Pushed``) records what the provider was last told about a customer and
whether it took it: APPLIED (confirmed), ACCEPTED (queued by an asynchronous API, confirmed
later) or REJECTED (refused; not resent until the member's data changes). A planned change
(``Planned``) becomes an outbox row (``OutboxRow``) until the provider's answer settles it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from providers.base import Change, ChangeKind, Member

APPLIED, ACCEPTED, REJECTED = "applied", "accepted", "rejected"

PlanKind = Literal["add", "update", "remove", "forget"]


def fold(email: str) -> str:
    """The address as providers compare it: case-insensitive (one contact per folded address).
    The state tables keep it as ``email_key``."""
    return email.strip().lower()


def dump_values(values: Mapping[str, str] | None) -> str | None:
    """Mapped field values as the state tables keep them (JSON text; None for none)."""
    return json.dumps(dict(values), sort_keys=True, ensure_ascii=False) if values else None


def load_values(text: str | None) -> dict[str, str]:
    """``dump_values``'s text back (anything unreadable: none)."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _change(
    kind: str,
    customer_id: int | None,
    email: str,
    provider_ref: str | None,
    first_name: str | None = None,
    last_name: str | None = None,
    consent: bool = False,
    fields: Mapping[str, str] | None = None,
) -> Change:
    member = Member(
        email=email,
        customer_id="" if customer_id is None else str(customer_id),
        first_name=first_name,
        last_name=last_name,
        consent=consent,
        merge_fields=dict(fields or {}),
    )
    return Change(ChangeKind(kind), member, provider_ref)


@dataclass(frozen=True, slots=True)
class Pushed:
    """One snapshot row: what the provider was last told about a customer."""

    customer_id: int
    email: str
    fields_hash: str
    status: str
    provider_ref: str | None = None
    # The mapped field values last sent (a destination's ``fields``; {} when it maps none).
    fields: Mapping[str, str] = field(default_factory=dict)

    def to_change(self) -> Change:
        """The add that put this member on the provider (what ``confirm`` asks about)."""
        return _change("add", self.customer_id, self.email, self.provider_ref)


@dataclass(frozen=True, slots=True)
class Planned:
    """One change to make (or, for ``forget``, a snapshot row to drop without a provider call)."""

    kind: PlanKind
    customer_id: int | None
    email: str
    fields_hash: str
    first_name: str | None = None
    last_name: str | None = None
    consent: bool = False
    provider_ref: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)  # mapped field values to send


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One pending change in the outbox, as it is sent."""

    id: int
    kind: str
    customer_id: int | None
    email: str
    first_name: str | None
    last_name: str | None
    consent: bool
    fields_hash: str
    provider_ref: str | None
    attempts: int
    fields: Mapping[str, str] = field(default_factory=dict)

    def to_change(self) -> Change:
        return _change(
            self.kind, self.customer_id, self.email, self.provider_ref,
            self.first_name, self.last_name, self.consent, self.fields,
        )  # fmt: skip
