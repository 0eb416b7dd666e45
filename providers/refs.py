"""Id references: what an adapter stores with an outcome (``Outcome.provider_ref``) to find the
member again, e.g. ``"c=12;ct=34"`` (contact id 12, tag association 34) or ``"b=<batch id>"``."""

from __future__ import annotations


def make_ref(**parts: str | None) -> str | None:
    """``make_ref(c="12", ct=None)`` -> ``"c=12"``; None when every part is empty."""
    return ";".join(f"{k}={v}" for k, v in parts.items() if v) or None


def parse_ref(ref: str | None) -> dict[str, str]:
    """``"c=12;ct=34"`` -> ``{"c": "12", "ct": "34"}``; empty parts are left out."""
    out: dict[str, str] = {}
    for part in (ref or "").split(";"):
        key, sep, value = part.partition("=")
        if sep and value:
            out[key.strip()] = value.strip()
    return out
