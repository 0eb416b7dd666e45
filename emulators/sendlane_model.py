"""The state of one emulated Sendlane account, for ``SendlaneEmulator``: contacts, lists (members
and unsubscribes), tags, custom fields, the queued list adds, and the reference's body shapes.
Called under the emulator's lock. What each rule rests on is in ``sendlane.py``'s docstring.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from emulators.base import Reply

EMAIL = re.compile(r"^[^@\s'\"]+@[^@\s]+\.[A-Za-z]{2,}$")
PAGE_MAX = 100
STAMP = "2024-01-01T00:00:00.000000Z"
ACCEPTED = {"data": {"message": "Successfully handled request"}}


def invalid(errors: Mapping[str, list[str]]) -> Reply:
    """The reference's validation error: ``errors`` keyed by the attribute that failed."""
    return Reply(422, {"message": "The given data was invalid.", "errors": dict(errors)})


def page_of(items: list[dict[str, Any]], limit: int, page: int, url: str) -> dict[str, Any]:
    """One page in the reference's envelope ``{data, links, meta}``."""
    limit, page = min(max(limit, 1), PAGE_MAX), max(page, 1)
    total = len(items)
    last = max(1, math.ceil(total / limit))
    start = (page - 1) * limit
    chunk = items[start : start + limit]

    def link(n: int) -> str:
        return f"{url}?limit={limit}&page={n}"

    return {
        "data": chunk,
        "links": {
            "first": link(1),
            "last": link(last),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page < last else None,
        },
        "meta": {
            "current_page": page,
            "from": start + 1 if chunk else None,
            "last_page": last,
            "path": url,
            "per_page": limit,
            "to": start + len(chunk) if chunk else None,
            "total": total,
        },
    }


@dataclass
class Contact:
    id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    subscribed: bool = False  # email consent
    unsubscribed: bool = False  # unsubscribed from the account
    fields: dict[int, str] = field(default_factory=dict)


@dataclass
class Job:
    """One queued ``POST /lists/{id}/contacts``."""

    list_id: int
    rows: list[dict[str, Any]]
    at: float
    reads: int = 0  # GET requests answered since it was queued


TEXT_MAX = 255


def value_problem(kind: str, value: str, at: str) -> str | None:
    """Why a custom field value does not fit its field's type, in the validation wording of
    the other errors (unconfirmed: Sendlane documents no value rules); None when it fits."""
    if value == "":
        return None
    if kind == "number":
        try:
            float(value)
        except ValueError:
            return f"The {at} must be a number."
    elif kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"The {at} is not a valid date."
    elif len(value) > TEXT_MAX:
        return f"The {at} may not be greater than {TEXT_MAX} characters."
    return None


