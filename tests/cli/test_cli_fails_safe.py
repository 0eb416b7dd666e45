"""Config that fails safe: a broken file or an unused profile stops only what needs it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from syncer.cli.main import main
from syncer.db import make_engine
from syncer.sample.emulated import LocalProviders, profiles_yaml
from syncer.sample.shop import generate

GOLD = {"name": "Gold", "rules": {"field": "loyalty_card", "op": "eq", "value": "Gold"}}
BROKEN = {"name": "Bad", "rules": {"field": "visits", "op": "has"}}
UNSET_PROFILE = """\
  shop-sendlane:
    provider: sendlane
    credentials:
      api_token: ${SYNCER_TEST_UNSET_SENDLANE_TOKEN}
"""


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('shop') / 'shop.db'}"
    engine = make_engine(url)
    generate(engine, customers=300, seed=5, as_of=datetime.fromisoformat("2026-03-01"))
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def fleet() -> Iterator[LocalProviders]:
    with LocalProviders(["mailchimp"]) as providers:
        yield providers


@pytest.fixture
def config(tmp_path: Path, fleet: LocalProviders, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in fleet.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SYNCER_TEST_UNSET_SENDLANE_TOKEN", raising=False)
    folder = tmp_path / "config"
    (folder / "segments").mkdir(parents=True)
    (folder / "profiles.yaml").write_text(profiles_yaml(["mailchimp"]) + UNSET_PROFILE)
    dest = [{"profile": "demo-mailchimp", "list": "demo-list", "tag": "gold"}]
    (folder / "segments" / "gold.yaml").write_text(yaml.safe_dump({**GOLD, "destinations": dest}))
    return folder


def lines(text: str) -> list[str]:
    return [line for line in text.strip().splitlines() if line.strip()]


def test_a_broken_file_does_not_stop_counting_another_segment(
    config: Path, shop_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = config / "segments" / "bad.yaml"
    bad.write_text(yaml.safe_dump(BROKEN))
    base = ["--database-url", shop_db, "--config-dir", str(config), "segments"]
    for args in (("count", "Gold"), ("describe", "Gold"), ("preview", "Gold"), ("list",)):
        assert main([*base, *args]) == 0, args
        err = [e for e in lines(capsys.readouterr().err) if "fewer than 50" not in e]
        assert len(err) == 1 and str(bad) in err[0] and "Traceback" not in err[0]
    # the broken segment itself says why, in one line
    assert main([*base, "count", "Bad"]) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and str(bad) in err and "operator 'has'" in err
    # a name found nowhere names the file that did not load (it may be in there)
    assert main([*base, "count", "Nowhere"]) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and "no segment named 'Nowhere'" in err and str(bad) in err


def test_sync_all_syncs_every_valid_segment_and_reports_each_broken_one(
    config: Path, shop_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = config / "segments" / "bad.yaml"
    bad.write_text(yaml.safe_dump(BROKEN))
    lost = {**GOLD, "name": "Lost", "destinations": [{"profile": "nope", "list": "l", "tag": "t"}]}
    (config / "segments" / "lost.yaml").write_text(yaml.safe_dump(lost))
    args = ["--database-url", shop_db, "--config-dir", str(config), "sync", "--all", "--json"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "Gold" in captured.out and '"outcome": "ok"' in captured.out
    err = lines(captured.err)
    assert len(err) == 2, err
    assert any(str(bad) in e for e in err) and any("unknown profile 'nope'" in e for e in err)


def test_an_unset_variable_of_an_unused_profile_does_not_block_a_dry_run(
    config: Path, shop_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--database-url", shop_db, "--config-dir", str(config)]
    assert main([*base, "sync", "Gold", "--dry-run"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main([*base, "profiles", "check", "demo-mailchimp"]) == 0
    capsys.readouterr()
    # the profile that needs it still says so, in one line
    assert main([*base, "profiles", "check", "shop-sendlane"]) == 2
    err = capsys.readouterr().err
    assert "SYNCER_TEST_UNSET_SENDLANE_TOKEN is not set" in err and len(lines(err)) == 1


def test_count_describe_and_preview_take_a_draft_file_outside_the_config(
    config: Path, shop_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    draft = drafts / "gold-buyers.yaml"  # a new version of Gold, and a segment naming it
    draft.write_text(yaml.safe_dump({**GOLD, "description": "draft"}))
    ref = drafts / "not-gold.yaml"
    ref.write_text(yaml.safe_dump({"name": "Not gold", "rules": {"not": {"in_segment": "Gold"}}}))
    base = ["--database-url", shop_db, "--config-dir", str(config), "segments"]
    assert main([*base, "count", "Gold", "--json"]) == 0
    gold = yaml.safe_load(capsys.readouterr().out)["count"]
    assert main([*base, "count", str(draft), "--json"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["count"] == gold
    assert main([*base, "count", str(ref), "--json"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["count"] == 300 - gold
    assert main([*base, "describe", str(draft)]) == 0
    assert "Gold" in capsys.readouterr().out
    assert main([*base, "preview", str(draft), "--limit", "3", "--json"]) == 0
    assert len(yaml.safe_load(capsys.readouterr().out)) == min(3, gold)


def test_the_worker_schedules_every_valid_segment_and_reports_each_broken_one(
    config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from syncer.schedule import SyncScheduler
    from syncer.settings import Settings
    from syncer.sync.service import SyncService

    bad = config / "segments" / "bad.yaml"
    bad.write_text(yaml.safe_dump({**BROKEN, "schedule": "* * * * *"}))
    lost = {**GOLD, "name": "Lost", "schedule": "* * * * *",
            "destinations": [{"profile": "nope", "list": "l", "tag": "t"}]}  # fmt: skip
    (config / "segments" / "lost.yaml").write_text(yaml.safe_dump(lost))
    gold = yaml.safe_load((config / "segments" / "gold.yaml").read_text())
    gold["schedule"] = "0 * * * *"
    (config / "segments" / "gold.yaml").write_text(yaml.safe_dump(gold))
    service = SyncService(Settings(config_dir=config), {})
    scheduler = SyncScheduler(service.reload, lambda _n, _s: [], [config])
    with caplog.at_level("INFO", logger="syncer.schedule"):
        assert scheduler.reload()
    assert scheduler.schedules == {"Gold": "0 * * * *"}
    from syncer.observe.logs import JsonFormatter

    errors = [JsonFormatter().format(r) for r in caplog.records if "config_error" in r.getMessage()]
    assert len(errors) == 2
    assert any("bad.yaml" in e for e in errors) and any("unknown profile" in e for e in errors)


def test_validate_online_asks_the_provider_for_the_list_and_the_tag(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config / "segments" / "gold.yaml"
    base = ["--config-dir", str(config), "segments", "validate", str(path)]
    assert main([*base, "--online"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "demo-mailchimp/demo-list/gold: list found; tag 'gold'" in out
    data = yaml.safe_load(path.read_text())
    data["destinations"][0]["list"] = "no-such-list"
    path.write_text(yaml.safe_dump(data))
    assert main(base) == 0  # offline, the list cannot be checked
    capsys.readouterr()
    assert main([*base, "--online"]) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and "destinations[0].list" in err
    assert "list 'no-such-list' does not exist at mailchimp" in err
    assert "demo-us1" not in err  # no secret printed


def test_a_dry_run_to_a_list_that_does_not_exist_fails_before_the_real_run_would(
    config: Path, shop_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config / "segments" / "gold.yaml"
    data = yaml.safe_load(path.read_text())
    data["destinations"][0]["list"] = "no-such-list"
    path.write_text(yaml.safe_dump(data))
    args = ["--database-url", shop_db, "--config-dir", str(config), "sync", "Gold", "--dry-run"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "list 'no-such-list' does not exist at mailchimp" in err and len(lines(err)) == 1


@pytest.mark.serial  # a time limit
def test_a_profile_whose_emulator_is_not_running_says_so_in_seconds(
    config: Path, shop_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("SYNCER_DEMO_MAILCHIMP_URL", f"http://127.0.0.1:{port}/3.0")
    state = f"sqlite:///{config / 'state.db'}"  # a first run: everything is to be sent
    args = ["--database-url", shop_db, "--state-url", state, "--config-dir", str(config)]
    args += ["sync", "--all"]
    started = time.monotonic()
    assert main(args) == 1
    assert time.monotonic() - started < 15
    err = " ".join(capsys.readouterr().err.split())
    assert f"nothing is answering at 127.0.0.1:{port}" in err and "make demo" in err
