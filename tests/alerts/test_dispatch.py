"""Which runs and statuses alert, de-duplicated through the state database, and what a channel
that fails does (logged in one masked line; the next event tries again)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from syncer.alerts.config import AlertsConfig, Channel, Rule
from syncer.alerts.dispatch import Alerter
from syncer.state.history import DestinationStatus
from syncer.state.migrate import upgrade
from syncer.state.runs import RunResult
from tests.alerts.conftest import Receiver
from tests.sync.fakes import FakeClock

EVENTS = ("failed", "partial", "stale", "rejections_spike", "recovered")


def alerter(engine: Engine, url: str, clock: FakeClock) -> Alerter:
    upgrade(engine)
    config = AlertsConfig(
        channels={"hook": Channel("hook", "webhook", url=url, timeout=2)},
        rules=(Rule(EVENTS, ("hook",)),),
        repeat_after=timedelta(hours=1),
        rejections_threshold=3,
    )
    return Alerter(config, engine, clock.now)


def run(outcome: str, run_id: int, *, rejections: int = 0) -> RunResult:
    result = RunResult("VIP", "mc/L1/vip", outcome=outcome, run_id=run_id)
    result.rejections = rejections
    result.error = None if outcome == "ok" else "mailchimp: HTTP 503"
    return result


def events(receiver: Receiver) -> list[str]:
    return [body["event"] for _path, body in receiver.requests]


def test_failures_alert_once_per_interval_and_again_after_it(
    engine: Engine, receiver: Receiver
) -> None:
    clock = FakeClock()
    alerts = alerter(engine, receiver.url, clock)
    alerts.after_run(run("failed", 1))
    clock.advance(60)
    alerts.after_run(run("partial", 2))  # same spell, within the hour
    assert events(receiver) == ["failed"]
    clock.advance(3600)
    alerts.after_run(run("failed", 3))
    assert events(receiver) == ["failed", "failed"]
    assert receiver.requests[1][1]["suppressed"] == 1


def test_recovery_alerts_once_and_a_new_failure_alerts_at_once(
    engine: Engine, receiver: Receiver
) -> None:
    clock = FakeClock()
    alerts = alerter(engine, receiver.url, clock)
    alerts.after_run(run("ok", 1))  # nothing was wrong: no alert
    alerts.after_run(run("failed", 2))
    clock.advance(60)
    alerts.after_run(run("ok", 3))
    alerts.after_run(run("ok", 4))
    clock.advance(60)
    alerts.after_run(run("failed", 5))  # within the hour, but after a recovery
    assert events(receiver) == ["failed", "recovered", "failed"]
    recovered = receiver.requests[1][1]
    assert recovered["run"]["id"] == 3 and recovered["since"] == "2026-11-24T10:00:00+00:00"


def test_rejection_spike_alerts_at_the_threshold(engine: Engine, receiver: Receiver) -> None:
    clock = FakeClock()
    alerts = alerter(engine, receiver.url, clock)
    alerts.after_run(run("ok", 1, rejections=2))
    assert events(receiver) == []
    alerts.after_run(run("ok", 2, rejections=3))
    alerts.after_run(run("ok", 3, rejections=9))  # still spiking, within the hour
    assert events(receiver) == ["rejections_spike"]
    assert "3 member(s) refused by the provider (threshold 3)" in receiver.requests[0][1]["summary"]
    alerts.after_run(run("ok", 4, rejections=0))
    alerts.after_run(run("ok", 5, rejections=4))  # a new spike after a quiet run
    assert events(receiver) == ["rejections_spike", "rejections_spike"]


def stale(flag: bool) -> DestinationStatus:
    reason = "last success 3h ago; schedule every 15m" if flag else ""
    return DestinationStatus("VIP", "mc/L1/vip", "*/15 * * * *", None, "failed", None, flag, reason)


def test_stale_alerts_once_and_a_success_recovers_it(engine: Engine, receiver: Receiver) -> None:
    clock = FakeClock()
    alerts = alerter(engine, receiver.url, clock)
    alerts.check_stale([stale(False)])
    alerts.check_stale([stale(True)])
    clock.advance(60)
    alerts.check_stale([stale(True)])
    assert events(receiver) == ["stale"]
    assert receiver.requests[0][1]["detail"] == "last success 3h ago; schedule every 15m"
    alerts.after_run(run("ok", 1))
    assert events(receiver) == ["stale", "recovered"]


def test_receiver_down_is_logged_masked_and_the_next_event_retries(
    engine: Engine, down_url: str, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    alerts = alerter(engine, down_url, clock)
    with caplog.at_level(logging.WARNING, logger="syncer.alerts"):
        (delivery,) = alerts.after_run(run("failed", 1))
    assert not delivery.ok
    (line,) = [r.getMessage() for r in caplog.records if r.name == "syncer.alerts"]
    assert line.startswith("alert not delivered: failed to channel hook (webhook http://127.0.0.1")
    assert "refused" in line and "s3cr3t" not in line and "/services/" not in line
    clock.advance(60)
    retry = alerter(engine, receiver.url, clock)  # the receiver is back (another URL here)
    retry.after_run(run("failed", 2))
    assert events(receiver) == ["failed"]  # not swallowed by the failed attempt's de-dup
