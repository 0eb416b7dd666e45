"""One sync of one segment to one destination: lock, drain, diff, push, confirm, record.

    engine = SyncEngine(commerce=..., state=..., providers=lambda profile: provider)
    members = members_query(segment, segments, as_of=now)  # compiled once, by the service
    result = engine.sync(segment.name, destination, members, trigger="schedule")

``members`` (customer_id, email, first_name, last_name, accepts_marketing, and the destination's
mapped ``fields``: ``segments.fields.with_fields``) is the one query
every phase of the run reads: the refresh of pending rows, the check of shared addresses before
a remove, the diff, the repair and the dry run.

Order of a run (see the design's "say it before you do it"):

1. take the target's lock (else: record a ``skipped`` run and return);
2. confirm members an asynchronous provider only ACCEPTED last time;
3. bring the outbox rows an earlier run left (a crash, a kill, retryable refusals) up to date
   with the shop (``refresh.py``: consent withdrawn, left the segment, new address) and send them;
4. diff the segment against the snapshot and write every change to the outbox (committed);
   ``full``: meanwhile a thread reads the provider's tagged members, then the repairs of the
   drift they show join the plan in the outbox (see ``repair.py``);
5. send the outbox (removes first, then adds/updates), settling each batch from the provider's
   per-member outcomes in one transaction; a remove whose member's add is still queued at the
   provider (ACCEPTED) is held, pending, until that add is confirmed (``_unqueued``);
6. confirm this run's ACCEPTED members after ``confirm_wait`` seconds; record the run.

A whole-call RetryableError (after the HTTP layer's retries) ends the run ``partial`` with its
pending rows kept, and the time the provider asked to be called again (a ``Retry-After`` longer
than the HTTP layer waits) recorded as the run's ``retry_not_before``; a FatalError ends it
``failed``. The provider is never asked to unsubscribe
or delete: removes carry the destination's ``on_leave`` and the provider does what it says.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.exc import SQLAlchemyError

from providers.base import Destination, OnLeave, Outcome, Provider
from providers.batching import chunks
from providers.errors import FatalError, ProviderError, RetryableError
from syncer.db import mask_url
from syncer.errors import DatabaseError, SyncerError
from syncer.export import export_csv
from syncer.segments.columns import converters
from syncer.segments.model import CsvDestinationConfig, DestinationConfig
from syncer.state.lock import TargetLock, make_owner, owner_label
from syncer.state.migrate import current_revision, ensure_schema
from syncer.state.rows import ACCEPTED, OutboxRow, fold
from syncer.state.runs import (
    DRY_RUN,
    FAILED,
    OK,
    PARTIAL,
    SKIPPED,
    RunResult,
    close_interrupted,
    finish_run,
    record_skipped,
    retry_not_before,
    start_run,
)
from syncer.state.store import StateStore
from syncer.sync import repair
from syncer.sync.clock import Clock, SystemClock
from syncer.sync.diff import Desired, diff
from syncer.sync.field_check import check_fields
from syncer.sync.members import (
    Recent,
    consent_mode,
    current_members,
    members_at,
    stream_desired,
    tally,
)
from syncer.sync.refresh import refresh_pending

ProviderFactory = Callable[[str], Provider]  # profile name -> a provider built from it


@dataclass(frozen=True)
class RunProgress:
    """Where a run is: told as each phase starts (``confirm``, ``resume``, ``diff``, ``push``,
    ``repair``), after each settled batch (``done`` of ``total`` members sent in the phase),
    and when the provider's ``Retry-After`` makes the run wait (``waiting`` seconds, else 0).
    ``calls`` and ``retries`` are this run's so far."""

    phase: str
    done: int = 0
    total: int = 0
    calls: int = 0
    retries: int = 0
    waiting: float = 0.0


Progress = Callable[[RunProgress], None]

REMOVES = ("remove",)
# Rows written to the outbox or settled in one run after which the state tables' statistics are
# refreshed: without them PostgreSQL pages through a freshly filled table with a sort per page.
ANALYZE_AFTER = 5000
ADDS = ("add", "update")


