"""Reading Mailchimp's answers: per-member verdicts from batch and segment responses.

Batch subscribe answers ``new_members``, ``updated_members`` and ``errors[{email_address,
error_code, error, field, field_message}]``; the static-segment endpoint answers
``members_added``, ``members_removed`` and ``errors[{email_addresses, error}]``. Addresses are
compared lower-cased (Mailchimp's member id is the MD5 of the lower-cased address).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.base import Member, OutcomeStatus

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


def emails_in(items: Any, key: str = "email_address") -> set[str]:
    return {str(m.get(key) or "").lower() for m in items or [] if isinstance(m, dict)}


def member_errors(answer: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Batch subscribe ``errors``: address -> (error_code, one-line reason)."""
    found: dict[str, tuple[str, str]] = {}
    for err in answer.get("errors") or []:
        email = str(err.get("email_address") or "").lower()
        reason = str(err.get("error") or "refused")
        if err.get("field"):
            reason += f" ({err['field']}: {err.get('field_message') or ''})".replace(": )", ")")
        found[email] = (str(err.get("error_code") or ""), reason)
    return found


def segment_errors(answer: Mapping[str, Any]) -> dict[str, str]:
    """Segment ``errors[{email_addresses, error}]``: address -> reason."""
    return {
        str(email).lower(): str(err.get("error") or "refused")
        for err in answer.get("errors") or []
        for email in err.get("email_addresses") or []
    }
