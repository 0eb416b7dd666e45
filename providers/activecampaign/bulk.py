"""The bulk path: ``POST /import/bulk_import`` (<= 250 contacts), then ``GET /import/info``.

The importer upserts the contacts, adds the tag by name (add-only) and subscribes to the list only
the members with consent (``subscribe: [{listid}]``). It refuses to subscribe a contact to a list
they unsubscribed from, so an unsubscribe is never overwritten. It is asynchronous: the import is
polled (``GET /import/info``: ``status``, ``success`` contact ids, ``failure`` emails) up to
``attempts`` times, ``interval`` seconds apart. Each member is settled from the importer's own
answer for that member: listed in ``failure``, REJECTED (not retryable); among the ``success`` ids
(``GET /contacts?ids[]=`` maps ids back to emails, 100 a page), APPLIED with its contact id
(``c=<id>``); in neither, REJECTED and retryable ("the import did not report this member"), so it
is sent again on the next run instead of being marked synced on silence. Sending such a member
through the one-member path at once would also settle it, but at 3-4 calls a member: if an import
answered with an empty or short ``success`` list (a changed answer shape, an importer fault) that
is up to 1,000 calls for one batch of 250 against a 5 requests/s account budget, where the retry
costs nothing now and one share of a bulk import later. An import still running after the polls
returns ACCEPTED outcomes with ``b=<batchId>``, which ``confirm`` settles later.

A 400 naming contacts (``failureReasons[{contact: index}]``) refuses the whole payload: the named
members go through the one-member path (where each gets its own answer) and the rest is imported
again; after a second refusal every remaining member goes through the one-member path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from providers.accounts import answer
from providers.activecampaign.answers import Contacts, ImportResults, ImportStarted, ImportStatus
from providers.activecampaign.errors import ImportRefused
from providers.base import Change, ChangeKind, Destination, Outcome, OutcomeStatus
from providers.batching import chunks
from providers.fields import FieldIds
from providers.http import HttpClient
from providers.refs import make_ref
from providers.shapes import parse

ID_PAGE = 100  # contact ids per ``GET /contacts?ids[]=`` call
IMPORT_TRIES = 2  # refusals naming contacts before falling back to one member at a time
UNANSWERED = "the bulk import reported neither success nor failure for this address; resent later"


class BulkImporter:
    """The account's ``http`` and custom ``fields``; ``one`` sends a member the importer refused
    through the one-member path."""

    def __init__(
        self,
        http: HttpClient,
        *,
        fields: FieldIds,
        one: Callable[[Destination, Change], Outcome],
        sleep: Callable[[float], None],
        interval: float,
        attempts: int,
    ) -> None:
        self.http = http
        self.fields = fields
        self.one = one
        self.sleep = sleep
        self.interval = interval
        self.attempts = attempts

    def row(self, destination: Destination, change: Change) -> dict[str, Any]:
        member = change.member
        row: dict[str, Any] = {"email": member.email}
        if member.first_name is not None:
            row["first_name"] = member.first_name
        if member.last_name is not None:
            row["last_name"] = member.last_name
        fields = self.fields.values(member)
        if fields:
            row["fields"] = [{"id": int(k), "value": v} for k, v in fields.items()]
        if change.kind == ChangeKind.ADD:
            row["tags"] = [destination.tag]
            if member.consent:
                row["subscribe"] = [{"listid": destination.list_id}]
        return row

    def send(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        """Import ``changes`` (ADD/UPDATE, at most 250); one Outcome per change."""
        pending = list(changes)
        singles: list[Change] = []
        for _ in range(IMPORT_TRIES):
            payload = {"contacts": [self.row(destination, c) for c in pending]}
            try:
                started = answer(
                    self.http,
                    ImportStarted,
                    "POST",
                    "/import/bulk_import",
                    json=payload,
                    expected=(200, 201, 202),
                )
            except ImportRefused as err:
                named = {i for i in err.contacts if 0 <= i < len(pending)}
                if not named:
                    raise
                singles += [pending[i] for i in sorted(named)]
                pending = [c for i, c in enumerate(pending) if i not in named]
                if not pending:
                    break
                continue
            settled = self.settle(started.batchId, pending, self.attempts)
            return settled + [self.one(destination, c) for c in singles]
        singles += pending
        return [self.one(destination, c) for c in singles]

    def settle(self, batch_id: str, changes: Sequence[Change], attempts: int) -> list[Outcome]:
        """Poll import ``batch_id``; per-member outcomes once it is completed, else ACCEPTED."""
        info: dict[str, Any] = {}
        what = "GET /import/info"
        for attempt in range(max(1, attempts)):
            if attempt:
                self.sleep(self.interval)
            info = self.http.json("GET", "/import/info", params={"batchId": batch_id})
            status = parse(ImportStatus, info, provider=self.http.provider, what=what).status
            if status.lower() == "completed":
                break
        else:
            ref = make_ref(b=batch_id)
            return [Outcome(c, OutcomeStatus.ACCEPTED, provider_ref=ref) for c in changes]
        results = parse(ImportResults, info, provider=self.http.provider, what=what)
        failed = {e.strip().lower() for e in results.failure}
        ids = self.emails_of([str(i) for i in results.success])
        outcomes = []
        for change in changes:
            email = change.member.email.lower()
            if email in failed:
                reason = "the bulk import refused this address (listed in its failures)"
                outcomes.append(
                    Outcome(change, OutcomeStatus.REJECTED, reason=reason, retryable=False)
                )
            elif email in ids:
                ref = make_ref(c=ids[email])
                outcomes.append(Outcome(change, OutcomeStatus.APPLIED, provider_ref=ref))
            else:
                outcomes.append(
                    Outcome(change, OutcomeStatus.REJECTED, reason=UNANSWERED, retryable=True)
                )
        return outcomes

    def emails_of(self, contact_ids: list[str]) -> dict[str, str]:
        """Lower-cased email -> contact id for ``contact_ids`` (100 per call)."""
        found: dict[str, str] = {}
        for chunk in chunks(contact_ids, ID_PAGE):
            params = {"ids[]": chunk, "limit": ID_PAGE}
            body = answer(self.http, Contacts, "GET", "/contacts", params=params)
            for contact in body.contacts:
                found[contact.email.lower()] = str(contact.id)
        return found
