"""Every request the Mailchimp adapter sends, checked against the published API spec.

The adapter runs its operations against the emulator (which records the requests); each request
must be a documented operation, its query parameters documented ones, and its JSON body valid
against the operation's request schema (the derived Marketing API 3.0.85 document).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from openapi_schema_validator import OAS30Validator

from emulators import EmulatorServer
from emulators.base import Request
from emulators.mailchimp import MailchimpEmulator
from providers.base import Change, ChangeKind, Destination, Member, OnLeave
from tests.providers.spec import MAILCHIMP_SPEC

SPEC = MAILCHIMP_SPEC  # the committed copy: this test always runs, also on a fresh clone


MERGE_VALUES = "This object's keys are merge tags"


@cache
def spec() -> dict[str, Any]:
    """The spec, with one known defect relaxed: it types each merge field *value* as an object,
    while the API reference's own examples (and every client) send strings ("FNAME": "Ada")."""
    loaded: dict[str, Any] = json.loads(SPEC.read_text())
    _relax_merge_values(loaded)
    return loaded


def _relax_merge_values(node: Any) -> None:
    if isinstance(node, dict):
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and str(extra.get("description", "")).startswith(MERGE_VALUES):
            node["additionalProperties"] = {"type": "string"}
        for value in node.values():
            _relax_merge_values(value)
    elif isinstance(node, list):
        for value in node:
            _relax_merge_values(value)


def operation(method: str, path: str) -> dict[str, Any]:
    for template, ops in spec()["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template.rstrip("/")) + "/?"
        if re.fullmatch(pattern, path) and method.lower() in ops:
            op: dict[str, Any] = ops[method.lower()]
            return op
    raise AssertionError(f"{method} {path} is not a documented operation")


def check(req: Request) -> None:
    path = req.path.removeprefix("/3.0")
    op = operation(req.method, path or "/")
    documented = {p.get("name") for p in op.get("parameters", [])}
    assert set(req.query) <= documented, f"{req.method} {path}: {set(req.query) - documented}"
    content = op.get("requestBody", {}).get("content", {})
    if req.method in ("POST", "PUT", "PATCH") and content:
        schema = next(iter(content.values()))["schema"]
        validator = OAS30Validator({**schema, "components": spec()["components"]})
        errors = [e.message for e in validator.iter_errors(req.body)]
        assert not errors, f"{req.method} {path}: {errors[:3]}"


def test_every_adapter_request_is_documented_and_valid() -> None:
    from providers.mailchimp import Mailchimp

    emu = MailchimpEmulator(required_merge_fields=["FNAME"])
    emu.record = True
    emu.seed_member("demo-list", "gone@x.com", "unsubscribed")
    emu.faults.reject["fake@x.com"] = "invalid"
    members = [Member(f"u{i}@x.com", str(i), "F", "L", consent=i % 2 == 0) for i in range(30)]
    members += [Member("gone@x.com", "g", consent=True), Member("fake@x.com", "f")]
    with EmulatorServer(emu) as server:
        mc = Mailchimp("demo-us1", base_url=server.url + "/3.0", sleep=lambda _s: None)
        mc.check()
        mc.discover()
        dest = Destination("demo-list", "Buyers")
        added = mc.apply_batch(dest, [Change(ChangeKind.ADD, m) for m in members])
        mc.apply_batch(dest, [Change(ChangeKind.UPDATE, Member("u1@x.com", "1", "New"))])
        mc.apply_batch(dest, [Change(ChangeKind.REMOVE, m) for m in members[:5]])
        unsub = Destination("demo-list", "Buyers", OnLeave.UNSUBSCRIBE)
        mc.apply_batch(unsub, [Change(ChangeKind.REMOVE, members[5])])
        archive = Destination("demo-list", "Buyers", OnLeave.ARCHIVE)
        mc.apply_batch(archive, [Change(ChangeKind.REMOVE, members[6])])
        left = set(mc.read_members(dest))
    assert sum(o.status == "applied" for o in added) == 31
    assert left == {f"u{i}@x.com" for i in range(7, 30)} | {"gone@x.com"}
    assert emu.state()["demo-list"]["members"]["gone@x.com"]["status"] == "unsubscribed"
    assert len(emu.recorded) >= 10
    for req in emu.recorded:
        check(req)
