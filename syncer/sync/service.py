"""Config, databases and providers wired together for the CLI and the scheduler.

    service = SyncService(settings, os.environ)
    for segment, destination in service.select(["VIP customers"]):
        result = service.sync(segment, destination)   # the segment compiled once, then synced
    # the scheduler's runner: yields one summary dict per destination
    for summary in service.run_segment("VIP customers", stop_event): ...
    service.close()

Destinations run concurrently, up to ``concurrency`` at once in the whole process
(``syncer sync --concurrency N``, ``syncer schedule --concurrency N``; ``each``): a segment's
query is evaluated once per run however many destinations it has (``shared_members``), and one
destination's failure never stops the others. Each run gets a provider of its own (its calls
and retries are its own), built from its profile; every provider of one account shares that
account's limiter (``providers.http.shared_limiter``: in-process, or Redis with ``--queue``),
so an account's limits hold across everything the process sends. Configuration problems raise
ConfigError before anything is sent.

Alerts (``config/alerts.yaml``, if present) are sent where each run ends, in ``sync``, so both
`syncer sync` and the worker alert; the worker's periodic ``check`` alerts STALE destinations and
marks runs of dead processes ``interrupted``. An alert that cannot be sent is logged in one
masked line and never changes the run's result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from providers.base import Provider
from providers.errors import ProviderError
from syncer.alerts.config import AlertsConfig, load_alerts
from syncer.alerts.dispatch import Alerter
from syncer.db import make_engine, mask_url
from syncer.errors import ConfigError
from syncer.profiles import Profile, check_destinations, load_profiles
from syncer.segments.columns import export_query, require
from syncer.segments.compiler import members_query
from syncer.segments.fields import with_fields
from syncer.segments.loader import SegmentSet, load_segments
from syncer.segments.model import CsvDestinationConfig, Segment, SegmentDestination
from syncer.segments.tags import check_tags, has_any_tag
from syncer.settings import Settings
from syncer.state.history import destination_status
from syncer.state.migrate import ensure_schema
from syncer.state.runs import DRY_RUN, RunResult, close_interrupted
from syncer.sync.clock import Clock
from syncer.sync.engine import Progress, SyncEngine
from syncer.sync.shared_members import SharedMembers, materialise

# Told each finished run of the worker and its destination's provider (mailchimp, ...).
RunObserver = Callable[[RunResult, str], None]
log = logging.getLogger("syncer.alerts")
log_sync = logging.getLogger("syncer.sync")
T = TypeVar("T")
# One destination's work in ``SyncService.each``: (segment, destination, the segment's shared
# members or None, the run's as-of) -> its result.
DestinationJob = Callable[[Segment, SegmentDestination, SharedMembers | None, datetime], T]
DEFAULT_CONCURRENCY = 4  # the CLI's default for --concurrency


def matches(destination: SegmentDestination, wanted: str) -> bool:
    """``--destination`` names a destination by key, profile or tag (a csv one: key, path or
    ``csv``)."""
    if isinstance(destination, CsvDestinationConfig):
        return wanted in (destination.key, destination.path, "csv")
    return wanted in (destination.key, destination.profile, destination.tag)


class SyncService:
    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str],
        *,
        clock: Clock | None = None,
        concurrency: int = 1,
        **engine_options: Any,
    ) -> None:
        self.settings = settings
        self.env = env
        self.clock = clock
        self.engine_options = engine_options
        # destinations synced at once in this process, whoever asks (``each``, the scheduler's
        # segments running side by side)
        self.concurrency = max(1, concurrency)
        self._running = threading.BoundedSemaphore(self.concurrency)
        self._providers: dict[str, Provider] = {}
        self._profiles: dict[str, Profile] = {}  # resolved, for a provider per run
        self._guard = threading.Lock()
        # What ``select(all_segments=True)`` left out: broken files, segments with a bad
        # destination; one error each.
        self.problems: list[ConfigError] = []

    # --- configuration ---------------------------------------------------------------------
    @cached_property
    def segments(self) -> SegmentSet:
        """The segments that load; the files that do not are in ``.broken`` (reported, and
        ``sync --all`` exits 1, but they stop no other segment)."""
        return load_segments(self.settings.segments_dir, strict=False)

    @cached_property
    def profiles(self) -> dict[str, Profile]:
        """Every profile, checked but not resolved: a profile's ``${VAR}``s are read only when
        a destination uses it (``provider``)."""
        return load_profiles(self.settings.profiles_file, self.env, resolve=False)

    @cached_property
    def alerts(self) -> AlertsConfig | None:
        """``config/alerts.yaml``; None when absent (no alerts); ConfigError when bad."""
        return load_alerts(self.settings.alerts_file, self.env)

    def select(
        self,
        names: Sequence[str] = (),
        *,
        all_segments: bool = False,
        destination: str | None = None,
        tags: Sequence[str] = (),
    ) -> list[tuple[Segment, SegmentDestination]]:
        """The (segment, destination) pairs to sync; ConfigError if a name or profile is bad.
        ``tags``: every segment with destinations that carries any of them (not with names)."""
        if not names and not all_segments and not tags:
            raise ConfigError("name one or more segments, or use --all (or --tag T)")
        if names and tags:
            raise ConfigError(
                "name segments or select them with --tag, not both",
                hint="e.g. `syncer sync --tag vip`.",
            )
        if tags:
            check_tags(self.segments.values(), tags)
        if names:
            chosen = [self.segments.get_or_error(n) for n in names]
        elif tags:
            chosen = [s for s in self.segments.values() if s.destinations and has_any_tag(s, tags)]
        else:
            usable = with_known_profiles(self.segments, self.profiles, self.settings.profiles_file)
            self.problems = list(usable.broken)
            chosen = [s for s in usable.values() if s.destinations]
        pairs: list[tuple[Segment, SegmentDestination]] = []
        for seg in chosen:
            if names and not seg.destinations:
                raise ConfigError(
                    f"segment {seg.name!r} has no destinations",
                    where=str(seg.source) if seg.source else None,
                    hint="add a `destinations:` entry (profile, list, tag; or kind: csv, path) "
                    "to sync it.",
                )
        check_destinations(chosen, self.profiles, self.settings.profiles_file)
        for seg in chosen:
            for dest in seg.destinations:
                if destination and not matches(dest, destination):
                    continue
                pairs.append((seg, dest))
        if destination and not pairs:
            raise ConfigError(
                f"no destination matches {destination!r} in the chosen segments",
                hint="use a destination key (profile/list/tag), a profile name or a tag.",
            )
        return pairs

    def reload(self) -> SegmentSet:
        """Read segments and profiles again (the scheduler calls this when a file changes): the
        usable segments, with ``broken`` naming each file or destination that is not (the
        scheduler reports them and runs the rest). Raises ConfigError, keeping the previous
        configuration, if profiles.yaml or the segments folder does not load."""
        path = self.settings.profiles_file
        profiles = load_profiles(path, self.env, resolve=False)
        segments = load_segments(self.settings.segments_dir, strict=False)
        alerts = load_alerts(self.settings.alerts_file, self.env)
        with self._guard:
            self.__dict__["segments"] = segments
            self.__dict__["profiles"] = profiles
            self.__dict__["alerts"] = alerts
            self._providers.clear()  # rebuilt from the new profiles on first use
            self._profiles.clear()
        return with_known_profiles(segments, profiles, path)

    # --- collaborators -----------------------------------------------------------------------
    def provider(self, profile: str) -> Provider:
        with self._guard:
            if profile not in self._providers:
                try:
                    path = self.settings.profiles_file
                    resolved = load_profiles(path, self.env, only={profile}).get(profile)
                    if resolved is None:
                        raise ConfigError(f"unknown profile {profile!r}", where=str(path))
                    self._providers[profile] = resolved.build()
                    self._profiles[profile] = resolved
                except ProviderError as err:
                    raise ConfigError(str(err), where=f"profile {profile!r}") from err
            return self._providers[profile]

    def run_provider(self, profile: str) -> Provider:
        """A provider of its own for one run (its ``stats`` count only that run's calls, even
        with other runs of the profile going at once); its account's limiter is the shared one.
        A provider set in place of a profile's (tests) is handed out as it is."""
        shared = self.provider(profile)
        with self._guard:
            resolved = self._profiles.get(profile)
        if resolved is None:
            return shared
        try:
            return resolved.build()
        except ProviderError as err:
            raise ConfigError(str(err), where=f"profile {profile!r}") from err

    @cached_property
    def engine(self) -> SyncEngine:
        commerce = make_engine(self.settings.database_url)
        state_url = self.settings.effective_state_url
        state = commerce if state_url == self.settings.database_url else make_engine(state_url)
        return SyncEngine(
            commerce=commerce,
            state=state,
            providers=self.run_provider,
            clock=self.clock,
            **self.engine_options,
        )

    def sync(
        self,
        segment: Segment,
        destination: SegmentDestination,
        *,
        trigger: str = "cli",
        dry_run: bool = False,
        full: bool = False,
        as_of: datetime | None = None,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        shared: SharedMembers | None = None,
    ) -> RunResult:
        """Sync ``segment`` to ``destination`` once (``SyncEngine.sync``): its members query is
        compiled here, once, as of ``as_of`` (default: now), and every phase of the run reads it.
        Members lacking a value the destination's ``require`` names are left out (and counted).
        ``shared``: the segment already evaluated (``each``), read instead of the query.
        A csv destination is written whole (``SyncEngine.export``) to its path, its date the
        as-of (UTC), a relative path under the config folder."""
        when = as_of or self.engine.clock.now()
        source = None
        if shared is not None and self._reads_copy(destination):
            members, left_out = shared.members(destination.require)
            source = shared.engine
        else:
            members = members_query(segment, self.segments, as_of=when)
            members, left_out = require(members, destination.require, when)
            if not isinstance(destination, CsvDestinationConfig):
                members = with_fields(members, destination.fields, when)
        if isinstance(destination, CsvDestinationConfig):
            result = self.engine.export(
                segment.name, destination, export_query(members, destination.columns, when),
                destination.file_for(self.settings.config_dir, when), trigger=trigger,
                dry_run=dry_run, stop=stop, progress=progress, left_out=left_out,
            )  # fmt: skip
        else:
            result = self.engine.sync(
                segment.name, destination, members, trigger=trigger, dry_run=dry_run, full=full,
                stop=stop, progress=progress, left_out=left_out, source=source,
            )  # fmt: skip
        if result.outcome != DRY_RUN:
            self._alert(lambda alerter: alerter.after_run(result))
        return result

    def kind(self, destination: SegmentDestination) -> str:
        """What ``destination`` is written to: ``csv``, or its profile's provider."""
        if isinstance(destination, CsvDestinationConfig):
            return "csv"
        return self.profiles[destination.profile].provider

    def check(self) -> None:
        """The worker's periodic check: runs whose process died are marked ``interrupted``,
        and STALE destinations alert (de-duplicated)."""
        state = self.engine.state
        ensure_schema(state)
        now = self.engine.clock.now()
        close_interrupted(state, now)
        if self.alerts is None:
            return
        configured = {
            (seg.name, dest.key): seg.schedule
            for seg in self.segments.values()
            for dest in seg.destinations
        }
        statuses = destination_status(state, configured, now)
        self._alert(lambda alerter: alerter.check_stale(statuses))

    def _alert(self, send: Callable[[Alerter], object]) -> None:
        """Run ``send`` with the alerter if alerts are configured; whatever goes wrong is one
        masked log line (an alert never changes a sync's result)."""
        try:
            config = self.alerts  # loaded before the first run by the CLI and the worker
            if config is not None:
                send(Alerter(config, self.engine.state, self.engine.clock.now))
        except Exception as err:
            line = mask_url(" ".join(str(err).split()) or type(err).__name__)[:300]
            log.warning("alerts not processed: %s: %s", type(err).__name__, line)

    def run_segment(
        self,
        name: str,
        stop: threading.Event | None = None,
        *,
        trigger: str = "schedule",
        on_result: RunObserver | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Sync every destination of segment ``name`` (concurrently, ``each``); one summary
        per destination, as each ends. A destination whose provider asked not to be called yet
        is not started: its summary says ``waiting`` and until when. ``on_result`` is told each
        run's result and the provider of its destination (the worker's metrics)."""

        def job(
            segment: Segment, destination: SegmentDestination, shared: SharedMembers | None,
            when: datetime,
        ) -> dict[str, Any]:  # fmt: skip
            until = deferred_until(self.engine, segment.name, destination.key)
            if until is not None:
                return waiting(destination.key, until)
            result = self.sync(
                segment, destination, trigger=trigger, stop=stop, as_of=when, shared=shared
            )
            if on_result is not None:
                on_result(result, self.kind(destination))
            return summary(result)

        for _, line in self.each(self.select([name]), job, stop=stop):
            yield line

    def each(
        self,
        pairs: Sequence[tuple[Segment, SegmentDestination]],
        job: DestinationJob[T],
        *,
        stop: threading.Event | None = None,
        as_of: datetime | None = None,
        share: bool = True,
    ) -> Iterator[tuple[int, T]]:
        """Run ``job`` for each (segment, destination) of ``pairs``, up to ``concurrency`` at
        once in this process; yields (index in ``pairs``, its result) as each ends.

        A segment with several destinations (``share``) is evaluated once, into
        ``shared_members``, before its first destination starts; its copy is dropped when its
        last one ends. A job that raises does not stop the others: the first exception is
        raised again once every started job has ended. ``stop`` set: no new job starts."""
        when = as_of or self.engine.clock.now()
        self.engine._ensure_schema()  # once, before the threads
        order: dict[str, list[int]] = {}
        for i, (seg, _dest) in enumerate(pairs):
            order.setdefault(seg.name, []).append(i)
        failures: list[BaseException] = []
        guard = threading.Lock()

        def run(i: int, shared: SharedMembers | None, left: list[int]) -> T:
            segment, destination = pairs[i]
            try:
                with self._running:
                    return job(segment, destination, shared, when)
            finally:
                with guard:
                    left[0] -= 1
                    last = left[0] == 0
                if last and shared is not None:
                    shared.drop()

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="syncer-sync") as pool:
            running: dict[Future[T], int] = {}

            def finished(block: bool) -> Iterator[tuple[int, T]]:
                if not running:
                    return
                done, _ = wait(running, timeout=None if block else 0, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = running.pop(fut)
                    try:
                        yield i, fut.result()
                    except BaseException as err:  # raised again when every job has ended
                        failures.append(err)

            for indexes in order.values():
                if stop is not None and stop.is_set():
                    break
                shared = None
                if share and len(self._syncable(pairs, indexes)) > 1:
                    segment = pairs[indexes[0]][0]
                    shareable = [pairs[i][1] for i in self._syncable(pairs, indexes)]
                    shared = self._evaluate(segment, shareable, when)
                left = [len(indexes)]
                for n, i in enumerate(indexes):
                    if stop is not None and stop.is_set():
                        with guard:  # the jobs not started will not drop the copy
                            left[0] -= len(indexes) - n
                            gone = left[0] == 0
                        if gone and shared is not None:
                            shared.drop()
                        break
                    while len(running) >= self.concurrency:
                        yield from finished(block=True)
                    running[pool.submit(run, i, shared, left)] = i
                    yield from finished(block=False)
            while running:
                yield from finished(block=True)
        if failures:
            raise failures[0]

    @staticmethod
    def _reads_copy(destination: SegmentDestination) -> bool:
        """A provider destination without mapped fields reads the segment's shared copy; a csv
        one, or one with ``fields:``, evaluates its own query (the copy holds no field values)."""
        return not isinstance(destination, CsvDestinationConfig) and not destination.fields

    def _syncable(
        self, pairs: Sequence[tuple[Segment, SegmentDestination]], indexes: list[int]
    ) -> list[int]:
        return [i for i in indexes if self._reads_copy(pairs[i][1])]

    def _evaluate(
        self, segment: Segment, destinations: list[SegmentDestination], when: datetime
    ) -> SharedMembers | None:
        """The segment's members, evaluated once as of ``when`` for ``destinations``; None
        (each destination then evaluates it, and records what fails) if that fails."""
        engine = self.engine
        try:
            return materialise(
                engine.commerce, engine.state, members_query(segment, self.segments, as_of=when),
                requires=[d.require for d in destinations], as_of=when,
                same_db=engine.state is engine.commerce, page_size=engine.page_size,
            )  # fmt: skip
        except SQLAlchemyError as err:
            line = mask_url(" ".join(str(getattr(err, "orig", None) or err).split()))[:300]
            log_sync.warning("segment %r not evaluated once for its destinations: %s",
                             segment.name, line)  # fmt: skip
            return None

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.commerce.dispose()
            self.engine.state.dispose()


def with_known_profiles(
    segments: SegmentSet, profiles: Mapping[str, Profile], profiles_file: Path
) -> SegmentSet:
    """``segments`` less those whose destinations name an unknown profile or ask a provider
    for what it cannot do (added to ``broken``, one error each)."""
    good: dict[str, Segment] = {}
    broken = list(segments.broken)
    for name, seg in segments.items():
        try:
            check_destinations([seg], profiles, profiles_file)
        except ConfigError as err:
            broken.append(err)
            continue
        good[name] = seg
    return SegmentSet(good, tuple(broken))


def deferred_until(engine: SyncEngine, segment: str, destination: str) -> datetime | None:
    """The worker's decision: None to start (segment, destination) now, else the time its
    provider asked not to be called before (by the engine's clock)."""
    until = engine.retry_not_before(segment, destination)
    return until if until is not None and engine.clock.now() < until else None


def waiting(destination: str, until: datetime) -> dict[str, Any]:
    """The scheduler's line for a destination it did not start: the provider said when."""
    at = until.strftime("%Y-%m-%d %H:%M:%S UTC")
    return {
        "destination": destination,
        "outcome": "waiting",
        "retry_not_before": until.isoformat(timespec="seconds"),
        "error": f"the provider asked not to be called before {at}; not started",
    }


def summary(result: RunResult) -> dict[str, Any]:
    """The short form the scheduler logs."""
    keys = ("destination", "outcome", "run_id", "adds", "updates", "removes", "rejections")
    data = {k: getattr(result, k) for k in keys}
    if result.left_out:
        data["left_out"] = result.left_out
    if result.file is not None:
        data.update(file=result.file, rows=result.exported)
    data.update(api_calls=result.api_calls, retries=result.retries, pending=result.pending)
    data["seconds"] = round(result.seconds, 3)
    if result.error:
        data["error"] = result.error
    if result.retry_not_before is not None:
        data["retry_not_before"] = result.retry_not_before.isoformat(timespec="seconds")
    return data
