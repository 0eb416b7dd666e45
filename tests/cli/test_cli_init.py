"""`syncer init DIR` and the shipped config: clean, and the same as the README shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.cli.init import EXAMPLE_SEGMENT, EXAMPLE_SEGMENT_FILE, PROFILES_YAML
from syncer.cli.main import main
from syncer.profiles import load_profiles
from syncer.segments.loader import load_segments

ROOT = Path(__file__).resolve().parents[2]


def test_init_writes_a_clean_config_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shop-config"
    assert main(["init", str(folder)]) == 0
    profiles = load_profiles(folder / "profiles.yaml", {}, resolve=False)
    assert sorted(p.provider for p in profiles.values()) == [
        "activecampaign", "mailchimp", "sendlane",
    ]  # fmt: skip
    assert all(p.base_url is None for p in profiles.values())  # no demo wiring
    segments = load_segments(folder / "segments")
    assert len(segments) == 1 and not any(s.destinations for s in segments.values())
    assert "profiles check shop-mailchimp" in capsys.readouterr().out
    # a second init does not overwrite what is there
    assert main(["init", str(folder)]) == 2
    assert "already exist" in capsys.readouterr().err


def test_the_shipped_config_is_the_init_output_and_pushes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = ROOT / "config"
    assert (config / "profiles.yaml").read_text() == PROFILES_YAML
    assert (config / "segments" / EXAMPLE_SEGMENT_FILE).read_text() == EXAMPLE_SEGMENT
    segments = load_segments(config / "segments")
    assert not [s.name for s in segments.values() if s.destinations]
    assert "demo-" not in (config / "profiles.yaml").read_text().replace("make demo", "")


def test_the_readme_shows_the_shipped_files() -> None:
    readme = (ROOT / "README.md").read_text()
    assert EXAMPLE_SEGMENT in readme
    assert PROFILES_YAML in readme


def test_the_demo_config_wires_the_examples_to_the_emulators(tmp_path: Path) -> None:
    from syncer.demo.config import DESTINATIONS, write_demo_config

    target = write_demo_config(ROOT / "config" / "segments", tmp_path / "demo-config")
    segments = load_segments(target / "segments")
    wired = {s.name for s in segments.values() if s.destinations}
    assert wired == set(DESTINATIONS)
    assert len(segments) == len(list((ROOT / "config" / "segments").glob("*.yaml")))
    profiles = load_profiles(target / "profiles.yaml", {})
    assert {d.profile for s in segments.values() for d in s.destinations} <= set(profiles)
