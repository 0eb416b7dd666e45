"""The Sendlane adapter; the package docstring says which calls it makes and why."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from itertools import chain, islice
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import quote

from providers.accounts import answer, http_client, require, whole_number
from providers.base import (
    AccountInfo,
    Change,
    ChangeKind,
    Connection,
    Destination,
    Discovery,
    Limits,
    ListInfo,
    Member,
    MergeFieldInfo,
    OnLeave,
    Outcome,
    OutcomeStatus,
    Provider,
    TagInfo,
)
from providers.errors import MemberRejected, NotFound, RefusedRequest
from providers.fields import FieldIds
from providers.http import HttpClient
from providers.paging import Page as Listing
from providers.paging import by_page_number
from providers.refs import make_ref, parse_ref
from providers.sendlane.answers import (
    Contact,
    Created,
    FieldItem,
    Found,
    ListsPage,
    Named,
    Page,
    Ref,
    TagItem,
)
from providers.sendlane.errors import PROVIDER, ValidationFailed, classify
from providers.shapes import Shape, parse
from providers.tags import TagIds

T = TypeVar("T")
S = TypeVar("S", bound=Shape)
BASE_URL = "https://api.sendlane.com/v2"
# A 422 keyed ``tag_ids.N`` (or ``contacts.N.tag_ids.M``): the tag id no longer exists.
_TAG_KEY = re.compile(r"^(contacts\.\d+\.)?tag_ids(\.\d+)?$")
PAGE = 100
DEFAULT_BATCH = 100  # unconfirmed maximum contacts per list call
# Batches in flight (option ``concurrency``): 2 by default, so one batch's list call is sent
# while another waits for its answer; at most the 4 requests a second the account allows (more
# batches in flight would only wait at the account's rate limiter).
DEFAULT_CONCURRENCY = 2
MAX_CONCURRENCY = 4
ACCOUNT = ""  # the unsubscribed cache's key for the account-wide set (list ids are never empty)


class TagRefused(NotFound):
    """A 422 refusing the cached tag id: the tag was deleted in Sendlane."""


TEXT_MAX = 255  # characters of a text custom field value (the emulator's rule; unconfirmed)


def _id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


class Sendlane(Provider):
    name = PROVIDER
    credential_keys: ClassVar[tuple[str, ...]] = ("api_token",)
    option_keys: ClassVar[tuple[str, ...]] = ("batch_size", "concurrency")
    limits = Limits(
        batch_size=DEFAULT_BATCH, requests_per_second=4, max_concurrency=DEFAULT_CONCURRENCY
    )

    @classmethod
    def option_max(cls, key: str) -> int:
        return MAX_CONCURRENCY if key == "concurrency" else super().option_max(key)

    def __init__(
        self,
        http: HttpClient,
        *,
        batch_size: int = DEFAULT_BATCH,
        concurrency: int = DEFAULT_CONCURRENCY,
        cache_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.http = http
        self.stats = http.stats
        self.limits = replace(self.limits, batch_size=batch_size, max_concurrency=concurrency)
        self.cache_ttl = cache_ttl
        self.clock = clock
        self._lock = threading.Lock()
        self.tags = TagIds(self._find_tag)
        self._field_types: dict[str, str] = {}  # custom field id -> type, read with the ids
        self.fields = FieldIds(
            self._field_names, provider=self.name, known_as="a custom field name or id"
        )
        self._unsub: dict[str, tuple[float, dict[str, str]]] = {}  # list id -> (read at, map)
        self._carriers: dict[str, tuple[float, dict[str, str]]] = {}  # tag id -> (read at, map)

    @classmethod
    def connect(cls, credentials: Mapping[str, str], via: Connection) -> Self:
        """``api_token``; optional ``batch_size`` (contacts per list call, default 100) and
        ``concurrency`` (batches in flight, default 2)."""
        require(cls, credentials, "Account > API in the Sendlane app")
        size = whole_number(cls, credentials, "batch_size", DEFAULT_BATCH)
        concurrency = whole_number(cls, credentials, "concurrency", DEFAULT_CONCURRENCY)
        http = http_client(
            cls,
            via.base_url or BASE_URL,
            {"Authorization": f"Bearer {credentials['api_token']}"},
            via,
            classify=classify,
            limits=replace(cls.limits, max_concurrency=concurrency),
        )
        return cls(http, batch_size=size, concurrency=concurrency)

    # --- account -------------------------------------------------------------------------
    def answer(self, shape: type[S], method: str, path: str, **kw: Any) -> S:
        return answer(self.http, shape, method, path, **kw)

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a ``limit`` + ``page`` listing; stops when ``links.next`` is null."""

        def fetch(number: int) -> Listing[dict[str, Any]]:
            body = self.answer(Page, "GET", path, params={"limit": PAGE, "page": number})
            return Listing(body.data, more=bool(body.links.next))

        return by_page_number(fetch)

    def items(self, path: str, item: type[S]) -> Iterator[S]:
        """``pages``, each item checked against ``item``."""
        for raw in self.pages(path):
            yield parse(item, raw, provider=self.name, what=f"GET {path}", at="data")

    def check(self) -> AccountInfo:
        body = self.answer(ListsPage, "GET", "/lists", params={"limit": 1, "page": 1})
        total = body.meta.total if body.meta and body.meta.total is not None else len(body.data)
        return AccountInfo(self.name, self.http.base_url, f"API token accepted; {total} lists")

    def list_exists(self, list_id: str) -> bool:
        """``GET /lists/{id}`` (1 call): False when the API answers 404."""
        try:
            self.http.json("GET", f"/lists/{quote(list_id, safe='')}")
        except NotFound:
            return False
        return True

    def discover(self) -> Discovery:
        lists = [ListInfo(str(x.id), x.name) for x in self.items("/lists", Named)]
        tags = [
            TagInfo(str(t.id), t.name, member_count=t.audience_count)
            for t in self.items("/tags", TagItem)
        ]
        fields = [
            MergeFieldInfo(f.name, f.name, f.type) for f in self.items("/custom-fields", FieldItem)
        ]
        return Discovery(lists, tags, fields)

    def _field_names(self) -> Iterator[tuple[str, str | None]]:
        for f in self.items("/custom-fields", FieldItem):
            if f.id is not None:
                self._field_types[str(f.id)] = f.type
                yield str(f.id), f.name or None

    def fields_of(self, list_id: str) -> list[MergeFieldInfo]:
        """``GET /custom-fields`` (paged): each field under its name and again under its id."""
        found: list[MergeFieldInfo] = []
        for f in self.items("/custom-fields", FieldItem):
            found.append(MergeFieldInfo(f.name, f.name, f.type))
            if f.id is not None:
                found.append(MergeFieldInfo(str(f.id), f.name, f.type))
        return found

    def compatible(self, value_type: str, field_type: str) -> bool:
        """Number fields take numbers (or text), date fields dates (or text), text anything."""
        if field_type == "number":
            return value_type in ("number", "money", "count", "text")
        if field_type == "date":
            return value_type in ("date", "text")
        return True

    def ensure_tag(self, destination: Destination) -> str:
        return self.tag_id(destination.tag)

    def tag_id(self, name: str) -> str:
        """The id of tag ``name`` (case-insensitive), created when missing."""
        return self.tags.get(name)

    def _find_tag(self, name: str) -> str:
        for tag in self.items("/tags", Named):
            if tag.name.lower() == name.lower():
                return str(tag.id)
        created = self.http.json("POST", "/tags", json={"name": name}, expected=(200, 201))
        body = created if "data" in created else {"data": created}  # the tag, wrapped or bare
        return str(parse(Created, body, provider=self.name, what="POST /tags").data.id)

    def with_tag(self, name: str, call: Callable[[str], T], gone: type[NotFound] = NotFound) -> T:
        """``call(tag id)``; if it answers ``gone`` (NotFound on the tag's own endpoints;
        ``TagRefused`` where a NotFound could be about the list), the tag was deleted in Sendlane
        while this process runs: the cached id is forgotten, the tag found or created again and
        ``call`` retried once. A second failure is raised."""
        return self.tags.with_tag(name, call, lambda err: isinstance(err, gone))

    @staticmethod
    def _tag_refused(err: ValidationFailed) -> TagRefused | None:
        """A 422 that refuses the tag id (it was deleted), for ``with_tag``."""
        keys = err.errors.keys() if isinstance(err.errors, dict) else ()
        if any(_TAG_KEY.match(str(k)) for k in keys):
            return TagRefused(f"tag id refused: {err.message}", provider=PROVIDER, status=422)
        return None

    def read_members(self, destination: Destination) -> Iterator[str]:
        def start(tag_id: str) -> Iterator[Contact]:
            contacts = self.items(f"/tags/{tag_id}/contacts", Contact)
            return chain(list(islice(contacts, 1)), contacts)  # the first page is read here

        for contact in self.with_tag(destination.tag, start):
            yield contact.email.lower()

    # --- membership ----------------------------------------------------------------------
    def apply_batch(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        upserts = [c for c in changes if c.kind != ChangeKind.REMOVE]
        outcomes: list[Outcome] = []
        if upserts:
            outcomes += self.with_tag(
                destination.tag, lambda t: self._upsert(destination, t, upserts), TagRefused
            )
        # a 404 on the tag's removal already means "not carried": no retry needed
        tag_id = self.tag_id(destination.tag)
        for change in changes:
            if change.kind == ChangeKind.REMOVE:
                outcomes.append(self._remove(destination, tag_id, change))
        return outcomes

    def _upsert(
        self, destination: Destination, tag_id: str, upserts: list[Change]
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        in_list = self._cached(self._unsub, destination.list_id, self._read_unsubscribed)
        anywhere = self._cached(self._unsub, ACCOUNT, self._read_unsubscribed)
        unsubscribed = {
            e: cid
            for c in upserts
            if (cid := in_list.get(e := c.member.email.lower()) or anywhere.get(e))
        }  # this batch's unsubscribed members only
        direct = [c for c in upserts if c.member.email.lower() in unsubscribed]
        listed = [c for c in upserts if c.member.email.lower() not in unsubscribed]
        for c in direct:
            outcomes.append(self._tag_directly(c, unsubscribed[c.member.email.lower()], tag_id))
        if listed:
            outcomes += self._add_to_list(destination, tag_id, listed)
        return outcomes

    def confirm(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        """APPLIED for the members found carrying the tag; the others stay ACCEPTED."""
        carriers = self.with_tag(
            destination.tag,
            lambda tag_id: self._cached(self._carriers, tag_id, self._read_carriers),
        )
        outcomes = []
        for change in changes:
            contact_id = carriers.get(change.member.email.lower())
            if contact_id:
                outcomes.append(
                    Outcome(change, OutcomeStatus.APPLIED, provider_ref=make_ref(c=contact_id))
                )
            else:
                outcomes.append(
                    Outcome(change, OutcomeStatus.ACCEPTED, provider_ref=change.provider_ref)
                )
        return outcomes

    def _row(self, change: Change, tag_id: str) -> dict[str, Any]:
        member = change.member
        row: dict[str, Any] = {"email": member.email}
        if member.first_name:  # the API refuses empty names (minLength 1)
            row["first_name"] = member.first_name
        if member.last_name:
            row["last_name"] = member.last_name
        if change.kind == ChangeKind.ADD and member.consent:
            row["email_consent"] = True
        row["tag_ids"] = [_id(tag_id)]
        fields = self.field_values(member)
        if fields:
            row["custom_fields"] = [{"id": _id(k), "value": v} for k, v in fields.items()]
        return row

    def _add_to_list(
        self, destination: Destination, tag_id: str, changes: list[Change]
    ) -> list[Outcome]:
        pending, rejected = list(changes), []
        for _ in range(3):
            payload = {"contacts": [self._row(c, tag_id) for c in pending]}
            try:
                self.http.request(
                    "POST",
                    f"/lists/{destination.list_id}/contacts",
                    json=payload,
                    expected=(200, 201, 202),
                )
            except ValidationFailed as err:
                if gone := self._tag_refused(err):
                    raise gone from err
                named = {i: why for i, why in err.members().items() if 0 <= i < len(pending)}
                if not named:
                    raise RefusedRequest(err.message, provider=self.name, status=422) from err
                rejected += [
                    Outcome(pending[i], OutcomeStatus.REJECTED, reason=why, retryable=False)
                    for i, why in named.items()
                ]
                pending = [c for i, c in enumerate(pending) if i not in named]
                if not pending:
                    return rejected
                continue
            self._carriers.pop(tag_id, None)  # the read-back must see this add
            accepted = [
                Outcome(c, OutcomeStatus.ACCEPTED, provider_ref=c.provider_ref) for c in pending
            ]
            return rejected + accepted
        raise RefusedRequest("the list endpoint kept refusing the batch", provider=self.name)

    def _tag_directly(self, change: Change, contact_id: str, tag_id: str) -> Outcome:
        """An unsubscribed contact: tag (and custom fields) without touching list membership."""
        try:
            fields = self.field_values(change.member)
            if fields:
                body = {"custom_fields": [{"id": _id(k), "value": v} for k, v in fields.items()]}
                self.http.request("POST", f"/contacts/{contact_id}/custom-fields", json=body)
            self.http.request(
                "POST", f"/contacts/{contact_id}/tags", json={"tag_ids": [_id(tag_id)]}
            )
        except ValidationFailed as err:
            if gone := self._tag_refused(err):
                raise gone from err
            return Outcome(change, OutcomeStatus.REJECTED, reason=err.message)
        except MemberRejected as err:
            return Outcome(change, OutcomeStatus.REJECTED, reason=err.message)
        return Outcome(change, OutcomeStatus.APPLIED, provider_ref=make_ref(c=contact_id))

    def _remove(self, destination: Destination, tag_id: str, change: Change) -> Outcome:
        contact_id = parse_ref(change.provider_ref).get("c") or self.find_contact(
            change.member.email
        )
        if contact_id is None:  # no such contact: nothing carries the tag
            return Outcome(change, OutcomeStatus.APPLIED)
        gone = (200, 202, 204, 404)  # 404: already untagged / not in the list / contact gone
        self.http.request("DELETE", f"/contacts/{contact_id}/tags/{tag_id}", expected=gone)
        if destination.on_leave == OnLeave.UNSUBSCRIBE:
            self.http.request("POST", f"/contacts/{contact_id}/unsubscribe", expected=gone)
        elif destination.on_leave == OnLeave.ARCHIVE:
            path = f"/lists/{destination.list_id}/contacts/{contact_id}"
            self.http.request("DELETE", path, expected=gone)
        return Outcome(change, OutcomeStatus.APPLIED, provider_ref=make_ref(c=contact_id))

    def find_contact(self, email: str) -> str | None:
        """The contact id of ``email`` (``GET /contacts/search``), None if there is none."""
        query = {"email": email}  # the spec puts it in a GET body; sent as a query too
        try:
            body = self.answer(Found, "GET", "/contacts/search", params=query, json=query)
        except NotFound:
            return None
        found = body.data[0] if isinstance(body.data, list) and body.data else body.data
        return str(found.id) if isinstance(found, Ref) else None

    # --- cached reads --------------------------------------------------------------------
    def _cached(
        self,
        cache: dict[str, tuple[float, dict[str, str]]],
        key: str,
        read: Callable[[str], dict[str, str]],
    ) -> dict[str, str]:
        with self._lock:
            hit = cache.get(key)
            if hit is not None and self.clock() - hit[0] < self.cache_ttl:
                return hit[1]
            value = read(key)
            cache[key] = (self.clock(), value)
            return value

    def _read_unsubscribed(self, list_id: str) -> dict[str, str]:
        """Email -> contact id of the list's unsubscribed (``ACCOUNT``: the account-wide ones)."""
        path = "/contacts/unsubscribed" if list_id == ACCOUNT else f"/lists/{list_id}/unsubscribed"
        return {c.email.lower(): str(c.id) for c in self.items(path, Contact)}

    def _read_carriers(self, tag_id: str) -> dict[str, str]:
        return {c.email.lower(): str(c.id) for c in self.items(f"/tags/{tag_id}/contacts", Contact)}

    def field_values(self, member: Member) -> dict[str, str]:
        """``merge_fields`` keyed by custom field id (keys may be ids or field names); text
        cut to 255 characters (numbers and ISO dates are sent as Syncer writes them)."""
        values = self.fields.values(member)
        return {
            k: v[:TEXT_MAX] if self._field_types.get(k, "text") not in ("number", "date") else v
            for k, v in values.items()
        }
