"""The template library: every template renders, validates, compiles and finds customers in the
sample shop on each database; bad parameter values are one line naming template and parameter."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

from syncer.errors import ConfigError
from syncer.sample.catalogue import COLLECTIONS, PRODUCTS, VENDORS
from syncer.sample.shop import generate
from syncer.segments.catalog import FIELDS
from syncer.segments.compiler import count_query
from syncer.segments.loader import parse_segment
from syncer.segments.template import TYPES, get_template, load_templates, to_yaml

AS_OF = datetime(2026, 3, 1)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "segments.md"
# What the seeds' "smart segments" describe; each must have a template.
SEEDS = (
    "vip", "lapsed-vip", "big-spender-gone-quiet", "win-back", "one-time-buyers", "loyal",
    "new-customers", "abandoned-cart", "browse-without-purchase", "cross-sell-collection",
    "time-to-reorder", "product-a-or-b", "email-engaged", "email-disengaged",
    "visitors-not-customers", "coupon-hunters", "refund-prone",
)  # fmt: skip


def test_the_library_covers_the_seeds_with_parameters_and_descriptions() -> None:
    templates = load_templates()
    assert len(templates) >= 15
    assert set(SEEDS) <= set(templates)
    for t in templates.values():
        assert t.title and t.description, t.name
        assert t.parameters, f"{t.name} has no parameters"
        for p in t.parameters:
            assert p.type in TYPES and p.description, (t.name, p.name)
        assert t.fields() and set(t.fields()) <= set(FIELDS), t.name
        assert "{" not in t.describe(t.defaults()), t.name


def test_defaults_name_things_the_sample_shop_sells() -> None:
    names = {"product": PRODUCTS, "collection": COLLECTIONS, "vendor": VENDORS}
    for t in load_templates().values():
        for p in t.parameters:
            if p.type in names:
                assert p.default in names[p.type], (t.name, p.name, p.default)


def test_every_template_finds_customers_in_the_sample_shop(engine: Engine) -> None:
    generate(engine, customers=400, seed=7, as_of=AS_OF)
    counts = {}
    with engine.connect() as conn:
        for name, t in load_templates().items():
            seg = parse_segment(t.render(f"from {name}", {}), source=name)
            counts[name] = conn.execute(count_query(seg, {seg.name: seg}, as_of=AS_OF)).scalar()
    assert all(n > 0 for n in counts.values()), counts


@pytest.mark.parametrize(
    ("template", "values", "named", "says"),
    [
        ("vip", {"ordres": "3"}, "'ordres'", "parameters: orders, spent"),
        ("vip", {"orders": "three"}, "parameter 'orders'", "a whole number"),
        ("vip", {"orders": "-1"}, "parameter 'orders'", "a whole number"),
        ("vip", {"spent": "12.345"}, "parameter 'spent'", "at most 2 decimals"),
        ("win-back", {"days": "0"}, "parameter 'days'", "1 or more"),
        ("win-back", {"days": "99999"}, "parameter 'days'", "at most 36,500"),
        ("time-to-reorder", {"product": ""}, "parameter 'product'", "empty"),
        ("email-engaged", {"months": "soon"}, "parameter 'months'", "whole number of months"),
    ],
)
def test_a_value_that_does_not_fit_is_one_line_naming_template_and_parameter(
    template: str, values: dict[str, str], named: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        get_template(template).render("X", values)
    message = str(caught.value)
    assert f"template '{template}'" in message and named in message and says in message
    assert "\n" not in message and caught.value.exit_code == 2


def test_unknown_template_lists_the_library() -> None:
    with pytest.raises(ConfigError, match=r"no template named 'vipp'.*did you mean vip"):
        get_template("vipp")


def test_values_go_in_as_data_never_as_yaml_text() -> None:
    hostile = 'Beans"\nname: Evil\nrules: {field: orders, op: ge, value: 0}\n# '
    data = get_template("time-to-reorder").render("Safe", {"product": hostile, "days": 45})
    loaded = yaml.safe_load(to_yaml(data))
    assert loaded["name"] == "Safe"
    assert loaded["rules"]["all"][0]["value"] == hostile
    assert loaded["rules"]["all"][1]["not"]["window"] == {"last_days": 45}


def test_money_stays_exact() -> None:
    data = get_template("vip").render("V", {"spent": "1234.05"})
    seg = parse_segment(yaml.safe_load(to_yaml(data)), source="v")
    assert yaml.safe_load(to_yaml(data))["rules"]["all"][1]["value"] == 1234.05
    assert seg.rules.rules[1].value == Decimal("1234.05")  # type: ignore[union-attr]


def test_docs_list_every_template_with_its_parameters() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for t in load_templates().values():
        row = re.search(rf"^\| `{re.escape(t.name)}` \|.*$", text, re.MULTILINE)
        assert row, f"docs/segments.md does not list the template {t.name}"
        for p in t.parameters:
            assert f"`{p.name}`" in row.group(0), (t.name, p.name)
