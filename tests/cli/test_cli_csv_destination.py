"""`syncer sync` of a segment with a csv destination, `syncer runs` showing it, and its errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from syncer.cli.main import main
from syncer.db import make_engine
from syncer.sample.emulated import profiles_yaml
from tests.sync.fakes import Shop

SEGMENT = """\
name: VIP
rules: {field: loyalty_card, op: eq, value: Gold}
schedule: "0 * * * *"
destinations:
  - kind: csv
    path: exports/vip-{date}.csv
    columns: [email, first_name, zip, total_spent]
    require: [zip]
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[list[str], Path]:
    config = tmp_path / "config"
    (config / "segments").mkdir(parents=True)
    (config / "profiles.yaml").write_text(profiles_yaml(["mailchimp"]))
    (config / "segments" / "vip.yaml").write_text(SEGMENT)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    shop = Shop(engine)
    shop.add(4)
    shop.add(2, start=10, card="Silver")
    shop.set(1, zip="02134")
    shop.set(3, zip="10115")
    engine.dispose()
    return ["--database-url", url, "--config-dir", str(config)], config


def test_sync_writes_the_file_and_runs_shows_it(
    setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args, config = setup
    assert main([*args, "sync", "VIP", "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "would write 2 rows to" in out and "(2 left out by require)" in out
    assert not (config / "exports").exists()

    assert main([*args, "sync", "VIP", "--destination", "csv", "--as-of", "2026-11-02"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    target = config / "exports" / "vip-2026-11-02.csv"  # the date is the run's as-of
    assert f"wrote 2 rows to {target}" in out
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["email", "first_name", "zip", "total_spent"],
        ["c1@example.com", "F1", "02134", "0.00"],
        ["c3@example.com", "F3", "10115", "0.00"],
    ]

    assert main([*args, "runs"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 rows" in out and f"wrote {target}" in out and "fresh" in out
    assert main([*args, "runs", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (run,) = data["runs"]
    assert (run["exported"], run["left_out"], run["file"]) == (2, 2, str(target))
    (status,) = data["destinations"]
    assert status["destination"] == "csv:exports/vip-{date}.csv" and not status["stale"]


def test_a_bad_column_is_one_line_and_exit_2(
    setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args, config = setup
    (config / "segments" / "vip.yaml").write_text(SEGMENT.replace("total_spent", "spent"))
    assert main([*args, "sync", "VIP"]) == 2
    err = capsys.readouterr().err
    assert "destinations[0].columns: unknown column 'spent'" in err
    assert len(err.strip().splitlines()) == 1
    assert main([*args, "segments", "validate", str(config / "segments" / "vip.yaml")]) == 2
    assert "unknown column 'spent'" in capsys.readouterr().err
