"""Runs started from the browser: one thread per run calling ``SyncService.sync``, the very call
``syncer sync`` makes, with the engine's progress kept for the page to poll.

    job = jobs.start(settings, env, "VIP customers", "demo-mailchimp/demo-list/vip", "dry-run")
    jobs.get(job.id).progress   # RunProgress: phase, done / total, calls, retries
    jobs.get(job.id).result     # RunResult once finished (or .error: one line)

The destination's lock in the state database keeps a run from the browser, the CLI and the
worker from ever pushing the same destination at once (a second one ends ``skipped``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from syncer.errors import SyncerError
from syncer.segments.model import Segment, SegmentDestination
from syncer.settings import Settings
from syncer.state.runs import RunResult
from syncer.sync.engine import RunProgress
from syncer.sync.service import SyncService

log = logging.getLogger("syncer.web")
MODES = ("dry-run", "resync", "full")  # a dry run (nothing sent), a run, a run with --full
KEEP = 50  # finished jobs remembered (their results are in the run history anyway)


@dataclass
class Job:
    id: str
    segment: str
    destination: str
    mode: str
    started: datetime
    progress: RunProgress = field(default_factory=lambda: RunProgress("starting"))
    result: RunResult | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Jobs:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._guard = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        with self._guard:
            return self._jobs.get(job_id)

    def choose(
        self, settings: Settings, env: Mapping[str, str], segment: str, destination: str
    ) -> tuple[Segment, SegmentDestination]:
        """The (segment, destination) pair, checked like ``syncer sync SEGMENT -d DEST``
        (ConfigError with the CLI's message otherwise)."""
        service = SyncService(settings, env)
        try:
            pairs = service.select([segment], destination=destination)
        finally:
            service.close()
        exact = [p for p in pairs if p[1].key == destination] or pairs
        return exact[0]

    def start(
        self,
        settings: Settings,
        env: Mapping[str, str],
        segment: str,
        destination: str,
        mode: str,
    ) -> Job:
        """Check the choice (ConfigError) and start its run in a thread."""
        if mode not in MODES:
            raise SyncerError(f"unknown run mode {mode!r}; use one of: {', '.join(MODES)}")
        chosen = self.choose(settings, env, segment, destination)
        job = Job(uuid.uuid4().hex, chosen[0].name, chosen[1].key, mode, datetime.now(UTC))
        with self._guard:
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP]:
                if self._jobs[old].done.is_set():
                    del self._jobs[old]
        thread = threading.Thread(
            target=self._run, args=(job, settings, env), name=f"web-run-{job.id[:8]}", daemon=True
        )
        thread.start()
        return job

    def _run(self, job: Job, settings: Settings, env: Mapping[str, str]) -> None:
        service = SyncService(settings, env)
        try:
            segment, destination = self.choose(settings, env, job.segment, job.destination)
            job.result = service.sync(
                segment,
                destination,
                trigger="web",
                dry_run=job.mode == "dry-run",
                full=job.mode == "full",
                progress=self._tell(job),
            )
            job.error = job.result.error
        except SyncerError as err:
            job.error = str(err)
        except Exception:  # a bug: the page says so in one line, the log has the traceback
            log.exception("run %s of %s -> %s failed", job.mode, job.segment, job.destination)
            job.error = "the run failed unexpectedly; see the server log"
        finally:
            service.close()
            job.done.set()

    @staticmethod
    def _tell(job: Job) -> Callable[[RunProgress], None]:
        def tell(progress: RunProgress) -> None:
            job.progress = progress

        return tell
