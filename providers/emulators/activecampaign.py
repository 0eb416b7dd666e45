"""ActiveCampaign API v3 (/api/3): contacts, list status, tags, asynchronous bulk import.

The subset the ``providers.activecampaign`` adapter calls.

Construct it with the token it accepts and the lists the account already has (Syncer never
creates lists); the demo defaults are ``ActiveCampaignEmulator(api_token="demo-token",
lists={"1": "Demo list"}, fields={"1": "Loyalty tier"})`` (the field's personalization tag is
``LOYALTY_TIER``). Point the adapter at ``<server url>/api/3``.

Endpoints, and where each behaviour comes from (the v3 reference at developers.activecampaign.com,
as compiled in ``provider-specs/activecampaign/activecampaign-v3.json``; its operationIds in
brackets; "design" = ``design/providers.md``):

* ``Api-Token`` header; a missing or wrong token answers 403 (design; the reference declares 403
  on the v3 document rather than 401). Then the account quota: 5 requests a second per account
  (the rate-limits page), over it 429 with ``Retry-After`` in whole seconds (a token bucket: see
  ``quota.py``; how the real API counts is unconfirmed); ``enforce_rate_limits`` turns it off.
* ``GET /users/me`` [get-user-loggedin]; ``GET /lists`` [retrieve-all-lists], ``GET /lists/{id}``;
  ``GET /fields`` [retrieve-fields]; ``GET /tags?search=`` ("contains") [retrieve-all-tags];
  ``POST /tags {tag: {tag, tagType, description}}`` -> 201 [create-a-new-tag]. Lists answer
  ``limit`` (at most 100) + ``offset`` with the count in ``meta.total`` (a string, as documented).
* ``GET /contacts`` with ``email=``, ``ids[]=`` (repeated), ``tagid=``, ``listid=`` (+ ``status=``)
  [list-all-contacts]; ``GET /contacts/{id}``; ``POST /contact/sync {contact: {email, firstName,
  lastName, phone, fieldValues}}`` -> 201 created / 200 updated, never touching lists or tags
  [sync-a-contacts-data]; a bad email answers 422 ``errors[{title, detail, code, source.pointer}]``.
* ``GET /contacts/{id}/contactLists`` [retrieve-contact-list-memberships]; ``POST /contactLists
  {contactList: {list, contact, status}}`` status 1 subscribes, 2 unsubscribes
  [update-list-status-for-contact]. Status 1 re-subscribes a contact who unsubscribed, as the real
  API does: the adapter must avoid it, the emulator does not protect it.
* ``POST /contactTags {contactTag: {contact, tag}}`` -> 201 with the association id; 404
  ``errors[{status, title, detail}]`` for an unknown contact, 422 "Missing attribute"
  [create-contact-tag]. ``DELETE /contactTags/{association id}`` -> 200 ``{}``, 404 ``{"message":
  "No Result found for SubscriberTag with id N"}`` [remove-a-contacts-tag].
  ``GET /contacts/{id}/contactTags``. Association ids start at 9001, apart from tag ids, so an
  adapter removing by tag id gets a 404 here instead of silently removing another association.
* ``POST /import/bulk_import`` [bulk-import-contacts]: at most 250 contacts; a payload with a bad
  contact is refused whole, 400 ``{success: 0, message, failureReasons: [{contact: index,
  failureReason}]}``; more than 100 imports a minute answers 400 "Rate limit exceeded." with
  ``failureReasons: [text]`` (both documented examples). Queued: ``{Success: 1, queued_contacts,
  batchId, message: "Contact import queued"}``. Tags are added by name (created when missing),
  never removed; ``subscribe`` never re-subscribes a contact who unsubscribed from that list.
  ``GET /import/info?batchId=`` [bulk-import-status-info] answers ``{status, success: [contact
  ids], failure: [emails]}``; without ``batchId`` 400 ``{success: 0, message}``. An import is
  processed once it has been polled ``import_polls`` times and ``import_delay`` seconds have passed
  (both settings; 1 poll / 0 s by default: completed at the first poll).
* ``Faults.reject``: those emails get 422 from ``/contact/sync`` and land in an import's failures.

Unconfirmed (not in the published reference; chosen as noted):

* unconfirmed: the body of the 403 for a bad token (the reference's 403 shape ``errors[{status,
  title, detail}]`` is used) and of the 429 (``{"message": ...}``).
* unconfirmed: whether ``limit`` above 100 is refused or capped (capped here) and the default
  page size (20 here).
* unconfirmed: ``GET /contacts/{id}/contactTags`` is linked from every contact but has no entry of
  its own; its answer is assumed to be ``{"contactTags": [{contact, tag, id, cdate}]}``.
* unconfirmed: adding a tag a contact already carries answers 201 with the existing association
  (no duplicate is made); creating a tag whose name exists answers 422 "Duplicate entry".
* unconfirmed: ``/import/info``'s status while pending ("queued" here) and its answer for an
  unknown batch (404 ``{"message"}`` here); whether a refused re-subscription puts the contact in
  ``failure`` (it does not here: the contact is imported, the list status is kept).
* unconfirmed: an unknown list id in an import's ``subscribe`` or an unknown custom field id
  refuses the payload (as a bad email does); the wording of the over-250 refusal.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from providers.emulators.activecampaign_import import EMAIL, ImportBook
from providers.emulators.base import Emulator, Reply, Request
from providers.emulators.quota import Clock, Quota, whole_seconds

API = "/api/3"
PAGE_DEFAULT, PAGE_MAX = 20, 100
SUBSCRIBED, UNSUBSCRIBED = 1, 2
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


def _missing(pointer: str) -> Reply:
    """The documented 422 for an absent attribute."""
    err = {"status": 422, "title": "Missing attribute", "source": {"pointer": pointer}}
    return Reply(422, {"errors": [err]})


def _invalid(title: str, code: str, pointer: str, detail: str = "") -> Reply:
    err = {"title": title, "detail": detail, "code": code, "source": {"pointer": pointer}}
    return Reply(422, {"errors": [err]})


def _not_found(what: str, ident: str) -> Reply:
    return Reply(404, {"message": f"No Result found for {what} with id {ident}"})


class ActiveCampaignEmulator(Emulator):
    name = "activecampaign"

    def __init__(
        self,
        api_token: str = "demo-token",
        lists: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
        tags: Iterable[str] = (),
        *,
        enforce_rate_limits: bool = True,
        requests_per_second: int = 5,
        imports_per_minute: int = 100,
        import_polls: int = 1,
        import_delay: float = 0.0,
        user_email: str = "admin@example.com",
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__()
        self.api_token = api_token
        self.seed_lists = dict(lists if lists is not None else {"1": "Demo list"})
        self.seed_fields = dict(fields if fields is not None else {"1": "Loyalty tier"})
        self.seed_tags = list(tags)
        self.enforce_rate_limits = enforce_rate_limits
        self.user_email = user_email
        self.clock = clock
        self.per_second = Quota(requests_per_second, 1.0, clock)
        self.imports = ImportBook(self, imports_per_minute, import_polls, import_delay, clock)
        self.reset()

    # -- framework hooks ------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.contacts: dict[str, Contact] = {}
            self.by_email: dict[str, str] = {}  # lower-cased email -> contact id
            self.lists: dict[str, str] = dict(self.seed_lists)
            self.fields: dict[str, str] = dict(self.seed_fields)
            self.tags: dict[str, dict[str, str]] = {}  # id -> {tag, tagType, description}
            self.statuses: dict[tuple[str, str], int] = {}  # (contact id, list id) -> 1 | 2
            self.associations: dict[str, tuple[str, str]] = {}  # contactTag id -> (contact, tag)
            self._ids: dict[str, int] = {}
            self.per_second.clear()
            self.imports.clear()
            for name in self.seed_tags:
                self.tag_named(name)

    def authorize(self, req: Request) -> Reply | None:
        if req.headers.get("api-token") != self.api_token:
            detail = "The Api-Token header is missing or not valid for this account."
            return Reply(403, {"errors": [{"status": 403, "title": "Forbidden", "detail": detail}]})
        if self.enforce_rate_limits:
            wait = self.per_second.admit()
            if wait is not None:
                reply = self.rate_limit_reply()
                reply.headers["Retry-After"] = whole_seconds(wait)
                return reply
        self.imports.tick()  # queued imports whose time has come complete before any answer
        return None

    def connection(self, url: str) -> dict[str, str]:
        return {
            "base_url": f"{url}{API}",
            "api_token": self.api_token,
            "lists": ", ".join(f"{i} ({name})" for i, name in self.seed_lists.items()),
        }

    def error_reply(self, status: int, message: str) -> Reply:
        if status == 404 or status == 429 or status >= 500:
            return Reply(status, {"message": message})
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        return Reply(status, {"errors": [{"status": status, "title": title, "detail": message}]})

    def rate_limit_reply(self) -> Reply:
        # the real 429 always says how long to pause; injected faults may override it
        return Reply(429, {"message": "Too Many Requests"}, headers={"Retry-After": "1"})

    def state(self) -> dict[str, Any]:
        with self.lock:
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
                "imports": self.imports.view(),
            }

    # -- state helpers (also for tests and demos) -----------------------------------------
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

    def seed_contact(
        self, email: str, lists: Mapping[str, int] | None = None, tags: Iterable[str] = ()
    ) -> str:
        """Put a contact in place (e.g. one who unsubscribed: ``lists={"1": 2}``); its id."""
        with self.lock:
            contact, _ = self.upsert(email)
            for list_id, status in (lists or {}).items():
                self.statuses[(contact.id, str(list_id))] = int(status)
            for name in tags:
                self.associate(contact.id, self.tag_named(name))
            return contact.id

    # -- paging ---------------------------------------------------------------------------
    def _page(self, req: Request, key: str, items: list[dict[str, Any]], **extra: Any) -> Reply:
        try:
            limit = req.int_arg("limit", PAGE_DEFAULT)
            offset = req.int_arg("offset", 0)
        except ValueError:
            return self.error_reply(400, "limit and offset must be whole numbers")
        limit = min(max(limit, 1), PAGE_MAX)
        offset = max(offset, 0)
        body = {key: items[offset : offset + limit], "meta": {"total": str(len(items))}, **extra}
        return Reply(body=body)

    # -- account, lists, fields, tags -----------------------------------------------------
    @Emulator.route("GET", rf"{API}/users/me")
    def users_me(self, req: Request) -> Reply:
        user = {
            "id": "1",
            "username": "admin",
            "firstName": "Demo",
            "lastName": "Admin",
            "email": self.user_email,
            "phone": "",
            "signature": None,
        }
        return Reply(body={"user": user})

    def _list_view(self, list_id: str) -> dict[str, Any]:
        name = self.lists[list_id]
        return {
            "id": list_id,
            "name": name,
            "stringid": perstag(name).lower().replace("_", "-"),
            "cdate": STAMP,
            "userid": "1",
        }

    @Emulator.route("GET", rf"{API}/lists")
    def get_lists(self, req: Request) -> Reply:
        return self._page(req, "lists", [self._list_view(i) for i in sorted(self.lists, key=int)])

    @Emulator.route("GET", rf"{API}/lists/(?P<id>\d+)")
    def get_list(self, req: Request) -> Reply:
        if req.params["id"] not in self.lists:
            return _not_found("List", req.params["id"])
        return Reply(body={"list": self._list_view(req.params["id"])})

    @Emulator.route("GET", rf"{API}/fields")
    def get_fields(self, req: Request) -> Reply:
        items = [
            {
                "id": i,
                "title": t,
                "type": "text",
                "isrequired": "0",
                "perstag": perstag(t),
                "visible": "1",
                "cdate": STAMP,
            }
            for i, t in sorted(self.fields.items(), key=lambda kv: int(kv[0]))
        ]
        return self._page(req, "fields", items, fieldOptions=[], fieldRels=[])

    def _tag_view(self, tag_id: str) -> dict[str, Any]:
        return {"id": tag_id, **self.tags[tag_id], "cdate": STAMP}

    @Emulator.route("GET", rf"{API}/tags")
    def get_tags(self, req: Request) -> Reply:
        search = (req.arg("search") or "").lower()
        ids = [i for i in sorted(self.tags, key=int) if search in self.tags[i]["tag"].lower()]
        return self._page(req, "tags", [self._tag_view(i) for i in ids])

    @Emulator.route("POST", rf"{API}/tags")
    def create_tag(self, req: Request) -> Reply:
        tag = req.body.get("tag") if isinstance(req.body, dict) else None
        if not isinstance(tag, dict) or not str(tag.get("tag") or "").strip():
            return _missing("/data/attributes/tag")
        name, kind = str(tag["tag"]).strip(), str(tag.get("tagType") or "contact")
        if kind not in ("contact", "template"):
            return _invalid(
                "Invalid tagType",
                "invalid",
                "/data/attributes/tagType",
                "tagType must be contact or template",
            )
        if any(
            t["tag"].lower() == name.lower() and t["tagType"] == kind for t in self.tags.values()
        ):
            return _invalid(
                "Duplicate entry",
                "duplicate",
                "/data/attributes/tag",
                f"A tag named {name!r} already exists",
            )
        tid = self.tag_named(name, kind)
        self.tags[tid]["description"] = str(tag.get("description") or "")
        return Reply(201, {"tag": self._tag_view(tid)})

    # -- contacts -------------------------------------------------------------------------
    @Emulator.route("GET", rf"{API}/contacts")
    def get_contacts(self, req: Request) -> Reply:
        chosen = sorted(self.contacts.values(), key=lambda c: int(c.id))
        email = req.arg("email")
        if email is not None:
            chosen = [c for c in chosen if c.email.lower() == email.strip().lower()]
        ids = set(req.query.get("ids[]", []) + req.query.get("ids", []))
        if ids:
            chosen = [c for c in chosen if c.id in ids]
        tag_id = req.arg("tagid")
        if tag_id is not None:
            carriers = {cid for cid, tid in self.associations.values() if tid == tag_id}
            chosen = [c for c in chosen if c.id in carriers]
        list_id = req.arg("listid")
        if list_id is not None:
            wanted = req.arg("status", "-1")
            chosen = [
                c
                for c in chosen
                if (c.id, list_id) in self.statuses
                and wanted in ("-1", str(self.statuses[(c.id, list_id)]))
            ]
        return self._page(req, "contacts", [c.view() for c in chosen], scoreValues=[])

    @Emulator.route("GET", rf"{API}/contacts/(?P<id>\d+)")
    def get_contact(self, req: Request) -> Reply:
        contact = self.contacts.get(req.params["id"])
        if contact is None:
            return _not_found("Subscriber", req.params["id"])
        return Reply(body={"contact": contact.view()})

    @Emulator.route("POST", rf"{API}/contact/sync")
    def sync_contact(self, req: Request) -> Reply:
        data = req.body.get("contact") if isinstance(req.body, dict) else None
        if not isinstance(data, dict) or not str(data.get("email") or "").strip():
            return _missing("/data/attributes/email")
        email = str(data["email"]).strip()
        kind = self.faults.reject.get(email.lower())
        if kind is not None or not EMAIL.match(email):
            detail = f"rejected: {kind}" if kind else ""
            return _invalid(
                "Contact Email Address is not valid.",
                "email_invalid",
                "/data/attributes/email",
                detail,
            )
        values: dict[str, str] = {}
        for fv in data.get("fieldValues") or []:
            fid = str(fv.get("field")) if isinstance(fv, dict) else ""
            if fid not in self.fields:
                return _invalid(
                    "Field not found",
                    "field_missing",
                    "/data/attributes/fieldValues",
                    f"No custom field with id {fid!r}",
                )
            values[fid] = str(fv.get("value", ""))
        contact, created = self.upsert(
            email,
            first_name=data.get("firstName"),
            last_name=data.get("lastName"),
            phone=data.get("phone"),
            fields=values,
        )
        field_values = [
            {"contact": contact.id, "field": f, "value": v, "id": f"{contact.id}-{f}"}
            for f, v in contact.fields.items()
        ]
        return Reply(
            201 if created else 200, {"fieldValues": field_values, "contact": contact.view()}
        )

    # -- list membership ------------------------------------------------------------------
    def _contact_list_view(self, contact_id: str, list_id: str) -> dict[str, Any]:
        status = self.statuses[(contact_id, list_id)]
        return {
            "contact": contact_id,
            "list": list_id,
            "status": str(status),
            "sdate": STAMP,
            "id": f"{contact_id}-{list_id}",
        }

    @Emulator.route("GET", rf"{API}/contacts/(?P<id>\d+)/contactLists")
    def get_contact_lists(self, req: Request) -> Reply:
        cid = req.params["id"]
        if cid not in self.contacts:
            return _not_found("Subscriber", cid)
        views = [self._contact_list_view(c, lst) for (c, lst) in sorted(self.statuses) if c == cid]
        return Reply(body={"contactLists": views})

    @Emulator.route("POST", rf"{API}/contactLists")
    def set_list_status(self, req: Request) -> Reply:
        data = req.body.get("contactList") if isinstance(req.body, dict) else None
        if not isinstance(data, dict):
            return _missing("/data/attributes/contactList")
        for attr in ("list", "contact", "status"):
            if data.get(attr) in (None, ""):
                return _missing(f"/data/attributes/{attr}")
        cid, list_id, status = str(data["contact"]), str(data["list"]), str(data["status"])
        if status not in ("1", "2"):
            return _invalid(
                "Invalid status",
                "invalid",
                "/data/attributes/status",
                "status is 1 (subscribe) or 2 (unsubscribe)",
            )
        if cid not in self.contacts:
            return _not_found("Subscriber", cid)
        if list_id not in self.lists:
            return _not_found("List", list_id)
        self.statuses[(cid, list_id)] = int(status)  # status 1 re-subscribes: the real API does
        view = self._contact_list_view(cid, list_id)
        view["status"] = int(status)
        return Reply(body={"contacts": [self.contacts[cid].view()], "contactList": view})

    # -- tags on contacts -----------------------------------------------------------------
    def _association_view(self, aid: str) -> dict[str, Any]:
        cid, tid = self.associations[aid]
        return {
            "id": aid,
            "contact": cid,
            "tag": tid,
            "cdate": STAMP,
            "links": {"contact": f"/{aid}/contact", "tag": f"/{aid}/tag"},
        }

    @Emulator.route("POST", rf"{API}/contactTags")
    def add_contact_tag(self, req: Request) -> Reply:
        data = req.body.get("contactTag") if isinstance(req.body, dict) else None
        if not isinstance(data, dict):
            return _missing("/data/attributes/contactTag")
        for attr in ("contact", "tag"):
            if data.get(attr) in (None, ""):
                return _missing(f"/data/attributes/{attr}")
        cid, tid = str(data["contact"]), str(data["tag"])
        for known, what in ((cid in self.contacts, "Contact"), (tid in self.tags, "Tag")):
            if not known:
                err = {"status": 404, "title": "Not Found", "detail": f"{what} not found"}
                return Reply(404, {"errors": [err]})
        aid, _new = self.associate(cid, tid)
        return Reply(201, {"contactTag": self._association_view(aid)})

    @Emulator.route("GET", rf"{API}/contacts/(?P<id>\d+)/contactTags")
    def get_contact_tags(self, req: Request) -> Reply:
        cid = req.params["id"]
        if cid not in self.contacts:
            return _not_found("Subscriber", cid)
        aids = sorted((a for a, (c, _t) in self.associations.items() if c == cid), key=int)
        return Reply(body={"contactTags": [self._association_view(a) for a in aids]})

    @Emulator.route("DELETE", rf"{API}/contactTags/(?P<id>\d+)")
    def remove_contact_tag(self, req: Request) -> Reply:
        if self.associations.pop(req.params["id"], None) is None:
            return _not_found("SubscriberTag", req.params["id"])
        return Reply(body={})

    # -- bulk import ----------------------------------------------------------------------
    @Emulator.route("POST", rf"{API}/import/bulk_import")
    def bulk_import(self, req: Request) -> Reply:
        return self.imports.submit(req.body)

    @Emulator.route("GET", rf"{API}/import/info")
    def import_info(self, req: Request) -> Reply:
        return self.imports.info(req.arg("batchId"))

    def new_batch_id(self) -> str:
        return str(uuid.uuid4())
