"""The segment builder's draft: the rule tree as the browser's form holds it, and back.

Every node of the tree is named by its condition path, the one the validator's messages use
(``rules``, ``rules.all[1]``, ``rules.all[1].any[0]``, ``rules.all[2].not``). The form has, per
node ``P``: ``k:P`` its kind (``all``, ``any``, ``not``, ``cond``, ``in_segment``) and, for a
condition, ``f:P`` field, ``o:P`` operator, ``v:P`` value, ``w:P`` window, ``q:P`` the least
units bought (``min_quantity``, on a purchase condition) and ``pf:P`` the field the form was
drawn with (``s:P`` for ``in_segment``). ``from_form`` rebuilds the
YAML-shaped rule (plain dicts and lists, what a segment file holds); ``apply`` makes one
structural edit (``add:P:kind``, ``remove:P``, ``up:P``, ``down:P``, ``wrap:all``). Values are
typed by the field's catalog type and checked by the segment loader, never here: the builder
shows the CLI's own messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from syncer.segments.catalog import FIELDS, LIST_OPS, NO_VALUE_OPS, ValueType
from syncer.segments.model import QUANTITY_FIELDS

Node = dict[str, Any]
STEP = re.compile(r"\.(all|any)\[(\d+)\]|\.not")
KINDS = ("cond", "all", "any", "not")
NUMERIC = (ValueType.COUNT, ValueType.DAYS, ValueType.MONEY)
MAX_NODES = 200  # a draft holds at most this many nodes (a posted form is untrusted)
QUANTITY_OPS = ("has", "has_not", "in", "not_in")


def empty_condition() -> Node:
    return {"field": "orders", "op": "ge", "value": 1}


def _typed(field: str, text: str) -> object:
    """The form's text as a YAML value of the field's type (bad text stays text: the loader
    names the problem)."""
    spec = FIELDS.get(field)
    text = text.strip()
    if spec is None or text == "":
        return text
    if spec.value_type in NUMERIC or spec.value_type is ValueType.BOOL:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            return text
        return value if isinstance(value, bool | int | float) else text
    return text


def _value(field: str, op: str, text: str) -> object:
    if op in NO_VALUE_OPS:
        return None
    if op == "between" or op in LIST_OPS:
        return [_typed(field, part) for part in text.split(",") if part.strip()]
    return _typed(field, text)


def _window(text: str) -> object:
    text = text.strip()
    if ".." in text:
        start, _, end = text.partition("..")
        return {"between": [start.strip(), end.strip()]}
    return text or None


def from_form(
    form: Mapping[str, str], path: str = "rules", budget: list[int] | None = None
) -> Node:
    """The rule at ``path`` of a posted builder form."""
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        return {}
    kind = form.get(f"k:{path}", "cond")
    if kind in ("all", "any"):
        children: list[Node] = []
        while f"k:{path}.{kind}[{len(children)}]" in form and budget[0] > 0:
            children.append(from_form(form, f"{path}.{kind}[{len(children)}]", budget))
        return {kind: children}
    if kind == "not":
        return {"not": from_form(form, f"{path}.not", budget)}
    if kind == "in_segment":
        return {"in_segment": form.get(f"s:{path}", "").strip()}
    field = form.get(f"f:{path}", "").strip()
    op = form.get(f"o:{path}", "").strip()
    spec = FIELDS.get(field)
    if spec is not None and op not in spec.operators:
        op = spec.operators[0]  # the field changed: its first operator
    node: Node = {"field": field, "op": op}
    value = _value(field, op, form.get(f"v:{path}", ""))
    if form.get(f"pf:{path}", field) != field:  # a new field: the old value means nothing
        value = True if spec is not None and spec.value_type is ValueType.BOOL else None
    if value is not None:
        node["value"] = value
    window = _window(form.get(f"w:{path}", ""))
    if window is not None and spec is not None and spec.window:
        node["window"] = window
    quantity = form.get(f"q:{path}", "").strip()
    if quantity and takes_quantity(field, op):  # checked by the loader, as every value
        node["min_quantity"] = int(quantity) if quantity.isdecimal() else quantity
    return node


def quantity_text(node: Node) -> str:
    """A condition's ``min_quantity`` as the form shows it ("" without one)."""
    quantity = node.get("min_quantity")
    return "" if quantity is None else str(quantity)


