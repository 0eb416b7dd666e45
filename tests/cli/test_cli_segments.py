from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text

from syncer.cli.main import main
from syncer.db import make_engine
from syncer.sample.shop import generate
from syncer.schema import CUSTOMERS
from syncer.segments.catalog import FIELDS

AS_OF = "2026-03-01"
HOSTILE = "'; DROP TABLE customers; --"

SEGMENTS: dict[str, dict[str, Any]] = {
    "vip": {
        "name": "VIP retargeting",
        "description": "Gold card, frequent visitor, not seen lately",
        "tags": ["loyalty", "seed-001"],
        "rules": {
            "all": [
                {"field": "loyalty_card", "op": "eq", "value": "Gold"},
                {"field": "visits", "op": "gt", "value": 10},
                {"field": "days_since_last_visit", "op": "gt", "value": 30},
            ]
        },
    },
    "consenting": {
        "name": "Consenting",
        "rules": {"field": "consent", "op": "eq", "value": True},
    },
    "gold": {"name": "Gold", "rules": {"field": "loyalty_card", "op": "eq", "value": "Gold"}},
    "emptied": {
        "name": "Emptied",
        "rules": {
            "all": [
                {"field": "consent", "op": "eq", "value": True},
                {"field": "loyalty_card", "op": "eq", "value": "Platinum"},
                {"field": "orders", "op": "ge", "value": 1},
            ]
        },
    },
    "hostile": {
        "name": "Hostile",
        "rules": {
            "any": [
                {"field": "loyalty_card", "op": "eq", "value": HOSTILE},
                {"field": "purchased_product", "op": "has", "value": HOSTILE},
            ]
        },
    },
    "gold_consenting": {
        "name": "Gold and consenting",
        "rules": {"all": [{"in_segment": "Gold"}, {"in_segment": "Consenting"}]},
    },
}


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A sample database (400 customers) and a config folder with the segments above."""
    root = tmp_path_factory.mktemp("shop")
    url = f"sqlite:///{root / 'shop.db'}"
    engine = make_engine(url)
    generate(engine, customers=400, seed=21, as_of=datetime.fromisoformat(AS_OF))
    engine.dispose()
    folder = root / "config" / "segments"
    folder.mkdir(parents=True)
    for name, data in SEGMENTS.items():
        write(folder, name, data)
    yield url, root / "config"


def run(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], *args: str
) -> tuple[int, str, str]:
    url, config = shop
    code = main(["--database-url", url, "--config-dir", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def count_of(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], name: str) -> int:
    code, out, _err = run(capsys, shop, "segments", "count", name, "--as-of", AS_OF, "--json")
    assert code == 0
    return int(json.loads(out)["count"])


# --- list, validate, describe, fields ------------------------------------------------------


def test_list_json(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]) -> None:
    code, out, _ = run(capsys, shop, "segments", "list", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == {s["name"] for s in SEGMENTS.values()}
    vip = rows["VIP retargeting"]
    assert vip["tags"] == ["loyalty", "seed-001"]
    assert vip["file"].endswith("vip.yaml")
    assert vip["destinations"] == 0 and vip["schedule"] is None


def test_validate_valid_file(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]) -> None:
    path = shop[1] / "segments" / "gold_consenting.yaml"
    code, out, _ = run(capsys, shop, "segments", "validate", str(path))
    assert code == 0 and "valid" in out
    code, out, _ = run(capsys, shop, "segments", "validate", str(path), "--json")
    assert json.loads(out) == {"file": str(path), "segment": "Gold and consenting", "valid": True}


def test_describe(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]) -> None:
    code, out, _ = run(capsys, shop, "segments", "describe", "VIP retargeting", "--json")
    assert code == 0
    assert json.loads(out)["sentence"] == (
        "Customers whose loyalty card is Gold, who visited more than 10 times, "
        "and whose last visit was more than 30 days ago"
    )


def test_fields_lists_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["field"] for f in data["fields"]] == list(FIELDS)
    for f in data["fields"]:
        assert f["operators"] and f["no_data"] and f["value_type"]
    assert main(["fields"]) == 0
    out = capsys.readouterr().out
    assert "days_since_last_order" in out and "never" in out


# --- count, breakdown, preview, export --------------------------------------------------------


def test_count_matches_the_database(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]
) -> None:
    engine = make_engine(shop[0])
    with engine.connect() as conn:
        c = CUSTOMERS.c
        gold = conn.execute(select(func.count()).where(c.loyalty_card == "Gold")).scalar_one()
        consenting = conn.execute(select(func.count()).where(c.accepts_marketing)).scalar_one()
        both = conn.execute(
            select(func.count()).where(c.loyalty_card == "Gold", c.accepts_marketing)
        ).scalar_one()
    engine.dispose()
    assert count_of(capsys, shop, "Gold") == gold
    assert count_of(capsys, shop, "Consenting") == consenting
    assert count_of(capsys, shop, "Gold and consenting") == both


def test_count_and_describe_say_how_many_match_and_how_many_would_be_pushed(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]
) -> None:
    engine = make_engine(shop[0])
    with engine.connect() as conn:
        c = CUSTOMERS.c
        gold = conn.execute(select(func.count()).where(c.loyalty_card == "Gold")).scalar_one()
        both = conn.execute(
            select(func.count()).where(c.loyalty_card == "Gold", c.accepts_marketing)
        ).scalar_one()
    engine.dispose()
    assert 0 < both < gold  # the shop has Gold customers without consent
    code, out, _ = run(capsys, shop, "segments", "count", "Gold", "--json")
    assert code == 0 and (json.loads(out)["count"], json.loads(out)["consenting"]) == (gold, both)
    expected = f"{gold:,} match, {both:,} with marketing consent would be pushed"
    for command in ("count", "describe"):
        code, out, _ = run(capsys, shop, "segments", command, "Gold")
        assert code == 0 and expected in " ".join(out.split()), command


def test_describe_without_a_database_still_describes(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    url = "postgresql+psycopg://u:secret@127.0.0.1:1/nope"
    code = main(
        ["--database-url", url, "--config-dir", str(shop[1]), "segments", "describe", "Gold"]
    )
    out, err = capsys.readouterr()
    assert code == 0 and "loyalty card is Gold" in out
    assert "counts not shown" in one_line_error(err) and "secret" not in err


def test_small_audience_warns(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]) -> None:
    code, out, err = run(capsys, shop, "segments", "count", "VIP retargeting", "--as-of", AS_OF)
    assert code == 0 and "VIP retargeting" in out
    assert "fewer than 50" in one_line_error(err)
    code, out, _err = run(
        capsys, shop, "segments", "count", "VIP retargeting", "--as-of", AS_OF, "--json"
    )
    data = json.loads(out)
    assert data["count"] < 50 and data["small"] is True
    code, _out, err = run(capsys, shop, "segments", "count", "Consenting", "--as-of", AS_OF)
    assert code == 0 and "fewer than 50" not in err


def test_breakdown_shows_which_condition_empties(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]
) -> None:
    args = ("segments", "count", "Emptied", "--as-of", AS_OF, "--breakdown")
    code, out, _ = run(capsys, shop, *args, "--json")
    assert code == 0
    data = json.loads(out)
    rows = {r["path"]: r for r in data["breakdown"]}
    assert list(rows) == ["rules", "rules.all[0]", "rules.all[1]", "rules.all[2]"]
    assert data["count"] == rows["rules"]["alone"] == 0
    assert rows["rules.all[0]"]["alone"] == count_of(capsys, shop, "Consenting") > 0
    assert rows["rules.all[1]"]["alone"] == 0 and rows["rules.all[1]"]["running"] == 0
    assert rows["rules.all[2]"]["alone"] > 0
    code, out, _ = run(capsys, shop, *args)
    assert code == 0 and "rules.all[1] leaves no customers" in " ".join(out.split())


def test_preview_shows_members(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]) -> None:
    code, out, _ = run(capsys, shop, "segments", "preview", "Gold", "--limit", "5", "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 5
    assert all(r["loyalty_card"] == "Gold" for r in rows)
    ids = [r["customer_id"] for r in rows]
    assert ids == sorted(ids)
    assert {"email", "first_name", "last_name", "accepts_marketing", "country"} <= set(rows[0])
    code, out, _ = run(capsys, shop, "segments", "preview", "Gold", "--limit", "3")
    assert code == 0 and str(ids[0]) in out


def test_export_streams_every_member(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "out" / "consenting.csv"
    code, out, _ = run(
        capsys, shop, "segments", "export", "Consenting", "--csv", str(target), "--as-of", AS_OF
    )
    assert code == 0
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = count_of(capsys, shop, "Consenting")
    assert len(rows) == expected and f"{expected:,} rows written" in out
    assert {r["accepts_marketing"] for r in rows} == {"true"}
    assert len({r["email"] for r in rows}) == expected
    assert list(target.parent.iterdir()) == [target]  # no partial file left behind


def test_hostile_value_is_just_a_value(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]
) -> None:
    assert count_of(capsys, shop, "Hostile") == 0
    engine = make_engine(shop[0])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM customers")).scalar_one() == 400
    engine.dispose()


# --- every bad input: one line, exit 2 --------------------------------------------------------

BAD_FILES: list[tuple[str, Any, list[str]]] = [
    ("malformed", "name: Broken\nrules: {all: [\n", ["malformed YAML", "line"]),
    (
        "unknown_field",
        {"name": "Typo", "rules": {"all": [
            {"field": "orders", "op": "gt", "value": 1},
            {"any": [{"field": "oders", "op": "gt", "value": 2}]},
        ]}},
        ["segment 'Typo'", "rules.all[1].any[0]", "unknown field 'oders'", "orders"],
    ),
    (
        "wrong_operator",
        {"name": "Bad op", "rules": {"all": [{"field": "loyalty_card", "op": "gt", "value": "A"}]}},
        ["segment 'Bad op'", "rules.all[0]", "operator 'gt'", "allowed: eq"],
    ),
    (
        "wrong_type",
        {"name": "Bad value", "rules": {"field": "orders", "op": "gt", "value": "many"}},
        ["segment 'Bad value'", "rules", "whole number", "'many'"],
    ),
    (
        "empty_rule",
        {"name": "Empty", "rules": {"all": []}},
        ["segment 'Empty'", "rules", "empty `all` group"],
    ),
    ("no_rule", {"name": "Nothing"}, ["segment 'Nothing'", "no rules"]),
    (
        "unknown_reference",
        {"name": "Dangling", "rules": {"in_segment": "Nope"}},
        ["segment 'Dangling'", "'Nope'", "no such segment"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("stem", "content", "needles"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_segment_file_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
    shop: tuple[str, Path],
    tmp_path: Path,
    stem: str,
    content: Any,
    needles: list[str],
) -> None:
    path = write(tmp_path, stem, content)
    code, _out, err = run(capsys, shop, "segments", "validate", str(path))
    assert code == 2
    line = one_line_error(err)
    assert str(path) in line
    for needle in needles:
        assert needle in line


def test_broken_file_in_config_is_named_and_stops_only_itself(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "segments"
    folder.mkdir()
    write(folder, "ok", SEGMENTS["gold"])
    bad = write(folder, "bad", {"name": "Bad", "rules": {"field": "visits", "op": "has"}})
    base = ["--database-url", shop[0], "--config-dir", str(tmp_path), "segments"]
    for args in (("list",), ("count", "Gold"), ("describe", "Gold")):
        assert main([*base, *args]) == 0
        err = capsys.readouterr().err
        assert str(bad) in err and "Traceback" not in err
    code = main([*base, "count", "Bad"])
    line = one_line_error(capsys.readouterr().err)
    assert code == 2 and str(bad) in line and "operator 'has'" in line


def test_duplicate_segment_name(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    copy = write(tmp_path, "gold_again", SEGMENTS["gold"])
    code, _out, err = run(capsys, shop, "segments", "validate", str(copy))
    line = one_line_error(err)
    assert code == 2 and "duplicate segment name 'Gold'" in line and "gold.yaml" in line
    folder = tmp_path / "config" / "segments"
    folder.mkdir(parents=True)
    write(folder, "a", SEGMENTS["gold"])
    write(folder, "b", SEGMENTS["gold"])
    code = main(["--config-dir", str(tmp_path / "config"), "segments", "list"])
    line = one_line_error(capsys.readouterr().err)  # the second file is set aside, and named
    assert code == 0 and "duplicate segment name 'Gold'" in line and "b.yaml" in line


def test_reference_loop(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "segments"
    folder.mkdir()
    write(folder, "a", {"name": "A", "rules": {"in_segment": "B"}})
    path = write(folder, "b", {"name": "B", "rules": {"not": {"in_segment": "A"}}})
    code = main(["--config-dir", str(tmp_path), "segments", "validate", str(path)])
    line = one_line_error(capsys.readouterr().err)
    assert code == 2 and "loop" in line and "B -> A -> B" in line


def test_unknown_segment_name(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]) -> None:
    for command in ("count", "preview", "describe"):
        code, _out, err = run(capsys, shop, "segments", command, "VIP retargetting")
        line = one_line_error(err)
        assert code == 2 and "no segment named 'VIP retargetting'" in line
        assert "did you mean 'VIP retargeting'" in line


def test_unreachable_database(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path]) -> None:
    url = "postgresql+psycopg://someone:secret@127.0.0.1:1/shop"
    code = main(["--database-url", url, "--config-dir", str(shop[1]), "segments", "count", "Gold"])
    line = one_line_error(capsys.readouterr().err)
    assert code == 2 and "does not answer" in line and "secret" not in line


def test_database_without_tables(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code = main(["--database-url", url, "--config-dir", str(shop[1]), "segments", "count", "Gold"])
    line = one_line_error(capsys.readouterr().err)
    assert code == 2 and "customers" in line and "syncer data generate" in line


def test_bad_as_of_and_missing_folder(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    code, _out, err = run(capsys, shop, "segments", "count", "Gold", "--as-of", "yesterday")
    assert code == 2 and "--as-of" in one_line_error(err)
    code = main(["--config-dir", str(tmp_path / "nowhere"), "segments", "list"])
    line = one_line_error(capsys.readouterr().err)
    assert code == 2 and "does not exist" in line


def test_export_streams_in_batches_on_every_backend(
    engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncer import export
    from syncer.segments.compiler import count_query, members_query
    from syncer.segments.loader import parse_segment

    generate(engine, customers=120, seed=8, as_of=datetime.fromisoformat(AS_OF))
    segment = parse_segment(SEGMENTS["consenting"], source="consenting.yaml")
    when = datetime.fromisoformat(AS_OF)
    with engine.connect() as conn:
        expected = conn.execute(count_query(segment, {}, as_of=when)).scalar_one()
    monkeypatch.setattr(export, "BATCH", 7)
    seen: list[int] = []
    target = tmp_path / "members.csv"
    query = members_query(segment, {}, as_of=when).order_by(CUSTOMERS.c.id)
    written = export.export_csv(engine, query, target, progress=seen.append)
    assert written == expected > 14
    assert seen == sorted(seen) and seen[-1] == expected
    assert len(seen) == -(-expected // 7)  # one progress step per fetched batch of 7
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["customer_id"]) for r in rows] == sorted(int(r["customer_id"]) for r in rows)
    assert len(rows) == expected


def test_a_misspelt_product_vendor_collection_or_coupon_is_named_with_the_closest_names(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    rules = {
        "any": [
            {"field": "purchased_product", "op": "has", "value": "Espreso Beans"},
            {"field": "purchased_product", "op": "has", "value": "cof-esp-1kg"},  # a SKU, any case
            {"field": "purchased_vendor", "op": "in", "value": ["Hilltop Roasters", "Valey Farms"]},
            {"field": "purchased_collection", "op": "has_not", "value": "Equipmnt"},
            {"field": "coupon", "op": "has", "value": "LOYAL2O"},
        ]
    }
    draft = write(tmp_path, "typos", {"name": "Typos", "rules": rules})
    code, _out, err = run(capsys, shop, "segments", "count", str(draft))
    assert code == 0
    warnings = [line for line in err.splitlines() if "does not exist in the shop's data" in line]
    assert len(warnings) == 4, err
    text = " ".join(warnings)
    assert "rules.any[0]: product 'Espreso Beans'" in text and "'Espresso Beans'" in text
    assert "vendor 'Valey Farms'" in text and "closest: 'Valley Farms'" in text
    assert "collection 'Equipmnt'" in text and "'Equipment'" in text
    assert "coupon code 'LOYAL2O'" in text and "'LOYAL20'" in text
    assert "cof-esp-1kg" not in text and "'Hilltop Roasters' does not" not in text