class Stopped(Exception):
    """The stop event was set: the run ends after its current batch."""


class LockLost(SyncerError):
    pass


@dataclass
class _Run:
    """Everything one run carries around."""

    target_id: int
    provider: Provider
    destination: Destination
    result: RunResult
    lock: TargetLock
    stop: threading.Event | None
    progress: Progress | None
    members: Select[Any]  # the segment's members: every phase of the run reads them
    source: Engine  # where ``members`` (and ``left_out``) are read: the commerce database, or
    # the state database's copy of a segment that several destinations share
    without_consent: str = "skip"
    left_out: Select[Any] | None = None  # COUNT of the members ``require`` keeps out
    tag_ready: bool = False
    held: int = 0  # removes kept back: the member's add is still queued on the provider's side
    inflight: dict[int, tuple[OutboxRow, Any]] = field(default_factory=dict)
    by_email: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, email) -> key
    base: tuple[int, int] = (0, 0)  # the provider's (calls, retries) when the run started
    at: RunProgress = RunProgress("start")  # what progress was last told

    telling: threading.Lock = field(default_factory=threading.Lock)

    def tell(self, phase: str, done: int = 0, total: int = 0, waiting: float = 0.0) -> None:
        """Tell ``progress`` (if any) where the run is now. A ``--full`` run's tagged read
        tells its waits from a thread of its own: one at a time."""
        if self.progress is None:
            return
        with self.telling:
            stats = self.provider.stats
            calls, retries = stats.calls - self.base[0], stats.retries - self.base[1]
            self.at = RunProgress(phase, done, total, calls, retries, waiting)
            self.progress(self.at)

    def waited(self, seconds: float) -> None:
        """The provider asked the account to wait (``CallStats.on_wait``)."""
        with self.telling:
            at = self.at
        self.tell(at.phase, at.done, at.total, waiting=seconds)