def takes_quantity(field: str, op: str) -> bool:
    """Whether a condition on ``field`` with ``op`` may say ``min_quantity``."""
    return field in QUANTITY_FIELDS and op in QUANTITY_OPS


def _steps(path: str) -> list[tuple[str, int | None]]:
    if not path.startswith("rules"):
        raise ValueError(path)
    rest = path[len("rules") :]
    steps: list[tuple[str, int | None]] = []
    for match in STEP.finditer(rest):
        steps.append((match.group(1), int(match.group(2))) if match.group(1) else ("not", None))
    if "".join(m.group(0) for m in STEP.finditer(rest)) != rest:
        raise ValueError(path)
    return steps


def _parent(root: Node, path: str) -> tuple[list[Node], int] | None:
    """The list holding the node at ``path`` and its index (None for the root or a `not`)."""
    steps = _steps(path)
    if not steps or steps[-1][1] is None:
        return None
    node = root
    for key, index in steps[:-1]:
        node = node[key] if index is None else node[key][index]
    key, index = steps[-1]
    assert index is not None
    return node[key], index


def _node(root: Node, path: str) -> Node:
    node = root
    for key, index in _steps(path):
        node = node[key] if index is None else node[key][index]
    return node


def apply(rule: Node, action: str) -> Node:
    """``rule`` after one builder action; an action naming no node changes nothing."""
    verb, _, rest = action.partition(":")
    try:
        if verb == "add":
            path, _, kind = rest.rpartition(":")
            target = _node(rule, path)
            new: Node = (
                empty_condition()
                if kind == "cond"
                else {"not": empty_condition()}
                if kind == "not"
                else {kind: [empty_condition()]}
            )
            if kind not in KINDS:
                return rule
            group = "all" if "all" in target else "any" if "any" in target else None
            if group is not None:
                target[group].append(new)
        elif verb == "wrap":  # the root becomes the first child of a new group
            return {rest: [rule]} if rest in ("all", "any") else rule
        elif verb in ("remove", "up", "down"):
            found = _parent(rule, rest)
            if found is None:
                return rule
            items, index = found
            if verb == "remove" and len(items) > 1:
                del items[index]
            elif verb == "up" and index > 0:
                items[index - 1], items[index] = items[index], items[index - 1]
            elif verb == "down" and index < len(items) - 1:
                items[index + 1], items[index] = items[index], items[index + 1]
    except (ValueError, KeyError, IndexError, TypeError):
        return rule
    return rule


def value_text(node: Node) -> str:
    """A condition's value as the form shows it (lists comma-separated)."""
    value = node.get("value")
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(value_text({"value": v}) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def window_text(node: Node) -> str:
    window = node.get("window")
    if isinstance(window, Mapping):
        if "between" in window and isinstance(window["between"], list | tuple):
            return "..".join(str(v) for v in window["between"])
        for key in ("last_days", "last_months"):
            if key in window:
                return f"last_{window[key]}_{key.split('_')[1]}"
    return "" if window is None else str(window)


def plain(node: Any) -> Any:
    """A rule loaded by ruamel (CommentedMap/Seq, dates) as plain dicts, lists and text."""
    if isinstance(node, Mapping):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [plain(v) for v in node]
    if isinstance(node, bool | int | float | str) or node is None:
        return node
    return str(node)


def form_fields(rule: Any, path: str = "rules") -> dict[str, str]:
    """The builder form's fields for ``rule`` (a YAML-shaped rule): ``from_form`` of them gives
    the rule back."""
    node = plain(rule)
    if not isinstance(node, dict):
        return {}
    for kind in ("all", "any"):
        if kind in node:
            out = {f"k:{path}": kind}
            for i, child in enumerate(node[kind] or []):
                out.update(form_fields(child, f"{path}.{kind}[{i}]"))
            return out
    if "not" in node:
        return {f"k:{path}": "not", **form_fields(node["not"], f"{path}.not")}
    if "in_segment" in node:
        return {f"k:{path}": "in_segment", f"s:{path}": str(node["in_segment"])}
    field = str(node.get("field", ""))
    out = {f"k:{path}": "cond", f"f:{path}": field, f"pf:{path}": field,
           f"o:{path}": str(node.get("op", "")), f"v:{path}": value_text(node)}  # fmt: skip
    if "window" in node:
        out[f"w:{path}"] = window_text(node)
    if node.get("min_quantity") is not None:
        out[f"q:{path}"] = quantity_text(node)
    return out
