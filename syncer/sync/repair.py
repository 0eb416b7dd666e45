"""``--full``: compare the provider's tagged members with the snapshot and repair drift.

1. While the run diffs the segment (no call to the provider, nothing sent), a thread of its own
   (``TaggedRead``) reads the provider's tagged addresses (``read_members``, a few pages ahead:
   ``read_ahead``) and stages them, lower-cased, in ``syncer_provider_tagged``. The read costs
   what the provider's paging costs, and the diff runs under it instead of before it.
2. Once both are done, before anything is sent, the staged set is compared with the snapshot;
   the two were taken with nothing sent between them, and the plan the diff wrote to the outbox
   says what this run is about to change:
   - tagged on the provider but unknown to the snapshot (tagged by hand, or left over) and in no
     outbox row: remove. Addresses the snapshot knows in any status are left alone (a rejected
     member that carries the tag anyway is not ours to remove while the segment still wants
     it), and so are the ones the plan adds;
   - in the snapshot as applied but not tagged (tag removed by hand): add again, with the
     member's current data from the segment query (skipped if the customer has left the
     segment since); a planned remove is left as it is, and a planned update becomes an add.
3. The plan and its repairs are then sent together, as one push.

Staging and both comparisons are ``syncer.state.tagged``: SQL anti-joins inside the state
database, so memory stays flat; only ids and addresses are paged through.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from contextlib import suppress
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.exc import SQLAlchemyError

from providers.base import Destination, Provider
from providers.batching import chunks
from syncer.state import tagged
from syncer.state.rows import Planned
from syncer.state.store import StateStore
from syncer.sync.members import current_members


class TaggedRead:
    """The provider's tagged members of one target, read and staged by a thread of their own.

    reading = TaggedRead.start(store, target_id, provider, destination)
    ...                     # the diff; nothing is sent to the provider meanwhile
    reading.wait()          # the staged set is complete; what the read raised, raised here
    ...                     # plan_repairs
    reading.close()         # always: stops an unfinished read, drops the staged set
    """

    def __init__(
        self, store: StateStore, target_id: int, provider: Provider, destination: Destination
    ) -> None:
        self.store, self.target_id = store, target_id
        self.provider, self.destination = provider, destination
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="syncer-stage-tagged", daemon=True)

    @classmethod
    def start(
        cls, store: StateStore, target_id: int, provider: Provider, destination: Destination
    ) -> TaggedRead:
        reading = cls(store, target_id, provider, destination)
        reading._thread.start()
        return reading

    def _run(self) -> None:
        try:  # read_members may call the provider before its first address (its first page)
            emails = read_ahead(self.provider.read_members(self.destination))
            try:
                tagged.stage(self.store, self.target_id, _until(self._stop, emails))
            finally:
                emails.close()
        except _Cancelled:
            pass
        except BaseException as err:  # handed to ``wait``, raised there
            self._error = err

    def wait(self, timeout: float | None = None) -> bool:
        """Whether every tagged address is staged, waiting up to ``timeout`` seconds (None:
        until it is); raises what the read or the staging raised."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        if self._error is not None:
            raise self._error
        return True

    def close(self) -> None:
        """Stop the read if it is still going (at its next address: the page being staged is
        dropped, not written) and, once it has stopped, drop the staged set; a state database
        that fails here costs nothing (the next read clears it first)."""
        self._stop.set()
        self._thread.join()
        with suppress(SQLAlchemyError):
            tagged.clear(self.store, self.target_id)


class _Cancelled(Exception):
    """``TaggedRead.close`` stopped the read: what is being staged is dropped."""


def _until(stop: threading.Event, items: Iterator[str]) -> Iterator[str]:
    for item in items:
        if stop.is_set():
            raise _Cancelled
        yield item


def plan_repairs(
    store: StateStore,
    commerce: Engine,
    target_id: int,
    query: Select[Any],
    *,
    after_id: int,
    without_consent: str,
    now: datetime,
) -> dict[str, int]:
    """Compare the staged tagged set (``TaggedRead``, complete) with the snapshot and the
    outbox, and write the repairing changes to the outbox; returns the outbox rows written or
    changed by kind (``update`` negative for this run's updates, the rows above ``after_id``,
    that became adds)."""
    removes = (Planned("remove", None, email, "") for email in tagged.stray(store, target_id))
    counts = dict(store.write_plan(target_id, removes, now))
    promoted = tagged.promote(
        store, target_id, after_id=after_id, consenting_only=without_consent == "skip"
    )
    if promoted:
        counts["update"] = counts.get("update", 0) - promoted
        counts["add"] = counts.get("add", 0) + promoted
    readd: list[Planned] = []
    for ids in chunks(tagged.missing(store, target_id), store.page_size):
        for d in current_members(commerce, query, ids):
            if d.consent or without_consent != "skip":
                readd.append(
                    Planned(
                        "add", d.customer_id, d.email, d.fields_hash,
                        d.first_name, d.last_name, d.consent, fields=d.fields,
                    )
                )  # fmt: skip
        counts["add"] = counts.get("add", 0) + sum(store.write_plan(target_id, readd, now).values())
        readd = []
    return counts


_END = object()


def read_ahead(
    emails: Iterator[str], ahead: int = 5000, batch: int = 500
) -> Generator[str, None, None]:
    """``emails``, read by a thread of their own up to about ``ahead`` items before the caller
    takes them (memory stays bounded). They cross between the threads ``batch`` at a time: one
    queue hand-over per item took both threads' locks 22,000 times for a 22,000-member tag, on
    the interpreter lock the reading and the staging share. What the reading raises is raised
    here, in its place (after the items read before it); a caller that stops early stops the
    reading at its next batch."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=max(1, ahead // batch))
    done = threading.Event()

    def put(item: Any) -> bool:
        while not done.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        chunk: list[str] = []
        try:
            for email in emails:
                chunk.append(email)
                if len(chunk) >= batch:
                    if not put(chunk):
                        return
                    chunk = []
            if chunk and not put(chunk):
                return
            put(_END)
        except BaseException as err:  # handed to the caller, raised there
            if not chunk or put(chunk):
                put(err)

    reader = threading.Thread(target=read, name="syncer-read-tagged", daemon=True)
    reader.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        done.set()
        reader.join(timeout=5)
