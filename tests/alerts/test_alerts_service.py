"""Alerts where runs end (``SyncService.sync``: both `syncer sync` and the worker) and in the
worker's periodic check (STALE, interrupted runs); a receiver that is down never changes the
sync's result."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from providers.errors import FatalError
from syncer.errors import ConfigError
from syncer.settings import Settings
from syncer.sync.service import SyncService
from tests.alerts.conftest import Receiver
from tests.sync.fakes import FakeClock, FakeProvider, Shop

PROFILES = """
profiles:
  mc:
    provider: mailchimp
    credentials:
      api_key: ${SERVICE_TEST_MC_KEY:-demo-us1}
"""
VIP = {
    "name": "VIP",
    "rules": {"field": "loyalty_card", "op": "eq", "value": "Gold"},
    "schedule": "*/15 * * * *",
    "destinations": [{"profile": "mc", "list": "L1", "tag": "vip"}],
}
ALERTS = """
channels:
  hook: {type: webhook, url: "${ALERT_TEST_URL}", timeout: 2}
rules:
  - {events: [failed, partial, stale, rejections_spike, recovered], channels: [hook]}
repeat_after: 1h
"""


def make_service(db_url: str, config: Path, url: str, fake: FakeProvider) -> SyncService:
    svc = SyncService(
        Settings(database_url=db_url, config_dir=config),
        {"ALERT_TEST_URL": url},
        clock=FakeClock(),
        confirm_wait=0.0,
    )
    svc._providers["mc"] = fake  # the profile's provider, without a network
    return svc


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    (folder / "segments").mkdir(parents=True)
    (folder / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    (folder / "segments" / "vip.yaml").write_text(yaml.safe_dump(VIP), encoding="utf-8")
    (folder / "alerts.yaml").write_text(ALERTS, encoding="utf-8")
    return folder


@pytest.fixture
def service(
    db_url: str, config: Path, receiver: Receiver, fake: FakeProvider
) -> Iterator[SyncService]:
    svc = make_service(db_url, config, receiver.url, fake)
    yield svc
    svc.close()


def test_failed_run_alerts_and_recovery_follows(
    shop: Shop, fake: FakeProvider, service: SyncService, receiver: Receiver
) -> None:
    shop.add(4)
    fake.raise_at[0] = FatalError("HTTP 400 bad request", provider="fake")
    (first,) = service.run_segment("VIP")
    assert first["outcome"] == "failed"
    (second,) = service.run_segment("VIP")
    assert second["outcome"] == "ok"
    assert [body["event"] for _p, body in receiver.requests] == ["failed", "recovered"]
    assert receiver.requests[0][1]["run"]["id"] == first["run_id"]


def test_receiver_down_leaves_the_result_alone_and_is_logged(
    db_url: str, config: Path, down_url: str, shop: Shop, fake: FakeProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    shop.add(4)
    fake.raise_at[0] = FatalError("HTTP 400 bad request", provider="fake")
    svc = make_service(db_url, config, down_url, fake)
    try:
        with caplog.at_level(logging.WARNING, logger="syncer.alerts"):
            (summary,) = svc.run_segment("VIP")
    finally:
        svc.close()
    assert summary["outcome"] == "failed" and summary["pending"] == 4
    (line,) = [r.getMessage() for r in caplog.records if r.name == "syncer.alerts"]
    assert "alert not delivered: failed to channel hook" in line and "s3cr3t" not in line


def test_worker_check_alerts_stale_once(
    service: SyncService, receiver: Receiver, fake: FakeProvider
) -> None:
    service.check()  # never synced: STALE
    service.check()
    assert [body["event"] for _p, body in receiver.requests] == ["stale"]
    assert receiver.requests[0][1]["detail"] == "never synced successfully"


def test_bad_alerts_file_is_a_config_error_before_any_sync(
    db_url: str, config: Path, fake: FakeProvider
) -> None:
    (config / "alerts.yaml").write_text(ALERTS.replace("[hook]", "[pager]"), encoding="utf-8")
    svc = make_service(db_url, config, "http://127.0.0.1:9/x", fake)
    with pytest.raises(ConfigError, match=r"alerts.yaml: rules\[0\].channels: unknown channel"):
        svc.reload()
