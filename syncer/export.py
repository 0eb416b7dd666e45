"""Segment members to CSV, streamed: memory stays flat whatever the audience size.

Rows come through a server-side cursor (``stream_results`` + ``yield_per``: a named cursor on
PostgreSQL, an unbuffered cursor on MariaDB, sqlite3's incremental fetch on SQLite) and are
written as they arrive. The file is written next to its final name, flushed to disk (fsync) and
renamed when complete, so a failed export never leaves a half-written file under the name asked
for, and the file an earlier export left there stays whole until the new one replaces it.
``compress`` writes gzip; ``convert`` turns each column's database value into the value written.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
from collections.abc import Callable, Iterator, Sequence
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
    engine: Engine,
    query: Select[Any],
    path: Path,
    *,
    progress: Progress | None = None,
    compress: bool = False,
    convert: Sequence[Callable[[Any], Any]] | None = None,
) -> int:
    """Write the rows of ``query`` (with a header) to ``path``; return how many were written.
    ConfigError (one line) if the file cannot be written there."""
    partial = path.with_name(f".{path.name}.partial")
    written = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with (
            engine.connect() as conn,
            partial.open("wb") as raw,
            # mtime 0: the same rows give the same bytes, whenever written
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if compress else _no_gzip() as packed,
        ):
            options = conn.execution_options(stream_results=True, yield_per=BATCH)
            # closed before the connection, also when a write fails mid-way (a server-side
            # cursor left open would be closed later on a closed connection)
            with contextlib.closing(options.execute(query)) as result:
                sink: io.BufferedIOBase = packed or raw
                text = io.StringIO()  # one batch of rows, encoded and written at once
                writer = csv.writer(text)
                writer.writerow(list(result.keys()))
                for batch in result.partitions():
                    if convert is None:
                        writer.writerows([_cell(v) for v in row] for row in batch)
                    else:
                        writer.writerows(
                            [_cell(f(v)) for f, v in zip(convert, row, strict=True)]
                            for row in batch
                        )
                    sink.write(text.getvalue().encode("utf-8"))
                    text.seek(0)
                    text.truncate()
                    written += len(batch)
                    if progress:
                        progress(written)
            sink.write(text.getvalue().encode("utf-8"))  # the header of an empty result
            if packed is not None:
                packed.close()  # the gzip trailer; ``raw`` stays open
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
        _sync_folder(path.parent)
    except OSError as err:
        raise ConfigError(f"cannot write {path}: {err.strerror or err}") from err
    finally:
        with contextlib.suppress(OSError):  # e.g. its folder could not be made
            partial.unlink(missing_ok=True)
    return written


@contextlib.contextmanager
def _no_gzip() -> Iterator[None]:
    yield None


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (fsync the folder); best effort: not possible everywhere."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
