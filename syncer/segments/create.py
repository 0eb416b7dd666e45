"""New segment files: from a template (``syncer segments new``) or as a copy of another segment
(``syncer segments copy``).

    created = new_from_template(Path("config/segments"), "Beans again", "time-to-reorder",
                                {"days": "45", "product": "House Blend"})
    created = copy_segment(Path("config/segments"), "VIP customers", "VIP Germany")

Both refuse to overwrite a file or to reuse a segment name (one ConfigError line, exit 2), and
check the new segment the way ``segments validate`` does before the file is written. A copy keeps
the source's comments and layout (a round trip through ruamel.yaml); its destinations are left
out unless asked for, and then each gets a tag of its own (one tag carries one segment).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from syncer.errors import ConfigError
from syncer.segments.loader import SegmentSet, load_segments, parse_segment
from syncer.segments.model import CsvDestinationConfig, Segment
from syncer.segments.template import get_template, to_yaml
from syncer.segments.validate import check_against

_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Created:
    path: Path
    segment: Segment
    tags: dict[str, str] = field(default_factory=dict)  # copied destination key -> its new tag


def slug(name: str) -> str:
    """A file name (and provider tag) from a segment name: ``VIP Germany`` -> ``vip-germany``."""
    return _NOT_WORD.sub("-", name.strip().lower()).strip("-")


def new_from_template(
    segments_dir: Path,
    name: str,
    template: str,
    given: Mapping[str, object],
    out: Path | None = None,
) -> Created:
    """Write segment ``name`` made from ``template`` with the ``given`` parameter values (text
    from ``--set`` or typed) into ``segments_dir`` (or ``out``)."""
    chosen = get_template(template)
    segments = _existing(segments_dir)
    target = _target(segments_dir, segments, name, out)
    data = chosen.render(name.strip(), given)
    header = f"# From the template {chosen.name!r} (`syncer segments templates`): {chosen.title}.\n"
    return _write(header + to_yaml(data), target, segments)


def copy_segment(
    segments_dir: Path,
    name: str,
    new: str,
    *,
    with_destinations: bool = False,
    out: Path | None = None,
) -> Created:
    """Write a copy of segment ``name`` named ``new``, keeping the source file's comments."""
    segments = _existing(segments_dir)
    source = segments.get_or_error(name)
    target = _target(segments_dir, segments, new, out)
    assert source.source is not None  # loaded from a file
    rt = YAML()  # round trip: comments, key order and quoting kept
    rt.preserve_quotes = True
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.width = 100
    try:
        data: Any = rt.load(source.source.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as err:  # it loaded a moment ago; changed since
        raise ConfigError(f"cannot read {source.source}: {err}") from None
    data["name"] = new.strip()
    tags: dict[str, str] = {}
    if not with_destinations:
        data.pop("destinations", None)
    else:
        used: dict[tuple[str, str], int] = {}
        raws = data.get("destinations") or []
        for i in reversed(range(len(raws))):  # a csv export would write the source's file too
            if isinstance(source.destinations[i], CsvDestinationConfig):
                del raws[i]
        kept = [d for d in source.destinations if not isinstance(d, CsvDestinationConfig)]
        for dest, raw in zip(kept, raws, strict=True):
            n = used[(dest.profile, dest.list)] = used.get((dest.profile, dest.list), 0) + 1
            raw["tag"] = slug(new) if n == 1 else f"{slug(new)}-{n}"
            tags[dest.key] = raw["tag"]
    text = io.StringIO()
    rt.dump(data, text)
    created = _write(text.getvalue(), target, segments)
    return Created(created.path, created.segment, tags)


def _existing(segments_dir: Path) -> SegmentSet:
    """The segments already in the folder (none if it does not exist yet)."""
    return load_segments(segments_dir) if segments_dir.exists() else SegmentSet()


def _target(segments_dir: Path, segments: SegmentSet, name: str, out: Path | None) -> Path:
    """Where segment ``name`` goes; ConfigError if the name is taken or the file exists."""
    if not name.strip():
        raise ConfigError("the new segment's name is empty", hint="give it a name")
    if name.strip() in segments:
        raise ConfigError(
            f"segment name {name.strip()!r} is already used by {segments[name.strip()].source}",
            hint="choose another name (each segment has its own).",
        )
    if out is None:
        stem = slug(name)
        if not stem:
            raise ConfigError(f"no file name can be made from {name!r}", hint="use --out FILE")
        out = segments_dir / f"{stem}.yaml"
    if out.exists():
        raise ConfigError(
            f"{out} already exists; nothing was overwritten",
            hint="choose another name or --out FILE.",
        )
    return out


def _write(text: str, target: Path, segments: SegmentSet) -> Created:
    """Check the segment in ``text`` like ``segments validate`` does, then create ``target``."""
    segment = parse_segment(yaml.safe_load(text), source=str(target))
    check_against(segment, dict(segments), target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise ConfigError(f"{target} already exists; nothing was overwritten") from None
    except OSError as err:
        raise ConfigError(f"cannot write {target}: {err.strerror or err}") from None
    return Created(target, segment.model_copy(update={"source": target}))
