"""Published API specs for contract tests: find the operation a request hit, validate its body.

    spec = ApiSpec.load(MAILCHIMP_SPEC, prefix="/3.0")
    spec.validate_request("POST", "/3.0/lists/abc/segments/7", body)  # raises on a bad body

``specs/marketing-3.0.85.ballerina-sanitized.openapi.json`` is a byte-for-byte copy of the derived
Mailchimp spec described in the project's provider-specs README (git blob
d2a4cc29ff0bbf308997b7c80d6341e4d6eea0b5; OpenAPI 3.0.1 converted from Mailchimp's own
``marketing.json``). ``$ref``s are resolved by ``referencing`` against the whole document, so
recursive schemas need no inlining.

One correction is applied, and only to what the converter got wrong: merge field values
(``additionalProperties`` described as "This object's keys are merge tags (like FNAME)") are
typed ``object`` there, yet Mailchimp's API and its newer published spec take a string, a number
or an address object. ``MERGE_VALUE`` replaces that one schema; nothing else is relaxed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30WriteValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).parent / "specs"
MAILCHIMP_SPEC = SPECS / "marketing-3.0.85.ballerina-sanitized.openapi.json"
ROOT = "urn:syncer:spec"
MERGE_TAG_NOTE = "This object's keys are merge tags"
MERGE_VALUE: dict[str, Any] = {
    "description": "a merge field value: text, a number, or an address object",
    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "object"}],
}


class SpecMismatch(AssertionError):
    """A request the published spec does not describe, or whose body it refuses."""


def _correct(node: Any) -> Any:
    """The document with the merge-field value schema corrected (see the module docstring)."""
    if isinstance(node, dict):
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and MERGE_TAG_NOTE in str(extra.get("description", "")):
            node = {**node, "additionalProperties": MERGE_VALUE}
        return {k: _correct(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_correct(v) for v in node]
    return node


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    body_ref: str | None  # JSON pointer of the request body schema
    query: frozenset[str]  # the query parameters the operation declares


class ApiSpec:
    def __init__(self, document: dict[str, Any], *, prefix: str = "") -> None:
        self.document = document
        self.prefix = prefix.rstrip("/")
        resource = Resource.from_contents(document, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(ROOT, resource)
        self.operations: list[Operation] = []
        for template, item in document["paths"].items():
            regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            for method, op in item.items():
                if not isinstance(op, dict) or method == "parameters":
                    continue
                content = (op.get("requestBody") or {}).get("content") or {}
                schema = (content.get("application/json") or {}).get("schema")
                ref = None
                if schema is not None:
                    ref = schema.get("$ref") or self._pointer(method, template)
                params = [*(item.get("parameters") or []), *(op.get("parameters") or [])]
                query = frozenset(p["name"] for p in params if p.get("in") == "query")
                self.operations.append(
                    Operation(method.upper(), template, re.compile(regex + "$"), ref, query)
                )
        # Literal segments beat parameters (``/lists/{id}/segments`` before ``/lists/{id}/{x}``).
        self.operations.sort(key=lambda o: o.template.count("{"))

    @staticmethod
    def _pointer(method: str, template: str) -> str:
        escaped = template.replace("~", "~0").replace("/", "~1")
        return f"#/paths/{escaped}/{method}/requestBody/content/application~1json/schema"

    @classmethod
    @cache
    def load(cls, path: Path, prefix: str = "") -> ApiSpec:
        return cls(_correct(json.loads(path.read_text(encoding="utf-8"))), prefix=prefix)

    def operation(self, method: str, url_path: str) -> Operation:
        path = url_path.split("?", 1)[0]
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :] or "/"
        for op in self.operations:
            if op.method == method.upper() and op.pattern.match(path):
                return op
        raise SpecMismatch(f"{method} {url_path}: no such operation in the published spec")

    def validate_request(
        self, method: str, url_path: str, body: Any, query: Iterable[str] = ()
    ) -> Operation:
        """Raise SpecMismatch unless ``body`` and the ``query`` parameter names are what the spec
        asks for at ``method url_path``."""
        op = self.operation(method, url_path)
        unknown = sorted(set(query) - op.query)
        if unknown:
            raise SpecMismatch(f"{method} {op.template}: undeclared query {', '.join(unknown)}")
        if op.body_ref is None:
            if body not in (None, b"", ""):
                raise SpecMismatch(f"{method} {op.template} takes no body, got one")
            return op
        validator = OAS30WriteValidator(
            {"$ref": ROOT + op.body_ref},
            registry=self.registry,
            format_checker=oas30_format_checker,
        )
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "(body)"
            raise SpecMismatch(f"{method} {op.template}: {where}: {errors[0].message}")
        return op
