"""A stateful emulator of the Mailchimp Marketing API 3.0 subset Syncer's adapter uses.

Base URL ``{server.url}/3.0`` (give the adapter or the SDK that as its host). Demo credentials:
API key ``demo-us1`` (Basic auth with any user name and the key as password, or
``Authorization: Bearer <key>``); audience ``demo-list`` ("Demo audience").

Endpoints (paths relative to ``/3.0``) and where each behaviour comes from. "spec" is the
Marketing API 3.0.85 reference in ``provider-specs/mailchimp`` (descriptions, enums, limits are
Mailchimp's text); "SDK" is the official ``mailchimp_marketing`` package; "design" is the design
notes on providers, which cite the API reference and error glossary.

* ``GET /``, ``GET /ping``: account root; ``{"health_status": "Everything's Chimpy!"}`` (spec).
* ``GET /lists`` (``count`` default 10, max 1000; ``offset``), ``GET /lists/{id}`` with
  ``double_optin`` and ``stats`` (spec). ``fields`` / ``exclude_fields`` (comma-separated dot
  paths; the SDK joins arrays with commas) are applied to every GET answer (spec).
* ``POST /lists/{id}`` batch subscribe: ``members`` at most 500 ("Up to 500 members", spec),
  else 400. ``update_existing`` false: existing members answer ``ERROR_CONTACT_EXISTS``
  (spec enum); true: the given ``status`` is applied to them as is (design). Addresses that are
  not addresses, or listed in ``faults.reject`` as ``invalid``, answer "looks fake or invalid"
  (design, error glossary); subscribing (``subscribed``/``pending``) a member who is
  ``unsubscribed`` or ``cleaned`` answers the compliance-state error (design);
  ``faults.reject`` kinds ``compliance`` and ``forgotten`` force those errors.
  ``skip_merge_validation`` (spec): without it, a missing required merge field is an error.
* ``GET|POST /lists/{id}/members``, ``GET|PUT|PATCH|DELETE /lists/{id}/members/{hash}``: hash is
  the MD5 of the lower-cased address (spec); PUT takes ``status_if_new`` (required with
  ``email_address``, spec) and answers 400 "Member Exists" when the URL hash is not the body
  address's (design); DELETE archives (spec: "Archive a list member"), answering 204.
* ``GET|POST /lists/{id}/members/{hash}/tags`` (``{tags: [{name, status: active|inactive}]}``,
  204; an unknown active tag is created, spec).
* ``GET|POST /lists/{id}/segments`` (``type`` filter; POST needs ``static_segment`` or
  ``options``; only static segments (tags) exist here), ``GET /lists/{id}/segments/{seg}``,
  ``POST /lists/{id}/segments/{seg}`` (``members_to_add`` / ``members_to_remove`` at most 500
  each; "Any emails provided that are not present on the list will be ignored", spec),
  ``GET /lists/{id}/segments/{seg}/members`` (paged; unsubscribed, cleaned and transactional
  members only with ``include_unsubscribed`` / ``include_cleaned`` / ``include_transactional``,
  spec), ``GET /lists/{id}/merge-fields`` (the default audience fields), ``GET
  /lists/{id}/tag-search?name=`` ("If no name is provided, will return all tags", spec).
* ``POST /lists/{id}/merge-fields`` creates a merge field (spec ``MergeField1``: ``name``, ``type``
  from the spec's enum, optional ``tag``, ``options.date_format``). Values are checked against
  their field's type on batch subscribe, POST, PUT and PATCH (Mailchimp's merge field docs: text
  at most 255 characters, number, date in the field's ``date_format``, default MM/DD/YYYY,
  birthday MM/DD): a value that does not fit is "Your merge fields were invalid." naming the
  field (batch: a member error with ``field`` / ``field_message``). Unknown tags are ignored.
* Errors: ``application/problem+json`` ``{type, title, status, detail, instance}`` (spec
  ``ProblemDetailDocument``); 401 "API Key Invalid"; 404 "Resource Not Found"; at most 10
  requests in flight ("10 simultaneous connections", design), beyond: 429 "Too Many Requests"
  with no Retry-After (design: Mailchimp sends none).

Unconfirmed (chosen, not documented):

* unconfirmed: the exact ``detail`` / ``error`` wordings other than "looks fake or invalid",
  "Member Exists", "Member In Compliance State", "Forgotten Email Not Subscribed".
* unconfirmed: the 400 body for more than 500 members / emails, and for ``count`` over 1000
  (here: "Invalid Resource" naming the field).
* unconfirmed: segment batch answers for an address already in (added) or not in (removed) the
  segment: here neither listed nor an error. Addresses not in the audience get one error entry
  ``{email_addresses: [...], error: "... not a member of this list ..."}``; ``error_count``
  counts addresses.
* unconfirmed: an unknown segment id answers 404 on GET and 400 "A Static Segment with an id
  of ... does not exist for this list." on the batch and members calls (as reported publicly).
* unconfirmed: archived members are out of the audience (not listed, not taggable) but keep
  their status and tags; batch subscribe or PUT brings them back as new members; re-subscribing
  an archived member who was unsubscribed or cleaned is still the compliance error.
* unconfirmed: ``tags`` on batch-subscribe members is ignored (not in the spec); duplicate tag
  names answer 400; tag-search matches a case-insensitive substring.
* ``/batches`` is not emulated: the adapter does not call it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from emulators.base import Emulator, Reply, Request
from emulators.mailchimp_members import NOT_VALID, MemberRoutes
from emulators.mailchimp_model import (
    DEFAULT_MERGE_FIELDS,
    MERGE_TYPES,
    Audience,
    Member,
    MergeField,
    invalid,
    problem,
    subscriber_hash,
    truthy,
)

DEMO_API_KEY = "demo-us1"
DEMO_LISTS: dict[str, str] = {"demo-list": "Demo audience"}
MAX_PAGE = 1000
V3 = r"/3\.0"
LIST = V3 + r"/lists/(?P<list_id>[^/]+)"
SEGMENT = LIST + r"/segments/(?P<seg>[^/]+)"


class MailchimpEmulator(MemberRoutes, Emulator):
    """Mailchimp Marketing API 3.0: audiences, members, tags. See the module docstring."""

    name: ClassVar[str] = "mailchimp"
    max_concurrency = 10

    def __init__(
        self,
        api_key: str = DEMO_API_KEY,
        lists: Mapping[str, str] | None = None,
        *,
        double_optin: Iterable[str] = (),
        required_merge_fields: Iterable[str] = (),
        merge_fields: Iterable[tuple[str, str, str]] = (),
        account_name: str = "Demo account",
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.account_name = account_name
        self._seed_lists = dict(DEMO_LISTS if lists is None else lists)
        self._double_optin = set(double_optin)
        self._required = {t.upper() for t in required_merge_fields}
        self._extra_fields = tuple(merge_fields)  # (tag, name, type) after the default fields
        self.audiences: dict[str, Audience] = {}
        self._next_segment = 1
        self.reset()

    # -- framework hooks ------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.audiences = {
                list_id: Audience(
                    list_id,
                    name,
                    double_optin=list_id in self._double_optin,
                    merge_fields=[
                        MergeField(i + 1, tag, label, kind, tag in self._required)
                        for i, (tag, label, kind) in enumerate(
                            DEFAULT_MERGE_FIELDS + self._extra_fields
                        )
                    ],
                )
                for list_id, name in self._seed_lists.items()
            }
            self._next_segment = 1

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                list_id: {
                    "name": a.name,
                    "double_optin": a.double_optin,
                    "tags": {s.name: s.id for s in a.segments.values()},
                    "members": {
                        m.email.lower(): {
                            "status": m.status,
                            "archived": m.archived,
                            "merge_fields": dict(m.merge_fields),
                            "tags": sorted(a.segments[t].name for t in m.tags if t in a.segments),
                        }
                        for m in a.members.values()
                    },
                }
                for list_id, a in self.audiences.items()
            }

    def authorize(self, req: Request) -> Reply | None:
        header = req.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        key = ""
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(value).decode().partition(":")[2]
            except ValueError:
                key = ""
        elif scheme.lower() in ("bearer", "apikey"):
            key = value.strip()
        if not header:
            return problem(401, "Your request did not include an API key.", "API Key Missing")
        if key != self.api_key:
            return problem(
                401,
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
                "API Key Invalid",
            )
        return None

    def error_reply(self, status: int, message: str) -> Reply:
        return problem(status, message)

    def connection(self, url: str) -> dict[str, str]:
        return {
            "base_url": f"{url}/3.0",
            "api_key": self.api_key,
            "lists": ", ".join(f"{i} ({a.name})" for i, a in self.audiences.items()),
        }

    def rate_limit_reply(self) -> Reply:
        return problem(429, "You have exceeded the limit of 10 simultaneous connections.")

    # -- helpers for tests and demos ------------------------------------------------------

    def seed_member(
        self,
        list_id: str,
        email: str,
        status: str = "subscribed",
        *,
        merge_fields: Mapping[str, str] | None = None,
        tags: Iterable[str] = (),
    ) -> None:
        """Put a member straight into an audience (e.g. one who unsubscribed in the UI)."""
        with self.lock:
            audience = self.audiences[list_id]
            member = Member(email, status, dict(merge_fields or {}))
            for name in tags:
                member.tags.add(self._tag(audience, name).id)
            audience.members[member.id] = member

    def tag_members(self, list_id: str, tag: str) -> set[str]:
        """Lower-cased addresses carrying ``tag`` (archived members excluded)."""
        with self.lock:
            audience = self.audiences[list_id]
            seg = audience.segment_by_name(tag)
            if seg is None:
                return set()
            return {m.email.lower() for m in audience.segment_members(seg.id)}

    # -- account and audiences ------------------------------------------------------------

    @Emulator.route("GET", V3 + r"/?")
    def get_root(self, req: Request) -> Reply:
        total = sum(
            1 for a in self.audiences.values() for m in a.members.values() if not m.archived
        )
        return self._ok(
            req,
            {
                "account_id": subscriber_hash(self.account_name)[:20],
                "login_id": "1",
                "account_name": self.account_name,
                "email": "owner@example.com",
                "username": "demo",
                "role": "owner",
                "pricing_plan_type": "monthly",
                "total_subscribers": total,
            },
        )

    @Emulator.route("GET", V3 + r"/ping/?")
    def ping(self, req: Request) -> Reply:
        return self._ok(req, {"health_status": "Everything's Chimpy!"})

    @Emulator.route("GET", V3 + r"/lists/?")
    def get_lists(self, req: Request) -> Reply:
        views = [a.view() for a in self.audiences.values()]
        page = self._page(req, views)
        if isinstance(page, Reply):
            return page
        return self._ok(req, {"lists": page, "total_items": len(views), "_links": []})

    @Emulator.route("GET", LIST + r"/?")
    def get_list(self, req: Request) -> Reply:
        audience = self._audience(req)
        return audience if isinstance(audience, Reply) else self._ok(req, audience.view())

    @Emulator.route("GET", LIST + r"/merge-fields/?")
    def get_merge_fields(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        views = [f.view(audience.id) for f in audience.merge_fields]
        if req.arg("required") is not None:
            views = [v for v in views if v["required"] == truthy(req.arg("required"))]
        page = self._page(req, views)
        if isinstance(page, Reply):
            return page
        body = {"merge_fields": page, "list_id": audience.id, "total_items": len(views)}
        return self._ok(req, body)

    @Emulator.route("POST", LIST + r"/merge-fields/?")
    def add_merge_field(self, req: Request) -> Reply:
        """Create a merge field ``{name, type, tag?, options?, required?}`` (spec): the tag
        defaults to the name's first 10 letters and digits, upper-cased; a tag already used
        answers 400."""
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        body = req.body if isinstance(req.body, dict) else {}
        name, kind = body.get("name"), body.get("type")
        if not isinstance(name, str) or not name.strip() or kind not in MERGE_TYPES:
            return invalid(NOT_VALID, [{"field": "name/type", "message": "Required."}])
        raw = body.get("tag") or "".join(ch for ch in name if ch.isalnum())[:10]
        tag = str(raw).upper()
        if not tag or len(tag) > 10 or not tag.replace("_", "").isalnum():
            return invalid(NOT_VALID, [{"field": "tag", "message": "Up to 10 letters/digits."}])
        if any(f.tag.upper() == tag for f in audience.merge_fields):
            return invalid(f'A Merge Field with the tag "{tag}" already exists for this list.')
        given = body.get("options")
        options: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
        merge_id = max((f.merge_id for f in audience.merge_fields), default=0) + 1
        created = MergeField(merge_id, tag, name, str(kind), bool(body.get("required")), options)
        audience.merge_fields.append(created)
        return self._ok(req, created.view(audience.id))

    # -- tags (static segments) -----------------------------------------------------------

    @Emulator.route("GET", LIST + r"/tag-search/?")
    def tag_search(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        needle = (req.arg("name") or "").casefold()
        found = [
            {"id": s.id, "name": s.name}
            for s in audience.segments.values()
            if needle in s.name.casefold()
        ]
        return self._ok(req, {"tags": found, "total_items": len(found)})

    @Emulator.route("GET", LIST + r"/segments/?")
    def get_segments(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        kind = req.arg("type")
        segments = list(audience.segments.values()) if kind in (None, "", "static") else []
        views = [audience.segment_view(s) for s in segments]
        page = self._page(req, views)
        if isinstance(page, Reply):
            return page
        body = {"segments": page, "list_id": audience.id, "total_items": len(views)}
        return self._ok(req, body)

    @Emulator.route("POST", LIST + r"/segments/?")
    def create_segment(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        body = req.body if isinstance(req.body, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            return invalid(
                "The resource submitted could not be validated.",
                [{"field": "name", "message": "This value should not be blank."}],
            )
        emails = body.get("static_segment")
        if emails is None:
            if "options" in body:
                return invalid("This emulator holds static segments (tags) only.")
            return invalid('Must provide either an "options" field or a "static_segment" field')
        if not isinstance(emails, list) or len(emails) > 500:
            return invalid(
                "The resource submitted could not be validated.",
                [{"field": "static_segment", "message": "At most 500 email addresses."}],
            )
        if audience.segment_by_name(name) is not None:
            return invalid(f"A tag named {name!r} already exists in this audience.")
        seg = self._tag(audience, name)
        for email in emails:
            member = audience.present(str(email))
            if member is not None:
                member.tags.add(seg.id)
        return self._ok(req, audience.segment_view(seg))

    @Emulator.route("GET", SEGMENT + r"/?")
    def get_segment(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        seg = self._segment(audience, req.params["seg"])
        return seg if isinstance(seg, Reply) else self._ok(req, audience.segment_view(seg))

    @Emulator.route("POST", SEGMENT + r"/?")
    def batch_segment(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        seg = self._segment(audience, req.params["seg"], status=400)
        if isinstance(seg, Reply):
            return seg
        body = req.body if isinstance(req.body, dict) else {}
        lists: dict[str, list[str]] = {}
        for key in ("members_to_add", "members_to_remove"):
            value = body.get(key) or []
            if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
                return invalid(
                    "The resource submitted could not be validated.",
                    [{"field": key, "message": "Schema describes array of strings."}],
                )
            if len(value) > 500:
                return invalid(
                    "The resource submitted could not be validated.",
                    [{"field": key, "message": "A maximum of 500 members can be sent."}],
                )
            lists[key] = value
        added, removed, absent = [], [], []
        for email in lists["members_to_add"]:
            member = audience.present(email)
            if member is None:
                absent.append(email)
            elif seg.id not in member.tags:
                member.tags.add(seg.id)
                added.append(audience.member_view(member))
        for email in lists["members_to_remove"]:
            member = audience.present(email)
            if member is None:
                absent.append(email)
            elif seg.id in member.tags:
                member.tags.discard(seg.id)
                removed.append(audience.member_view(member))
        errors = []
        if absent:
            errors.append(
                {
                    "email_addresses": absent,
                    "error": "Email addresses not found: not a member of this list.",
                }
            )
        return self._ok(
            req,
            {
                "members_added": added,
                "members_removed": removed,
                "errors": errors,
                "total_added": len(added),
                "total_removed": len(removed),
                "error_count": len(absent),
                "_links": [],
            },
        )

    @Emulator.route("GET", SEGMENT + r"/members/?")
    def get_segment_members(self, req: Request) -> Reply:
        audience = self._audience(req)
        if isinstance(audience, Reply):
            return audience
        seg = self._segment(audience, req.params["seg"], status=400)
        if isinstance(seg, Reply):
            return seg
        hidden = {
            status
            for status, flag in (
                ("unsubscribed", "include_unsubscribed"),
                ("cleaned", "include_cleaned"),
                ("transactional", "include_transactional"),
            )
            if not truthy(req.arg(flag))
        }
        members = [m for m in audience.segment_members(seg.id) if m.status not in hidden]
        page = self._page(req, members)
        if isinstance(page, Reply):
            return page
        views = [audience.member_view(m) for m in page]
        return self._ok(req, {"members": views, "total_items": len(members), "_links": []})
