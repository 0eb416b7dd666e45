"""Check one segment file on its own and against the other segments of the config folder."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import yaml

from syncer.errors import SegmentError, SyncerError
from syncer.segments.compiler import members_query
from syncer.segments.loader import (
    check_csv_folders,
    check_destinations,
    check_references,
    load_segment_file,
    parse_segment,
)
from syncer.segments.model import Segment


def _others(path: Path, directory: Path) -> dict[str, Segment]:
    """The readable segments of ``directory`` other than ``path`` (broken ones are skipped:
    they are reported when they are validated themselves)."""
    if not directory.is_dir():
        return {}
    found: dict[str, Segment] = {}
    me = path.resolve()
    for other in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        if other.resolve() == me:
            continue
        try:
            seg = load_segment_file(other)
        except SyncerError:
            continue
        found.setdefault(seg.name, seg)
    return found


def load_draft(path: Path, directory: Path) -> tuple[Segment, dict[str, Segment]]:
    """A segment file that may lie outside ``directory`` (a draft), and the segments it is
    evaluated with: the readable ones of ``directory``, the draft taking the place of a
    segment of the same name (it is that segment's next version). Checked like
    ``validate_file`` otherwise."""
    segment = load_segment_file(path)
    others = _others(path, directory)
    inside = directory.is_dir() and path.resolve().parent == directory.resolve()
    if not inside:
        others.pop(segment.name, None)
    segments = {**others, segment.name: segment}
    if segment.name in others:
        raise SegmentError(
            f"duplicate segment name {segment.name!r}, also in {others[segment.name].source}",
            file=str(path),
            hint="give each segment a unique name",
        )
    check_references({segment.name: segment}, segments)
    return segment, segments


def validate_file(path: Path, directory: Path) -> Segment:
    """The segment in ``path``; ConfigError (one line) for a problem in it, a name another file
    already uses, an ``in_segment`` naming no segment, a loop of references, or a destination
    tag another destination carries. Its destinations' profiles are checked by the caller
    (``profiles.check_destinations``): segments know nothing of providers."""
    segment = check_against(load_segment_file(path), _others(path, directory), path)
    check_csv_folders({segment.name: segment}, directory.parent)
    return segment


def check_against(segment: Segment, others: Mapping[str, Segment], path: Path) -> Segment:
    """``segment`` (to be the file ``path``) checked against the ``others`` of its folder: a
    unique name, references that resolve without loops, its own destination tags."""
    if segment.name in others:
        raise SegmentError(
            f"duplicate segment name {segment.name!r}, also in {others[segment.name].source}",
            file=str(path),
            hint="give each segment a unique name",
        )
    check_references({segment.name: segment}, {**others, segment.name: segment})
    # Compiling resolves every in_segment (unknown names and loops fail with file and segment).
    members_query(segment, {**others, segment.name: segment}, as_of=datetime.now(UTC))
    check_destinations({segment.name: segment}, against=others)
    return segment


def validate_text(
    text: str, path: Path, directory: Path, *, others: Mapping[str, Segment] | None = None
) -> Segment:
    """``text`` checked exactly as ``validate_file`` checks the file ``path``, before it is
    written there (the web admin edits a file only with text that passes). ``others``: the
    other segments of ``directory`` when the caller has them already (read as ``_others``)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SegmentError(f"malformed YAML: {err}", file=str(path)) from None
    segment = parse_segment(data, source=str(path)).model_copy(update={"source": path})
    if others is None:
        others = _others(path, directory)
    return check_parsed(segment, path, directory, others)


def check_parsed(
    segment: Segment, path: Path, directory: Path, others: Mapping[str, Segment]
) -> Segment:
    """What ``validate_text`` checks once the text is parsed into ``segment`` (to be the file
    ``path`` of ``directory``, beside ``others``): for a caller that parsed it already."""
    segment = check_against(segment, others, path)
    check_csv_folders({segment.name: segment}, directory.parent)
    return segment
