"""The Mailchimp emulator's state and answer shapes: audiences, members, tags, problem documents.

Shapes follow the Marketing API 3.0 reference (response schemas ``SubscriberList``,
``ListMembers``, ``List`` (segment), ``ProblemDetailDocument``), trimmed to the fields Syncer
reads. See ``emulators.mailchimp`` for the sources and what is unconfirmed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulators.base import Reply

ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
# An existing member in one of these states cannot be (re)subscribed through the API.
COMPLIANCE_STATES = ("unsubscribed", "cleaned")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Mailchimp's default audience fields (merge tags), in display order.
DEFAULT_MERGE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("FNAME", "First Name", "text"),
    ("LNAME", "Last Name", "text"),
    ("ADDRESS", "Address", "address"),
    ("PHONE", "Phone Number", "phone"),
    ("BIRTHDAY", "Birthday", "birthday"),
)

TITLES = {
    400: "Invalid Resource",
    401: "API Key Invalid",
    403: "Forbidden",
    404: "Resource Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def subscriber_hash(email: str) -> str:
    """The member id: MD5 of the lower-cased address."""
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def problem(
    status: int, detail: str, title: str | None = None, errors: list[dict[str, str]] | None = None
) -> Reply:
    """An ``application/problem+json`` error document, as every Mailchimp error is."""
    body: dict[str, Any] = {
        "type": ERROR_DOCS,
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": str(uuid.uuid4()),
    }
    if errors is not None:
        body["errors"] = errors
    return Reply(status, body, content_type="application/problem+json; charset=utf-8")


def invalid(detail: str, errors: list[dict[str, str]] | None = None) -> Reply:
    return problem(400, detail, "Invalid Resource", errors)


def fake_email_message(email: str) -> str:
    return f"{email} looks fake or invalid, please enter a real email address."


def compliance_message(email: str) -> str:
    return (
        f"{email} is in a compliance state due to unsubscribe, bounce, or compliance review "
        "and cannot be subscribed."
    )


def forgotten_message(email: str) -> str:
    return (
        f"{email} was permanently deleted and cannot be re-imported. "
        "The contact must re-subscribe to get back on the list."
    )


# Merge field types (spec enum) and the documented value forms checked here: text at most 255
# characters, number a number, date / birthday in the field's ``options.date_format``.
MERGE_TYPES = (
    "text", "number", "address", "phone", "date", "url", "imageurl", "radio", "dropdown",
    "birthday", "zip",
)  # fmt: skip
TEXT_MAX = 255
DATE_FORMATS = {"date": "MM/DD/YYYY", "birthday": "MM/DD"}


def _strptime_format(date_format: str) -> str:
    return date_format.replace("YYYY", "%Y").replace("MM", "%m").replace("DD", "%d")


@dataclass
class MergeField:
    merge_id: int
    tag: str
    name: str
    type: str
    required: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit this field (the ``field_message``), None when it does; an
        empty value clears any field."""
        if value is None or value == "":
            return None
        text = str(value)
        if self.type == "number":
            try:
                float(text)
            except ValueError:
                return "Please enter a number"
        elif self.type in DATE_FORMATS:
            fmt = str(self.options.get("date_format") or DATE_FORMATS[self.type])
            try:
                datetime.strptime(text, _strptime_format(fmt))
            except ValueError:
                return f"Please enter a date in the format {fmt}"
        elif len(text) > TEXT_MAX:
            return f"Value must be {TEXT_MAX} characters or fewer"
        return None

    def view(self, list_id: str) -> dict[str, Any]:
        return {
            "merge_id": self.merge_id,
            "tag": self.tag,
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default_value": "",
            "options": dict(self.options),
            "public": True,
            "display_order": self.merge_id + 1,
            "list_id": list_id,
        }


@dataclass
class Member:
    email: str
    status: str
    merge_fields: dict[str, Any] = field(default_factory=dict)
    tags: set[int] = field(default_factory=set)  # segment ids
    archived: bool = False
    signed_up: str = field(default_factory=now)
    last_changed: str = field(default_factory=now)

    @property
    def id(self) -> str:
        return subscriber_hash(self.email)