class Account:
    def __init__(
        self,
        lists: Mapping[str, str],
        fields: Mapping[str, str],
        resubscribes: bool,
        field_types: Mapping[str, str] | None = None,
    ) -> None:
        self.lists = {int(k): v for k, v in lists.items()}
        self.fields = {int(k): v for k, v in fields.items()}  # id -> name
        # id -> type: "text" (at most 255 characters, the default), "number", "date" (YYYY-MM-DD)
        self.field_types = {int(k): v for k, v in (field_types or {}).items()}
        self.resubscribes = resubscribes
        self.tags: dict[int, str] = {}
        self.contacts: dict[int, Contact] = {}
        self.by_email: dict[str, int] = {}  # lower-cased email (or "phone:<number>") -> id
        self.members: dict[int, set[int]] = {}  # list id -> subscribed-or-not members
        self.unsubscribed: dict[int, set[int]] = {}  # list id -> contacts who unsubscribed
        self.tagged: dict[int, set[int]] = {}  # contact id -> tag ids
        self.dropped: dict[str, str] = {}  # emails dropped by Faults.reject -> kind
        self._ids = {"contact": 0, "tag": 0}

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # -- lookups --------------------------------------------------------------------------
    def find_tag(self, name: str) -> int | None:
        return next((t for t, n in self.tags.items() if n.lower() == name.lower()), None)

    def tag_named(self, name: str) -> int:
        found = self.find_tag(name)
        if found is not None:
            return found
        tid = self._next("tag")
        self.tags[tid] = name
        return tid

    def is_tag(self, value: Any) -> bool:
        return str(value).isdigit() and int(value) in self.tags

    def _field_id(self, item: Mapping[str, Any]) -> int | None:
        if str(item.get("id", "")).isdigit() and int(item["id"]) in self.fields:
            return int(item["id"])
        key = str(item.get("key", "")).lower()
        return next((f for f, n in self.fields.items() if key and n.lower() == key), None)

    # -- validation -----------------------------------------------------------------------
    def field_errors(self, items: Any, prefix: str) -> dict[str, list[str]]:
        if not isinstance(items, list):
            return {prefix: [f"The {prefix} must be an array."]}
        errors: dict[str, list[str]] = {}
        for j, item in enumerate(items):
            if not isinstance(item, dict) or self._field_id(item) is None:
                errors[f"{prefix}.{j}.id"] = [f"The selected {prefix}.{j}.id is invalid."]
            elif "value" not in item:
                errors[f"{prefix}.{j}.value"] = [f"The {prefix}.{j}.value field is required."]
            else:
                kind = self.field_types.get(self._field_id(item) or 0, "text")
                why = value_problem(kind, str(item["value"]), f"{prefix}.{j}.value")
                if why is not None:
                    errors[f"{prefix}.{j}.value"] = [why]
        return errors

    def validate(self, rows: list[Any], reject: Mapping[str, str]) -> dict[str, list[str]]:
        """Every reason to refuse the list add, keyed ``contacts.N.attribute``."""
        errors: dict[str, list[str]] = {}
        for i, row in enumerate(rows):
            at = f"contacts.{i}"
            if not isinstance(row, dict):
                errors[at] = [f"The {at} must be an object."]
                continue
            email = str(row.get("email") or "").strip()
            if not email and not row.get("phone"):
                errors[f"{at}.email"] = [
                    f"The {at}.email field is required when {at}.phone is not present."
                ]
            elif email and (not EMAIL.match(email) or reject.get(email.lower()) == "invalid"):
                errors[f"{at}.email"] = [f"The {at}.email must be a valid email address."]
            for key in ("first_name", "last_name"):
                if key in row and (not isinstance(row[key], str) or not row[key].strip()):
                    errors[f"{at}.{key}"] = [f"The {at}.{key} must be at least 1 characters."]
            if "email_consent" in row and not isinstance(row["email_consent"], bool):
                errors[f"{at}.email_consent"] = [
                    f"The {at}.email_consent field must be true or false."
                ]
            tag_ids = row.get("tag_ids", [])
            if not isinstance(tag_ids, list):
                errors[f"{at}.tag_ids"] = [f"The {at}.tag_ids must be an array."]
            else:
                for j, tid in enumerate(tag_ids):
                    if not self.is_tag(tid):
                        errors[f"{at}.tag_ids.{j}"] = [f"The selected {at}.tag_ids.{j} is invalid."]
            if "custom_fields" in row:
                errors.update(self.field_errors(row["custom_fields"], f"{at}.custom_fields"))
        return errors

    # -- changes --------------------------------------------------------------------------
    def upsert(self, email: str, phone: str = "") -> Contact:
        key = email.lower() if email else f"phone:{phone}"
        cid = self.by_email.get(key)
        if cid is None:
            cid = self._next("contact")
            self.contacts[cid] = Contact(cid, email, phone=phone)
            self.by_email[key] = cid
        return self.contacts[cid]

    def set_fields(self, cid: int, items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            field_id = self._field_id(item)
            if field_id is not None:
                self.contacts[cid].fields[field_id] = str(item.get("value", ""))

    def apply(self, job: Job, reject: Mapping[str, str]) -> None:
        """Process one queued list add (validated when it was queued)."""
        for row in job.rows:
            email = str(row.get("email") or "").strip()
            if email and email.lower() in reject:
                self.dropped[email.lower()] = reject[email.lower()]
                continue
            contact = self.upsert(email, str(row.get("phone") or ""))
            for key in ("first_name", "last_name", "phone"):
                if row.get(key):
                    setattr(contact, key, str(row[key]))
            self.set_fields(contact.id, row.get("custom_fields") or [])
            self.tagged.setdefault(contact.id, set()).update(int(t) for t in row.get("tag_ids", []))
            gone = self.unsubscribed.setdefault(job.list_id, set())
            was_out = contact.id in gone or contact.unsubscribed
            if row.get("email_consent") is True and (not was_out or self.resubscribes):
                gone.discard(contact.id)
                contact.unsubscribed, contact.subscribed = False, True
                was_out = False
            if not was_out:
                self.members.setdefault(job.list_id, set()).add(contact.id)

    def unsubscribe(self, cid: int) -> None:
        """Account-wide: out of every list it is on, into each list's unsubscribed set."""
        contact = self.contacts[cid]
        contact.unsubscribed, contact.subscribed = True, False
        for lid, members in self.members.items():
            if cid in members:
                members.discard(cid)
                self.unsubscribed.setdefault(lid, set()).add(cid)

    def seed(
        self, email: str, lists: Iterable[str], tags: Iterable[str], unsubscribed: Iterable[str]
    ) -> int:
        contact = self.upsert(email)
        unsubscribed = list(unsubscribed)
        contact.subscribed = not unsubscribed
        for lid in lists:
            self.members.setdefault(int(lid), set()).add(contact.id)
        for lid in unsubscribed:
            self.unsubscribed.setdefault(int(lid), set()).add(contact.id)
            self.members.get(int(lid), set()).discard(contact.id)
        self.tagged.setdefault(contact.id, set()).update(self.tag_named(t) for t in tags)
        return contact.id

    # -- views ----------------------------------------------------------------------------
    def list_view(self, lid: int) -> dict[str, Any]:
        name = self.lists[lid]
        return {"id": lid, "name": name, "list_name": name, "status": "active", "created": STAMP}

    def tag_view(self, tid: int) -> dict[str, Any]:
        count = sum(1 for tags in self.tagged.values() if tid in tags)
        return {"id": tid, "name": self.tags[tid], "audience_count": count, "created_at": STAMP}

    def field_view(self, fid: int) -> dict[str, Any]:
        kind = self.field_types.get(fid, "text")
        return {"id": str(fid), "name": self.fields[fid], "type": kind, "created_at": STAMP}

    def contact_view(self, cid: int) -> dict[str, Any]:
        c = self.contacts[cid]
        lists = [lid for lid, members in sorted(self.members.items()) if cid in members]
        return {
            "id": c.id,
            "email": c.email,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "phone": c.phone,
            "subscribed": c.subscribed,
            "suppressed": False,
            "lists": [{"id": lid, "name": self.lists.get(lid, "")} for lid in lists],
            "tags": [{"id": t, "name": self.tags[t]} for t in sorted(self.tagged.get(cid, set()))],
            "custom_fields": [
                {"id": str(f), "name": self.fields[f], "value": v}
                for f, v in sorted(c.fields.items())
            ],
            "sms_consent": [],
            "integration_customer": [],
            "lifetime_value": 0,
        }

    def view(self) -> dict[str, Any]:
        contacts = {}
        for c in self.contacts.values():
            contacts[c.email.lower() or c.phone] = {
                "id": c.id,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "subscribed": c.subscribed,
                "unsubscribed": c.unsubscribed,
                "lists": sorted(lid for lid, m in self.members.items() if c.id in m),
                "unsubscribed_from": sorted(
                    lid for lid, u in self.unsubscribed.items() if c.id in u
                ),
                "tags": sorted(self.tags[t] for t in self.tagged.get(c.id, set())),
                "fields": {self.fields[f]: v for f, v in c.fields.items()},
            }
        return {
            "lists": {str(k): v for k, v in self.lists.items()},
            "tags": {str(k): v for k, v in self.tags.items()},
            "custom_fields": {str(k): v for k, v in self.fields.items()},
            "contacts": contacts,
            "dropped": dict(self.dropped),
        }
