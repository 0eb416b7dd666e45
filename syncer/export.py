"""Segment members to CSV, streamed: memory stays flat whatever the audience size.

Rows come through a server-side cursor (``stream_results`` + ``yield_per``: a named cursor on
PostgreSQL, an unbuffered cursor on MariaDB, sqlite3's incremental fetch on SQLite) and are
written as they arrive. The file is written next to its final name and renamed when complete,
so a failed export never leaves a half-written file under the name asked for.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select

from syncer.errors import ConfigError

BATCH = 2000

Progress = Callable[[int], None]


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def export_csv(
    engine: Engine, query: Select[Any], path: Path, *, progress: Progress | None = None
) -> int:
    """Write the rows of ``query`` (with a header) to ``path``; return how many were written.
    ConfigError (one line) if the file cannot be written there."""
    partial = path.with_name(f".{path.name}.partial")
    written = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with (
            engine.connect() as conn,
            partial.open("w", newline="", encoding="utf-8") as handle,
        ):
            result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
            writer = csv.writer(handle)
            writer.writerow(list(result.keys()))
            for batch in result.partitions():
                writer.writerows([_cell(v) for v in row] for row in batch)
                written += len(batch)
                if progress:
                    progress(written)
        os.replace(partial, path)
    except OSError as err:
        raise ConfigError(f"cannot write {path}: {err.strerror or err}") from err
    finally:
        with contextlib.suppress(OSError):  # e.g. its folder could not be made
            partial.unlink(missing_ok=True)
    return written
