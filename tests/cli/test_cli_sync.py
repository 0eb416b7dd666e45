"""`syncer sync` / `syncer runs` input and output edges (the main flows are in tests/e2e)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncer.cli.main import main
from syncer.cli.sync import _print_rejections, _print_runs
from syncer.db import make_engine
from syncer.sample.emulated import profiles_yaml
from syncer.sample.shop import generate
from syncer.schedule import SyncScheduler

SEGMENT = """\
name: VIP
rules: {field: orders, op: gt, value: 2}
destinations:
  - {profile: demo-mailchimp, list: demo-list, tag: vip}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    (folder / "segments").mkdir(parents=True)
    (folder / "profiles.yaml").write_text(profiles_yaml(["mailchimp"]))
    (folder / "segments" / "vip.yaml").write_text(SEGMENT)
    return folder


def test_dry_run_on_a_database_without_the_shop_tables_is_one_line(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    code = main(["--database-url", db, "--config-dir", str(config), "sync", "--all", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2
    assert "VIP → demo-mailchimp/demo-list/vip: database error" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_sync_without_a_segment_name_says_what_to_do(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config-dir", str(config), "sync"]) == 2
    assert "name one or more segments, or use --all" in capsys.readouterr().err


def test_unknown_profile_in_a_destination_names_the_file_and_key(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config / "segments" / "vip.yaml").write_text(SEGMENT.replace("demo-mailchimp", "nope"))
    assert main(["--config-dir", str(config), "sync", "VIP"]) == 2
    err = capsys.readouterr().err
    assert "vip.yaml: destinations[0].profile: unknown profile 'nope'" in err


def test_provider_words_are_printed_as_text_never_as_markup(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    reason = "Invalid Resource [/bold] looks fake [duplicate]"
    _print_rejections(
        [{"segment": "VIP", "destination": "d", "email": "a@b.test", "kind": "add",
          "reason": reason, "retryable": False, "last_seen": now, "count": 2}]
    )  # fmt: skip
    run = {"id": 7, "started_at": now, "segment": "VIP", "destination": "d", "trigger": "cli",
           "outcome": "failed", "adds": 0, "updates": 0, "removes": 0, "rejections": 0,
           "retries": 0, "api_calls": 1, "seconds": 0.5, "error": "refused [code]"}  # fmt: skip
    _print_runs([run])
    out = " ".join(capsys.readouterr().out.split())
    assert "[duplicate]" in out and "[/bold]" in out and "run 7: refused [code]" in out


def test_worker_refuses_to_start_on_bad_config_with_one_line(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config / "profiles.yaml").write_text("profiles:\n  p: {provider: nope, credentials: {}}\n")
    assert main(["--config-dir", str(config), "schedule"]) == 2
    err = capsys.readouterr().err
    assert "profiles.yaml: profiles.p.provider" in err and "unknown provider 'nope'" in err
    assert len(err.strip().splitlines()) == 1


def test_sync_by_tag_runs_only_the_tagged_segments(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(db)
    generate(engine, customers=50, seed=3, as_of=datetime(2026, 3, 1))
    engine.dispose()
    (config / "segments" / "vip.yaml").write_text(SEGMENT + "tags: [eu]\n")
    other = SEGMENT.replace("VIP", "Other").replace("tag: vip", "tag: other")
    (config / "segments" / "other.yaml").write_text(other + "tags: [us]\n")
    base = ["--database-url", db, "--config-dir", str(config), "sync"]
    # no emulator runs here: the dry run's list check fails, but only the tagged segment ran
    assert main([*base, "--tag", "EU", "--dry-run", "--json"]) == 1
    assert [r["segment"] for r in json.loads(capsys.readouterr().out)] == ["VIP"]
    assert main([*base, "--tag", "asia", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "no segment has the tag 'asia'" in err and "known tags: eu, us" in err
    assert len(err.strip().splitlines()) == 1
    assert main([*base, "VIP", "--tag", "eu", "--dry-run"]) == 2
    assert "not both" in capsys.readouterr().err


def test_worker_refuses_an_unknown_tag_with_one_line(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config-dir", str(config), "schedule", "--tag", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no segment has the tag 'nope'" in err and len(err.strip().splitlines()) == 1


def test_worker_given_tags_schedules_only_their_segments(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers: list[SyncScheduler] = []

    def serve_once(self: SyncScheduler) -> None:
        workers.append(self)
        self.reload()

    monkeypatch.setattr(SyncScheduler, "serve_forever", serve_once)
    cron = 'schedule: "0 * * * *"\n'
    (config / "segments" / "vip.yaml").write_text(SEGMENT + "tags: [eu]\n" + cron)
    other = SEGMENT.replace("VIP", "Other").replace("tag: vip", "tag: other")
    (config / "segments" / "other.yaml").write_text(other + "tags: [us]\n" + cron)
    assert main(["--config-dir", str(config), "schedule", "--tag", "eu"]) == 0
    assert workers[0].schedules == {"VIP": "0 * * * *"}


def test_bad_alerts_file_stops_sync_before_anything_is_sent(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config / "alerts.yaml").write_text(
        "channels: {}\nrules: [{events: [failed], channels: [x]}]\n"
    )
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    assert main(["--database-url", db, "--config-dir", str(config), "sync", "VIP"]) == 2
    err = capsys.readouterr().err
    assert "alerts.yaml: rules[0].channels: unknown channel 'x' (known: none)" in err
    assert len(err.strip().splitlines()) == 1
