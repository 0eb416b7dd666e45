"""The scheduler: runs each segment's syncs on the cron schedule in its file.

- One APScheduler job per segment that has a ``schedule`` and destinations; the job syncs every
  destination of the segment (side by side, up to the process's ``--concurrency`` destinations
  at once across all segments: ``SyncService.each``; the segment is evaluated once). A worker
  given ``tags`` (``syncer schedule --tag T``) takes only the segments carrying one of them, on
  every reload, so workers can split the segments.
- Missed runs are coalesced into one (``coalesce=True``); a segment never overlaps itself in this
  process (``max_instances=1``) and never across processes (the sync engine's lock).
- Changed config files (segments/*.yaml, profiles.yaml) are noticed by a poll of their
  modification times and the jobs rebuilt; a segment file that does not load is reported in
  one line and the others keep running; a configuration that does not load at all (the loader
  raises) is reported in one line and the previous jobs keep running.
- Each run is logged as one structured line (JSON).
- SIGTERM or SIGINT: no new runs start; the run in flight is asked to stop after its current
  batch (``stop`` event), which leaves its pending changes for the next run; then the process exits.
  ``stop_on_signals`` is that handling; ``syncer sync`` uses it too.
- A destination whose provider asked not to be called before a time (a long ``Retry-After``)
  is not started before then: its line says ``"outcome": "waiting"`` and the time
  (``SyncService.run_segment``).
- ``check`` (if given) runs at start and every ``check_seconds``: the worker marks runs of dead
  processes ``interrupted`` and alerts STALE destinations there (``SyncService.check``); an
  error is one ``check_failed`` line and the next check runs as usual.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from syncer.db import mask_url
from syncer.errors import SyncerError
from syncer.segments.tags import has_any_tag

log = logging.getLogger("syncer.schedule")


class ScheduledSegment(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def schedule(self) -> str | None: ...

    @property
    def destinations(self) -> Any: ...

    @property
    def tags(self) -> Sequence[str]: ...


# Runs one segment's syncs; yields one summary mapping per destination (logged as a line).
SegmentRunner = Callable[[str, threading.Event], Iterable[Mapping[str, object]]]
# Loads the segments; raises SyncerError for bad config.
SegmentsLoader = Callable[[], Mapping[str, ScheduledSegment]]


def config_fingerprint(paths: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime_ns, size) of every file under ``paths``; changes when any file does."""
    found: list[tuple[str, int, int]] = []
    for root in paths:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for f in files:
            if f.is_file():
                st = f.stat()
                found.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(found)


def log_line(event: str, **fields: object) -> None:
    """One structured log line: message ``event``, with ``fields`` (``syncer.observe.logs``
    writes it as one JSON object: ``{"ts", "level", "logger", "message", "event", ...}``)."""
    log.info(event, extra={"syncer_fields": {"event": event, **fields}})


