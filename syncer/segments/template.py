"""Segment templates: ready segments with parameters, shipped in ``syncer/segments/templates``.

    for t in load_templates(): print(t.name, t.describe(t.defaults()))
    data = templates["time-to-reorder"].render("Beans again", {"product": "House Blend"})

A template file is YAML: ``title``, ``description`` (``{param}`` placeholders), ``tags``,
``parameters`` (name, type, default, description) and ``rules`` in the segment language, where
a parameter's value goes in as ``{param: NAME}``. Rendering checks each value against its type,
then puts the typed value into the parsed tree (never text into YAML) and validates the result
with the segment loader. Bad values are one ConfigError line naming the template and parameter.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

import yaml

from syncer.errors import ConfigError, SyncerError
from syncer.segments.catalog import RuleError, check_condition
from syncer.segments.loader import parse_segment
from syncer.segments.model import Condition, Group, Not, Rule, parse_window

PACKAGE = "syncer.segments"
FOLDER = "templates"
TEMPLATE_KEYS = ("title", "description", "tags", "parameters", "rules")
PARAMETER_KEYS = ("name", "type", "default", "description")
_WHOLE = re.compile(r"^\d+$")
_PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

# Each parameter type is checked as the value of one catalog field (or as a window length), so
# a template value obeys the same limits as a value written in a segment file.
_CHECKED_AS: dict[str, tuple[str, str]] = {
    "count": ("orders", "eq"),
    "money": ("total_spent", "eq"),
    "text": ("status", "eq"),
    "product": ("purchased_product", "has"),
    "collection": ("purchased_collection", "has"),
    "vendor": ("purchased_vendor", "has"),
    "coupon": ("coupon", "has"),
}
_WINDOW_UNIT = {"days": "last_days", "months": "last_months"}
TYPES: dict[str, str] = {
    "count": "a whole number >= 0",
    "money": "an amount >= 0 with at most 2 decimals, e.g. 499.99",
    "days": "a whole number of days, 1 to 36,500",
    "months": "a whole number of months, 1 to 1,200",
    "text": "text, not empty",
    "product": "a product name or SKU, not empty",
    "collection": "a collection name, not empty",
    "vendor": "a vendor name, not empty",
    "coupon": "a coupon code, not empty",
}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: object
    description: str

    def check(self, value: object, template: str) -> object:
        """``value`` (typed, or text from ``--set``) as this parameter's type; ConfigError."""

        def fail(why: str) -> ConfigError:
            return ConfigError(
                why, where=f"template {template!r}: parameter {self.name!r}", hint=self.hint
            )

        if self.type in _WINDOW_UNIT:
            if isinstance(value, str) and _WHOLE.match(value.strip()):
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise fail(f"needs {TYPES[self.type]}, not {value!r}")
            try:
                parse_window({_WINDOW_UNIT[self.type]: value})
            except RuleError as err:
                raise fail(f"{value} is out of range ({err.message})") from None
            return value
        field, op = _CHECKED_AS[self.type]
        if self.type == "count" and isinstance(value, str):
            if not _WHOLE.match(value.strip()):
                raise fail(f"needs {TYPES['count']}, not {value!r}")
            value = int(value)
        try:
            return check_condition(field, op, value, False)
        except RuleError as err:
            message = err.message.removeprefix(f"{field} ").removeprefix(f"{field}: ")
            raise fail(message) from None

    @property
    def hint(self) -> str:
        return f"{self.name}: {TYPES[self.type]} ({self.description}; default {self.default})"


@dataclass(frozen=True)
class Template:
    name: str  # the file's stem: `--template NAME`
    title: str
    description: str  # with {param} placeholders
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    rules: Any  # parsed YAML with {param: NAME} placeholders

    def defaults(self) -> dict[str, object]:
        return {p.name: p.default for p in self.parameters}

    def values(self, given: Mapping[str, object]) -> dict[str, object]:
        """Every parameter's checked value: ``given`` over the defaults; ConfigError naming the
        template and the parameter for an unknown name or a value that does not fit."""
        known = {p.name: p for p in self.parameters}
        for name in given:
            if name not in known:
                raise ConfigError(
                    f"template {self.name!r}: unknown parameter {name!r}",
                    hint=f"parameters: {', '.join(known) or 'none'}",
                )
        return {p.name: p.check(given.get(p.name, p.default), self.name) for p in self.parameters}

    def describe(self, values: Mapping[str, object]) -> str:
        return self.description.format_map({k: _text(v) for k, v in values.items()})

    def render(self, segment_name: str, given: Mapping[str, object]) -> dict[str, Any]:
        """The segment file's data (``name``, ``description``, ``tags``, ``rules``), validated
        by the segment loader; ConfigError (one line) if a value does not fit."""
        values = self.values(given)
        data: dict[str, Any] = {
            "name": segment_name,
            "description": self.describe(values),
            "tags": list(self.tags),
            "rules": _substitute(self.rules, values),
        }
        try:
            parse_segment(data, source=f"template {self.name!r}")
        except SyncerError as err:
            raise ConfigError(str(err), hint=f"parameters: {_given(values)}") from None
        return data

    def fields(self) -> list[str]:
        """The catalog fields the template's rules test (what the shop's data must offer)."""
        rule = parse_segment(
            {"name": self.name, "rules": _substitute(self.rules, self.values({}))},
            source=f"template {self.name!r}",
        ).rules
        return list(dict.fromkeys(_fields(rule)))


