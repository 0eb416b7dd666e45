"""Config, databases and providers wired together for the CLI and the scheduler.

    service = SyncService(settings, os.environ)
    for segment, destination in service.select(["VIP customers"]):
        result = service.sync(segment, destination)   # the segment compiled once, then synced
    # the scheduler's runner: yields one summary dict per destination
    for summary in service.run_segment("VIP customers", stop_event): ...
    service.close()

Providers are built from ``config/profiles.yaml`` once per profile and shared (one rate
limiter per account). Configuration problems raise ConfigError before anything is sent.

Alerts (``config/alerts.yaml``, if present) are sent where each run ends, in ``sync``, so both
`syncer sync` and the worker alert; the worker's periodic ``check`` alerts STALE destinations and
marks runs of dead processes ``interrupted``. An alert that cannot be sent is logged in one
masked line and never changes the run's result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

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

# Told each finished run of the worker and its destination's provider (mailchimp, ...).
RunObserver = Callable[[RunResult, str], None]
log = logging.getLogger("syncer.alerts")


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
        **engine_options: Any,
    ) -> None:
        self.settings = settings
        self.env = env
        self.clock = clock
        self.engine_options = engine_options
        self._providers: dict[str, Provider] = {}
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
                except ProviderError as err:
                    raise ConfigError(str(err), where=f"profile {profile!r}") from err
            return self._providers[profile]

    @cached_property
    def engine(self) -> SyncEngine:
        commerce = make_engine(self.settings.database_url)
        state_url = self.settings.effective_state_url
        state = commerce if state_url == self.settings.database_url else make_engine(state_url)
        return SyncEngine(
            commerce=commerce,
            state=state,
            providers=self.provider,
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
    ) -> RunResult:
        """Sync ``segment`` to ``destination`` once (``SyncEngine.sync``): its members query is
        compiled here, once, as of ``as_of`` (default: now), and every phase of the run reads it.
        Members lacking a value the destination's ``require`` names are left out (and counted).
        A csv destination is written whole (``SyncEngine.export``) to its path, its date the
        as-of (UTC), a relative path under the config folder."""
        when = as_of or self.engine.clock.now()
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
                stop=stop, progress=progress, left_out=left_out,
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
        """Sync every destination of segment ``name``; one summary per destination. A
        destination whose provider asked not to be called yet is not started: its summary says
        ``waiting`` and until when. ``on_result`` is told each run's result and the provider
        of its destination (the worker's metrics)."""
        for segment, destination in self.select([name]):
            if stop is not None and stop.is_set():
                return
            until = deferred_until(self.engine, segment.name, destination.key)
            if until is not None:
                yield waiting(destination.key, until)
                continue
            result = self.sync(segment, destination, trigger=trigger, stop=stop)
            if on_result is not None:
                on_result(result, self.kind(destination))
            yield summary(result)

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
