"""csv destinations run through the service like provider ones: the file, its rows, atomicity,
``require`` (csv and provider), the run record, STALE marks and the worker's runner."""

from __future__ import annotations

import csv
import gzip
import io
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, insert

from syncer.schema import ORDERS
from syncer.segments.compiler import members_query
from syncer.settings import Settings
from syncer.state.history import destination_status, list_runs
from syncer.state.migrate import ensure_schema
from syncer.sync.engine import RunProgress
from syncer.sync.service import SyncService
from tests.sync.fakes import FakeClock, FakeProvider, Shop

PROFILES = """
profiles:
  mc:
    provider: mailchimp
    credentials:
      api_key: ${SERVICE_TEST_MC_KEY:-demo-us1}
"""
RULES = {"field": "loyalty_card", "op": "eq", "value": "Gold"}
COLUMNS = ["customer_id", "email", "first_name", "zip", "orders", "total_spent", "consent"]
CSV = {"kind": "csv", "path": "exports/vip-{date}.csv", "columns": COLUMNS}


def write_segment(config: Path, *destinations: Any, schedule: str | None = None) -> None:
    data: dict[str, Any] = {"name": "VIP", "rules": RULES, "destinations": list(destinations)}
    if schedule:
        data["schedule"] = schedule
    (config / "segments" / "vip.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    (folder / "segments").mkdir(parents=True)
    (folder / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    write_segment(folder, CSV)
    return folder


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_service(
    db_url: str, config: Path, fake: FakeProvider, clock: FakeClock
) -> Iterator[Callable[[], SyncService]]:
    made: list[SyncService] = []

    def build() -> SyncService:
        settings = Settings(database_url=db_url, config_dir=config)
        svc = SyncService(settings, {}, clock=clock, confirm_wait=0.0, page_size=4)
        svc._providers["mc"] = fake
        made.append(svc)
        return svc

    yield build
    for svc in made:
        svc.close()


def read(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    text = gzip.decompress(raw).decode() if path.suffix == ".gz" else raw.decode()
    return list(csv.DictReader(io.StringIO(text)))


def add_orders(engine: Engine, customer_id: int, *cents: int) -> None:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    rows = [{"customer_id": customer_id, "placed_at": at, "total_cents": c} for c in cents]
    with engine.begin() as conn:
        conn.execute(insert(ORDERS), rows)


def test_a_csv_run_writes_the_segments_members_and_records_the_run(
    shop: Shop, engine: Engine, config: Path, make_service: Callable[[], SyncService]
) -> None:
    shop.add(7)
    shop.add(3, start=20, card="Silver")  # not members
    shop.set(2, zip="02134", first_name="Zoë")
    shop.set(3, accepts_marketing=False)  # written too: a file is not a mailing
    add_orders(engine, 2, 1999, 500)
    add_orders(engine, 4, 12345)
    service = make_service()
    ((segment, dest),) = service.select(["VIP"])
    result = service.sync(segment, dest)

    target = config / "exports" / "vip-2026-11-24.csv"
    assert result.outcome == "ok" and result.exported == 7 and result.file == str(target)
    rows = read(target)
    assert list(rows[0]) == COLUMNS
    when = service.engine.clock.now()
    with engine.connect() as conn:
        members = sorted(conn.execute(members_query(segment, service.segments, as_of=when)))
    # one row per member, ascending by customer id
    assert [r["customer_id"] for r in rows] == [str(m.customer_id) for m in members]
    assert [r["email"] for r in rows] == [m.email for m in members]
    by_id = {r["customer_id"]: r for r in rows}
    assert by_id["2"] == {
        "customer_id": "2", "email": "c2@example.com", "first_name": "Zoë", "zip": "02134",
        "orders": "2", "total_spent": "24.99", "consent": "true",
    }  # fmt: skip
    assert by_id["4"]["total_spent"] == "123.45" and by_id["1"]["total_spent"] == "0.00"
    assert by_id["3"]["consent"] == "false" and by_id["1"]["zip"] == ""
    assert not list(target.parent.glob(".*partial"))

    (run,) = list_runs(service.engine.state, segment="VIP")
    assert run["outcome"] == "ok" and run["exported"] == 7 and run["file"] == str(target)
    assert run["destination"] == "csv:exports/vip-{date}.csv" and run["left_out"] == 0
    assert run["adds"] == 0 and run["api_calls"] == 0


def test_gzip_and_the_date_pattern_follow_the_as_of(
    shop: Shop, config: Path, make_service: Callable[[], SyncService]
) -> None:
    shop.add(3)
    path = "out/{date:%Y}/vip-{date:%Y%m%d}.csv.gz"
    write_segment(config, {"kind": "csv", "path": path, "columns": ["email"]})
    service = make_service()
    ((segment, dest),) = service.select(["VIP"])
    result = service.sync(segment, dest, as_of=datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    target = config / "out" / "2026" / "vip-20260228.csv.gz"
    assert result.outcome == "ok" and target.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic
    assert [r["email"] for r in read(target)] == [f"c{i}@example.com" for i in (1, 2, 3)]
    plain = {"kind": "csv", "path": "vip.csv.gz", "gzip": False, "columns": ["email"]}
    write_segment(config, plain)
    service = make_service()
    ((segment, dest),) = service.select(["VIP"])
    assert service.sync(segment, dest).outcome == "ok"
    assert (config / "vip.csv.gz").read_text().splitlines() == [
        "email", "c1@example.com", "c2@example.com", "c3@example.com",
    ]  # fmt: skip


def test_a_failure_mid_write_keeps_the_previous_file_whole(
    shop: Shop, config: Path, make_service: Callable[[], SyncService],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("syncer.export.BATCH", 2)
    shop.add(5)
    service = make_service()
    ((segment, dest),) = service.select(["VIP"])
    assert service.sync(segment, dest).outcome == "ok"
    target = config / "exports" / "vip-2026-11-24.csv"
    before = target.read_bytes()
    shop.add(5, start=10)

    def disk_full(at: RunProgress) -> None:
        if at.done >= 4:  # two batches are on disk by now
            raise OSError(28, "No space left on device")

    result = service.sync(segment, dest, progress=disk_full)
    assert result.outcome == "failed" and "No space left on device" in (result.error or "")
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    runs = list_runs(service.engine.state, segment="VIP")
    assert [r["outcome"] for r in runs] == ["failed", "ok"]
    assert runs[0]["exported"] is None and "No space left" in runs[0]["error"]


def test_a_stopped_run_is_partial_and_leaves_the_file_alone(
    shop: Shop, config: Path, make_service: Callable[[], SyncService],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("syncer.export.BATCH", 2)
    shop.add(6)
    service = make_service()
    ((segment, dest),) = service.select(["VIP"])
    stop = threading.Event()
    stop.set()
    result = service.sync(segment, dest, stop=stop)
    assert result.outcome == "partial" and "not replaced" in (result.error or "")
    assert not (config / "exports").exists() or not list((config / "exports").iterdir())


def test_require_keeps_out_members_lacking_a_value_and_counts_them(
    shop: Shop, config: Path, make_service: Callable[[], SyncService]
) -> None:
    shop.add(6)
    for i in (1, 2, 3):
        shop.set(i, zip=f"1000{i}")
    shop.set(2, first_name="  ")  # blank is missing
    shop.set(4, zip="")
    write_segment(config, {**CSV, "require": ["first_name", "zip"]})
    service = make_service()
    ((segment, dest),) = service.select(["VIP"])
    result = service.sync(segment, dest)
    assert result.outcome == "ok" and result.exported == 2 and result.left_out == 4
    rows = read(config / "exports" / "vip-2026-11-24.csv")
    assert [r["customer_id"] for r in rows] == ["1", "3"]
    (run,) = list_runs(service.engine.state, segment="VIP")
    assert run["left_out"] == 4 and run["exported"] == 2
    dry = service.sync(segment, dest, dry_run=True)
    assert dry.outcome == "dry-run" and (dry.exported, dry.left_out) == (2, 4)


def test_require_on_a_provider_destination_removes_members_who_lack_a_value(
    shop: Shop, config: Path, fake: FakeProvider, make_service: Callable[[], SyncService]
) -> None:
    provider = {"profile": "mc", "list": "L1", "tag": "vip"}
    shop.add(5)
    shop.set(2, zip="02134")
    shop.set(4, zip="10115")
    write_segment(config, provider)
    service = make_service()
    (first,) = service.run_segment("VIP")
    assert first["adds"] == 5 and "left_out" not in first and len(fake.tagged) == 5

    write_segment(config, {**provider, "require": ["zip"]})
    service = make_service()
    (second,) = service.run_segment("VIP")
    assert second["outcome"] == "ok" and second["removes"] == 3 and second["left_out"] == 3
    assert sorted(fake.tagged) == ["c2@example.com", "c4@example.com"]
    runs = list_runs(service.engine.state, segment="VIP")
    assert [r["left_out"] for r in runs] == [3, 0] and runs[0]["file"] is None

    shop.set(1, zip="75001")  # the value arrives: pushed like a newcomer
    (third,) = service.run_segment("VIP")
    assert third["adds"] == 1 and third["left_out"] == 2 and "c1@example.com" in fake.tagged


def test_csv_destinations_get_stale_marks_from_their_runs(
    shop: Shop, config: Path, clock: FakeClock, make_service: Callable[[], SyncService]
) -> None:
    shop.add(2)
    write_segment(config, CSV, schedule="0 * * * *")
    service = make_service()
    configured = {("VIP", "csv:exports/vip-{date}.csv"): "0 * * * *"}
    ensure_schema(service.engine.state)
    (never,) = destination_status(service.engine.state, configured, clock.now())
    assert never.stale and never.reason == "never synced successfully"
    (summary,) = service.run_segment("VIP")
    assert summary["rows"] == 2
    (fresh,) = destination_status(service.engine.state, configured, clock.now())
    assert not fresh.stale and fresh.last_outcome == "ok"
    later = clock.now() + timedelta(hours=3)
    (stale,) = destination_status(service.engine.state, configured, later)
    assert stale.stale and "last success 3h ago" in stale.reason


def test_the_workers_runner_writes_the_file_and_logs_its_rows(
    shop: Shop, config: Path, make_service: Callable[[], SyncService]
) -> None:
    shop.add(3)
    write_segment(
        config, CSV, {"profile": "mc", "list": "L1", "tag": "vip"}, schedule="*/5 * * * *"
    )
    service = make_service()
    csv_line, provider_line = service.run_segment("VIP", threading.Event())
    target = config / "exports" / "vip-2026-11-24.csv"
    assert csv_line == {
        "destination": "csv:exports/vip-{date}.csv", "outcome": "ok",
        "run_id": csv_line["run_id"], "adds": 0, "updates": 0, "removes": 0, "rejections": 0,
        "file": str(target), "rows": 3, "api_calls": 0, "retries": 0, "pending": 0,
        "seconds": 0.0,
    }  # fmt: skip
    assert provider_line["adds"] == 3 and len(read(target)) == 3
