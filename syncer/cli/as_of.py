"""The ``--as-of`` option shared by data and segment commands: relative dates count from it."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from syncer.errors import ConfigError
from syncer.segments.catalog import FIRST_DAY, LAST_DAY

AS_OF_OPTION = typer.Option(
    None,
    "--as-of",
    help="Reference date for relative conditions (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC; "
    "default now).",
)


def parse_as_of(text: str | None) -> datetime:
    """``text`` as a naive UTC datetime, or now (whole seconds) when not given. An empty text
    or a date the databases cannot hold is a ConfigError."""
    if text is None:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    if not text.strip():
        raise ConfigError(
            "--as-of is empty;", hint="give a date YYYY-MM-DD, or leave --as-of out for now."
        )
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise ConfigError(
            f"--as-of {text!r} is not a date;", hint="use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)."
        ) from err
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        raise ConfigError(
            f"--as-of {text!r} is out of range;", hint=f"use a date from {FIRST_DAY} to {LAST_DAY}."
        )
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
