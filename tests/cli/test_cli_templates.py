"""`syncer segments templates | new | copy` and `segments list --tag` from the command line."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from syncer.cli.main import main
from syncer.db import make_engine
from syncer.demo.config import write_demo_config
from syncer.sample.shop import generate
from syncer.segments.template import load_templates

AS_OF = "2026-03-01"


@pytest.fixture
def shop(tmp_path: Path) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    generate(engine, customers=300, seed=5, as_of=datetime.fromisoformat(AS_OF))
    engine.dispose()
    # the demo's config: the examples wired to destinations (the shipped config has none)
    return url, write_demo_config(target=tmp_path / "config")


def run(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], *args: str
) -> tuple[int, str, str]:
    url, config = shop
    code = main(["--database-url", url, "--config-dir", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_templates_lists_the_library(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]
) -> None:
    code, out, _ = run(capsys, shop, "segments", "templates", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["template"] for r in rows] == list(load_templates())
    vip = next(r for r in rows if r["template"] == "vip")
    assert vip["fields"] == ["orders", "total_spent"]
    assert vip["parameters"][1] == {
        "name": "spent", "type": "money", "default": 500, "description": vip["parameters"][1][
            "description"],
    }  # fmt: skip
    code, out, _ = run(capsys, shop, "segments", "templates")
    assert code == 0 and "time-to-reorder" in out and "product=Espresso Beans" in out


def test_new_writes_a_segment_that_counts(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]
) -> None:
    args = ["segments", "new", "Beans again", "--template", "time-to-reorder"]
    code, out, err = run(capsys, shop, *args, "--set", "days=60", "--set", "product=House Blend")
    assert code == 0, err
    path = shop[1] / "segments" / "beans-again.yaml"
    assert str(path) in out and "Beans again" in out
    assert yaml.safe_load(path.read_text())["rules"]["all"][0]["value"] == "House Blend"
    code, out, _ = run(capsys, shop, "segments", "count", "Beans again", "--as-of", AS_OF, "--json")
    assert code == 0 and json.loads(out)["count"] > 0
    code, _, err = run(capsys, shop, *args)  # again: the name is taken now
    assert code == 2 and "'Beans again' is already used by" in one_line(err)


@pytest.mark.parametrize(
    ("sets", "says"),
    [
        (["--set", "dayz=3"], "template 'time-to-reorder': unknown parameter 'dayz'"),
        (["--set", "days=soon"], "template 'time-to-reorder': parameter 'days': needs"),
        (["--set", "product="], "template 'time-to-reorder': parameter 'product': is empty"),
        (["--set", "days"], "--set 'days' is not NAME=VALUE"),
    ],
)
def test_a_bad_set_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], sets: list[str], says: str
) -> None:
    args = ["segments", "new", "T", "--template", "time-to-reorder", *sets]
    code, _, err = run(capsys, shop, *args)
    assert code == 2 and says in one_line(err)
    assert not (shop[1] / "segments" / "t.yaml").exists()


def test_new_refuses_an_existing_file_and_an_unknown_template(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    taken = shop[1] / "segments" / "loyal.yaml"
    args = ["segments", "new", "Fresh", "--template", "vip", "--out", str(taken)]
    code, _, err = run(capsys, shop, *args)
    assert code == 2 and "already exists; nothing was overwritten" in one_line(err)
    code, _, err = run(capsys, shop, "segments", "new", "Fresh", "--template", "vipp")
    assert code == 2 and "no template named 'vipp'" in one_line(err)
    out_file = tmp_path / "elsewhere.yaml"
    code, _, _ = run(capsys, shop, "segments", "new", "Fresh", "--template", "vip", "--out",
                     str(out_file))  # fmt: skip
    assert code == 0 and yaml.safe_load(out_file.read_text())["name"] == "Fresh"


def test_copy_with_and_without_destinations(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]
) -> None:
    code, out, err = run(capsys, shop, "segments", "copy", "VIP customers", "VIP plain")
    assert code == 0, err
    plain = yaml.safe_load((shop[1] / "segments" / "vip-plain.yaml").read_text())
    assert plain["name"] == "VIP plain" and "destinations" not in plain
    args = ["segments", "copy", "VIP customers", "VIP DE", "--with-destinations"]
    code, out, err = run(capsys, shop, *args)
    assert code == 0, err
    assert "vip-de" in out
    code, out, _ = run(capsys, shop, "segments", "list", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["VIP DE"]["destinations"] == 2 and rows["VIP plain"]["destinations"] == 0
    code, _, err = run(capsys, shop, "segments", "copy", "VIP customers", "Loyal")
    assert code == 2 and "'Loyal' is already used by" in one_line(err)


def test_list_by_tag(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]) -> None:
    code, out, _ = run(capsys, shop, "segments", "list", "--tag", "vip", "--tag", "CART", "--json")
    assert code == 0
    names = {r["name"] for r in json.loads(out)}
    assert names == {"VIP customers", "Lapsed VIPs", "Abandoned cart"}
    code, _, err = run(capsys, shop, "segments", "list", "--tag", "vipp")
    line = one_line(err)
    assert (
        code == 2 and "no segment has the tag 'vipp'" in line and "known tags: acquisition" in line
    )
