"""The ActiveCampaign adapter: account, tags, and the one-member and remove paths.

The bulk path lives in ``bulk.py``; the module docstring of the package counts the calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import quote

from providers.accounts import answer, http_client, require
from providers.activecampaign.answers import (
    Contact,
    ContactAnswer,
    ContactLists,
    Contacts,
    ContactTagAnswer,
    ContactTags,
    FieldItem,
    ListItem,
    Meta,
    TagAnswer,
    TagItem,
    UserAnswer,
)
from providers.activecampaign.bulk import BulkImporter
from providers.activecampaign.errors import PROVIDER, classify
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
from providers.errors import BadConfiguration, MemberRejected, NotFound, Unsupported
from providers.fields import FieldIds
from providers.http import HttpClient
from providers.paging import Page, at_key, by_offset
from providers.refs import make_ref, parse_ref
from providers.shapes import Shape
from providers.tags import TagIds

T = TypeVar("T")
S = TypeVar("S", bound=Shape)
PAGE = 100  # the documented maximum ``limit``
BULK_MAX = 250  # contacts per bulk import


def reject(change: Change, reason: str) -> Outcome:
    return Outcome(change, OutcomeStatus.REJECTED, reason=reason, retryable=False)


class ActiveCampaign(Provider):
    name = PROVIDER
    credential_keys: ClassVar[tuple[str, ...]] = ("api_url", "api_token")
    # No per-list archive (only deleting the contact, which Syncer never does).
    on_leave_supported: ClassVar[tuple[OnLeave, ...]] = (OnLeave.UNTAG, OnLeave.UNSUBSCRIBE)
    # 250 = the bulk import's cap; two batches in flight so one can poll while the other sends;
    # the account's limiter keeps the account at 5 requests/s whatever the concurrency.
    limits = Limits(batch_size=BULK_MAX, requests_per_second=5, max_concurrency=2)

    def __init__(
        self,
        http: HttpClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        bulk_min: int = 10,
        poll_interval: float = 1.0,
        poll_attempts: int = 10,
    ) -> None:
        super().__init__()
        self.http = http
        self.stats = http.stats
        self.bulk_min = bulk_min
        self.tags = TagIds(self._find_tag)
        self.fields = FieldIds(
            self._field_names,
            provider=self.name,
            known_as="a custom field id, name or personalization tag",
        )
        self.bulk = BulkImporter(
            http,
            fields=self.fields,
            one=self.upsert_one,
            sleep=sleep,
            interval=poll_interval,
            attempts=poll_attempts,
        )

    @classmethod
    def connect(cls, credentials: Mapping[str, str], via: Connection) -> Self:
        require(
            cls,
            credentials,
            "api_url like https://ACCOUNT.api-us1.com, api_token from Settings > Developer",
        )
        if not credentials["api_url"].startswith(("https://", "http://")):
            raise BadConfiguration(
                "credentials.api_url must be the account URL, like https://ACCOUNT.api-us1.com",
                provider=cls.name,
            )
        root = (via.base_url or credentials["api_url"]).rstrip("/")
        if via.base_url is None and not root.endswith("/api/3"):
            root += "/api/3"
        headers = {"Api-Token": credentials["api_token"]}
        http = http_client(cls, root, headers, via, classify=classify)
        return cls(http, sleep=http.sleep)

    # --- account -------------------------------------------------------------------------
    def answer(self, shape: type[S], method: str, path: str, **kw: Any) -> S:
        return answer(self.http, shape, method, path, **kw)

    def check(self) -> AccountInfo:
        user = self.answer(UserAnswer, "GET", "/users/me").user
        return AccountInfo(self.name, user.email, f"user id {user.id}")

    def pages(
        self, path: str, key: str, item: type[S], params: Mapping[str, Any] | None = None
    ) -> Iterator[S]:
        """Every ``item`` of a ``limit`` + ``offset`` listing (total in ``meta.total``)."""
        what = f"GET {path}"

        def fetch(offset: int) -> Page[S]:
            body = self.http.json(
                "GET", path, params={**(params or {}), "limit": PAGE, "offset": offset}
            )
            items = at_key(body, key, list[item], provider=self.name, what=what)  # type: ignore[valid-type]
            meta = at_key(body, "meta", Meta, provider=self.name, what=what)
            return Page(items, total=meta.total)

        return by_offset(fetch)

    def list_exists(self, list_id: str) -> bool:
        """``GET /lists/{id}`` (1 call): False when the API answers 404."""
        try:
            self.http.json("GET", f"/lists/{quote(list_id, safe='')}")
        except NotFound:
            return False
        return True

    def discover(self) -> Discovery:
        lists = [ListInfo(str(x.id), x.name) for x in self.pages("/lists", "lists", ListItem)]
        tags = [
            TagInfo(str(t.id), t.tag)
            for t in self.pages("/tags", "tags", TagItem)
            if t.tagType == "contact"
        ]
        fields = [
            MergeFieldInfo(f.perstag or str(f.id), f.title, f.type, str(f.isrequired) == "1")
            for f in self.pages("/fields", "fields", FieldItem)
        ]
        return Discovery(lists, tags, fields)

    def _field_names(self) -> Iterator[tuple[str, str | None]]:
        """(id, personalization tag) and (id, title) of every custom field: a mapping may name
        a field by either, or by its id."""
        for f in self.pages("/fields", "fields", FieldItem):
            yield str(f.id), f.perstag
            yield str(f.id), f.title or None

    def fields_of(self, list_id: str) -> list[MergeFieldInfo]:
        """``GET /fields`` (paged): each custom field under its personalization tag and title,
        and again under its id."""
        found: list[MergeFieldInfo] = []
        for f in self.pages("/fields", "fields", FieldItem):
            required = str(f.isrequired) == "1"
            found.append(MergeFieldInfo(f.perstag or str(f.id), f.title, f.type, required))
            found.append(MergeFieldInfo(str(f.id), f.title, f.type, required))
        return found

    def compatible(self, value_type: str, field_type: str) -> bool:
        """Date fields take dates (YYYY-MM-DD) or text; every other type takes any value."""
        return field_type not in ("date", "datetime") or value_type in ("date", "text")

    def ensure_tag(self, destination: Destination) -> str:
        if destination.on_leave == OnLeave.ARCHIVE:
            raise Unsupported(
                "on_leave: archive has no ActiveCampaign equivalent (there is no per-list "
                "archive and Syncer never deletes contacts); use untag or unsubscribe",
                provider=self.name,
            )
        return self.tag_id(destination.tag)

    def with_tag(self, name: str, call: Callable[[str], T]) -> T:
        """``call(tag id)``; if it answers NotFound, the cached id may name a tag deleted in the
        ActiveCampaign UI (or since recreated by the bulk importer, which adds tags by name):
        the id is forgotten, the tag found or created again and ``call`` retried once. A second
        NotFound is raised."""
        return self.tags.with_tag(name, call)

    def live_tag_id(self, name: str) -> str:
        """The tag's id, checked with ``GET /tags/{id}`` (1 call) so a stale cached id is
        replaced: for the calls where a deleted tag answers no NotFound of its own (reading or
        filtering associations by tag id finds nothing, which would look like success)."""

        def exists(tag_id: str) -> str:
            self.answer(TagAnswer, "GET", f"/tags/{tag_id}")
            return tag_id

        return self.with_tag(name, exists)

    def tag_id(self, name: str) -> str:
        """The id of contact tag ``name`` (case-insensitive), created when missing; cached."""
        return self.tags.get(name)

    def _find_tag(self, name: str) -> str:
        for tag in self.pages("/tags", "tags", TagItem, {"search": name}):  # "contains" search
            if tag.tag.lower() == name.lower():
                return str(tag.id)
        body = {"tag": {"tag": name, "tagType": "contact", "description": "Managed by Syncer"}}
        created = self.answer(TagAnswer, "POST", "/tags", json=body, expected=(200, 201))
        return str(created.tag.id)

    def read_members(self, destination: Destination) -> Iterator[str]:
        tag_id = self.live_tag_id(destination.tag)
        for contact in self.pages("/contacts", "contacts", Contact, {"tagid": tag_id}):
            yield contact.email.lower()

    # --- membership ----------------------------------------------------------------------
    def apply_batch(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        if any(c.kind == ChangeKind.REMOVE for c in changes):
            self.ensure_tag(destination)  # on_leave: archive raises Unsupported
        upserts = [c for c in changes if c.kind != ChangeKind.REMOVE]
        outcomes: list[Outcome] = []
        if len(upserts) >= self.bulk_min:
            outcomes += self.bulk.send(destination, upserts)
        else:
            outcomes += [self.upsert_one(destination, c) for c in upserts]
        removes = [c for c in changes if c.kind == ChangeKind.REMOVE]
        checked: list[str] = []

        def tag_id() -> str:  # checked once per batch, and only if a remove needs the tag id
            if not checked:
                checked.append(self.live_tag_id(destination.tag))
            return checked[0]

        outcomes += [self.remove_one(destination, c, tag_id) for c in removes]
        return outcomes

    def confirm(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        """Poll the imports that were still running; changes without an import are resent."""
        by_batch: dict[str, list[Change]] = {}
        for change in changes:
            by_batch.setdefault(parse_ref(change.provider_ref).get("b", ""), []).append(change)
        outcomes: list[Outcome] = []
        for batch_id, group in by_batch.items():
            if batch_id:
                outcomes += self.bulk.settle(batch_id, group, attempts=1)
            else:
                outcomes += self.apply_batch(destination, group)
        return outcomes

    # --- one member ----------------------------------------------------------------------
    def upsert_one(self, destination: Destination, change: Change) -> Outcome:
        """``contact/sync``; for an ADD also list membership (never over an unsubscribe) and
        the tag. 3-4 calls for an ADD, 1 for an UPDATE."""
        member = change.member
        contact: dict[str, Any] = {"email": member.email}
        if member.first_name is not None:
            contact["firstName"] = member.first_name
        if member.last_name is not None:
            contact["lastName"] = member.last_name
        fields = self.field_values(member)
        if fields:
            contact["fieldValues"] = [{"field": k, "value": v} for k, v in fields.items()]
        try:
            synced = self.answer(
                ContactAnswer,
                "POST",
                "/contact/sync",
                json={"contact": contact},
                expected=(200, 201),
            )
            contact_id = str(synced.contact.id)
            if change.kind == ChangeKind.UPDATE:
                ref = change.provider_ref or make_ref(c=contact_id)
                return Outcome(change, OutcomeStatus.APPLIED, provider_ref=ref)
            if member.consent:
                lists = self.answer(ContactLists, "GET", f"/contacts/{contact_id}/contactLists")
                known = {str(x.list) for x in lists.contactLists}
                if destination.list_id not in known:  # any existing status is left alone
                    self.list_status(destination.list_id, contact_id, 1)
            association = self.with_tag(destination.tag, lambda t: self.add_tag(contact_id, t))
        except MemberRejected as err:
            return reject(change, err.message)
        ref = make_ref(c=contact_id, ct=association)
        return Outcome(change, OutcomeStatus.APPLIED, provider_ref=ref)

    def add_tag(self, contact_id: str, tag_id: str) -> str | None:
        """``POST /contactTags``; a 422 (already tagged) is answered from the existing ones."""
        body = {"contactTag": {"contact": contact_id, "tag": tag_id}}
        try:
            tagged = self.answer(
                ContactTagAnswer, "POST", "/contactTags", json=body, expected=(200, 201)
            )
        except MemberRejected:
            existing = self.associations(contact_id, tag_id)
            if not existing:
                raise
            return existing[0]
        return str(tagged.contactTag.id)

    def list_status(self, list_id: str, contact_id: str, status: int) -> None:
        body = {"contactList": {"list": list_id, "contact": contact_id, "status": status}}
        self.http.request("POST", "/contactLists", json=body, expected=(200, 201))

    def remove_one(
        self, destination: Destination, change: Change, tag_id: Callable[[], str] | None = None
    ) -> Outcome:
        """Delete the contactTag association (never the tag); 1 call with a stored association
        id, 2 with a stored contact id, 3 with neither (+1 a batch: ``tag_id`` checks the tag
        still exists before associations are looked up by it). A 404 means already gone."""
        ref = parse_ref(change.provider_ref)
        contact_id = ref.get("c")
        try:
            if not contact_id:
                found = self.answer(
                    Contacts, "GET", "/contacts", params={"email": change.member.email}
                )
                if not found.contacts:  # no such contact: nothing carries the tag
                    return Outcome(change, OutcomeStatus.APPLIED)
                contact_id = str(found.contacts[0].id)
            exists = True
            deleted = bool(ref.get("ct")) and self._delete_association(ref["ct"])
            if not deleted:  # no stored association, or it was not there any more: look them up
                live = tag_id() if tag_id else self.live_tag_id(destination.tag)
                found_ids = self.associations(contact_id, live)
                exists = found_ids is not None
                for association in found_ids or []:
                    self._delete_association(association)
            if exists and destination.on_leave == OnLeave.UNSUBSCRIBE:
                self.unsubscribe(destination.list_id, contact_id)
        except MemberRejected as err:
            return reject(change, err.message)
        return Outcome(change, OutcomeStatus.APPLIED, provider_ref=make_ref(c=contact_id))

    def unsubscribe(self, list_id: str, contact_id: str) -> None:
        """Status 2 on ``list_id``, only for a contact on that list and not unsubscribed yet
        (``GET /contacts/{id}/contactLists`` first): ``POST /contactLists`` would otherwise add
        a contact that was never on the list, as unsubscribed."""
        try:
            body = self.answer(ContactLists, "GET", f"/contacts/{contact_id}/contactLists")
        except NotFound:
            return  # the contact is gone: nothing to unsubscribe
        statuses = {str(x.list): str(x.status) for x in body.contactLists}
        if statuses.get(list_id) not in (None, "2"):
            self.list_status(list_id, contact_id, 2)

    def _delete_association(self, association: str) -> bool:
        """True if it was deleted now, False if it was already gone (404)."""
        resp = self.http.request("DELETE", f"/contactTags/{association}", expected=(200, 204, 404))
        return resp.status_code != 404

    def associations(self, contact_id: str, tag_id: str) -> list[str] | None:
        """The contact's contactTag ids for ``tag_id``; None if the contact is gone."""
        try:
            body = self.answer(ContactTags, "GET", f"/contacts/{contact_id}/contactTags")
        except NotFound:
            return None
        return [str(a.id) for a in body.contactTags if str(a.tag) == tag_id]

    # --- custom fields -------------------------------------------------------------------
    def field_values(self, member: Member) -> dict[str, str]:
        """``merge_fields`` keyed by custom field id (keys may be ids or personalization tags)."""
        return self.fields.values(member)
