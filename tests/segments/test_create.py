"""New segment files from templates and copies: valid, never overwriting, names unique."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncer.demo.config import write_demo_config
from syncer.errors import ConfigError
from syncer.segments.create import copy_segment, new_from_template, slug
from syncer.segments.loader import load_segments
from syncer.segments.validate import validate_file


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    # the demo's config: the examples wired to destinations (the shipped config has none)
    return write_demo_config(target=tmp_path / "config") / "segments"


def test_new_from_a_template_writes_a_valid_file_in_the_segments_folder(folder: Path) -> None:
    created = new_from_template(
        folder, "Beans again", "time-to-reorder", {"days": "60", "product": "House Blend"}
    )
    assert created.path == folder / "beans-again.yaml"
    assert validate_file(created.path, folder).name == "Beans again"
    seg = load_segments(folder)["Beans again"]
    assert "House Blend" in seg.description and "60 days" in seg.description
    assert created.path.read_text().startswith("# From the template 'time-to-reorder'")


def test_new_refuses_a_taken_name_or_an_existing_file(folder: Path, tmp_path: Path) -> None:
    before = (folder / "loyal.yaml").read_text()
    with pytest.raises(ConfigError, match=r"segment name 'Loyal' is already used by .*loyal.yaml"):
        new_from_template(folder, "Loyal", "loyal", {})
    with pytest.raises(ConfigError, match=r"loyal.yaml already exists; nothing was overwritten"):
        new_from_template(folder, "Other", "loyal", {}, out=folder / "loyal.yaml")
    assert (folder / "loyal.yaml").read_text() == before
    created = new_from_template(folder, "Other", "loyal", {}, out=tmp_path / "x" / "o.yaml")
    assert created.path.is_file() and not (folder / "other.yaml").exists()


def test_new_into_a_config_without_a_segments_folder(tmp_path: Path) -> None:
    created = new_from_template(tmp_path / "segments", "VIPs", "vip", {"orders": 4})
    assert load_segments(tmp_path / "segments")["VIPs"].source == created.path


def test_copy_leaves_destinations_out_and_keeps_comments(folder: Path) -> None:
    created = copy_segment(folder, "Engaged mobile browsers", "Mobile fans")
    text = created.path.read_text()
    data = yaml.safe_load(text)
    assert data["name"] == "Mobile fans" and "destinations" not in data
    original = yaml.safe_load((folder / "engaged-mobile-browsers.yaml").read_text())
    assert data["rules"] == original["rules"]
    assert validate_file(created.path, folder).name == "Mobile fans"
    vip = copy_segment(folder, "VIP customers", "VIP copy").path.read_text()
    assert "# Nothing is sent until the segment has a destination" in vip


def test_copy_with_destinations_gives_each_its_own_tag(folder: Path) -> None:
    created = copy_segment(folder, "VIP customers", "VIP Germany", with_destinations=True)
    dests = created.segment.destinations
    assert [(d.profile, d.tag) for d in dests] == [
        ("demo-mailchimp", "vip-germany"),
        ("demo-activecampaign", "vip-germany"),
    ]
    load_segments(folder)  # no two destinations share a tag


def test_copy_with_destinations_leaves_a_csv_export_out(folder: Path) -> None:
    vip = folder / "vip-customers.yaml"
    data = yaml.safe_load(vip.read_text())
    data["destinations"].insert(1, {"kind": "csv", "path": "exports/vip.csv"})
    vip.write_text(yaml.safe_dump(data, sort_keys=False))
    created = copy_segment(folder, "VIP customers", "VIP Germany", with_destinations=True)
    assert [d.key for d in created.segment.destinations if d.key.startswith("csv:")] == []
    assert len(created.segment.destinations) == 2
    load_segments(folder)  # the copy does not write the source's file too


def test_copy_refuses_a_taken_name_and_an_unknown_source(folder: Path) -> None:
    with pytest.raises(ConfigError, match="already used by"):
        copy_segment(folder, "VIP customers", "Loyal")
    with pytest.raises(ConfigError, match="no segment named 'Nope'"):
        copy_segment(folder, "Nope", "New")


def test_slug() -> None:
    assert slug("  VIP Germany / 60 days ") == "vip-germany-60-days"
    assert slug("Café crème") == "café-crème"
    assert slug("!!!") == ""
