"""Attributes declared in config/source.yaml, from the CLI: `syncer fields`, `segments
validate` / `source check` naming an attribute whose SQL fails, and a count using one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncer.cli.main import main
from syncer.source.active import install
from syncer.source.tables import native_source

GOOD = {"tier": {"type": "text", "column": "loyalty_card", "description": "loyalty tier"}}
BROKEN = {"bad": {"type": "number", "expression": "no_such_column + 1"}}


@pytest.fixture(autouse=True)
def _native_after() -> object:
    yield
    install(native_source())


def _shop(tmp_path: Path, attributes: dict[str, Any]) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert main(["--database-url", url, "data", "generate", "-n", "60"]) == 0
    config = tmp_path / "config"
    (config / "segments").mkdir(parents=True)
    (config / "source.yaml").write_text(yaml.safe_dump({"attributes": attributes}))
    rule = {"field": "attributes.tier", "op": "eq", "value": "Gold"}
    seg = {"name": "gold tier", "rules": rule}
    (config / "segments" / "gold.yaml").write_text(yaml.safe_dump(seg))
    return url, config


def _run(capsys: pytest.CaptureFixture[str], url: str, config: Path, *args: str) -> Any:
    capsys.readouterr()
    code = main(["--database-url", url, "--config-dir", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_fields_lists_declared_attributes(capsys, tmp_path: Path) -> None:
    url, config = _shop(tmp_path, GOOD)
    code, out, _ = _run(capsys, url, config, "fields", "--json")
    assert code == 0
    fields = {f["field"]: f for f in json.loads(out)["fields"]}
    assert fields["attributes.tier"]["operators"][:2] == ["eq", "ne"]
    assert fields["attributes.tier"]["label"] == "loyalty tier"
    assert "average_order_value" in fields and "first_order_date" in fields
    code, out, _ = _run(capsys, url, config, "fields")
    assert "attributes.tier" in out


def test_count_with_an_attribute_equals_the_built_in_field(capsys, tmp_path: Path) -> None:
    url, config = _shop(tmp_path, GOOD)
    code, out, _ = _run(capsys, url, config, "segments", "count", "gold tier", "--json")
    assert code == 0
    by_attribute = json.loads(out)["count"]
    rule = {"name": "gold card", "rules": {"field": "loyalty_card", "op": "eq", "value": "Gold"}}
    (config / "segments" / "card.yaml").write_text(yaml.safe_dump(rule))
    code, out, _ = _run(capsys, url, config, "segments", "count", "gold card", "--json")
    assert by_attribute == json.loads(out)["count"] > 0


def test_bad_attribute_sql_fails_validate_and_check_in_one_line(capsys, tmp_path: Path) -> None:
    url, config = _shop(tmp_path, {**GOOD, **BROKEN})
    path = str(config / "segments" / "gold.yaml")
    code, _, err = _run(capsys, url, config, "segments", "validate", path)
    assert code == 2
    line = err.strip()
    assert "\n" not in line and "attribute 'bad'" in line and "no_such_column" in line
    code, out, err = _run(capsys, url, config, "source", "check", "--json")
    assert code == 2
    assert json.loads(out)["attributes"] == {"tier": "text", "bad": "number"}
    assert "attribute 'bad'" in err and "tier" not in err


def test_source_check_passes_with_good_attributes(capsys, tmp_path: Path) -> None:
    url, config = _shop(tmp_path, GOOD)
    code, out, err = _run(capsys, url, config, "source", "check", "--json")
    assert code == 0, err
    assert json.loads(out)["problems"] == []