def _text(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _given(values: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _substitute(node: Any, values: Mapping[str, object]) -> Any:
    """``node`` with every ``{param: NAME}`` replaced by the typed value (a new tree)."""
    if isinstance(node, dict):
        if set(node) == {"param"}:
            return _plain(values[node["param"]])
        return {k: _substitute(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values) for v in node]
    return node


def _plain(value: object) -> object:
    """A value YAML writes as itself: money stays exact (``Decimal`` is dumped as its text)."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _fields(rule: Rule) -> Iterable[str]:
    if isinstance(rule, Condition):
        yield rule.field
    elif isinstance(rule, Group):
        for r in rule.rules:
            yield from _fields(r)
    elif isinstance(rule, Not):
        yield from _fields(rule.rule)


def _placeholders(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        if set(node) == {"param"}:
            yield str(node["param"])
            return
        for v in node.values():
            yield from _placeholders(v)
    elif isinstance(node, list):
        for v in node:
            yield from _placeholders(v)


def parse_template(name: str, data: object) -> Template:
    """A Template from one parsed file; ConfigError naming the template for a malformed one."""

    def fail(why: str) -> ConfigError:
        return ConfigError(why, where=f"template {name!r}")

    if not isinstance(data, dict):
        raise fail("a template is a mapping of " + ", ".join(TEMPLATE_KEYS))
    unknown = sorted(set(data) - set(TEMPLATE_KEYS))
    if unknown or "rules" not in data:
        raise fail(f"unknown key {unknown[0]!r}" if unknown else "no rules")
    params: list[Parameter] = []
    for raw in data.get("parameters") or []:
        if not isinstance(raw, dict) or set(raw) != set(PARAMETER_KEYS):
            raise fail(f"a parameter needs exactly {', '.join(PARAMETER_KEYS)}: {raw!r}")
        if raw["type"] not in TYPES or not _PARAM_NAME.match(str(raw["name"])):
            raise fail(f"parameter {raw['name']!r}: bad name or type {raw['type']!r}")
        params.append(Parameter(str(raw["name"]), raw["type"], raw["default"], raw["description"]))
    declared = {p.name for p in params}
    used = set(_placeholders(data["rules"]))
    if used != declared:
        raise fail(f"parameters declared {sorted(declared)} but used {sorted(used)}")
    template = Template(
        name=name,
        title=str(data.get("title") or name),
        description=str(data.get("description") or ""),
        tags=tuple(data.get("tags") or ()),
        parameters=tuple(params),
        rules=data["rules"],
    )
    for p in params:  # each default fits its type
        p.check(p.default, name)
    return template


def load_templates() -> dict[str, Template]:
    """Every template shipped with Syncer, by name (the file's stem), sorted."""
    folder = resources.files(PACKAGE).joinpath(FOLDER)
    found: dict[str, Template] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            name = entry.name.removesuffix(".yaml")
            found[name] = parse_template(name, yaml.safe_load(entry.read_text(encoding="utf-8")))
    return found


def get_template(name: str) -> Template:
    """The template ``name``; ConfigError listing the templates otherwise."""
    templates = load_templates()
    if name not in templates:
        close = difflib.get_close_matches(name, templates, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ConfigError(
            f"no template named {name!r}",
            hint=f"{hint}templates: {', '.join(templates)} (`syncer segments templates`)",
        )
    return templates[name]


def parse_sets(items: Iterable[str], template: str) -> dict[str, str]:
    """``--set NAME=VALUE`` options as a mapping; ConfigError for one without ``=``."""
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(
                f"template {template!r}: --set {item!r} is not NAME=VALUE",
                hint='e.g. --set days=60 --set product="Espresso Beans"',
            )
        values[name.strip()] = value
    return values


def to_yaml(data: Mapping[str, Any]) -> str:
    """``data`` as segment-file YAML (safe_dump; money as its exact decimal text)."""
    return yaml.dump(
        dict(data),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=100,
    )


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as in the example segments."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float", str(value))


_Dumper.add_representer(Decimal, _decimal)
