"""Config, databases and providers wired together for the CLI and the scheduler.

    service = SyncService(settings, os.environ)
    for segment, destination in service.select(["VIP customers"]):
        result = service.sync(segment, destination)   # the segment compiled once, then synced
    # the scheduler's runner: yields one summary dict per destination
    for summary in service.run_segment("VIP customers", stop_event): ...
    service.close()

Providers are built from ``config/profiles.yaml`` once per profile and shared (one rate
limiter per account). Configuration problems raise ConfigError before anything is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from providers.base import Provider
from providers.errors import ProviderError
from syncer.db import make_engine
from syncer.errors import ConfigError
from syncer.profiles import Profile, check_destinations, load_profiles
from syncer.segments.compiler import members_query
from syncer.segments.loader import SegmentSet, load_segments
from syncer.segments.model import DestinationConfig, Segment
from syncer.settings import Settings
from syncer.state.runs import RunResult
from syncer.sync.clock import Clock
from syncer.sync.engine import Progress, SyncEngine


def matches(destination: DestinationConfig, wanted: str) -> bool:
    """``--destination`` names a destination by key, profile or tag."""
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

    def select(
        self,
        names: Sequence[str] = (),
        *,
        all_segments: bool = False,
        destination: str | None = None,
    ) -> list[tuple[Segment, DestinationConfig]]:
        """The (segment, destination) pairs to sync; ConfigError if a name or profile is bad."""
        if not names and not all_segments:
            raise ConfigError("name one or more segments, or use --all")
        if names:
            chosen = [self.segments.get_or_error(n) for n in names]
        else:
            usable = with_known_profiles(self.segments, self.profiles, self.settings.profiles_file)
            self.problems = list(usable.broken)
            chosen = [s for s in usable.values() if s.destinations]
        pairs: list[tuple[Segment, DestinationConfig]] = []
        for seg in chosen:
            if names and not seg.destinations:
                raise ConfigError(
                    f"segment {seg.name!r} has no destinations",
                    where=str(seg.source) if seg.source else None,
                    hint="add a `destinations:` entry (profile, list, tag) to sync it.",
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
        with self._guard:
            self.__dict__["segments"] = segments
            self.__dict__["profiles"] = profiles
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
        destination: DestinationConfig,
        *,
        trigger: str = "cli",
        dry_run: bool = False,
        full: bool = False,
        as_of: datetime | None = None,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> RunResult:
        """Sync ``segment`` to ``destination`` once (``SyncEngine.sync``): its members query is
        compiled here, once, as of ``as_of`` (default: now), and every phase of the run reads it."""
        members = members_query(segment, self.segments, as_of=as_of or self.engine.clock.now())
        return self.engine.sync(
            segment.name, destination, members, trigger=trigger, dry_run=dry_run, full=full,
            stop=stop, progress=progress,
        )  # fmt: skip

    def run_segment(
        self, name: str, stop: threading.Event | None = None, *, trigger: str = "schedule"
    ) -> Iterator[dict[str, Any]]:
        """Sync every destination of segment ``name``; one summary per destination. A
        destination whose provider asked not to be called yet is not started: its summary says
        ``waiting`` and until when."""
        for segment, destination in self.select([name]):
            if stop is not None and stop.is_set():
                return
            until = deferred_until(self.engine, segment.name, destination.key)
            if until is not None:
                yield waiting(destination.key, until)
                continue
            result = self.sync(segment, destination, trigger=trigger, stop=stop)
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
    data.update(api_calls=result.api_calls, retries=result.retries, pending=result.pending)
    data["seconds"] = round(result.seconds, 3)
    if result.error:
        data["error"] = result.error
    if result.retry_not_before is not None:
        data["retry_not_before"] = result.retry_not_before.isoformat(timespec="seconds")
    return data
