"""The worker's log: one line per record on stderr, JSON (default) or text for people.

Every record goes through the root handler, so the scheduler library's (APScheduler) and the
migration tool's (Alembic) lines are formatted like the worker's own; their routine INFO lines
(jobs added, run, executed, every reload tick; migration context) are dropped at WARNING, their
warnings and errors (a job that raised, a missed run) kept. JSON lines carry ``ts``, ``level``,
``logger`` and ``message``, and the worker's own lines their fields (``event``, ``segment``,
``destination``, ``outcome``, counts...). Passwords in URLs are masked in every line; an
exception is one ``error`` field, never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from syncer.db import mask_url

FIELDS = "syncer_fields"  # the LogRecord attribute carrying a worker line's fields
FORMATS = ("json", "text")
QUIET = {"apscheduler": logging.WARNING, "alembic": logging.WARNING, "dramatiq": logging.WARNING}


def _masked(value: Any) -> Any:
    """``value`` with passwords in any URL of its text masked (inside lists and dicts too)."""
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The message and the fields of ``record``, masked."""
    data: dict[str, Any] = {"message": record.getMessage()}
    data.update(getattr(record, FIELDS, None) or {})
    if record.exc_info and record.exc_info[1] is not None:
        err = record.exc_info[1]
        data.setdefault("error", f"{type(err).__name__}: {err}".splitlines()[0])
    return {k: _masked(v) for k, v in data.items()}


def _ts(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": _ts(record), "level": record.levelname.lower(), "logger": record.name}
        line.update(_fields(record))
        return json.dumps(line, default=str, ensure_ascii=False)


def _text_value(value: object) -> str:
    """``key=value`` text: JSON for structures and text with spaces, else as it is."""
    if isinstance(value, dict | list) or (isinstance(value, str) and " " in value):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        message = fields.pop("message")
        fields.pop("event", None)  # it is the message
        pairs = " ".join(f"{k}={_text_value(v)}" for k, v in fields.items())
        return f"{_ts(record)} {record.levelname:<7} {record.name}: {message} {pairs}".rstrip()


def setup_logging(fmt: str = "json", stream: TextIO | None = None) -> None:
    """Route every record (the worker's and the libraries') through one handler on ``stream``
    (stderr) in ``fmt`` (``json`` or ``text``); the libraries' routine lines are dropped."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)
