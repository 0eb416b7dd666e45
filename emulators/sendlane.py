"""Sendlane API v2 (/v2): lists, tags, queued list adds confirmed by reading back.

The subset the ``providers.sendlane`` adapter calls.

Construct it with the token it accepts and the lists the account already has (Syncer never
creates lists); the demo defaults are ``SendlaneEmulator(api_token="demo-token",
lists={"1": "Demo list"}, custom_fields={"1": "loyalty_tier"})``. Point the adapter at
``<server url>/v2``.

Endpoints, and where each behaviour comes from (Sendlane's own v2 reference, exported from its
Stoplight project: ``provider-specs/sendlane/sendlane-openapi.yml``, operationIds in brackets;
"design" = ``design/providers.md``; "rate-limits page" = the reference's Rate Limits article):

* ``Authorization: Bearer <token>``; anything else answers 401 (design: "401 may be HTML"; JSON
  ``{"message": "Unauthenticated."}`` by default, an HTML page with ``html_401=True``). Then the
  account quota: 240 requests a minute (rate-limits page), over it 429 without Retry-After
  (design; the page documents no header). ``enforce_rate_limits`` turns it off.
* Listings answer ``limit`` + ``page`` with ``{data, links: {first, last, prev, next}, meta:
  {current_page, from, last_page, path, per_page, to, total}}``; ``links.next`` is null on the
  last page (the reference's Paginator Links / Meta). ``GET /lists`` [get-lists] (default limit
  10, documented), ``GET /lists/{id}``, ``GET /tags`` [get-tags], ``POST /tags {name}`` -> 200
  ``{data: {id, name, ...}}`` [post-tags], ``GET /custom-fields`` [get-custom-fields].
* ``POST /lists/{list_id}/contacts {contacts: [{email, first_name, last_name, phone,
  email_consent, tag_ids, custom_fields: [{id | key, value}]}]}`` -> 202 ``{data: {message}}``
  [post-lists-listId-contacts]: queued, no per-contact result. A queued add is applied once
  ``add_reads`` GET requests have been answered after it and ``add_delay`` seconds have passed
  (settings; by default the next read sees it), so an adapter must confirm by reading back.
  Validation failures answer 422 ``{message: "The given data was invalid.", errors:
  {"contacts.3.email": [...]}}``, keyed by attribute (the reference's error-response), and refuse
  the whole call. ``GET /lists/{id}/contacts``, ``DELETE /lists/{id}/contacts/{contact_id}`` -> 202
  (leave the list, the contact stays), ``GET /lists/{id}/unsubscribed``.
* ``GET /contacts/search`` with ``email`` (query string or, as the reference has it, a JSON body)
  -> ``{data: contact}`` [get-contacts-search]; ``GET /contacts/{id}``; ``GET|POST
  /contacts/{id}/tags {tag_ids}`` [post-contacts-contactId-tags]; ``DELETE
  /contacts/{id}/tags/{tag_id}`` (the tag's id) -> 202; ``POST /contacts/{id}/custom-fields``;
  ``POST /contacts/{id}/unsubscribe`` -> 200 ``{data: {message}}``; ``GET /contacts/unsubscribed``;
  ``GET /tags/{tag_id}/contacts`` [get-tags-tagId-contacts]: who carries a tag.
* ``Faults.reject``: kind ``invalid`` answers the 422 for that contact's email; any other kind
  (``compliance``, ``suppressed``...) is accepted with the 202 and silently dropped when the queue
  is processed: the contact never appears, as nothing per contact is reported.
* Errors other than validation: ``{message, errors: [text]}`` (the reference's "Standard Error").

Unconfirmed (not in the published reference; chosen as noted):

* unconfirmed: the maximum contacts per ``POST /lists/{id}/contacts``: ``max_batch`` (100 by
  default, None for no limit); over it 422 keyed ``contacts``.
* unconfirmed: the 401 and 429 bodies (Laravel-style ``Unauthenticated.`` / ``Too Many
  Attempts.`` here) and how the minute is counted (a token bucket: see ``quota.py``).
* unconfirmed: whether adding an unsubscribed contact to a list with ``email_consent: true``
  re-subscribes it: it does here (``add_resubscribes=True``, the pessimistic reading, so an
  adapter that relies on the provider to keep an unsubscribe fails its tests); set False to keep
  unsubscribes.
* unconfirmed: ``POST /contacts/{id}/unsubscribe`` names no list; it is account-wide here (the
  contact is unsubscribed from every list it is on).
* unconfirmed: custom field value rules (the reference types a field only as a string):
  ``field_types`` (id -> ``number`` | ``date`` | text, the default) make a value that is not a
  number, not a ``YYYY-MM-DD`` date, or text over 255 characters a 422 keyed
  ``contacts.N.custom_fields.M.value`` (list adds) or ``custom_fields.M.value``.
* unconfirmed: the largest ``limit`` (capped at 100 here); the default limit of listings other
  than ``/lists`` (100 here, as documented for ``/custom-fields`` and ``/tags/{id}/contacts``).
* unconfirmed: removing a tag the contact does not carry answers 202 (404 for an unknown contact
  or tag); tag removal and list leave are applied at once although answered 202; a duplicate tag
  name answers 422 ``name: ["The name has already been taken."]``; an unknown contact answers 404
  on ``/contacts/search``.
* unconfirmed: addresses are matched case-insensitively (one contact per lower-cased address:
  list adds and ``/contacts/search``). The reference does not say; this is the reading under
  which a remove sent for one address can untag a contact another customer shares (which the
  syncer must guard against).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from emulators.base import Emulator, Reply, Request
from emulators.quota import Clock, Quota
from emulators.sendlane_model import (
    ACCEPTED,
    Account,
    Job,
    invalid,
    page_of,
)

API = "/v2"
UNAUTHORIZED_HTML = (
    "<!DOCTYPE html><html><head><title>Unauthorized</title></head>"
    "<body><h1>401 Unauthorized</h1></body></html>"
)


class SendlaneEmulator(Emulator):
    name = "sendlane"

    def __init__(
        self,
        api_token: str = "demo-token",
        lists: Mapping[str, str] | None = None,
        custom_fields: Mapping[str, str] | None = None,
        tags: Iterable[str] = (),
        *,
        enforce_rate_limits: bool = True,
        requests_per_minute: int = 240,
        max_batch: int | None = 100,
        add_reads: int = 1,
        add_delay: float = 0.0,
        add_resubscribes: bool = True,
        html_401: bool = False,
        field_types: Mapping[str, str] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__()
        self.api_token = api_token
        self.seed_lists = dict(lists if lists is not None else {"1": "Demo list"})
        self.seed_fields = dict(
            custom_fields if custom_fields is not None else {"1": "loyalty_tier"}
        )
        self.seed_tags = list(tags)
        self.enforce_rate_limits = enforce_rate_limits
        self.max_batch = max_batch
        self.add_reads = add_reads
        self.add_delay = add_delay
        self.html_401 = html_401
        self.clock = clock
        self.per_minute = Quota(requests_per_minute, 60.0, clock)
        self.add_resubscribes = add_resubscribes
        self.field_types = dict(field_types or {})  # custom field id -> text | number | date
        self.reset()

    # -- framework hooks ------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.account = Account(
                self.seed_lists, self.seed_fields, self.add_resubscribes, self.field_types
            )
            for name in self.seed_tags:
                self.account.tag_named(name)
            self.jobs: list[Job] = []
            self.per_minute.clear()

    def rate_quota(self) -> Quota:
        """The account's request rate, for the traffic stats (enforced or not)."""
        return Quota(self.per_minute.limit, 60.0, self.clock)

    def authorize(self, req: Request) -> Reply | None:
        if req.headers.get("authorization") != f"Bearer {self.api_token}":
            if self.html_401:
                return Reply(401, UNAUTHORIZED_HTML, content_type="text/html; charset=UTF-8")
            return Reply(401, {"message": "Unauthenticated."})
        if self.enforce_rate_limits and self.per_minute.admit() is not None:
            return self.rate_limit_reply()
        if req.method.upper() == "GET":
            for job in self.jobs:
                job.reads += 1
        self.tick()
        return None

    def connection(self, url: str) -> dict[str, str]:
        return {
            "base_url": f"{url}{API}",
            "api_token": self.api_token,
            "lists": ", ".join(f"{i} ({name})" for i, name in self.seed_lists.items()),
        }

    def error_reply(self, status: int, message: str) -> Reply:
        return Reply(status, {"message": message, "errors": [message]})

    def rate_limit_reply(self) -> Reply:
        return Reply(429, {"message": "Too Many Attempts.", "errors": ["Too Many Attempts."]})

    def state(self) -> dict[str, Any]:
        with self.lock:
            view = self.account.view()
            view["queued"] = sum(len(j.rows) for j in self.jobs)
            return view

    def tick(self) -> None:
        """Apply the queued adds whose reads and delay are done, oldest first."""
        now = self.clock()
        ready = [j for j in self.jobs if j.reads >= self.add_reads and now - j.at >= self.add_delay]
        for job in ready:
            self.jobs.remove(job)
            self.account.apply(job, self.faults.reject)

    def seed_contact(
        self,
        email: str,
        lists: Iterable[str] = (),
        tags: Iterable[str] = (),
        unsubscribed_from: Iterable[str] = (),
    ) -> int:
        """Put a contact in place (e.g. one who unsubscribed from list 1); its id."""
        with self.lock:
            return self.account.seed(email, lists, tags, unsubscribed_from)

    # -- helpers --------------------------------------------------------------------------
    def _page(self, req: Request, items: list[dict[str, Any]], default: int = 100) -> Reply:
        try:
            limit, page = req.int_arg("limit", default), req.int_arg("page", 1)
        except ValueError:
            return invalid({"limit": ["The limit and page must be integers."]})
        host = req.headers.get("host") or "api.sendlane.com"
        return Reply(body=page_of(items, limit, page, f"http://{host}{req.path}"))

    def _contact(self, req: Request) -> tuple[int, Reply | None]:
        cid = int(req.params["contact"])
        if cid not in self.account.contacts:
            return cid, self.error_reply(404, f"Contact {cid} not found.")
        return cid, None

    def _list(self, req: Request) -> tuple[int, Reply | None]:
        lid = int(req.params["list"])
        if lid not in self.account.lists:
            return lid, self.error_reply(404, f"List {lid} not found.")
        return lid, None

    # -- lists ----------------------------------------------------------------------------
    @Emulator.route("GET", rf"{API}/lists")
    def get_lists(self, req: Request) -> Reply:
        return self._page(req, [self.account.list_view(i) for i in sorted(self.account.lists)], 10)

    @Emulator.route("GET", rf"{API}/lists/(?P<list>\d+)")
    def get_list(self, req: Request) -> Reply:
        lid, missing = self._list(req)
        return missing or Reply(body={"data": self.account.list_view(lid)})

    @Emulator.route("GET", rf"{API}/lists/(?P<list>\d+)/contacts")
    def get_list_contacts(self, req: Request) -> Reply:
        lid, missing = self._list(req)
        members = sorted(self.account.members.get(lid, set()))
        return missing or self._page(req, [self.account.contact_view(c) for c in members])

    @Emulator.route("GET", rf"{API}/lists/(?P<list>\d+)/unsubscribed")
    def get_list_unsubscribed(self, req: Request) -> Reply:
        lid, missing = self._list(req)
        gone = sorted(self.account.unsubscribed.get(lid, set()))
        return missing or self._page(req, [self.account.contact_view(c) for c in gone])

    @Emulator.route("POST", rf"{API}/lists/(?P<list>\d+)/contacts")
    def add_list_contacts(self, req: Request) -> Reply:
        lid, missing = self._list(req)
        if missing:
            return missing
        rows = req.body.get("contacts") if isinstance(req.body, dict) else None
        if not isinstance(rows, list) or not rows:
            return invalid({"contacts": ["The contacts field is required."]})
        if self.max_batch is not None and len(rows) > self.max_batch:
            return invalid(
                {"contacts": [f"The contacts must not have more than {self.max_batch} items."]}
            )
        errors = self.account.validate(rows, self.faults.reject)
        if errors:
            return invalid(errors)
        self.jobs.append(Job(lid, [dict(r) for r in rows], self.clock()))
        return Reply(202, ACCEPTED)

    @Emulator.route("DELETE", rf"{API}/lists/(?P<list>\d+)/contacts/(?P<contact>\d+)")
    def leave_list(self, req: Request) -> Reply:
        lid, missing = self._list(req)
        if missing:
            return missing
        cid, unknown = self._contact(req)
        if unknown:
            return unknown
        self.account.members.get(lid, set()).discard(cid)
        return Reply(202, ACCEPTED)

    # -- tags and custom fields -----------------------------------------------------------
    @Emulator.route("GET", rf"{API}/tags")
    def get_tags(self, req: Request) -> Reply:
        return self._page(req, [self.account.tag_view(t) for t in sorted(self.account.tags)])

    @Emulator.route("POST", rf"{API}/tags")
    def create_tag(self, req: Request) -> Reply:
        name = str(req.body.get("name") or "").strip() if isinstance(req.body, dict) else ""
        if not name:
            return invalid({"name": ["The name field is required."]})
        if self.account.find_tag(name) is not None:
            return invalid({"name": ["The name has already been taken."]})
        return Reply(200, {"data": self.account.tag_view(self.account.tag_named(name))})

    @Emulator.route("GET", rf"{API}/tags/(?P<tag>\d+)/contacts")
    def get_tag_contacts(self, req: Request) -> Reply:
        tid = int(req.params["tag"])
        if tid not in self.account.tags:
            return self.error_reply(404, f"Tag {tid} not found.")
        carriers = sorted(c for c, tags in self.account.tagged.items() if tid in tags)
        return self._page(req, [self.account.contact_view(c) for c in carriers])

    @Emulator.route("GET", rf"{API}/custom-fields")
    def get_custom_fields(self, req: Request) -> Reply:
        fields = [self.account.field_view(f) for f in sorted(self.account.fields)]
        return self._page(req, fields)

    # -- contacts -------------------------------------------------------------------------
    @Emulator.route("GET", rf"{API}/contacts/search")
    def search_contacts(self, req: Request) -> Reply:
        email = req.arg("email")
        if email is None and isinstance(req.body, dict):
            email = req.body.get("email")
        if not email:
            return invalid({"email": ["The email field is required when phone is not present."]})
        cid = self.account.by_email.get(str(email).strip().lower())
        if cid is None:
            return self.error_reply(404, "Contact not found.")
        return Reply(body={"data": self.account.contact_view(cid)})

    @Emulator.route("GET", rf"{API}/contacts/unsubscribed")
    def get_unsubscribed(self, req: Request) -> Reply:
        gone = sorted(c for c, contact in self.account.contacts.items() if contact.unsubscribed)
        return self._page(req, [self.account.contact_view(c) for c in gone])

    @Emulator.route("GET", rf"{API}/contacts/(?P<contact>\d+)")
    def get_contact(self, req: Request) -> Reply:
        cid, unknown = self._contact(req)
        return unknown or Reply(body={"data": self.account.contact_view(cid)})

    @Emulator.route("GET", rf"{API}/contacts/(?P<contact>\d+)/tags")
    def get_contact_tags(self, req: Request) -> Reply:
        cid, unknown = self._contact(req)
        tags = [self.account.tag_view(t) for t in sorted(self.account.tagged.get(cid, set()))]
        return unknown or self._page(req, tags)

    @Emulator.route("POST", rf"{API}/contacts/(?P<contact>\d+)/tags")
    def add_contact_tags(self, req: Request) -> Reply:
        cid, unknown = self._contact(req)
        if unknown:
            return unknown
        ids = req.body.get("tag_ids") if isinstance(req.body, dict) else None
        if not isinstance(ids, list) or not ids:
            return invalid({"tag_ids": ["The tag ids field is required."]})
        bad = {
            f"tag_ids.{i}": [f"The selected tag_ids.{i} is invalid."]
            for i, t in enumerate(ids)
            if not self.account.is_tag(t)
        }
        if bad:
            return invalid(bad)
        self.account.tagged.setdefault(cid, set()).update(int(t) for t in ids)
        tags = [self.account.tag_view(t) for t in sorted(self.account.tagged[cid])]
        return Reply(body={"data": tags})

    @Emulator.route("DELETE", rf"{API}/contacts/(?P<contact>\d+)/tags/(?P<tag>\d+)")
    def remove_contact_tag(self, req: Request) -> Reply:
        cid, unknown = self._contact(req)
        if unknown:
            return unknown
        tid = int(req.params["tag"])
        if tid not in self.account.tags:
            return self.error_reply(404, f"Tag {tid} not found.")
        self.account.tagged.get(cid, set()).discard(tid)
        return Reply(202, ACCEPTED)

    @Emulator.route("POST", rf"{API}/contacts/(?P<contact>\d+)/custom-fields")
    def set_custom_fields(self, req: Request) -> Reply:
        cid, unknown = self._contact(req)
        if unknown:
            return unknown
        items = req.body.get("custom_fields") if isinstance(req.body, dict) else None
        if not isinstance(items, list) or not items:
            return invalid({"custom_fields": ["The custom fields field is required."]})
        errors = self.account.field_errors(items, "custom_fields")
        if errors:
            return invalid(errors)
        self.account.set_fields(cid, items)
        return Reply(body={"data": self.account.contact_view(cid)["custom_fields"]})

    @Emulator.route("POST", rf"{API}/contacts/(?P<contact>\d+)/unsubscribe")
    def unsubscribe(self, req: Request) -> Reply:
        cid, unknown = self._contact(req)
        if unknown:
            return unknown
        self.account.unsubscribe(cid)
        return Reply(body={"data": {"message": "Contact unsubscribed successfully"}})
