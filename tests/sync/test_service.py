"""The service: one compiled members query per run, handed to the engine for every phase."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import syncer.segments.compiler as compiler
from syncer.settings import Settings
from syncer.sync.service import SyncService
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
    "destinations": [{"profile": "mc", "list": "L1", "tag": "vip"}],
}


@pytest.fixture
def service(db_url: str, tmp_path: Path, fake: FakeProvider) -> Iterator[SyncService]:
    config = tmp_path / "config"
    (config / "segments").mkdir(parents=True)
    (config / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    (config / "segments" / "vip.yaml").write_text(yaml.safe_dump(VIP), encoding="utf-8")
    settings = Settings(database_url=db_url, config_dir=config)
    svc = SyncService(settings, {}, clock=FakeClock(), confirm_wait=0.0, page_size=4)
    svc._providers["mc"] = fake  # the profile's provider, without a network
    yield svc
    svc.close()


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The segments compiled (``members_query`` calls), wherever the sync layer calls it from."""
    calls: list[str] = []
    real = compiler.members_query

    def spy(segment: Any, segments: Any, *, as_of: Any) -> Any:
        calls.append(segment.name)
        return real(segment, segments, as_of=as_of)

    monkeypatch.setattr(compiler, "members_query", spy)
    monkeypatch.setattr("syncer.sync.service.members_query", spy, raising=False)
    return calls


def test_a_run_with_pending_changes_compiles_the_segment_once(
    shop: Shop, fake: FakeProvider, service: SyncService, compiles: list[str]
) -> None:
    shop.add(6)
    fake.reject["c1@example.com"] = ("busy", True)  # stays pending: the next run refreshes it
    (first,) = service.run_segment("VIP")
    assert first["pending"] == 1 and compiles == ["VIP"]
    fake.reject.clear()
    shop.set(2, loyalty_card="Silver")
    fake.reject["c2@example.com"] = ("busy", True)  # a pending remove, resent before the diff
    compiles.clear()
    (second,) = service.run_segment("VIP")
    assert second["adds"] == 1 and second["pending"] == 1 and compiles == ["VIP"]


def test_a_full_run_and_a_dry_run_compile_the_segment_once(
    shop: Shop, fake: FakeProvider, service: SyncService, compiles: list[str]
) -> None:
    shop.add(6)
    ((segment, destination),) = service.select(["VIP"])
    fake.reject["c1@example.com"] = ("busy", True)
    service.sync(segment, destination)
    fake.reject.clear()
    fake.tagged.pop("c3@example.com")  # drift: the full run's repair adds it again
    compiles.clear()
    result = service.sync(segment, destination, full=True)
    assert (result.outcome, result.adds, result.pending) == ("ok", 2, 0)
    assert compiles == ["VIP"]
    compiles.clear()
    shop.add(2, start=7)
    dry = service.sync(segment, destination, dry_run=True)
    assert (dry.outcome, dry.adds) == ("dry-run", 2) and compiles == ["VIP"]