@contextmanager
def stop_on_signals(
    stop: threading.Event, on_signal: Callable[[str], None] | None = None
) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT set ``stop`` (the run in flight ends after its current
    batch, its pending changes kept) instead of killing the process; ``on_signal`` is told the
    signal's name. The previous handlers are restored on leaving. Main thread only."""

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        if on_signal is not None:
            on_signal(signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class SyncScheduler:
    """Keeps one cron job per scheduled segment, and reloads when the config changes."""

    def __init__(
        self,
        load: SegmentsLoader,
        run_segment: SegmentRunner,
        watch: Iterable[Path],
        *,
        reload_seconds: float = 10.0,
        misfire_grace_seconds: int = 3600,
        tags: Sequence[str] = (),
        check: Callable[[], None] | None = None,
        check_seconds: float = 60.0,
    ) -> None:
        self._load = load
        self._run_segment = run_segment
        self._watch = list(watch)
        self._reload_seconds = reload_seconds
        self._misfire = misfire_grace_seconds
        self.tags = tuple(tags)  # only segments carrying one of these (none: every segment)
        self._check = check
        self._check_seconds = check_seconds
        self.stop_event = threading.Event()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._fingerprint: tuple[tuple[str, int, int], ...] = ()
        self.schedules: dict[str, str] = {}
        self.last_tick: datetime | None = None  # the last config check of the scheduler's loop

    # --- jobs ----------------------------------------------------------------------------
    def reload(self) -> bool:
        """Rebuild the jobs from the config; False (old jobs kept) if the config is bad."""
        self._fingerprint = config_fingerprint(self._watch)
        try:
            segments = self._load()
        except SyncerError as err:
            log_line("config_error", error=str(err), kept=sorted(self.schedules))
            return False
        for problem in getattr(segments, "broken", ()):  # set aside; the others still run
            log_line("config_error", error=str(problem), skipped=True)
        wanted = {
            name: seg.schedule
            for name, seg in segments.items()
            if seg.schedule and list(seg.destinations) and has_any_tag(seg, self.tags)
        }
        for name in set(self.schedules) - set(wanted):
            self._scheduler.remove_job(name)
        for name, cron in wanted.items():
            if self.schedules.get(name) == cron:
                continue
            self._scheduler.add_job(
                self._run,
                CronTrigger.from_crontab(cron, timezone=UTC),
                args=[name],
                id=name,
                name=name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=self._misfire,
                replace_existing=True,
            )
        self.schedules = dict(wanted)
        log_line("scheduled", segments=self.schedules, **({"tags": self.tags} if self.tags else {}))
        return True

    def _run(self, name: str) -> None:
        if self.stop_event.is_set():
            return
        started = datetime.now(UTC)
        try:
            for summary in self._run_segment(name, self.stop_event):
                log_line("run", segment=name, **summary)
        except SyncerError as err:
            log_line("run_failed", segment=name, error=str(err))
        except Exception as err:  # a scheduler must outlive one failing run
            log_line("run_crashed", segment=name, error=mask_url(f"{type(err).__name__}: {err}"))
        finally:
            elapsed = (datetime.now(UTC) - started).total_seconds()
            log_line("run_done", segment=name, seconds=round(elapsed, 3))

    def _run_check(self) -> None:
        if self._check is None or self.stop_event.is_set():
            return
        try:
            self._check()
        except SyncerError as err:
            log_line("check_failed", error=str(err))
        except Exception as err:  # the worker outlives a failing check
            log_line("check_failed", error=mask_url(f"{type(err).__name__}: {err}"))

    def _reload_if_changed(self) -> None:
        self.last_tick = datetime.now(UTC)
        if config_fingerprint(self._watch) != self._fingerprint:
            self.reload()

    def alive(self) -> bool:
        """Running, not stopping, and its loop checked the config lately (within three checks
        and a few seconds): what the worker's /healthz reports."""
        if not self._scheduler.running or self.stop_event.is_set() or self.last_tick is None:
            return False
        late = (datetime.now(UTC) - self.last_tick).total_seconds()
        return late <= 3 * self._reload_seconds + 5

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self.reload()
        self.last_tick = datetime.now(UTC)
        self._scheduler.add_job(
            self._reload_if_changed,
            "interval",
            seconds=self._reload_seconds,
            id="__reload__",
            coalesce=True,
            max_instances=1,
        )
        if self._check is not None:
            self._scheduler.add_job(
                self._run_check,
                "interval",
                seconds=self._check_seconds,
                id="__check__",
                coalesce=True,
                max_instances=1,
                next_run_time=datetime.now(UTC),  # at start too
            )
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop starting runs, ask the one in flight to stop after its batch, and wait."""
        self.stop_event.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        log_line("stopped")

    def serve_forever(self) -> None:
        """Run until SIGTERM/SIGINT, then shut down cleanly."""
        with stop_on_signals(self.stop_event, lambda name: log_line("signal", signal=name)):
            try:
                self.start()
                while not self.stop_event.wait(0.5):
                    pass
            finally:
                self.shutdown()
