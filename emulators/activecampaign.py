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
  ``GET /fields`` [retrieve-fields]; ``GET /tags?search=`` ("contains") [retrieve-all-tags],
  ``GET /tags/{id}`` (404 once the tag is deleted) [retrieve-a-tag];
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
* custom field types: ``field_types`` (id -> type from the reference's list: text, textarea,
  date, datetime, dropdown, ...; text by default) are listed by ``GET /fields``. A ``date`` field
  takes ``YYYY-MM-DD`` and a ``datetime`` ISO 8601 (the reference's examples); anything else is
  refused: 422 ``field_invalid`` on ``/contact/sync``, the payload refused naming the contact
  on an import (unconfirmed wordings; other types take any text).
* unconfirmed: addresses are matched case-insensitively (one contact per lower-cased address:
  ``/contact/sync``, imports, ``GET /contacts?email=``). The reference does not say; this is the
  pessimistic reading, under which a remove sent for one address can untag a contact another
  customer shares (which the syncer must guard against).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from emulators.activecampaign_import import EMAIL, ImportBook
from emulators.activecampaign_model import (
    API,
    STAMP,
    ImportingAccount,
    field_value_problem,
    invalid,
    missing,
    not_found,
    perstag,
)
from emulators.base import Emulator, Reply, Request
from emulators.quota import Clock, Quota, whole_seconds

PAGE_DEFAULT, PAGE_MAX = 20, 100


class ActiveCampaignEmulator(ImportingAccount):
    name = "activecampaign"

    def __init__(
        self,
        api_token: str = "demo-token",
        lists: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
        tags: Iterable[str] = (),
        *,
        field_types: Mapping[str, str] | None = None,
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
        self.field_types = dict(field_types or {})  # custom field id -> type (default text)
        self.enforce_rate_limits = enforce_rate_limits
        self.user_email = user_email
        self.clock = clock
        self.per_second = Quota(requests_per_second, 1.0, clock)
        self.imports = ImportBook(self, imports_per_minute, import_polls, import_delay, clock)
        self.reset()

    # -- framework hooks ------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.clear_state(self.seed_lists, self.seed_fields, self.seed_tags)
            self.per_second.clear()
            self.imports.clear()

    def rate_quota(self) -> Quota:
        """The account's request rate, for the traffic stats (enforced or not)."""
        return Quota(self.per_second.limit, 1.0, self.clock)

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
            return {**self.state_view(), "imports": self.imports.view()}

    def seed_contact(
        self, email: str, lists: Mapping[str, int] | None = None, tags: Iterable[str] = ()
    ) -> str:
        """Put a contact in place (e.g. one who unsubscribed: ``lists={"1": 2}``); its id."""
        with self.lock:
            return self.put_contact(email, lists or {}, tags)

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

    @Emulator.route("GET", rf"{API}/lists")
    def get_lists(self, req: Request) -> Reply:
        return self._page(req, "lists", [self.list_view(i) for i in sorted(self.lists, key=int)])

    @Emulator.route("GET", rf"{API}/lists/(?P<id>\d+)")
    def get_list(self, req: Request) -> Reply:
        if req.params["id"] not in self.lists:
            return not_found("List", req.params["id"])
        return Reply(body={"list": self.list_view(req.params["id"])})

    @Emulator.route("GET", rf"{API}/fields")
    def get_fields(self, req: Request) -> Reply:
        items = [
            {
                "id": i,
                "title": t,
                "type": self.field_types.get(i, "text"),
                "isrequired": "0",
                "perstag": perstag(t),
                "visible": "1",
                "cdate": STAMP,
            }
            for i, t in sorted(self.fields.items(), key=lambda kv: int(kv[0]))
        ]
        return self._page(req, "fields", items, fieldOptions=[], fieldRels=[])

    @Emulator.route("GET", rf"{API}/tags")
    def get_tags(self, req: Request) -> Reply:
        search = (req.arg("search") or "").lower()
        ids = [i for i in sorted(self.tags, key=int) if search in self.tags[i]["tag"].lower()]
        return self._page(req, "tags", [self.tag_view(i) for i in ids])

    @Emulator.route("GET", rf"{API}/tags/(?P<id>\d+)")
    def get_tag(self, req: Request) -> Reply:
        if req.params["id"] not in self.tags:
            return not_found("Tag", req.params["id"])
        return Reply(body={"tag": self.tag_view(req.params["id"])})

    @Emulator.route("POST", rf"{API}/tags")
    def create_tag(self, req: Request) -> Reply:
        tag = req.body.get("tag") if isinstance(req.body, dict) else None
        if not isinstance(tag, dict) or not str(tag.get("tag") or "").strip():
            return missing("/data/attributes/tag")
        name, kind = str(tag["tag"]).strip(), str(tag.get("tagType") or "contact")
        if kind not in ("contact", "template"):
            return invalid(
                "Invalid tagType",
                "invalid",
                "/data/attributes/tagType",
                "tagType must be contact or template",
            )
        if any(
            t["tag"].lower() == name.lower() and t["tagType"] == kind for t in self.tags.values()
        ):
            return invalid(
                "Duplicate entry",
                "duplicate",
                "/data/attributes/tag",
                f"A tag named {name!r} already exists",
            )
        tid = self.tag_named(name, kind)
        self.tags[tid]["description"] = str(tag.get("description") or "")
        return Reply(201, {"tag": self.tag_view(tid)})

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
            return not_found("Subscriber", req.params["id"])
        return Reply(body={"contact": contact.view()})

    @Emulator.route("POST", rf"{API}/contact/sync")
    def sync_contact(self, req: Request) -> Reply:
        data = req.body.get("contact") if isinstance(req.body, dict) else None
        if not isinstance(data, dict) or not str(data.get("email") or "").strip():
            return missing("/data/attributes/email")
        email = str(data["email"]).strip()
        kind = self.faults.reject.get(email.lower())
        if kind is not None or not EMAIL.match(email):
            detail = f"rejected: {kind}" if kind else ""
            return invalid(
                "Contact Email Address is not valid.",
                "email_invalid",
                "/data/attributes/email",
                detail,
            )
        values: dict[str, str] = {}
        for fv in data.get("fieldValues") or []:
            fid = str(fv.get("field")) if isinstance(fv, dict) else ""
            if fid not in self.fields:
                return invalid(
                    "Field not found",
                    "field_missing",
                    "/data/attributes/fieldValues",
                    f"No custom field with id {fid!r}",
                )
            values[fid] = str(fv.get("value", ""))
            why = field_value_problem(self.field_types.get(fid, "text"), values[fid])
            if why is not None:
                return invalid(
                    f"Invalid value for field {self.fields[fid]!r}",
                    "field_invalid",
                    "/data/attributes/fieldValues",
                    why,
                )
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
    @Emulator.route("GET", rf"{API}/contacts/(?P<id>\d+)/contactLists")
    def get_contact_lists(self, req: Request) -> Reply:
        cid = req.params["id"]
        if cid not in self.contacts:
            return not_found("Subscriber", cid)
        views = [self.contact_list_view(c, lst) for (c, lst) in sorted(self.statuses) if c == cid]
        return Reply(body={"contactLists": views})

    @Emulator.route("POST", rf"{API}/contactLists")
    def set_list_status(self, req: Request) -> Reply:
        data = req.body.get("contactList") if isinstance(req.body, dict) else None
        if not isinstance(data, dict):
            return missing("/data/attributes/contactList")
        for attr in ("list", "contact", "status"):
            if data.get(attr) in (None, ""):
                return missing(f"/data/attributes/{attr}")
        cid, list_id, status = str(data["contact"]), str(data["list"]), str(data["status"])
        if status not in ("1", "2"):
            return invalid(
                "Invalid status",
                "invalid",
                "/data/attributes/status",
                "status is 1 (subscribe) or 2 (unsubscribe)",
            )
        if cid not in self.contacts:
            return not_found("Subscriber", cid)
        if list_id not in self.lists:
            return not_found("List", list_id)
        self.statuses[(cid, list_id)] = int(status)  # status 1 re-subscribes: the real API does
        view = self.contact_list_view(cid, list_id)
        view["status"] = int(status)
        return Reply(body={"contacts": [self.contacts[cid].view()], "contactList": view})

    # -- tags on contacts -----------------------------------------------------------------
    @Emulator.route("POST", rf"{API}/contactTags")
    def add_contact_tag(self, req: Request) -> Reply:
        data = req.body.get("contactTag") if isinstance(req.body, dict) else None
        if not isinstance(data, dict):
            return missing("/data/attributes/contactTag")
        for attr in ("contact", "tag"):
            if data.get(attr) in (None, ""):
                return missing(f"/data/attributes/{attr}")
        cid, tid = str(data["contact"]), str(data["tag"])
        for known, what in ((cid in self.contacts, "Contact"), (tid in self.tags, "Tag")):
            if not known:
                err = {"status": 404, "title": "Not Found", "detail": f"{what} not found"}
                return Reply(404, {"errors": [err]})
        aid, _new = self.associate(cid, tid)
        return Reply(201, {"contactTag": self.association_view(aid)})

    @Emulator.route("GET", rf"{API}/contacts/(?P<id>\d+)/contactTags")
    def get_contact_tags(self, req: Request) -> Reply:
        cid = req.params["id"]
        if cid not in self.contacts:
            return not_found("Subscriber", cid)
        aids = sorted((a for a, (c, _t) in self.associations.items() if c == cid), key=int)
        return Reply(body={"contactTags": [self.association_view(a) for a in aids]})

    @Emulator.route("DELETE", rf"{API}/contactTags/(?P<id>\d+)")
    def remove_contact_tag(self, req: Request) -> Reply:
        if self.associations.pop(req.params["id"], None) is None:
            return not_found("SubscriberTag", req.params["id"])
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
