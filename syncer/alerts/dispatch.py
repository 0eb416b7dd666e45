"""From run results and destination statuses to alerts: which events, whether each is due
(de-duplicated in the state database, ``syncer.state.alerts``), and delivery to the channels the
rules name. Nothing here changes a sync's outcome: a channel that fails is logged in one masked
line and the others still get the alert.

    failed / partial     the run's outcome (one condition, "failing")
    recovered            an ``ok`` run after failing or STALE (once per spell)
    rejections_spike     a run with at least ``rejections_threshold`` refused members
    stale                ``check_stale``: the destination's last success is older than twice its
                         schedule (the worker checks periodically)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from syncer.alerts.config import AlertsConfig, Channel
from syncer.alerts.events import Event, run_event, stale_event, trial_event
from syncer.alerts.send import DeliveryFailed, deliver
from syncer.errors import ConfigError
from syncer.state import alerts as state
from syncer.state.history import DestinationStatus
from syncer.state.runs import FAILED, OK, PARTIAL, RunResult

log = logging.getLogger("syncer.alerts")

Sender = Callable[[Channel, Event], None]


@dataclass(frozen=True)
class Delivery:
    channel: str
    event: str
    ok: bool
    error: str = ""


class Alerter:
    def __init__(
        self,
        config: AlertsConfig,
        state_db: Engine,
        now: Callable[[], datetime],
        *,
        send: Sender = deliver,
    ) -> None:
        self.config = config
        self.state_db = state_db
        self.now = now
        self.send = send

    def after_run(self, result: RunResult) -> list[Delivery]:
        """The alerts a finished run calls for (none for skipped runs and dry runs)."""
        if result.outcome not in (OK, PARTIAL, FAILED):
            return []
        at, seg, dest = self.now(), result.segment, result.destination
        out: list[Delivery] = []
        if result.outcome in (PARTIAL, FAILED):
            taken = self._claim(seg, dest, state.FAILING, at)
            if taken is not None:
                event = run_event(
                    result.outcome, result, at, since=taken.since, suppressed=taken.suppressed
                )
                out += self._dispatch(event, taken)
        else:
            failing = state.resolve(self.state_db, seg, dest, state.FAILING)
            stale = state.resolve(self.state_db, seg, dest, state.STALE)
            if failing is not None or stale is not None:
                since = min(t for t in (failing, stale) if t is not None)
                out += self._dispatch(run_event("recovered", result, at, since=since), None)
        threshold = self.config.rejections_threshold
        if result.rejections >= threshold:
            taken = self._claim(seg, dest, state.REJECTIONS, at)
            if taken is not None:
                event = run_event(
                    "rejections_spike", result, at, since=taken.since,
                    suppressed=taken.suppressed, threshold=threshold,
                )  # fmt: skip
                out += self._dispatch(event, taken)
        else:
            state.resolve(self.state_db, seg, dest, state.REJECTIONS)
        return out

    def check_stale(self, statuses: Iterable[DestinationStatus]) -> list[Delivery]:
        """An alert for each STALE destination (de-duplicated like the others); a destination
        no longer stale ends its spell quietly (its recovery was the successful run's alert)."""
        at = self.now()
        out: list[Delivery] = []
        for status in statuses:
            if not status.stale:
                state.resolve(self.state_db, status.segment, status.destination, state.STALE)
                continue
            taken = self._claim(status.segment, status.destination, state.STALE, at)
            if taken is not None:
                event = stale_event(
                    status.segment, status.destination, status.reason, at,
                    since=taken.since, suppressed=taken.suppressed,
                )  # fmt: skip
                out += self._dispatch(event, taken)
        return out

    # --- internals ---------------------------------------------------------------------------
    def _claim(
        self, segment: str, destination: str, condition: str, at: datetime
    ) -> state.Claim | None:
        return state.claim(
            self.state_db, segment, destination, condition, at, self.config.repeat_after
        )

    def _dispatch(self, event: Event, taken: state.Claim | None) -> list[Delivery]:
        channels = self.config.route(event.kind, event.segment)
        done = [self._deliver(channel, event) for channel in channels]
        if taken is not None and channels and not any(d.ok for d in done):
            state.release(self.state_db, taken)  # nobody got it: the next event tries again
        return done

    def _deliver(self, channel: Channel, event: Event) -> Delivery:
        return deliver_logged(channel, event, self.send)


def trial(
    config: AlertsConfig,
    channel: str | None,
    at: datetime,
    *,
    send: Sender = deliver,
    log_failures: bool = True,
) -> list[Delivery]:
    """Send a test alert to ``channel`` (None: every channel); nothing is recorded."""
    if channel is not None and channel not in config.channels:
        known = ", ".join(sorted(config.channels)) or "none"
        raise ConfigError(
            f"unknown channel {channel!r} (known: {known})",
            where=str(config.source or "alerts.yaml"),
            hint="use a name under `channels:`.",
        )
    names = [channel] if channel is not None else list(config.channels)
    return [
        deliver_logged(config.channels[n], trial_event(n, at), send, log_failures=log_failures)
        for n in names
    ]


def deliver_logged(
    channel: Channel, event: Event, send: Sender = deliver, *, log_failures: bool = True
) -> Delivery:
    """Deliver ``event`` to ``channel``; a failure is one masked warning line, never raised."""
    try:
        send(channel, event)
    except DeliveryFailed as err:
        line = channel.mask(str(err))
        if log_failures:
            log.warning(
                "alert not delivered: %s to channel %s: %s", event.kind, channel.label, line
            )
        return Delivery(channel.name, event.kind, False, line)
    log.info("alert sent: %s to channel %s", event.kind, channel.label)
    return Delivery(channel.name, event.kind, True)
