"""Reading Mailchimp's answers: per-member verdicts from batch and segment responses.

Batch subscribe answers ``new_members``, ``updated_members`` and ``errors[{email_address,
error_code, error, field, field_message}]``; the static-segment endpoint answers
``members_added``, ``members_removed`` and ``errors[{email_addresses, error}]``. Addresses are
compared lower-cased (Mailchimp's member id is the MD5 of the lower-cased address).

The models below are the shapes the adapter relies on (``providers.shapes``): every per-member
result list is required, and every member result must carry its address, so an answer missing
them is an ``UnexpectedAnswer`` before anything is settled from it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from providers.base import Member, OutcomeStatus
from providers.shapes import Email, Id, Shape

# Segment errors that say the wanted state already holds (Mailchimp's wording is not specified).
ALREADY = re.compile(r"\balready\b", re.IGNORECASE)
ABSENT = re.compile(r"\b(not|no longer)\b.{0,20}\b(member|in|on|part|found|exists?)\b", re.I)
# A 400 on a segment call whose segment id is gone (reported publicly: "A Static Segment with an
# id of ... does not exist for this list."); a 404 says the same on the other segment calls.
SEGMENT_GONE = re.compile(r"\bsegment\b.*\bdoes not exist\b", re.IGNORECASE)


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: MD5 of the lower-cased address."""
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def merge_fields(member: Member, *, clear: bool = False) -> dict[str, str]:
    """FNAME/LNAME and the member's extra merge fields; ``clear`` sends "" for missing names."""
    fields: dict[str, str] = {}
    for tag, value in (("FNAME", member.first_name), ("LNAME", member.last_name)):
        if value is not None or clear:
            fields[tag] = value or ""
    fields.update(member.merge_fields)
    return fields


@dataclass(frozen=True)
class Verdict:
    status: OutcomeStatus
    reason: str | None = None
    retryable: bool = False


APPLIED = Verdict(OutcomeStatus.APPLIED)


def rejected(reason: str, *, retryable: bool = False) -> Verdict:
    return Verdict(OutcomeStatus.REJECTED, reason, retryable)


class Root(Shape):
    account_id: Id
    account_name: str = ""


class Health(Shape):
    health_status: str


class Audience(Shape):
    id: Id
    double_optin: bool = False


class ListStats(Shape):
    member_count: int | None = None


class AudienceItem(Shape):
    id: Id
    name: str = ""
    stats: ListStats | None = None


class MergeFieldOptions(Shape):
    date_format: str | None = None
    size: int | None = None


class MergeFieldItem(Shape):
    tag: str
    name: str = ""
    type: str = ""
    required: bool = False
    options: MergeFieldOptions | None = None


class Segment(Shape):
    id: Id
    name: str = ""
    member_count: int | None = None


class SegmentCount(Shape):
    member_count: int


class MemberRef(Shape):
    email_address: Email


class TagRef(Shape):
    id: Id


class MemberTags(Shape):
    email_address: Email
    tags: list[TagRef]


class MemberError(Shape):
    email_address: Email
    error_code: str | None = None
    error: str | None = None
    field: str | None = None
    field_message: str | None = None


class BatchAnswer(Shape):
    """Batch subscribe (``POST /lists/{id}``)."""

    new_members: list[MemberRef]
    updated_members: list[MemberRef]
    errors: list[MemberError]


class SegmentError(Shape):
    email_addresses: list[Email]
    error: str | None = None


class SegmentAnswer(Shape):
    """Static segment members (``POST /lists/{id}/segments/{seg}``)."""

    members_added: list[MemberRef]
    members_removed: list[MemberRef]
    errors: list[SegmentError]


def emails_in(items: Iterable[MemberRef]) -> set[str]:
    return {m.email_address.lower() for m in items}


def error_reason(err: MemberError) -> str:
    """One batch subscribe error as one line: Mailchimp's words and the field it names."""
    reason = err.error or "refused"
    if err.field:
        reason += f" ({err.field}: {err.field_message or ''})".replace(": )", ")")
    return reason


def member_errors(answer: BatchAnswer) -> dict[str, tuple[str, str]]:
    """Batch subscribe ``errors``: address -> (error_code, one-line reason)."""
    return {e.email_address.lower(): (e.error_code or "", error_reason(e)) for e in answer.errors}


def segment_errors(answer: SegmentAnswer) -> dict[str, str]:
    """Segment ``errors[{email_addresses, error}]``: address -> reason."""
    return {
        email.lower(): err.error or "refused"
        for err in answer.errors
        for email in err.email_addresses
    }
