"""Mailchimp Marketing API v3: a destination is (audience id, tag); the tag is a static segment.

Every call goes through the official SDK (``client.PooledApiClient``), one at a time through
``call_with_retries``: at most ``CONNECTIONS`` (10, Mailchimp's per-user cap) in flight per
account, retried with backoff on 429, bare 403, 5xx, timeouts and dropped connections.

Calls per batch of up to 500 changes, and why:

* ADD: ``POST /lists/{id}`` (batch subscribe, ``update_existing: false``,
  ``skip_merge_validation=true``) creates the new members with a status from consent
  (``subscribed``; ``pending`` on a double opt-in audience; ``transactional`` without consent).
  ``update_existing: false`` is Mailchimp's documented switch for "do not change existing
  members' subscription status": existing members answer ``ERROR_CONTACT_EXISTS`` and are left as
  they are (their merge fields too). Any other per-member error (invalid or fake address,
  compliance state, forgotten email) is REJECTED, not retryable, with Mailchimp's words. Then
  ``POST /lists/{id}/segments/{seg}`` ``members_to_add`` tags everyone not rejected. Unsubscribed
  or cleaned members are tagged too: a static segment holds any audience member and adding one
  changes no status (they are never mailed), so they are APPLIED; nobody is ever re-subscribed.
  APPLIED comes from ``members_added`` (or a segment error saying the address is already there);
  an address the segment call neither added nor refused is read back (``GET .../members/{hash}``,
  its ``tags``): APPLIED only if it carries the tag, else REJECTED and retryable. Batch subscribe
  cannot tag (``tags`` per member is not in the spec), hence two calls.
* UPDATE: one batch subscribe ``POST /lists/{id}`` per batch, ``update_existing: true`` and
  members WITHOUT ``status``: Mailchimp applies a status only when one is given, so the update
  changes the merge fields and nothing else, and an address no longer in the audience answers a
  per-member error (a new member needs a status), REJECTED as not in the audience. Names are
  always sent on UPDATE ("" clears a removed name), with the destination's mapped ``fields``.
* Mapped fields (``fields``): formatted for their merge field's type (``fields.py``), read once
  per audience per process (``GET /lists/{id}/merge-fields``, one call for up to 1,000 fields);
  new members get them in the batch subscribe; an add that finds the contact already there
  (``ERROR_CONTACT_EXISTS``) sends them in one more batch subscribe without status for those
  members, before tagging (a refused value is a rejection and the member is not tagged).
* REMOVE: ``POST /lists/{id}/segments/{seg}`` ``members_to_remove``. Addresses Mailchimp does not
  answer for are not in the audience (the segment endpoint ignores those) or not in the segment:
  both already the wanted state, so APPLIED. ``on_leave: unsubscribe`` never creates a member:
  one batch subscribe (``update_existing: true``, status ``unsubscribed``) for the members the
  segment call removed (they exist), one ``PATCH .../members/{hash}`` for each address it neither
  removed nor refused (404: absent, APPLIED), nothing for those refused as not in the audience;
  ``archive`` one ``DELETE
  /lists/{id}/members/{hash}`` per member (archives; ``delete-permanent`` is never called).

Once per audience and tag per process: ``GET /lists/{id}`` (double opt-in; a NotFound naming the
audience) and ``GET /lists/{id}/segments?type=static`` (+ ``POST`` when the tag is new). So 10,000
adds cost 20 x 2 + 2..3 calls, and 2,000 removes 4 calls. A tag deleted in Mailchimp while the
process runs (its segment call answers 404, or 400 "A Static Segment ... does not exist") is
found or created again and the batch retried once (``_with_tag``); a second failure is raised.

Limits. ``batch_size`` 500 (the documented cap of both bulk endpoints). ``max_concurrency`` 4
batches: each holds one connection at a time, so 4 leave room under the 10-connection cap for a
``--full`` read, a confirm or a second sync of the same account. ``requests_per_second`` 0 (no
spacing): Mailchimp documents no per-second quota, only the 10-connection cap (which the shared
limiter enforces per API key) and 429s when it is exceeded (retried with backoff). A spacing
guard was the binding limit in the benchmark (at 100 ms a call, 10/s made a 5,000-member sync
take 4x the time its 4 concurrent batches need).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import chain, islice
from typing import ClassVar, Self, TypeVar

import requests

from providers.accounts import require
from providers.base import (
    AccountInfo,
    Change,
    Connection,
    Destination,
    Discovery,
    Limits,
    ListInfo,
    MergeFieldInfo,
    Outcome,
    Provider,
    TagInfo,
)
from providers.errors import BadConfiguration, NotFound, RefusedRequest
from providers.http import RateLimiter, RetryPolicy
from providers.mailchimp.answers import (
    SEGMENT_GONE,
    Audience,
    AudienceItem,
    Health,
    MergeFieldItem,
    Root,
    Segment,
)
from providers.mailchimp.calls import PAGE, PROVIDER, Calls
from providers.mailchimp.fields import COMPATIBLE, FieldType, MergeTypes
from providers.mailchimp.members import Members
from providers.tags import TagIds

T = TypeVar("T")
BATCH = 500  # members per batch subscribe / per members_to_add / per members_to_remove


def segment_gone(err: Exception) -> bool:
    """The tag's segment was deleted: a 404, or the 400 "A Static Segment ... does not exist"."""
    if isinstance(err, RefusedRequest):
        return bool(SEGMENT_GONE.search(str(err)))
    return isinstance(err, NotFound)


