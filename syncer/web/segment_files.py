"""The segment files of the config folder as the builder needs them, each file parsed once while
it is unchanged.

The builder posts its draft on every edit; each post checks the draft against the other
segments of the folder (as ``syncer segments validate`` does). Parsing every file again on every
keystroke costs more than the count itself on a folder of a few dozen segments, so the parsed
``Segment`` of a file is kept with its stat (size, modification and change times, inode) and
the file is read again as soon as any of them differs: an edit by the CLI, git or another
browser is seen on the next request. Files are still listed on every request, and read with the
loader's own ``load_segment_file``, so what is checked is exactly what the CLI checks.

    files = SegmentFiles()
    others = files.others(path, directory)   # validate's "other segments" of the folder
    files.source_of("VIP", directory)        # the file of a segment, by name (None: not found)
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from syncer.errors import SyncerError
from syncer.segments.loader import load_segment_file
from syncer.segments.model import Segment

Stamp = tuple[int, int, int, int]
Listing = list[tuple[Path, Path, Segment | None]]  # (file, resolved, segment or None)


def _stamp(path: Path) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


class SegmentFiles:
    """Parsed segment files by path, re-read when their stat changes (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # path -> (its stat, its resolved path, its segment or None when it does not load)
        self._parsed: dict[Path, tuple[Stamp, Path, Segment | None]] = {}

    def _load(self, path: Path) -> tuple[Path, Segment | None]:
        """The file's resolved path and segment (None: it does not load; validating it says
        why)."""
        stamp = _stamp(path)
        if stamp is None:
            return path, None
        with self._lock:
            known = self._parsed.get(path)
        if known is not None and known[0] == stamp:
            return known[1], known[2]
        try:
            segment: Segment | None = load_segment_file(path)
        except SyncerError:
            segment = None
        resolved = path.resolve()
        with self._lock:
            self._parsed[path] = (stamp, resolved, segment)
        return resolved, segment

    def listing(self, directory: Path) -> Listing:
        """Every segment file of ``directory`` with its resolved path and segment (None: it
        does not load), as of now: one listing serves the calls of one request."""
        files = _files(directory)
        with self._lock:  # forget the files that are gone
            for gone in set(self._parsed) - set(files):
                if gone.parent == directory:
                    del self._parsed[gone]
        return [(path, *self._load(path)) for path in files]

    def others(
        self, path: Path, directory: Path, listing: Listing | None = None
    ) -> dict[str, Segment]:
        """The readable segments of ``directory`` (or of its ``listing``) other than the file
        ``path``, the first file of a name winning: what ``syncer.segments.validate`` checks a
        file against."""
        me = path.resolve()
        found: dict[str, Segment] = {}
        for _path, resolved, segment in listing or self.listing(directory):
            if segment is not None and resolved != me:
                found.setdefault(segment.name, segment)
        return found

    def source_of(self, name: str, directory: Path, listing: Listing | None = None) -> Path | None:
        """The file of the readable segment named ``name`` (None when no file has it)."""
        for path, _resolved, segment in listing or self.listing(directory):
            if segment is not None and segment.name == name:
                return path
        return None
