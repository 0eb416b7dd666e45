"""The columns a segment file may name (a csv destination's ``columns:``, any destination's
``require:``): each name and whether its value can be missing, known without building SQL, so
that the file's model checks them (``columns.py`` gives each one's SQL; a test keeps the two
equal).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from syncer.segments.catalog import ATTRIBUTE_PREFIX, FIELDS, SCALARS, ValueType
from syncer.source.active import active

# The customer's own columns: name -> can be missing (NULL or empty).
_OWN: dict[str, bool] = {
    "customer_id": False,
    "email": False,
    "first_name": True,
    "last_name": True,
    "consent": False,
    "zip": True,
    "country": True,
    "status": True,
    "quality": True,
    "loyalty_card": True,
    "created": False,
}

# Counts and money sums of the catalog: a customer without rows has 0, never nothing.
COUNTED_FIELDS = tuple(
    f
    for f, spec in FIELDS.items()
    if spec.value_type in (ValueType.COUNT, ValueType.MONEY) and f not in SCALARS
)


def column_names() -> dict[str, bool]:
    """Every column name (with the active source's ``attributes.<name>``) -> can be missing."""
    counted = dict.fromkeys(COUNTED_FIELDS, False)
    one_value = {f: FIELDS[f].value_type is not ValueType.COUNT for f in SCALARS}
    declared = dict.fromkeys((ATTRIBUTE_PREFIX + n for n in active().attributes), True)
    return {**_OWN, **counted, **one_value, **declared}


def check_columns(names: Sequence[object], *, key: str) -> tuple[str, ...]:
    """``names`` as a tuple; ValueError (one line, close matches) for an unknown or repeated
    name, or, for ``require``, a column that always has a value."""
    out: list[str] = []
    known = column_names()
    for name in names:
        if not isinstance(name, str) or name not in known:
            close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise ValueError(f"unknown column {name!r}; {hint}columns: {', '.join(known)}")
        if name in out:
            raise ValueError(f"column {name!r} is named twice")
        if key == "require" and not known[name]:
            can = ", ".join(n for n, missing in known.items() if missing)
            raise ValueError(f"{name!r} always has a value, so it cannot be required; use {can}")
        out.append(name)
    return tuple(out)
