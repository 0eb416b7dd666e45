"""Check a destination's mapped ``fields`` against its provider: each field exists on the
list with a type that takes the value mapped to it (``segments validate --online``, ``sync
--dry-run``); ``create`` makes a missing one where the provider allows it (Mailchimp merge
fields, ``--create-fields``)."""

from __future__ import annotations

from dataclasses import dataclass

from providers.base import MergeFieldInfo, Provider
from syncer.segments.fields import value_type
from syncer.segments.model import DestinationConfig


@dataclass(frozen=True)
class FieldCheck:
    field: str  # the provider field named in the file
    source: str  # the Syncer field or attribute mapped to it
    value_type: str
    provider_type: str | None  # None: the provider has no such field
    ok: bool
    created: bool = False
    problem: str = ""  # one line, when not ok


def _find(found: list[MergeFieldInfo], name: str) -> MergeFieldInfo | None:
    wanted = name.strip().casefold()
    for info in found:
        if wanted in (info.tag.strip().casefold(), info.name.strip().casefold()):
            return info
    return None


def check_fields(
    provider: Provider, destination: DestinationConfig, *, create: bool = False
) -> list[FieldCheck]:
    """One ``FieldCheck`` per mapped field (reads the provider's fields once)."""
    if not destination.fields:
        return []
    found = provider.fields_of(destination.list)
    checks: list[FieldCheck] = []
    for name, source in destination.fields:
        kind = value_type(source)
        info = _find(found, name)
        created = False
        if info is None and create:
            info = provider.create_field(destination.list, name, kind)
            found.append(info)
            created = True
        if info is None:
            hint = "; add --create-fields to create it" if _creates(provider) else ""
            problem = f"field {name!r} does not exist at {provider.name}{hint}"
            checks.append(FieldCheck(name, source, kind, None, False, problem=problem))
        elif not provider.compatible(kind, info.type):
            problem = (
                f"field {name!r} is a {info.type} field at {provider.name}; {source!r} gives "
                f"{kind} values"
            )
            checks.append(FieldCheck(name, source, kind, info.type, False, problem=problem))
        else:
            checks.append(FieldCheck(name, source, kind, info.type, True, created))
    return checks


def _creates(provider: Provider) -> bool:
    return type(provider).create_field is not Provider.create_field