class SyncEngine:
    def __init__(
        self,
        *,
        commerce: Engine,
        state: Engine,
        providers: ProviderFactory,
        clock: Clock | None = None,
        owner: str | None = None,
        lock_ttl: float = 120.0,
        confirm_wait: float = 2.0,
        accept_timeout: float = 6 * 3600.0,
        max_attempts: int = 5,
        page_size: int = 1000,
        analyze_after: int = ANALYZE_AFTER,
    ) -> None:
        self.commerce = commerce
        self.state = state
        self.providers = providers
        self.clock = clock or SystemClock()
        self.owner = owner or make_owner()
        self.lock_ttl = lock_ttl
        self.confirm_wait = confirm_wait
        self.accept_timeout = accept_timeout  # ACCEPTED this long and never confirmed: rejected
        self.max_attempts = max_attempts
        self.page_size = page_size
        self.analyze_after = analyze_after
        self.store = StateStore(state, page_size=page_size)
        self._schema_ok = False
        self._interrupted_closed = False
        self._once = threading.Lock()  # destinations run concurrently: set up the state once

    # --- public ------------------------------------------------------------------------------
    def sync(
        self,
        segment: str,
        destination: DestinationConfig,
        members: Select[Any],
        *,
        trigger: str = "cli",
        dry_run: bool = False,
        full: bool = False,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        left_out: Select[Any] | None = None,
        source: Engine | None = None,
    ) -> RunResult:
        """Sync the segment named ``segment``, whose members ``members`` selects, to
        ``destination`` once; never raises for provider failures (they are in the result's
        ``outcome``/``error``); raises SyncerError for bad config/database. ``left_out``: a
        COUNT of the members the destination's ``require`` keeps out of ``members``.
        ``source``: the database ``members`` and ``left_out`` are read from (default: the
        commerce database; ``shared_members`` copies a segment into the state database)."""
        source = source or self.commerce
        result = RunResult(segment, destination.key, trigger=trigger)
        result.started_at = self.clock.now()
        if dry_run:
            try:
                result.left_out = self._count(left_out, source)
                return self._dry_run(segment, destination, members, result, source)
            except SQLAlchemyError as err:
                raise DatabaseError(
                    f"{segment} → {destination.key}: database error: {_db_line(err)}"
                ) from err
        begun = self._begin(segment, destination.key, result, full)
        if begun is None:
            return result
        target_id, lock = begun
        lock.start_heartbeat()
        try:
            result.run_id = start_run(
                self.state, result, target_id=target_id, full=full, owner=self.owner
            )
            try:
                provider = self.providers(destination.profile)
            except (ProviderError, SyncerError) as err:
                result.outcome, result.error = FAILED, _one_line(err)
                result.finished_at = self.clock.now()
                finish_run(self.state, result)
                return result
            dest = Destination(destination.list, destination.tag, OnLeave(destination.on_leave))
            run = _Run(target_id, provider, dest, result, lock, stop, progress, members, source)
            run.without_consent = destination.without_consent
            run.left_out = left_out
            self._execute(run, full)
        finally:
            with suppress(SQLAlchemyError):  # an unreleased lock expires after ``lock_ttl``
                lock.release()
        return result

    def export(
        self,
        segment: str,
        destination: CsvDestinationConfig,
        rows: Select[Any],
        file: Path,
        *,
        trigger: str = "cli",
        dry_run: bool = False,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        left_out: Select[Any] | None = None,
    ) -> RunResult:
        """Write the whole segment (``rows``: its export query) to ``file`` once, under the
        target's lock, and record the run like a sync's (outcome, error, rows, file, members
        ``left_out`` counted). The file appears complete or not at all (``export_csv``); a
        failed or stopped run keeps the file an earlier run wrote. Never raises for a file that
        cannot be written (the run is ``failed``); raises SyncerError for the database."""
        result = RunResult(segment, destination.key, trigger=trigger)
        result.started_at = self.clock.now()
        result.file = str(file)
        if dry_run:
            try:
                result.left_out = self._count(left_out)
                result.exported = self._count(select(func.count()).select_from(rows.subquery()))
            except SQLAlchemyError as err:
                raise DatabaseError(
                    f"{segment} → {destination.key}: database error: {_db_line(err)}"
                ) from err
            result.outcome, result.finished_at = DRY_RUN, self.clock.now()
            return result
        begun = self._begin(segment, destination.key, result, full=False)
        if begun is None:
            return result
        target_id, lock = begun
        lock.start_heartbeat()

        def written(done: int) -> None:
            if progress:
                progress(RunProgress("write", done, done))
            if lock.lost:
                raise LockLost("lost the sync lock to another process; stopped")
            if stop is not None and stop.is_set():
                raise Stopped

        try:
            result.run_id = start_run(
                self.state, result, target_id=target_id, full=False, owner=self.owner
            )
            try:
                result.left_out = self._count(left_out)
                result.exported = export_csv(
                    self.commerce, rows, file, progress=written, compress=destination.compressed,
                    convert=converters(destination.columns),
                )  # fmt: skip
                result.outcome = OK
            except Stopped:
                result.outcome = PARTIAL
                result.error = "stopped before the end; the file was not replaced"
            except SyncerError as err:  # the file cannot be written there; LockLost
                result.outcome, result.error = FAILED, _one_line(err)
            except SQLAlchemyError as err:
                result.outcome, result.error = FAILED, f"database error: {_db_line(err)}"
                raise DatabaseError(f"{segment} → {destination.key}: {result.error}") from err
            except BaseException as err:  # a bug, or the process is stopping: record, re-raise
                result.outcome, result.error = FAILED, f"{type(err).__name__}: {_one_line(err)}"
                raise
            finally:
                if result.outcome != OK:
                    result.exported = None
                result.finished_at = self.clock.now()
                with suppress(SQLAlchemyError):
                    finish_run(self.state, result)
        finally:
            with suppress(SQLAlchemyError):  # an unreleased lock expires after ``lock_ttl``
                lock.release()
        return result

    def retry_not_before(self, segment: str, destination_key: str) -> datetime | None:
        """When the provider asked this target's last run to come back (None: any time)."""
        self._ensure_schema()
        target_id = self.store.find_target(segment, destination_key)
        return None if target_id is None else retry_not_before(self.state, target_id)

    def _begin(
        self, segment: str, key: str, result: RunResult, full: bool
    ) -> tuple[int, TargetLock] | None:
        """The target's id and its lock, held; None if another process holds it (a
        ``skipped`` run is recorded in ``result``). Runs of processes that died since this
        process started are marked interrupted first (once)."""
        self._ensure_schema()
        with self._once:
            if not self._interrupted_closed:
                close_interrupted(self.state, self.clock.now())
                self._interrupted_closed = True
        target_id = self.store.target(segment, key, result.started_at or self.clock.now())
        lock = TargetLock(self.state, target_id, self.owner, self.clock, ttl=self.lock_ttl)
        holder = lock.acquire()
        if holder is None:
            return target_id, lock
        since = holder.acquired_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        result.outcome = SKIPPED
        result.error = (
            f"segment {segment!r} → destination {key} is being synced by "
            f"{owner_label(holder.owner)} since {since}; skipped"
        )
        result.finished_at = self.clock.now()
        result.run_id = record_skipped(
            self.state, result, target_id=target_id, owner=self.owner, full=full
        )
        return None

    def _count(self, query: Select[Any] | None, source: Engine | None = None) -> int:
        """The one number ``query`` (a COUNT) selects (in ``source``, default: the commerce
        database); 0 for None."""
        if query is None:
            return 0
        with (source or self.commerce).connect() as conn:
            return int(conn.execute(query).scalar_one())

    # --- the run -----------------------------------------------------------------------------
    def _execute(self, run: _Run, full: bool) -> None:
        result, stats = run.result, run.provider.stats
        calls0, retries0, limited0 = stats.calls, stats.retries, stats.rate_limited
        run.base = (calls0, retries0)
        if run.progress is not None:
            stats.on_wait = run.waited
        try:
            try:
                result.left_out = self._count(run.left_out, run.source)
                run.tell("confirm")
                self._confirm(run)
                result.pending_before = sum(self.store.pending_counts(run.target_id).values())
                if result.pending_before >= self.analyze_after:
                    self.store.analyze()
                # Nothing pending: the target's outbox is empty and, the lock held, stays so
                # until this run writes it; the reads of it below are then skipped (no rows to
                # resume, none to skip in the diff, and this run's rows are all above 0).
                mark = 0
                pending_ids: Iterator[int] = iter(())
                if result.pending_before:
                    refresh_pending(
                        self.store, run.source, run.target_id, run.members,
                        without_consent=run.without_consent, now=self.clock.now(),
                    )  # fmt: skip
                    self._send(run, after_id=0, phase="resume")
                    mark = self.store.max_outbox_id(run.target_id)
                    pending_ids = self.store.pending_customers(run.target_id)
                run.tell("diff")
                reading = None
                if full:  # read while the diff runs: nothing is sent until both are done
                    reading = repair.TaggedRead.start(
                        self.store, run.target_id, run.provider, run.destination
                    )
                try:
                    written = self._plan(run, pending_ids)
                    read_error = self._repairs(run, reading, written, mark) if reading else None
                finally:
                    if reading is not None:
                        reading.close()
                # the rows above ``mark`` are the ones just written (``forget`` writes none)
                self._send(run, after_id=mark, phase="push", counts=written)
                if read_error is not None:
                    raise read_error
                if result.accepted:
                    run.tell("confirm")
                    self.clock.sleep(self.confirm_wait)
                    self._confirm(run)
                result.outcome = OK
            except Stopped:
                result.outcome, result.error = PARTIAL, "stopped before the end; pending kept"
            except RetryableError as err:
                result.outcome, result.error = PARTIAL, f"{_one_line(err)}; pending kept"
                if err.resume_at is not None:
                    result.retry_not_before = err.resume_at
                    result.error = (
                        f"{_one_line(err)}; the provider asked to wait until "
                        f"{err.resume_at:%Y-%m-%d %H:%M:%S} UTC; pending kept"
                    )
            except (FatalError, ProviderError, SyncerError) as err:  # LockLost is a SyncerError
                result.outcome, result.error = FAILED, _one_line(err)
            if result.adds + result.updates + result.removes >= self.analyze_after:
                self.store.analyze()  # the next run's snapshot reads need fresh statistics
            result.pending = sum(self.store.pending_counts(run.target_id).values())
            if result.outcome == OK and result.pending:
                result.outcome = PARTIAL
                why = "refused for now"
                if run.held:
                    why = f"pending ({run.held} remove(s) wait for the provider's queued add)"
                result.error = f"{result.pending} change(s) {why}; retried next run"
        except SQLAlchemyError as err:
            result.outcome, result.error = FAILED, f"database error: {_db_line(err)}"
            raise DatabaseError(f"{result.segment} → {result.destination}: {result.error}") from err
        except BaseException as err:  # a bug, or the process is stopping: record, re-raise
            result.outcome, result.error = FAILED, f"{type(err).__name__}: {_one_line(err)}"
            raise
        finally:
            stats.on_wait = None
            run.tell("done", run.at.done, run.at.total)
            result.api_calls = stats.calls - calls0
            result.retries += stats.retries - retries0
            result.rate_limited = stats.rate_limited - limited0
            result.finished_at = self.clock.now()
            with suppress(SQLAlchemyError):  # the state database may be the thing that failed
                finish_run(self.state, result)

    def _plan(self, run: _Run, pending_ids: Iterator[int]) -> Counter[str]:
        """Diff the segment against the snapshot and write the changes to the outbox; returns
        the rows written by kind."""
        desired = stream_desired(run.source, run.members, self.page_size)
        plan = diff(
            desired,
            self.store.snapshot(run.target_id),
            pending_ids,
            without_consent=consent_mode(run.without_consent),
        )
        planned = self.store.write_plan(run.target_id, plan, self.clock.now())
        if sum(planned.values()) >= self.analyze_after:
            self.store.analyze()  # pages through the fresh outbox by index, not a sort
        return Counter({k: planned[k] for k in (*REMOVES, *ADDS) if planned[k]})

    def _repairs(
        self, run: _Run, reading: repair.TaggedRead, written: Counter[str], mark: int
    ) -> ProviderError | None:
        """``full``: once the provider's tagged set is staged, the repairing changes join the
        plan in the outbox (``written`` counts them). While the read goes on, a stop or a lost
        lock ends the run here, the plan kept pending. A read the provider failed repairs
        nothing: a refusal that asks to wait (Retry-After) is raised now, the plan kept for
        the next run; any other is returned, to be raised once the plan is sent."""
        run.tell("repair")
        try:
            while not reading.wait(timeout=0.5):
                self._check_run(run)
        except RetryableError as err:
            if err.resume_at is not None or err.beyond_budget:
                raise
            return err
        except ProviderError as err:
            return err
        counts = repair.plan_repairs(
            self.store, run.source, run.target_id, run.members, after_id=mark,
            without_consent=run.without_consent, now=self.clock.now(),
        )  # fmt: skip
        written.update(counts)
        for kind in [k for k, n in written.items() if n <= 0]:
            del written[kind]
        return None

    # --- sending -----------------------------------------------------------------------------
    def _send(
        self, run: _Run, *, after_id: int, phase: str, counts: Counter[str] | None = None
    ) -> None:
        """Send the outbox rows with id > ``after_id``: removes first, then adds and updates.
        ``counts``: those rows' numbers by kind when the caller knows them (else read)."""
        if counts is None:
            counts = self.store.pending_counts(run.target_id, after_id=after_id)
        total = sum(counts.values())
        if not total:
            return
        run.tell(phase, 0, total)
        if not run.tag_ready:
            run.provider.ensure_tag(run.destination)
            run.tag_ready = True
        done = 0
        for kinds in (REMOVES, ADDS):
            if not any(counts[k] for k in kinds):
                continue
            rows = self.store.outbox(run.target_id, kinds, after_id=after_id)
            if kinds == REMOVES:
                rows = self._unshared(run, rows, newcomers=phase == "resume")
                if self.store.count_members(run.target_id, ACCEPTED):
                    rows = self._unqueued(run, rows)
            outcomes = run.provider.push(run.destination, self._changes(run, rows))
            try:
                for batch in outcomes:
                    done += self._settle(run, batch)
                    run.tell(phase, done, total)
                    self._check_run(run)
            finally:
                outcomes.close()  # type: ignore[attr-defined]
                run.inflight.clear()
                run.by_email.clear()

    @staticmethod
    def _check_run(run: _Run) -> None:
        """Raise LockLost or Stopped if the run must end (between batches, or while waiting)."""
        if run.lock.lost:
            raise LockLost("lost the sync lock to another process; stopped")
        if run.stop is not None and run.stop.is_set():
            raise Stopped

    def _unshared(
        self, run: _Run, rows: Iterator[OutboxRow], *, newcomers: bool
    ) -> Iterator[OutboxRow]:
        """The removes to send: providers compare addresses case-insensitively, so a remove of
        an address another customer who is still a member has (in any case) would untag that
        member's contact. Such removes are released (not sent; the leaver's snapshot row is
        dropped). The other holders are found in the snapshot and the outbox, which after this
        run's diff know every member; removes pending from an earlier run are sent before the
        diff, so for them (``newcomers``) the segment is also asked by address."""
        wants = run.without_consent != "skip"
        for page in chunks(rows, self.store.page_size):
            keys = sorted({fold(r.email) for r in page})
            held = self.store.holders(run.target_id, keys)
            others = {c for r in page for c in held.get(fold(r.email), ()) if c != r.customer_id}
            found: list[Desired] = []
            for ids in chunks(sorted(others), self.store.page_size):
                found += current_members(run.source, run.members, ids)
            if newcomers:
                found += members_at(run.source, run.members, keys)
            wanted: dict[str, set[int]] = {}
            for d in found:
                if d.consent or wants:
                    wanted.setdefault(fold(d.email), set()).add(d.customer_id)
            keep = [r for r in page if wanted.get(fold(r.email), set()) - {r.customer_id}]
            if keep:
                self.store.release(run.target_id, keep)
            yield from (r for r in page if r not in keep)

    def _unqueued(self, run: _Run, rows: Iterator[OutboxRow]) -> Iterator[OutboxRow]:
        """The removes whose customer has no add still queued at the provider (ACCEPTED, not yet
        seen applied). The others are held, not sent: removing a tag the queued add has not put
        on yet finds nothing, and the add would put it on later, for good. A held remove stays
        pending (the run ends partial) and is sent once ``_confirm`` sees the add applied, or
        gives it up (``accept_timeout``). By customer, not address: an email change's remove of
        the old address waits for the add of the new one too (a provider applies its queue in
        order)."""
        for chunk in chunks(rows, self.page_size):
            queued = self.store.accepted_among(
                run.target_id, [r.customer_id for r in chunk if r.customer_id is not None]
            )
            for row in chunk:
                if row.customer_id in queued:
                    run.held += 1
                else:
                    yield row

    def _changes(self, run: _Run, rows: Iterator[OutboxRow]) -> Iterator[Any]:
        for row in rows:
            change = row.to_change()
            run.inflight[id(change)] = (row, change)
            run.by_email[(row.kind, row.email.lower())] = id(change)
            yield change

    def _settle(self, run: _Run, outcomes: list[Outcome]) -> int:
        pairs: list[tuple[OutboxRow, Outcome]] = []
        for out in outcomes:
            entry = run.inflight.pop(id(out.change), None)
            if entry is not None:
                run.by_email.pop((entry[0].kind, entry[0].email.lower()), None)
            if entry is None:
                entry = self._match(run, out)
            if entry is not None:
                pairs.append((entry[0], out))
        settled = self.store.settle(
            run.target_id, pairs, self.clock.now(), max_attempts=self.max_attempts
        )
        result = run.result
        result.adds += settled.done["add"]
        result.updates += settled.done["update"]
        result.removes += settled.done["remove"]
        result.rejections += settled.rejected
        result.retries += settled.retried
        result.accepted += settled.accepted
        return len(pairs)

    @staticmethod
    def _match(run: _Run, out: Outcome) -> tuple[OutboxRow, Any] | None:
        """An outcome whose ``change`` is an equal copy: find the row by kind and address."""
        key = run.by_email.pop((out.change.kind.value, out.change.member.email.lower()), None)
        return None if key is None else run.inflight.pop(key, None)

    # --- asynchronous providers --------------------------------------------------------------
    def _confirm(self, run: _Run) -> None:
        if not self.store.count_members(run.target_id, ACCEPTED):
            return
        now = self.clock.now()
        expired = self.store.expire_accepted(
            run.target_id, now - timedelta(seconds=self.accept_timeout), now
        )
        run.result.rejections += expired
        size = max(1, run.provider.limits.batch_size)
        pushed = self.store.snapshot(run.target_id, status=ACCEPTED)
        still = 0
        for chunk in chunks(pushed, size):
            changes = [p.to_change() for p in chunk]
            answers = run.provider.confirm(run.destination, changes)
            by_email = {o.change.member.email.lower(): o for o in answers}
            pairs = [(p, by_email[p.email.lower()]) for p in chunk if p.email.lower() in by_email]
            settled = self.store.settle_confirmed(run.target_id, pairs, self.clock.now())
            run.result.rejections += settled.rejected
            still += settled.accepted
        run.result.accepted = still

    # --- dry run -----------------------------------------------------------------------------
    def _dry_run(
        self,
        segment: str,
        destination: DestinationConfig,
        members: Select[Any],
        result: RunResult,
        source: Engine,
    ) -> RunResult:
        """The diff's counts and a few addresses per kind; no state write, and one provider
        call: does the destination's list exist (a real run to a list that does not would fail
        and leave every change pending); with mapped ``fields``, one more: do they exist with
        compatible types, and a few updates' old and new values go in ``result.changed``. A
        missing list or field, or a provider that does not answer,
        ends the dry run ``failed`` with one line (after the counts, so a database error is
        still reported first)."""
        target_id = None
        if current_revision(self.state) is not None:
            target_id = self.store.find_target(segment, destination.key)
        desired = stream_desired(source, members, self.page_size)
        recent: Recent | None = None
        if target_id is None:
            plan = diff(desired, (), without_consent=consent_mode(destination.without_consent))
        else:
            result.pending_before = sum(self.store.pending_counts(target_id).values())
            recent = Recent(self.store.snapshot(target_id))
            plan = diff(
                desired,
                recent,
                self.store.pending_customers(target_id),
                without_consent=consent_mode(destination.without_consent),
            )
        tally(plan, result, recent=recent)
        result.outcome = DRY_RUN
        missing = self._missing_list(destination)
        if missing is None and destination.fields:
            missing = self._field_problem(destination)
        if missing is not None:
            result.outcome, result.error = FAILED, missing
        result.finished_at = self.clock.now()
        return result

    def _missing_list(self, destination: DestinationConfig) -> str | None:
        """None when the destination's list exists at its provider, else why not (one line)."""
        try:
            provider = self.providers(destination.profile)
            if provider.list_exists(destination.list):
                return None
        except (ProviderError, SyncerError) as err:
            return _one_line(err)
        return (
            f"list {destination.list!r} does not exist at {provider.name} (profile "
            f"{destination.profile!r}), so a real run would fail; pick one from `syncer profiles "
            f"discover {destination.profile}` (Syncer never creates lists)"
        )

    def _field_problem(self, destination: DestinationConfig) -> str | None:
        """None when every mapped field exists at the provider with a type that takes its
        values (``field_check``), else the first problem (one line)."""
        try:
            checks = check_fields(self.providers(destination.profile), destination)
        except (ProviderError, SyncerError) as err:
            return _one_line(err)
        bad = [c.problem for c in checks if not c.ok]
        if bad:
            return f"{bad[0]} (`syncer segments validate --online` checks every field)"
        return None

    def _ensure_schema(self) -> None:
        with self._once:
            if not self._schema_ok:
                ensure_schema(self.state)
                self._schema_ok = True


def _db_line(err: SQLAlchemyError) -> str:
    orig = getattr(err, "orig", None)
    return _one_line(orig if isinstance(orig, BaseException) else err)


def _one_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return mask_url(text.splitlines()[0])[:1000]
