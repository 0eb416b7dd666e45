"""Bad segment files end in one-line SegmentErrors naming file, segment, path and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncer.errors import ConfigError, SegmentError
from syncer.segments.loader import load_segments, parse_segment
from syncer.segments.model import Condition, Group

ORDERS_GT_2 = {"field": "orders", "op": "gt", "value": 2}


def bad(rules: Any, **top: Any) -> SegmentError:
    with pytest.raises(SegmentError) as info:
        parse_segment({"name": "VIP", "rules": rules, **top}, source="vip.yaml")
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("rules", "path", "words"),
    [
        ({"all": [ORDERS_GT_2, {"any": [{"field": "oders", "op": "gt", "value": 1}]}]},
         "rules.all[1].any[0]", ["unknown field 'oders'", "did you mean orders"]),
        ({"all": [{"field": "orders", "op": "has", "value": 1}]}, "rules.all[0]",
         ["operator 'has'", "allowed: eq, ne, gt"]),
        ({"all": [{"field": "orders", "op": "gt", "value": "two"}]}, "rules.all[0]",
         ["whole number"]),
        ({"all": [{"field": "total_spent", "op": "gt", "value": 1.005}]}, "rules.all[0]",
         ["at most 2 decimals"]),
        ({"all": [{"field": "zip", "op": "eq", "value": 2134}]}, "rules.all[0]", ["quotes"]),
        ({"all": [{"field": "zip", "op": "eq", "value": "1", "window": "last_30_days"}]},
         "rules.all[0]", ["takes no window"]),
        ({"all": [{"field": "orders", "op": "gt", "value": 1, "window": "last_fortnight"}]},
         "rules.all[0]", ["window", "last_N_days"]),
        ({"all": []}, "rules", ["empty `all` group"]),
        ({"any": [{"all": []}]}, "rules.any[0]", ["empty `all` group"]),
        ({"all": [{"field": "orders", "op": "between", "value": [5, 1]}]}, "rules.all[0]",
         ["low 5 is above high 1"]),
        ({"all": [{"field": "zip", "op": "in", "value": []}]}, "rules.all[0]", ["non-empty list"]),
        ({"all": [{"field": "zip", "op": "is_set", "value": "x"}]}, "rules.all[0]",
         ["takes no value"]),
        ({"all": [{"banana": 1}]}, "rules.all[0]", ["unknown rule key", "in_segment"]),
        ([ORDERS_GT_2], "rules", ["all: [...]"]),
        ({"all": [{"field": "orders", "op": "gt", "value": 1, "min_quantity": 2}]},
         "rules.all[0]", ["min_quantity applies to purchased_product"]),
        ({"all": [{"field": "purchased_product", "op": "has", "value": "Beans",
                   "min_quantity": 0}]}, "rules.all[0]", ["whole number from 1"]),
        ({"all": [{"field": "purchased_product", "op": "has", "value": "Beans",
                   "min_quantity": "3"}]}, "rules.all[0]", ["whole number from 1"]),
    ],
)  # fmt: skip
def test_rule_errors_name_the_path(rules: Any, path: str, words: list[str]) -> None:
    err = bad(rules)
    assert err.path == path and err.segment == "VIP" and err.file == "vip.yaml"
    for w in words:
        assert w in str(err)


def test_bad_cron_and_unknown_key() -> None:
    assert "cron" in str(bad(ORDERS_GT_2, schedule="every hour"))
    assert "allowed: name" in str(bad(ORDERS_GT_2, colour="red"))


def write(d: Path, name: str, text: str) -> None:
    (d / name).write_text(text, encoding="utf-8")


def test_folder_errors(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: A\nrules: {all: [{field: orders, op: gt, value: 2}]}\n")
    write(tmp_path, "b.yml", "name: B\nrules: {in_segment: A}\n")
    segs = load_segments(tmp_path)
    assert list(segs) == ["A", "B"] and segs["A"].source == tmp_path / "a.yaml"
    with pytest.raises(ConfigError, match="known: 'A', 'B'"):
        segs.get_or_error("C")
    write(tmp_path, "c.yaml", "name: A\nrules: {in_segment: B}\n")
    with pytest.raises(SegmentError, match=r"duplicate segment name 'A'.*a\.yaml"):
        load_segments(tmp_path)
    write(tmp_path, "c.yaml", "name: C\nrules: {in_segment: D}\n")
    write(tmp_path, "d.yaml", "name: D\nrules: {not: {in_segment: C}}\n")
    with pytest.raises(SegmentError, match="C -> D -> C"):
        load_segments(tmp_path)
    write(tmp_path, "d.yaml", "name: D\nrules: {all: [{field: orders, op: gt, value: 1}\n")
    with pytest.raises(SegmentError, match=r"d\.yaml.*malformed YAML at line"):
        load_segments(tmp_path)
    write(tmp_path, "d.yaml", "name: D\nrules: {in_segment: Nope}\n")
    with pytest.raises(SegmentError, match="'Nope': no such segment"):
        load_segments(tmp_path)


def test_examples_load() -> None:
    segs = load_segments(Path(__file__).parents[2] / "config" / "segments")
    assert "VIP customers" in segs and len(segs) >= 15


def test_destinations_and_schedule_parse() -> None:
    s = parse_segment(
        {"name": "V", "rules": ORDERS_GT_2, "schedule": "0 * * * *",
         "destinations": [{"profile": "mc", "list": "L", "tag": "vip"}]},
        source="x",
    )  # fmt: skip
    assert s.destinations[0].key == "mc/L/vip" and s.destinations[0].on_leave == "untag"
    err = bad(ORDERS_GT_2, destinations=[{"profile": "mc", "list": "L"}])
    assert "destinations[0].tag" in str(err)


def test_two_segments_may_not_share_a_provider_tag(tmp_path: Path) -> None:
    for name, tag in (("A", "vip"), ("B", "VIP ")):
        (tmp_path / f"{name.lower()}.yaml").write_text(
            f"name: {name}\nrules: {{field: orders, op: gt, value: 1}}\n"
            f"destinations: [{{profile: p, list: l1, tag: '{tag}'}}]\n"
        )
    with pytest.raises(SegmentError) as info:
        load_segments(tmp_path)
    text = str(info.value)
    assert "b.yaml: segment 'B': destinations[0].tag" in text
    assert "already the destination of segment 'A'" in text and "\n" not in text
    (tmp_path / "b.yaml").write_text(
        "name: B\nrules: {field: orders, op: gt, value: 1}\n"
        "destinations: [{profile: p, list: l2, tag: vip}]\n"
    )
    assert set(load_segments(tmp_path)) == {"A", "B"}  # the same tag on another list is fine


def test_min_quantity_in_a_segment_file(tmp_path: Path) -> None:
    """The README's own example: a purchase condition with ``min_quantity`` loads from a file
    (it was refused as an unknown key) and the condition keeps it."""
    write(
        tmp_path,
        "beans.yaml",
        "name: Beans\nrules:\n  all:\n"
        "    - {field: purchased_product, op: has, value: Espresso Beans, min_quantity: 3}\n",
    )
    rules = load_segments(tmp_path)["Beans"].rules
    assert isinstance(rules, Group)
    (cond,) = rules.rules
    assert isinstance(cond, Condition)
    assert (cond.field, cond.value, cond.min_quantity) == ("purchased_product", "Espresso Beans", 3)
