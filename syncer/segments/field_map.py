"""A destination's ``fields:`` as written: provider field -> the Syncer field or attribute it
receives, checked by name when the segment file loads (no SQL: ``fields.py`` builds the values).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from syncer.segments.column_names import column_names

Fields = tuple[tuple[str, str], ...]  # (provider field, Syncer field), in the file's order

MAX_NAME = 100
MAX_FIELDS = 50


def check_fields(value: object) -> Fields:
    """``value`` (the ``fields:`` mapping of a destination) as ``Fields``; ValueError (one line,
    naming the field) for anything else."""
    if value is None:
        return ()
    if isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        value = dict(value)
    if not isinstance(value, Mapping):
        raise ValueError("fields must be a mapping of provider field: Syncer field or attribute")
    if len(value) > MAX_FIELDS:
        raise ValueError(f"{len(value)} fields mapped; at most {MAX_FIELDS}")
    known = column_names()
    out: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for name, source in value.items():
        if not isinstance(name, str | int) or not str(name).strip():
            raise ValueError(f"field {name!r}: a provider field name or id is expected")
        name = str(name).strip()
        if "\0" in name or len(name) > MAX_NAME:
            raise ValueError(f"field {name[:40]!r}: not a name (NUL or over {MAX_NAME} characters)")
        if name.casefold() in seen:
            raise ValueError(f"field {name!r} is mapped twice (also as {seen[name.casefold()]!r})")
        seen[name.casefold()] = name
        if not isinstance(source, str) or source not in known or source == "consent":
            close = difflib.get_close_matches(str(source), known, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise ValueError(
                f"field {name!r}: {source!r} is not a Syncer field or attribute; {hint}"
                "see `syncer fields` (attributes as attributes.<name>)"
            )
        out.append((name, source))
    return tuple(out)
