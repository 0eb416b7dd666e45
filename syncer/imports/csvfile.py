"""Streamed CSV reading for imports: headers matched without case, rows with their line numbers.

A file is read once, in order, through the ``csv`` module (quoted fields may span lines), as
UTF-8 with or without a byte-order mark. Memory does not grow with the file. Problems with the
file itself (missing, not UTF-8, headers that are not the expected export) are ConfigErrors:
one line naming the file and what to do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from syncer.errors import ConfigError

Progress = Callable[[str, int, int], None]  # (phase, bytes read, file size)

# Shopify notes and addresses can be long; the csv module's default limit is 128 KiB.
csv.field_size_limit(16 * 1024 * 1024)


def header_key(name: str) -> str:
    """How headers are compared: trimmed and without case (files re-saved in spreadsheets)."""
    return " ".join(name.strip().lower().split())


@dataclass(frozen=True)
class Row:
    """One CSV record: its first line in the file and its cells by header key."""

    line: int
    cells: dict[str, str]

    def get(self, *names: str) -> str:
        """The trimmed cell of the first of ``names`` the file has ('' if none)."""
        for name in names:
            value = self.cells.get(header_key(name))
            if value is not None:
                return value.strip()
        return ""


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read, for progress over a text stream."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class CsvExport:
    """One export file: ``require`` the headers it must have, then iterate its ``rows()``."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind  # e.g. "Shopify customers export", for messages
        if not path.is_file():
            raise ConfigError(
                f"{path}: no such file", hint=f"give the path of the {kind} (a .csv file)"
            )
        self.size = path.stat().st_size

    def require(self, headers: Sequence[str], required: Sequence[Sequence[str]]) -> None:
        """Raise one line naming every required column missing; ``required`` lists, per column,
        the spellings accepted for it (``("Accepts Email Marketing", "Accepts Marketing")``)."""
        have = {header_key(h) for h in headers}
        missing = [names[0] for names in required if not any(header_key(n) in have for n in names)]
        if missing:
            raise ConfigError(
                f"{self.path}: not a {self.kind}: missing columns {', '.join(missing)}",
                hint="export it from the Shopify admin and pass the file unchanged",
            )

    def rows(
        self, required: Sequence[Sequence[str]], progress: Progress | None = None
    ) -> Iterator[Row]:
        """Every record after the header row, with the line it starts on."""
        with self.path.open("rb") as raw:
            counting = _CountingReader(raw)
            text = io.TextIOWrapper(io.BufferedReader(counting), encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            try:
                header = next(reader, None)
                if header is None:
                    raise ConfigError(
                        f"{self.path}: empty file, not a {self.kind}",
                        hint="export it from the Shopify admin and pass the file unchanged",
                    )
                self.require(header, required)
                keys = [header_key(h) for h in header]
                line = reader.line_num + 1
                for record in reader:
                    if any(cell.strip() for cell in record):
                        yield Row(line, dict(zip(keys, record, strict=False)))
                    line = reader.line_num + 1
                    if progress is not None:
                        progress(self.kind, counting.count, self.size)
            except UnicodeDecodeError as err:
                raise ConfigError(
                    f"{self.path}: line {_first_bad_line(self.path)}: not UTF-8 text",
                    hint="save the file as CSV UTF-8 and import it again",
                ) from err
            except csv.Error as err:
                raise ConfigError(
                    f"{self.path}: line {reader.line_num}: not a readable CSV file: {err}",
                    hint="export it from the Shopify admin and pass the file unchanged",
                ) from err
        if progress is not None:
            progress(self.kind, self.size, self.size)


def _first_bad_line(path: Path) -> int:
    """The first line of ``path`` that is not UTF-8 (read again, in binary, line by line)."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1