class Mailchimp(Provider):
    """One Mailchimp account (API key ``<key>-<dc>``); ``base_url`` points the SDK elsewhere."""

    name: ClassVar[str] = PROVIDER
    credential_keys: ClassVar[tuple[str, ...]] = ("api_key",)
    limits = Limits(batch_size=BATCH, requests_per_second=0.0, max_concurrency=4)

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        page_size: int = PAGE,
    ) -> None:
        super().__init__()
        self.calls = Calls(
            api_key,
            limits=self.limits,
            stats=self.stats,
            base_url=base_url,
            session=session,
            sleep=sleep,
            retry=retry,
            limiter=limiter,
            page_size=page_size,
        )
        self.lists = self.calls.lists
        self.host = self.calls.host
        self.data_center = self.calls.data_center
        self._lock = threading.RLock()
        self._audiences: dict[str, Audience] = {}
        self._item_types: dict[str, list[MergeFieldItem]] = {}
        # (list id, tag) -> segment id; a forgotten segment forgets its audience too (re-read,
        # so a gone audience is named)
        self.tags: TagIds[tuple[str, str]] = TagIds(
            self._find_segment,
            on_forget=self._forget_audience,
            lock=self._lock,
        )
        self._merge_types: dict[str, MergeTypes] = {}
        self.members = Members(self.calls, self._audience, self._types)

    @classmethod
    def connect(cls, credentials: Mapping[str, str], via: Connection) -> Self:
        require(cls, credentials, "Account > Extras > API keys")
        key = credentials["api_key"]
        if not via.base_url and ("-" not in key or not key.rsplit("-", 1)[1].isalnum()):
            raise BadConfiguration(
                "api_key must end with its data center, like ...-us21 (copy the whole key)",
                provider=cls.name,
            )
        return cls(key, base_url=via.base_url, session=via.session, sleep=via.sleep)

    # --- account -------------------------------------------------------------------------
    def check(self) -> AccountInfo:
        try:
            root = self.calls.answer(
                Root,
                "GET /",
                lambda: self.calls.root.get_root(fields=["account_id", "account_name"]),
            )
        except NotFound:  # an API without the account root still answers the health check
            health = self.calls.answer(Health, "GET /ping", lambda: self.calls.ping.get())
            return AccountInfo(self.name, self.host, health.health_status)
        who = root.account_name or str(root.account_id)
        return AccountInfo(self.name, who, f"account id {root.account_id} at {self.host}")

    def list_exists(self, list_id: str) -> bool:
        """``GET /lists/{id}`` (1 call): False when Mailchimp answers 404."""
        try:
            self.calls.answer(
                AudienceItem,
                f"GET /lists/{list_id}",
                lambda: self.lists.get_list(list_id, fields=["id", "name"]),
            )
        except NotFound:
            return False
        return True

    def discover(self) -> Discovery:
        size = self.calls.page_size
        lists = [
            ListInfo(str(a.id), a.name, a.stats.member_count if a.stats else None)
            for a in self.calls.pages(
                "GET /lists",
                lambda o: self.lists.get_all_lists(count=size, offset=o),
                "lists",
                AudienceItem,
            )
        ]
        tags: list[TagInfo] = []
        fields: list[MergeFieldInfo] = []
        for audience in lists:
            for seg in self._static_segments(audience.id):
                tags.append(TagInfo(str(seg.id), seg.name, audience.id, seg.member_count))
            fields.extend(self._merge_fields(audience.id))
        return Discovery(lists, tags, fields)

    def _merge_fields(self, list_id: str) -> Iterator[MergeFieldInfo]:
        size = self.calls.page_size
        pages = self.calls.pages(
            f"GET /lists/{list_id}/merge-fields",
            lambda o: self.lists.get_list_merge_fields(list_id, count=size, offset=o),
            "merge_fields",
            MergeFieldItem,
        )
        for f in pages:
            self._item_types.setdefault(list_id, []).append(f)
            yield MergeFieldInfo(f.tag, f.name, f.type, f.required, list_id)

    def _types(self, list_id: str) -> MergeTypes:
        """The audience's merge fields with their types (read once per process)."""
        with self._lock:
            if list_id not in self._merge_types:
                self._item_types[list_id] = []
                for _ in self._merge_fields(list_id):
                    pass
                self._merge_types[list_id] = MergeTypes(
                    list_id,
                    (
                        FieldType(f.tag, f.type, f.options.date_format if f.options else None)
                        for f in self._item_types[list_id]
                    ),
                )
            return self._merge_types[list_id]

    def fields_of(self, list_id: str) -> list[MergeFieldInfo]:
        """``GET /lists/{id}/merge-fields`` (paged)."""
        return list(self._merge_fields(list_id))

    def compatible(self, value_type: str, field_type: str) -> bool:
        return field_type in COMPATIBLE.get(value_type, (field_type,))

    def create_field(self, list_id: str, name: str, value_type: str) -> MergeFieldInfo:
        """``POST /lists/{id}/merge-fields`` with tag ``name``: a number field for numbers and
        money, a date field for dates, else text."""
        kind = {"number": "number", "money": "number", "count": "number", "date": "date"}
        body = {"tag": name.upper(), "name": name, "type": kind.get(value_type, "text")}
        made = self.calls.answer(
            MergeFieldItem,
            f"POST /lists/{list_id}/merge-fields",
            lambda: self.lists.add_list_merge_field(list_id, body),
        )
        with self._lock:
            self._merge_types.pop(list_id, None)
        return MergeFieldInfo(made.tag, made.name, made.type, made.required, list_id)

    def _static_segments(self, list_id: str) -> Iterator[Segment]:
        size = self.calls.page_size
        return self.calls.pages(
            f"GET /lists/{list_id}/segments",
            lambda o: self.lists.list_segments(list_id, type="static", count=size, offset=o),
            "segments",
            Segment,
        )

    def _audience(self, list_id: str) -> Audience:
        """The audience (read once): its ``double_optin``; NotFound naming it when it is gone."""
        with self._lock:
            if list_id not in self._audiences:
                try:
                    self._audiences[list_id] = self.calls.answer(
                        Audience,
                        f"GET /lists/{list_id}",
                        lambda: self.lists.get_list(list_id, fields=["id", "name", "double_optin"]),
                    )
                except NotFound as err:
                    raise NotFound(
                        f"audience {list_id!r} not found: check the destination's list id "
                        "(`syncer profiles discover` lists them)",
                        provider=self.name,
                        status=404,
                    ) from err
            return self._audiences[list_id]

    def _forget_audience(self, key: tuple[str, str]) -> None:
        self._audiences.pop(key[0], None)

    def ensure_tag(self, destination: Destination) -> str:
        return self.tags.get((destination.list_id, destination.tag))

    def _find_segment(self, key: tuple[str, str]) -> str:
        list_id, tag = key
        self._audience(list_id)
        wanted = tag.strip().casefold()
        for s in self._static_segments(list_id):
            if s.name.strip().casefold() == wanted:
                return str(s.id)
        created = self.calls.answer(
            Segment,
            f"POST /lists/{list_id}/segments",
            lambda: self.lists.create_segment(list_id, {"name": tag, "static_segment": []}),
        )
        return str(created.id)

    def _with_tag(self, destination: Destination, call: Callable[[str], T]) -> T:
        """``call(segment id)``; if the segment is gone (deleted in Mailchimp while this process
        runs: a 404, or the 400 "A Static Segment ... does not exist"), the cached id is
        forgotten, the tag found or created again and ``call`` retried once. A second failure
        is raised."""
        return self.tags.with_tag((destination.list_id, destination.tag), call, segment_gone)

    # --- membership ----------------------------------------------------------------------
    def apply_batch(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        """The batch, retried once on a recreated tag if its segment was deleted (``_with_tag``):
        every step is idempotent (existing members answer ERROR_CONTACT_EXISTS, a member already
        untagged is APPLIED), so a rerun only costs the calls."""
        if len(changes) > BATCH:
            raise ValueError(f"a Mailchimp batch holds at most {BATCH} changes, got {len(changes)}")
        list_id, on_leave = destination.list_id, destination.on_leave
        return self._with_tag(
            destination, lambda seg: self.members.apply(list_id, on_leave, seg, changes)
        )

    def read_members(self, destination: Destination) -> Iterator[str]:
        def start(seg: str) -> Iterator[str]:
            emails = self.calls.segment_emails(destination.list_id, seg)
            return chain(list(islice(emails, 1)), emails)  # the first page is read here

        return self._with_tag(destination, start)
