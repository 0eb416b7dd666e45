"""The state of one emulated ActiveCampaign account, for ``ActiveCampaignEmulator``: contacts,
list statuses, tags and contact-tag associations, with the reference's body shapes. Called under
the emulator's lock. What each rule rests on is in ``activecampaign.py``'s docstring.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from emulators.base import Emulator, Reply

API = "/api/3"
STAMP = "2024-01-01T00:00:00-06:00"


def perstag(title: str) -> str:
    """A field's personalization tag as the UI derives it: ``Loyalty tier`` -> ``LOYALTY_TIER``."""
    return re.sub(r"[^A-Z0-9]+", "_", title.upper()).strip("_")


@dataclass
class Contact:
    id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "phone": self.phone,
            "cdate": STAMP,
            "udate": STAMP,
            "deleted": "0",
            "links": {"contactTags": f"{API}/contacts/{self.id}/contactTags"},
        }


def missing(pointer: str) -> Reply:
    """The documented 422 for an absent attribute."""
    err = {"status": 422, "title": "Missing attribute", "source": {"pointer": pointer}}
    return Reply(422, {"errors": [err]})


def invalid(title: str, code: str, pointer: str, detail: str = "") -> Reply:
    err = {"title": title, "detail": detail, "code": code, "source": {"pointer": pointer}}
    return Reply(422, {"errors": [err]})


def not_found(what: str, ident: str) -> Reply:
    return Reply(404, {"message": f"No Result found for {what} with id {ident}"})


FIELD_TYPES = ("text", "textarea", "date", "datetime", "dropdown", "multiselect", "radio",
               "checkbox", "hidden", "listbox")  # fmt: skip


def field_value_problem(kind: str, value: str) -> str | None:
    """Why ``value`` does not fit a custom field of type ``kind`` (dates ``YYYY-MM-DD``,
    date-times ISO 8601, as the reference's examples write them); None when it does. An empty
    value clears any field."""
    if value == "" or kind not in ("date", "datetime"):
        return None
    try:
        if kind == "date":
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a valid {kind} (use YYYY-MM-DD)"
    return None


class AccountState:
    """Mixed into the emulator: the account's data and the views of it."""

    def clear_state(
        self, lists: Mapping[str, str], fields: Mapping[str, str], tags: Iterable[str]
    ) -> None:
        self.contacts: dict[str, Contact] = {}
        self.by_email: dict[str, str] = {}  # lower-cased email -> contact id
        self.lists: dict[str, str] = dict(lists)
        self.fields: dict[str, str] = dict(fields)
        self.tags: dict[str, dict[str, str]] = {}  # id -> {tag, tagType, description}
        self.statuses: dict[tuple[str, str], int] = {}  # (contact id, list id) -> 1 | 2
        self.associations: dict[str, tuple[str, str]] = {}  # contactTag id -> (contact, tag)
        self._ids: dict[str, int] = {}
        for name in tags:
            self.tag_named(name)

    def next_id(self, kind: str) -> str:
        # association ids are numbered apart from tag ids (from 9001), so a removal by tag id
        # (a classic mistake) answers 404 instead of silently removing some other association
        self._ids[kind] = self._ids.get(kind, 9000 if kind == "contactTag" else 0) + 1
        return str(self._ids[kind])

    def upsert(self, email: str, **values: Any) -> tuple[Contact, bool]:
        """The contact with this email, created when missing; non-None ``values`` are set."""
        cid = self.by_email.get(email.lower())
        created = cid is None
        if cid is None:
            cid = self.next_id("contact")
            self.contacts[cid] = Contact(cid, email)
            self.by_email[email.lower()] = cid
        contact = self.contacts[cid]
        for key in ("first_name", "last_name", "phone"):
            if values.get(key) is not None:
                setattr(contact, key, str(values[key]))
        contact.fields.update(values.get("fields") or {})
        return contact, created

    def tag_named(self, name: str, tag_type: str = "contact") -> str:
        """The id of the tag called ``name`` (any case), created when missing."""
        for tid, tag in self.tags.items():
            if tag["tag"].lower() == name.lower() and tag["tagType"] == tag_type:
                return tid
        tid = self.next_id("tag")
        self.tags[tid] = {"tag": name, "tagType": tag_type, "description": ""}
        return tid

    def associate(self, contact_id: str, tag_id: str) -> tuple[str, bool]:
        """The contactTag id for (contact, tag), created when missing; and whether it was new."""
        for aid, pair in self.associations.items():
            if pair == (contact_id, tag_id):
                return aid, False
        aid = self.next_id("contactTag")
        self.associations[aid] = (contact_id, tag_id)
        return aid, True

    def put_contact(self, email: str, lists: Mapping[str, int], tags: Iterable[str]) -> str:
        contact, _ = self.upsert(email)
        for list_id, status in lists.items():
            self.statuses[(contact.id, str(list_id))] = int(status)
        for name in tags:
            self.associate(contact.id, self.tag_named(name))
        return contact.id

    # -- views ----------------------------------------------------------------------------
    def list_view(self, list_id: str) -> dict[str, Any]:
        name = self.lists[list_id]
        return {
            "id": list_id,
            "name": name,
            "stringid": perstag(name).lower().replace("_", "-"),
            "cdate": STAMP,
            "userid": "1",
        }

    def tag_view(self, tag_id: str) -> dict[str, Any]:
        return {"id": tag_id, **self.tags[tag_id], "cdate": STAMP}

    def contact_list_view(self, contact_id: str, list_id: str) -> dict[str, Any]:
        status = self.statuses[(contact_id, list_id)]
        return {
            "contact": contact_id,
            "list": list_id,
            "status": str(status),
            "sdate": STAMP,
            "id": f"{contact_id}-{list_id}",
        }

    def association_view(self, aid: str) -> dict[str, Any]:
        cid, tid = self.associations[aid]
        return {
            "id": aid,
            "contact": cid,
            "tag": tid,
            "cdate": STAMP,
            "links": {"contact": f"/{aid}/contact", "tag": f"/{aid}/tag"},
        }

    def state_view(self) -> dict[str, Any]:
        """A JSON view of the account (the emulator adds its imports)."""
        contacts = {}
        for c in self.contacts.values():
            contacts[c.email.lower()] = {
                "id": c.id,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "fields": dict(c.fields),
                "lists": {lst: s for (cid, lst), s in self.statuses.items() if cid == c.id},
                "tags": sorted(
                    self.tags[t]["tag"] for cid, t in self.associations.values() if cid == c.id
                ),
            }
        return {
            "lists": dict(self.lists),
            "tags": {i: t["tag"] for i, t in self.tags.items()},
            "fields": dict(self.fields),
            "contacts": contacts,
            "contact_tags": {
                a: {"contact": c, "tag": t} for a, (c, t) in self.associations.items()
            },
        }


class ImportingAccount(AccountState, Emulator):
    """The emulator as its bulk importer (``activecampaign_import.ImportBook``) sees it: the
    account's data, the faults and rate-limit switch of every emulator, and new batch ids. Both
    modules import it from here, so neither imports the other's module."""

    enforce_rate_limits: bool
    field_types: dict[str, str]  # custom field id -> type (text when not listed)

    @abstractmethod
    def new_batch_id(self) -> str:
        """A new ``batchId`` for a queued import."""
