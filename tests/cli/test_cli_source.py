"""`syncer source check` and `syncer fields` over a mapped shop."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from syncer.cli.main import main
from syncer.source.active import active, install
from syncer.source.tables import native_source


@pytest.fixture(autouse=True)
def _native_after() -> object:
    yield
    install(native_source())


PREFIXES: dict[str, str] = {"magento2": "", "prestashop": "ps_"}


@pytest.mark.parametrize("platform", ["woocommerce-legacy", "magento2", "prestashop"])
def test_generated_platform_passes_its_preset_check(tmp_path, capsys, platform: str) -> None:
    url, config = _shop(tmp_path, platform)
    capsys.readouterr()
    code = main(["--database-url", url, "--config-dir", str(config), "source", "check", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out["problems"]
    assert out["tables"]["orders"]["sample"]


def _shop(tmp_path: Path, platform: str = "woocommerce-hpos", **extra: object) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert (
        main(
            [
                "--database-url",
                url,
                "data",
                "generate",
                "-n",
                "50",
                "--platform",
                platform,
                "--as-of",
                "2026-03-01",
            ]
        )
        == 0
    )
    config = tmp_path / "config"
    (config / "segments").mkdir(parents=True)
    data = {"preset": platform, "prefix": PREFIXES.get(platform, "wp_"), **extra}
    (config / "source.yaml").write_text(yaml.safe_dump(data))
    return url, config


def test_source_check_reports_reads_unavailable_and_samples(tmp_path, capsys) -> None:
    url, config = _shop(tmp_path)
    capsys.readouterr()
    code = main(["--database-url", url, "--config-dir", str(config), "source", "check", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out["problems"]
    assert out["tables"]["orders"]["reads"] == "model"
    assert out["tables"]["visits"] == {"absent": "WooCommerce core records no visits"}
    assert "consent_meta_key" in out["unavailable"]["consent"]
    assert out["tables"]["customers"]["sample"]


def test_source_check_missing_table_exits_2_one_line_each(tmp_path, capsys) -> None:
    url, config = _shop(tmp_path, tables={"customer_tags": {"table": "labels"}})
    capsys.readouterr()
    code = main(["--database-url", url, "--config-dir", str(config), "source", "check"])
    err = capsys.readouterr().err
    assert code == 2
    assert "tables.customer_tags: table 'wp_labels' does not exist" in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1


def test_fields_shows_only_what_the_mapping_offers(tmp_path, capsys) -> None:
    _url, config = _shop(tmp_path)
    capsys.readouterr()
    assert main(["--config-dir", str(config), "fields", "--json"]) == 0
    names = {f["field"] for f in json.loads(capsys.readouterr().out)["fields"]}
    assert "total_spent" in names and "purchased_collection" in names
    assert "visits" not in names and "consent" not in names and "tag" not in names
    assert active().by_email


def test_segment_over_an_absent_table_fails_count_in_one_line(tmp_path, capsys) -> None:
    url, config = _shop(tmp_path)
    (config / "segments" / "busy.yaml").write_text(
        yaml.safe_dump({"name": "busy", "rules": {"field": "visits", "op": "gt", "value": 2}})
    )
    capsys.readouterr()
    code = main(["--database-url", url, "--config-dir", str(config), "segments", "count", "busy"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "field 'visits' is unavailable" in err and "visits table" in err
    assert datetime.now(UTC)  # the clock is untouched by the mapping


def test_insights_over_a_mapping_is_one_line_not_wrong_figures(tmp_path, capsys) -> None:
    url, config = _shop(tmp_path)
    (config / "segments" / "buyers.yaml").write_text(
        yaml.safe_dump({"name": "buyers", "rules": {"field": "orders", "op": "gt", "value": 0}})
    )
    capsys.readouterr()
    args = ["--database-url", url, "--config-dir", str(config), "segments", "insights", "buyers"]
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "insights of 'buyers' read Syncer's own tables" in err


def test_a_csv_export_over_a_mapping_writes_the_segments_members(tmp_path, capsys) -> None:
    url, config = _shop(tmp_path)
    segment = {
        "name": "buyers",
        "rules": {"field": "orders", "op": "gt", "value": 1},
        "destinations": [
            {"kind": "csv", "path": "out/buyers.csv", "columns": ["email", "total_spent"]}
        ],
    }
    (config / "segments" / "buyers.yaml").write_text(yaml.safe_dump(segment))
    (config / "profiles.yaml").write_text("profiles: {}\n")
    base = ["--database-url", url, "--config-dir", str(config)]
    capsys.readouterr()
    assert main([*base, "segments", "count", "buyers", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)["count"]
    assert expected > 0
    assert main([*base, "sync", "buyers", "--json"]) == 0
    capsys.readouterr()
    rows = (config / "out" / "buyers.csv").read_text().splitlines()[1:]
    assert len(rows) == expected  # the mapped customers, not every row of another table
    assert all(float(r.split(",")[1]) > 0 for r in rows)
