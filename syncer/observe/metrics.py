"""The worker's Prometheus metrics: one registry, updated from each finished run's RunResult.

    metrics = WorkerMetrics()
    metrics.record(result, provider="mailchimp")   # where a run ends (the worker's runner)

Labels: ``segment`` and ``destination`` (its key, ``profile/list/tag``) per target; ``provider``
for API calls and retries (accounts share limits per provider, not per segment).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from syncer.state.history import DestinationStatus
from syncer.state.runs import OK, SKIPPED, RunResult

TARGET = ("segment", "destination")
# Runs take from well under a second (nothing changed) to many minutes (a first sync).
DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class WorkerMetrics:
    """Counters and gauges of the runs this process finished, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.runs = Counter(
            "syncer_runs", "Runs finished, by outcome.", [*TARGET, "outcome"], registry=reg
        )
        self.added = Counter("syncer_members_added", "Members added.", TARGET, registry=reg)
        self.removed = Counter("syncer_members_removed", "Members removed.", TARGET, registry=reg)
        self.updated = Counter("syncer_members_updated", "Members updated.", TARGET, registry=reg)
        self.rejections = Counter(
            "syncer_rejections", "Members the provider refused.", TARGET, registry=reg
        )
        self.api_calls = Counter(
            "syncer_api_calls", "Provider API calls.", ["provider"], registry=reg
        )
        self.retries = Counter(
            "syncer_api_retries", "Provider API calls retried.", ["provider"], registry=reg
        )
        self.last_success = Gauge(
            "syncer_last_success_timestamp_seconds",
            "When the destination's last ok run finished (Unix time).",
            TARGET,
            registry=reg,
        )
        self.pending = Gauge(
            "syncer_pending_changes",
            "Changes left pending for the next run, as of the destination's last run.",
            TARGET,
            registry=reg,
        )
        self.duration = Histogram(
            "syncer_run_duration_seconds",
            "How long runs took.",
            TARGET,
            buckets=DURATION_BUCKETS,
            registry=reg,
        )

    def record(self, result: RunResult, provider: str) -> None:
        """Count one finished run. A skipped run (another process held the lock) did nothing
        but is counted as a run."""
        target = (result.segment, result.destination)
        self.runs.labels(*target, result.outcome).inc()
        if result.outcome == SKIPPED:
            return
        self.added.labels(*target).inc(result.adds)
        self.removed.labels(*target).inc(result.removes)
        self.updated.labels(*target).inc(result.updates)
        self.rejections.labels(*target).inc(result.rejections)
        self.api_calls.labels(provider).inc(result.api_calls)
        self.retries.labels(provider).inc(result.retries)
        self.pending.labels(*target).set(result.pending)
        self.duration.labels(*target).observe(result.seconds)
        if result.outcome == OK and result.finished_at is not None:
            self.last_success.labels(*target).set(result.finished_at.timestamp())

    def seed(self, statuses: Iterable[DestinationStatus]) -> None:
        """The last success of each destination as the state database knows it (at start, so
        that a restarted worker does not look as if it never succeeded)."""
        for s in statuses:
            if s.last_success is not None:
                self.last_success.labels(s.segment, s.destination).set(s.last_success.timestamp())
