"""The ``--as-of`` option shared by data and segment commands: relative dates count from it."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from syncer.errors import ConfigError

AS_OF_OPTION = typer.Option(
    None,
    "--as-of",
    help="Reference date for relative conditions (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC; "
    "default now).",
)


def parse_as_of(text: str | None) -> datetime:
    """``text`` as a naive UTC datetime, or now (whole seconds) when ``text`` is empty."""
    if not text:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise ConfigError(
            f"--as-of {text!r} is not a date;", hint="use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)."
        ) from err
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
