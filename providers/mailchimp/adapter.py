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
* UPDATE: ``PATCH /lists/{id}/members/{hash}`` with ``merge_fields`` only, one call per member.
  Batch subscribe with ``update_existing: true`` applies whatever ``status`` it is given (and
  creates absent members with it), so it cannot update names without touching status; the
  ``/batches`` endpoint would be one call but asynchronous, with results in a tar.gz to fetch.
  Names are always sent on UPDATE ("" clears a removed name).
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

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from itertools import chain, islice
from typing import Any, ClassVar, Self, TypeVar

import requests
from mailchimp_marketing.api.lists_api import ListsApi
from mailchimp_marketing.api.ping_api import PingApi
from mailchimp_marketing.api.root_api import RootApi

from providers.base import (
    AccountInfo,
    Change,
    ChangeKind,
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
from providers.errors import (
    BadConfiguration,
    MemberRejected,
    NotFound,
    RefusedRequest,
    UnexpectedAnswer,
)
from providers.http import RateLimiter, RetryPolicy, call_with_retries, shared_limiter
from providers.mailchimp.answers import (
    ABSENT,
    ALREADY,
    APPLIED,
    SEGMENT_GONE,
    Audience,
    AudienceItem,
    BatchAnswer,
    Health,
    MemberRef,
    MemberTags,
    MergeFieldItem,
    Root,
    Segment,
    SegmentAnswer,
    SegmentCount,
    Verdict,
    emails_in,
    member_errors,
    merge_fields,
    rejected,
    segment_errors,
    subscriber_hash,
)
from providers.mailchimp.client import (
    CONNECTIONS,
    TIMEOUT,
    PooledApiClient,
    pooled_session,
    result,
    translate,
)
from providers.shapes import Shape, parse

T = TypeVar("T")
S = TypeVar("S", bound=Shape)
PAGE = 1000  # documented maximum ``count``
BATCH = 500  # members per batch subscribe / per members_to_add / per members_to_remove
TRUE = "true"  # query flags: the SDK would send Python's "True"


class Mailchimp(Provider):
    """One Mailchimp account (API key ``<key>-<dc>``); ``base_url`` points the SDK elsewhere."""

    name: ClassVar[str] = "mailchimp"
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
        self.page_size = min(max(1, page_size), PAGE)
        dc = api_key.rsplit("-", 1)[1] if "-" in api_key else ""
        self.host = (base_url or f"https://{dc}.api.mailchimp.com/3.0").rstrip("/")
        api = PooledApiClient({"api_key": api_key, "timeout": TIMEOUT}, pooled_session(session))
        api.host = self.host
        api.server = ""  # the SDK would otherwise replace "server" anywhere in the URL
        self.lists = ListsApi(api)
        self.root = RootApi(api)
        self.ping = PingApi(api)
        self.data_center = dc
        self._secrets = (api_key,)
        self._sleep = sleep
        self._retry = retry
        account = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        self._limiter = limiter or shared_limiter(
            f"mailchimp:{account}", replace(self.limits, max_concurrency=CONNECTIONS)
        )
        self._lock = threading.RLock()
        self._audiences: dict[str, Audience] = {}
        self._tags: dict[tuple[str, str], str] = {}

    @classmethod
    def from_credentials(
        cls,
        credentials: Mapping[str, str],
        *,
        base_url: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Self:
        key = credentials.get("api_key") or ""
        if not key:
            raise BadConfiguration(
                "credentials need api_key (Account > Extras > API keys)", provider=cls.name
            )
        if not base_url and ("-" not in key or not key.rsplit("-", 1)[1].isalnum()):
            raise BadConfiguration(
                "api_key must end with its data center, like ...-us21 (copy the whole key)",
                provider=cls.name,
            )
        return cls(key, base_url=base_url, session=session, sleep=sleep)

    def _call(self, what: str, fn: Callable[[], Any]) -> dict[str, Any]:
        """One SDK call, ``what`` naming it (method and path): limited, counted, retried, errors
        translated and masked; a success body that is not a JSON object is UnexpectedAnswer."""
        return call_with_retries(
            lambda: result(fn(), what),
            provider=self.name,
            translate=translate,
            limiter=self._limiter,
            stats=self.stats,
            retry=self._retry,
            sleep=self._sleep,
            secrets=self._secrets,
        )

    def _answer(self, shape: type[S], what: str, fn: Callable[[], Any]) -> S:
        """``_call``, its answer checked against ``shape`` (UnexpectedAnswer naming the field)."""
        return parse(shape, self._call(what, fn), provider=self.name, what=what)

    def _pages(
        self, what: str, fetch: Callable[[int], Any], key: str, item: type[S]
    ) -> Iterator[S]:
        """Every ``item`` of a ``count`` + ``offset`` listing whose answer lists them in ``key``."""
        offset = 0
        while True:
            answer = self._call(what, lambda at=offset: fetch(at))  # type: ignore[misc]
            if key not in answer:
                raise UnexpectedAnswer(what, f"{key}: Field required", provider=self.name)
            items = parse(list[item], answer[key], provider=self.name, what=what, at=key)  # type: ignore[valid-type]
            yield from items
            offset += len(items)
            total = answer.get("total_items")
            if len(items) < self.page_size or (isinstance(total, int) and offset >= total):
                return

    # --- account -------------------------------------------------------------------------
    def check(self) -> AccountInfo:
        try:
            root = self._answer(
                Root, "GET /", lambda: self.root.get_root(fields=["account_id", "account_name"])
            )
        except NotFound:  # an API without the account root still answers the health check
            health = self._answer(Health, "GET /ping", lambda: self.ping.get())
            return AccountInfo(self.name, self.host, health.health_status)
        who = root.account_name or str(root.account_id)
        return AccountInfo(self.name, who, f"account id {root.account_id} at {self.host}")

    def discover(self) -> Discovery:
        lists = [
            ListInfo(str(a.id), a.name, a.stats.member_count if a.stats else None)
            for a in self._pages(
                "GET /lists",
                lambda o: self.lists.get_all_lists(count=self.page_size, offset=o),
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
        pages = self._pages(
            f"GET /lists/{list_id}/merge-fields",
            lambda o: self.lists.get_list_merge_fields(list_id, count=self.page_size, offset=o),
            "merge_fields",
            MergeFieldItem,
        )
        for f in pages:
            yield MergeFieldInfo(f.tag, f.name, f.type, f.required, list_id)

    def _static_segments(self, list_id: str) -> Iterator[Segment]:
        return self._pages(
            f"GET /lists/{list_id}/segments",
            lambda o: self.lists.list_segments(
                list_id, type="static", count=self.page_size, offset=o
            ),
            "segments",
            Segment,
        )

    def _audience(self, list_id: str) -> Audience:
        """The audience (read once): its ``double_optin``; NotFound naming it when it is gone."""
        with self._lock:
            if list_id not in self._audiences:
                try:
                    self._audiences[list_id] = self._answer(
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

    def ensure_tag(self, destination: Destination) -> str:
        key = (destination.list_id, destination.tag)
        with self._lock:
            if key in self._tags:
                return self._tags[key]
            self._audience(destination.list_id)
            wanted = destination.tag.strip().casefold()
            found = next(
                (
                    str(s.id)
                    for s in self._static_segments(destination.list_id)
                    if s.name.strip().casefold() == wanted
                ),
                None,
            )
            if found is None:
                created = self._answer(
                    Segment,
                    f"POST /lists/{destination.list_id}/segments",
                    lambda: self.lists.create_segment(
                        destination.list_id, {"name": destination.tag, "static_segment": []}
                    ),
                )
                found = str(created.id)
            self._tags[key] = found
            return found

    def _with_tag(self, destination: Destination, call: Callable[[str], T]) -> T:
        """``call(segment id)``; if the segment is gone (deleted in Mailchimp while this process
        runs: a 404, or the 400 "A Static Segment ... does not exist"), the cached id is
        forgotten, the tag found or created again and ``call`` retried once. A second failure
        is raised."""
        seg = self.ensure_tag(destination)
        try:
            return call(seg)
        except (NotFound, RefusedRequest) as err:
            if isinstance(err, RefusedRequest) and not SEGMENT_GONE.search(str(err)):
                raise
            with self._lock:
                if self._tags.get((destination.list_id, destination.tag)) == seg:
                    del self._tags[(destination.list_id, destination.tag)]
                    self._audiences.pop(destination.list_id, None)  # a gone audience is named
        return call(self.ensure_tag(destination))

    # --- membership ----------------------------------------------------------------------
    def apply_batch(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        """The batch, retried once on a recreated tag if its segment was deleted (``_with_tag``):
        every step is idempotent (existing members answer ERROR_CONTACT_EXISTS, a member already
        untagged is APPLIED), so a rerun only costs the calls."""
        if len(changes) > BATCH:
            raise ValueError(f"a Mailchimp batch holds at most {BATCH} changes, got {len(changes)}")
        return self._with_tag(destination, lambda seg: self._apply(destination, seg, changes))

    def _apply(
        self, destination: Destination, seg: str, changes: Sequence[Change]
    ) -> list[Outcome]:
        groups: dict[ChangeKind, dict[str, Member]] = {k: {} for k in ChangeKind}
        for change in changes:
            groups[change.kind].setdefault(change.member.email.strip().lower(), change.member)
        verdicts: dict[tuple[ChangeKind, str], Verdict] = {}
        list_id = destination.list_id
        if groups[ChangeKind.REMOVE]:
            found = self._remove(
                list_id, seg, list(groups[ChangeKind.REMOVE]), destination.on_leave
            )
            verdicts.update({(ChangeKind.REMOVE, e): v for e, v in found.items()})
        if groups[ChangeKind.ADD]:
            found = self._add(list_id, seg, groups[ChangeKind.ADD])
            verdicts.update({(ChangeKind.ADD, e): v for e, v in found.items()})
        for email, member in groups[ChangeKind.UPDATE].items():
            verdicts[(ChangeKind.UPDATE, email)] = self._update(list_id, member)
        outcomes = []
        for change in changes:
            v = verdicts[(change.kind, change.member.email.strip().lower())]
            outcomes.append(Outcome(change, v.status, v.reason, v.retryable))
        return outcomes

    def _segment(self, list_id: str, seg: str, body: dict[str, list[str]]) -> SegmentAnswer:
        return self._answer(
            SegmentAnswer,
            f"POST /lists/{list_id}/segments/{seg}",
            lambda: self.lists.batch_segment_members(body, list_id, seg),
        )

    def _add(self, list_id: str, seg: str, members: dict[str, Member]) -> dict[str, Verdict]:
        double = self._audience(list_id).double_optin
        body = {
            "members": [self._new_member(m, double) for m in members.values()],
            "update_existing": False,
        }
        answer = self._answer(
            BatchAnswer,
            f"POST /lists/{list_id}",
            lambda: self.lists.batch_list_members(list_id, body, skip_merge_validation=TRUE),
        )
        verdicts: dict[str, Verdict] = {}
        for email, (code, reason) in member_errors(answer).items():
            if email in members and code != "ERROR_CONTACT_EXISTS":
                verdicts[email] = rejected(reason)
        to_tag = [e for e in members if e not in verdicts]
        if not to_tag:
            return verdicts
        tagged = self._segment(list_id, seg, {"members_to_add": [members[e].email for e in to_tag]})
        added = emails_in(tagged.members_added)
        refused = segment_errors(tagged)
        unanswered: list[str] = []
        for email in to_tag:
            if email in added:
                verdicts[email] = APPLIED
            elif email in refused:
                already = ALREADY.search(refused[email])
                verdicts[email] = APPLIED if already else rejected(refused[email])
            else:
                unanswered.append(email)
        verdicts.update(self._verify_tags(list_id, seg, unanswered))
        return verdicts

    def _verify_tags(self, list_id: str, seg: str, emails: list[str]) -> dict[str, Verdict]:
        """Ask Mailchimp whether each address carries the tag (the segment call did not say;
        a replay after a crash meets members already tagged). One read per address, or one
        paged read of the tag's members when that takes fewer calls."""
        if len(emails) <= 2:
            return {e: self._verify_tag(list_id, seg, e) for e in emails}
        info = self._answer(
            SegmentCount,
            f"GET /lists/{list_id}/segments/{seg}",
            lambda: self.lists.get_segment(list_id, seg, fields=["member_count"]),
        )
        pages = -(-info.member_count // self.page_size)
        if pages >= len(emails):
            return {e: self._verify_tag(list_id, seg, e) for e in emails}
        wanted = set(emails)
        found = {e for e in self._segment_emails(list_id, seg) if e in wanted}
        missing = rejected("Mailchimp did not confirm the tag", retryable=True)
        return {e: APPLIED if e in found else missing for e in emails}

    @staticmethod
    def _new_member(member: Member, double_optin: bool) -> dict[str, Any]:
        status = "transactional"
        if member.consent:
            status = "pending" if double_optin else "subscribed"
        entry: dict[str, Any] = {"email_address": member.email, "status": status}
        fields = merge_fields(member)
        if fields:
            entry["merge_fields"] = fields
        return entry

    def _verify_tag(self, list_id: str, seg: str, email: str) -> Verdict:
        """Ask Mailchimp whether ``email`` carries the tag (the segment call did not say)."""
        try:
            member = self._answer(
                MemberTags,
                f"GET /lists/{list_id}/members/{subscriber_hash(email)}",
                lambda: self.lists.get_list_member(
                    list_id, subscriber_hash(email), fields=["email_address", "status", "tags"]
                ),
            )
        except NotFound:
            return rejected("not in the audience after the add", retryable=True)
        if any(str(t.id) == seg for t in member.tags):
            return APPLIED
        return rejected("Mailchimp did not confirm the tag", retryable=True)

    def _update(self, list_id: str, member: Member) -> Verdict:
        body = {"merge_fields": merge_fields(member, clear=True)}
        try:
            self._call(
                f"PATCH /lists/{list_id}/members/{subscriber_hash(member.email)}",
                lambda: self.lists.update_list_member(
                    list_id, subscriber_hash(member.email), body, skip_merge_validation=TRUE
                ),
            )
        except NotFound:
            return rejected("not in the audience (archived or deleted in Mailchimp)")
        except (MemberRejected, RefusedRequest) as err:
            if err.status != 400:
                raise
            return rejected(err.message)
        return APPLIED

    def _remove(
        self, list_id: str, seg: str, emails: list[str], on_leave: OnLeave
    ) -> dict[str, Verdict]:
        answer = self._segment(list_id, seg, {"members_to_remove": emails})
        removed = emails_in(answer.members_removed)
        refused = segment_errors(answer)
        verdicts: dict[str, Verdict] = {}
        for email in emails:
            reason = refused.get(email)
            if email in removed or reason is None or ABSENT.search(reason):
                verdicts[email] = APPLIED  # untagged, or never tagged / not in the audience
            else:
                verdicts[email] = rejected(reason, retryable=True)
        done = [e for e in emails if verdicts[e].status is OutcomeStatus.APPLIED]
        if done and on_leave is OnLeave.UNSUBSCRIBE:
            absent = {e for e in done if e in refused}  # "not a member of this list"
            verdicts.update(self._unsubscribe(list_id, [e for e in done if e in removed]))
            for email in done:
                if email not in removed and email not in absent:
                    verdicts[email] = self._unsubscribe_one(list_id, email)
        elif done and on_leave is OnLeave.ARCHIVE:
            verdicts.update({e: self._archive(list_id, e) for e in done})
        return verdicts

    def _unsubscribe(self, list_id: str, emails: list[str]) -> dict[str, Verdict]:
        """One batch call for members just untagged (so they exist: ``update_existing`` would
        create an absent address as an unsubscribed member)."""
        if not emails:
            return {}
        body = {
            "members": [{"email_address": e, "status": "unsubscribed"} for e in emails],
            "update_existing": True,
        }
        answer = self._answer(
            BatchAnswer,
            f"POST /lists/{list_id}",
            lambda: self.lists.batch_list_members(list_id, body),
        )
        return {
            email: rejected(f"untagged, but not unsubscribed: {reason}")
            for email, (_code, reason) in member_errors(answer).items()
            if email in emails
        }

    def _unsubscribe_one(self, list_id: str, email: str) -> Verdict:
        """A member the segment call did not untag: ``PATCH`` (never creates; 404 = absent,
        nothing to unsubscribe)."""
        try:
            self._call(
                f"PATCH /lists/{list_id}/members/{subscriber_hash(email)}",
                lambda: self.lists.update_list_member(
                    list_id, subscriber_hash(email), {"status": "unsubscribed"}
                ),
            )
        except NotFound:
            return APPLIED
        except (MemberRejected, RefusedRequest) as err:
            if err.status != 400:
                raise
            return rejected(f"untagged, but not unsubscribed: {err.message}")
        return APPLIED

    def _archive(self, list_id: str, email: str) -> Verdict:
        try:
            self._call(
                f"DELETE /lists/{list_id}/members/{subscriber_hash(email)}",
                lambda: self.lists.delete_list_member(list_id, subscriber_hash(email)),
            )
        except NotFound:
            return APPLIED  # already archived or never there
        except (MemberRejected, RefusedRequest) as err:
            if err.status != 400:
                raise
            return rejected(f"untagged, but not archived: {err.message}")
        return APPLIED

    def read_members(self, destination: Destination) -> Iterator[str]:
        def start(seg: str) -> Iterator[str]:
            emails = self._segment_emails(destination.list_id, seg)
            return chain(list(islice(emails, 1)), emails)  # the first page is read here

        return self._with_tag(destination, start)

    def _segment_emails(self, list_id: str, seg: str) -> Iterator[str]:
        pages = self._pages(
            f"GET /lists/{list_id}/segments/{seg}/members",
            lambda o: self.lists.get_segment_members_list(
                list_id,
                seg,
                count=self.page_size,
                offset=o,
                fields=["members.email_address", "total_items"],
                include_cleaned=TRUE,
                include_transactional=TRUE,
                include_unsubscribed=TRUE,
            ),
            "members",
            MemberRef,
        )
        for member in pages:
            yield member.email_address.strip().lower()