@dataclass
class Segment:
    id: int
    name: str
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)


@dataclass
class Audience:
    id: str
    name: str
    double_optin: bool = False
    merge_fields: list[MergeField] = field(default_factory=list)
    members: dict[str, Member] = field(default_factory=dict)  # by subscriber hash
    segments: dict[int, Segment] = field(default_factory=dict)
    date_created: str = field(default_factory=now)

    def member(self, email_or_hash: str) -> Member | None:
        """The member (archived ones included) by hash or address."""
        key = email_or_hash if "@" not in email_or_hash else subscriber_hash(email_or_hash)
        return self.members.get(key.lower())

    def present(self, email: str) -> Member | None:
        """The member if in the audience (archived members are not)."""
        member = self.member(email)
        return member if member is not None and not member.archived else None

    def segment_by_name(self, name: str) -> Segment | None:
        return next((s for s in self.segments.values() if s.name == name), None)

    def segment_members(self, seg_id: int) -> list[Member]:
        return [m for m in self.members.values() if not m.archived and seg_id in m.tags]

    def view(self) -> dict[str, Any]:
        live = [m for m in self.members.values() if not m.archived]
        return {
            "id": self.id,
            "web_id": int(subscriber_hash(self.id)[:6], 16),
            "name": self.name,
            "double_optin": self.double_optin,
            "date_created": self.date_created,
            "email_type_option": False,
            "visibility": "prv",
            "stats": {
                "member_count": sum(m.status == "subscribed" for m in live),
                "unsubscribe_count": sum(m.status == "unsubscribed" for m in live),
                "cleaned_count": sum(m.status == "cleaned" for m in live),
                "total_contacts": len(live),
                "merge_field_count": len(self.merge_fields),
            },
        }

    def member_view(self, member: Member) -> dict[str, Any]:
        tags = [self.segments[t] for t in sorted(member.tags) if t in self.segments]
        return {
            "id": member.id,
            "email_address": member.email,
            "unique_email_id": member.id[:10],
            "contact_id": member.id,
            "full_name": " ".join(
                str(member.merge_fields.get(k) or "") for k in ("FNAME", "LNAME")
            ).strip(),
            "email_type": "html",
            "status": "archived" if member.archived else member.status,
            "merge_fields": dict(member.merge_fields),
            "timestamp_signup": member.signed_up,
            "last_changed": member.last_changed,
            "list_id": self.id,
            "tags_count": len(tags),
            "tags": [{"id": s.id, "name": s.name} for s in tags],
        }

    def segment_view(self, seg: Segment) -> dict[str, Any]:
        return {
            "id": seg.id,
            "name": seg.name,
            "member_count": sum(m.status == "subscribed" for m in self.segment_members(seg.id)),
            "type": "static",
            "created_at": seg.created_at,
            "updated_at": seg.updated_at,
            "options": {"match": "any", "conditions": []},
            "list_id": self.id,
        }


def project(data: Any, fields: list[str] | None, exclude: list[str] | None) -> Any:
    """Apply Mailchimp's ``fields`` / ``exclude_fields`` (dot paths, through arrays)."""
    if fields:
        data = _keep(data, [f.split(".") for f in fields])
    if exclude:
        for path in exclude:
            _drop(data, path.split("."))
    return data


def _keep(data: Any, paths: list[list[str]]) -> Any:
    if isinstance(data, list):
        return [_keep(item, paths) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key in dict.fromkeys(p[0] for p in paths):
        if key not in data:
            continue
        rest = [p[1:] for p in paths if p[0] == key]
        out[key] = data[key] if any(not r for r in rest) else _keep(data[key], rest)
    return out


def _drop(data: Any, path: list[str]) -> None:
    if isinstance(data, list):
        for item in data:
            _drop(item, path)
    elif isinstance(data, dict) and path and path[0] in data:
        if len(path) == 1:
            del data[path[0]]
        else:
            _drop(data[path[0]], path[1:])


def csv_arg(values: list[str] | None) -> list[str] | None:
    """A comma-separated query parameter (the SDK joins arrays with commas)."""
    if not values:
        return None
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes")
