"""csv destinations and ``require`` in a segment file: what loads, and the one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncer.errors import SegmentError
from syncer.segments.loader import load_segments, parse_segment
from syncer.segments.model import CsvDestinationConfig, DestinationConfig, render_path

RULES = {"field": "orders", "op": "gt", "value": 1}
PROVIDER = {"profile": "mc", "list": "L1", "tag": "vip"}


def segment(*destinations: Any) -> Any:
    return parse_segment(
        {"name": "VIP", "rules": RULES, "destinations": list(destinations)}, source="vip.yaml"
    )


def test_a_csv_destination_loads_with_its_defaults() -> None:
    seg = segment({"kind": "csv", "path": "exports/vip-{date}.csv.gz"}, PROVIDER)
    csv, provider = seg.destinations
    assert isinstance(csv, CsvDestinationConfig) and isinstance(provider, DestinationConfig)
    assert csv.columns == ("customer_id", "email", "first_name", "last_name", "consent")
    assert csv.compressed and csv.key == "csv:exports/vip-{date}.csv.gz"
    plain = segment({"kind": "csv", "path": "vip.csv", "columns": ["email", "total_spent"]})
    assert not plain.destinations[0].compressed
    forced = segment({"kind": "csv", "path": "vip.dat", "gzip": True}).destinations[0]
    assert forced.compressed


def test_the_date_pattern_is_the_as_of_in_utc() -> None:
    at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert render_path("vip-{date}.csv", at) == "vip-2026-03-01.csv"
    assert render_path("{date:%Y}/vip-{date:%Y%m%dT%H%M}.csv", at) == "2026/vip-20260301T2330.csv"


@pytest.mark.parametrize(
    ("destination", "words"),
    [
        ({"kind": "csv", "path": "x.csv", "columns": ["emial"]},
         ["destinations[0].columns", "unknown column 'emial'", "did you mean email"]),
        ({"kind": "csv", "path": "x.csv", "columns": ["email", "email"]},
         ["destinations[0].columns", "named twice"]),
        ({"kind": "csv", "path": "x.csv", "columns": []},
         ["destinations[0].columns", "at least 1"]),
        ({"kind": "csv", "path": "x-{day}.csv"},
         ["destinations[0].path", "brace that is not a date field", "{date:%Y-%m-%d}"]),
        ({"kind": "csv", "path": "x-{date:%Q}.csv"},
         ["destinations[0].path", "%Q directive is not supported"]),
        ({"kind": "csv", "path": "x-{date:plain}.csv"},
         ["destinations[0].path", "no % directive"]),
        ({"kind": "csv", "path": "exports/"}, ["destinations[0].path", "names a folder"]),
        ({"kind": "csv", "path": ""}, ["destinations[0].path", "file path of 1 to"]),
        ({"kind": "csv", "path": "x.csv", "gzip": "maybe"}, ["destinations[0].gzip"]),
        ({"kind": "csv", "path": "x.csv", "tag": "vip"}, ["destinations[0].tag", "Extra"]),
        ({"kind": "csv"}, ["destinations[0].path", "Field required"]),
        ({"kind": "sftp", "path": "x.csv"},
         ["destinations[0]", "kind must be csv, or left out for a provider destination"]),
        ({"kind": "csv", "path": "x.csv", "require": ["zipp"]},
         ["destinations[0].require", "unknown column 'zipp'", "did you mean zip"]),
        ({"kind": "csv", "path": "x.csv", "require": ["total_spent"]},
         ["destinations[0].require", "'total_spent' always has a value", "first_name"]),
        ({**PROVIDER, "require": ["first_nam"]},
         ["destinations[0].require", "unknown column 'first_nam'"]),
    ],
)  # fmt: skip
def test_bad_destinations_are_one_line_errors(destination: Any, words: list[str]) -> None:
    with pytest.raises(SegmentError) as err:
        segment(destination)
    text = str(err.value)
    assert "\n" not in text and text.startswith("vip.yaml: segment 'VIP': ")
    for w in words:
        assert w in text, (w, text)


def write(config: Path, destination: Any, name: str = "vip.yaml", seg: str = "VIP") -> None:
    folder = config / "segments"
    folder.mkdir(parents=True, exist_ok=True)
    data = {"name": seg, "rules": RULES, "destinations": [destination]}
    (folder / name).write_text(yaml.safe_dump(data), encoding="utf-8")


def test_a_path_whose_folder_cannot_be_created_is_refused_at_load(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
    write(config, {"kind": "csv", "path": str(tmp_path / "afile" / "sub" / "x.csv")})
    with pytest.raises(SegmentError) as err:
        load_segments(config / "segments")
    text = str(err.value)
    assert "destinations[0].path" in text and "afile is a file, not a folder" in text
    assert "\n" not in text


def test_relative_paths_are_checked_under_the_config_folder(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write(config, {"kind": "csv", "path": "exports/{date}/vip.csv"})
    (seg,) = load_segments(config / "segments").values()
    dest = seg.destinations[0]
    assert isinstance(dest, CsvDestinationConfig)
    at = datetime(2026, 1, 2, tzinfo=UTC)
    assert dest.file_for(config, at) == config / "exports" / "2026-01-02" / "vip.csv"
    (config / "exports").write_text("a file in the way", encoding="utf-8")
    with pytest.raises(SegmentError, match="exports is a file, not a folder"):
        load_segments(config / "segments")


def test_two_segments_may_not_write_one_path(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write(config, {"kind": "csv", "path": "x.csv"})
    write(config, {"kind": "csv", "path": "x.csv"}, name="other.yaml", seg="Other")
    with pytest.raises(SegmentError, match=r"path 'x\.csv' is already the destination"):
        load_segments(config / "segments")
