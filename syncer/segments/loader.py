"""Segment files -> Segment objects, with one-line errors naming file, segment and path.

    segments = load_segments(Path("config/segments"))   # every *.yaml / *.yml
    vip = segments.get_or_error("VIP customers")
    usable = load_segments(folder, strict=False)         # broken files set aside in .broken

The rule tree is walked here (not by pydantic) so that each problem names its exact place,
e.g. ``config/segments/vip.yaml: segment 'VIP': rules.all[2].any[0]: unknown field 'oders'``.
References (``in_segment``) are checked across the whole set: unknown names and cycles.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from syncer.errors import ConfigError, SegmentError
from syncer.segments.catalog import RuleError, check_condition
from syncer.segments.model import (
    Condition,
    CsvDestinationConfig,
    Group,
    Not,
    Rule,
    Segment,
    SegmentRef,
    Window,
    check_quantity,
    parse_window,
)

TOP_KEYS = ("name", "description", "tags", "rules", "destinations", "schedule")
NODE_FORMS = (
    "a rule is one of: {all: [...]}, {any: [...]}, {not: <rule>}, {in_segment: <name>}, "
    "{field: ..., op: ..., value: ..., window: ...}"
)
CONDITION_KEYS = ("field", "op", "value", "window", "min_quantity")
DESTINATION_TAGS = ("provider", "csv")
MAX_FILE_BYTES = 1_000_000  # a segment file; real ones are a few hundred bytes
MAX_DEPTH = 32  # groups and `not`s nested inside one another
DEPTH_HINT = "flatten the rule, or move a part into its own segment and use in_segment"


class _Loader(yaml.SafeLoader):
    """Safe YAML whose impossible dates (``2020-02-30``) are YAML errors with their line, not
    a ValueError from deep inside the reader."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as err:
        raise yaml.constructor.ConstructorError(
            None, None, f"impossible date {node.value!r}: {err}", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class SegmentSet(Mapping[str, Segment]):
    """Segments by name, in file order; ``broken``: one error per file that did not load
    (only when loaded with ``strict=False``)."""

    def __init__(
        self,
        segments: Mapping[str, Segment] | None = None,
        broken: tuple[ConfigError, ...] = (),
    ) -> None:
        self._by_name: dict[str, Segment] = dict(segments or {})
        self.broken = broken

    def __getitem__(self, name: str) -> Segment:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def get_or_error(self, name: str) -> Segment:
        if name in self._by_name:
            return self._by_name[name]
        close = difflib.get_close_matches(name, self._by_name, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        known = ", ".join(repr(n) for n in self._by_name) or "none"
        for problem in self.broken:  # the segment is there, and broken: say why
            if getattr(problem, "segment", None) == name:
                raise problem
        skipped = ""
        if self.broken:
            files = broken_files(self.broken)
            skipped = f"; not loaded (`syncer segments validate FILE` says why): {files}"
        raise ConfigError(f"no segment named {name!r}", hint=f"{hint}known: {known}{skipped}")


def broken_files(broken: tuple[ConfigError, ...], most: int = 3) -> str:
    """The files of ``broken`` errors, at most ``most`` named (then "and N more")."""
    files = [str(getattr(b, "file", None) or b.where) for b in broken]
    more = f" and {len(files) - most} more" if len(files) > most else ""
    return ", ".join(files[:most]) + more


def load_segments(directory: Path, *, strict: bool = True) -> SegmentSet:
    """Every segment file in ``directory``; references checked across them. ``strict=False``
    sets aside each file that does not load, or that names a broken segment, or clashes with
    another (``SegmentSet.broken``, one error each) and returns the rest: one broken file does
    not stop the others from being counted or synced."""
    if not strict:
        return _load_usable(directory)
    if not directory.is_dir():
        raise ConfigError(
            f"segments folder {directory} does not exist",
            hint="create it or set SYNCER_CONFIG_DIR / --config-dir",
        )
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    found: dict[str, Segment] = {}
    for path in files:
        seg = load_segment_file(path)
        if seg.name in found:
            other = found[seg.name].source
            raise SegmentError(
                f"duplicate segment name {seg.name!r}, also in {other}",
                file=str(path),
                hint="give each segment a unique name",
            )
        found[seg.name] = seg
    check_references(found)
    check_destinations(found)
    check_csv_folders(found, directory.parent)
    return SegmentSet(found)


def _load_usable(directory: Path) -> SegmentSet:
    """``load_segments`` that sets broken files aside instead of failing on the first."""
    if not directory.is_dir():
        return load_segments(directory)  # the folder itself is missing: that is an error
    found: dict[str, Segment] = {}
    broken: list[ConfigError] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            seg = load_segment_file(path)
            if seg.name in found:
                raise SegmentError(
                    f"duplicate segment name {seg.name!r}, also in {found[seg.name].source}",
                    file=str(path),
                    hint="give each segment a unique name",
                )
        except ConfigError as err:
            broken.append(err)
            continue
        found[seg.name] = seg
    changed = True
    while changed:  # a segment naming a broken one is broken too
        failed: dict[str, ConfigError] = {}
        for name, seg in found.items():
            try:
                check_references({name: seg}, found)
            except ConfigError as err:
                failed[name] = err
        for name in reversed(list(found)):  # of two clashing files, the later is set aside
            if name in failed:
                continue
            try:
                others = {k: v for k, v in found.items() if k != name and k not in failed}
                check_destinations({name: found[name]}, others)
            except ConfigError as err:
                failed[name] = err
        for name, problem in failed.items():
            broken.append(problem)
            del found[name]
        changed = bool(failed)
    return SegmentSet(found, tuple(broken))


def check_destinations(
    segments: Mapping[str, Segment], against: Mapping[str, Segment] | None = None
) -> None:
    """No two destinations may share a provider tag (profile, list, tag; tags compared without
    case, as the providers do), in one segment or two: each segment's leavers would be untagged
    while the other segment still wants them, and neither would notice. ``against``: other
    segments whose destinations ``segments`` must not take (clashes among them not reported)."""
    owner: dict[tuple[str, ...], tuple[Segment, int]] = {}
    for seg in (*(against or {}).values(), *segments.values()):
        for i, dest in enumerate(seg.destinations):
            if isinstance(dest, CsvDestinationConfig):
                key: tuple[str, ...] = ("csv", dest.path)
                what, at, hint = f"path {dest.path!r}", "path", "give each export its own path."
            else:
                key = (dest.profile, dest.list, dest.tag.strip().casefold())
                what, at = f"tag {dest.tag!r} on {dest.profile}/{dest.list}", "tag"
                hint = "one tag carries one segment; give this destination its own tag."
            if key in owner and seg.name in segments:
                other, j = owner[key]
                raise SegmentError(
                    f"{what} is already the destination "
                    f"of segment {other.name!r} ({other.source or 'segments'}: destinations[{j}])",
                    file=str(seg.source) if seg.source else None,
                    segment=seg.name,
                    path=f"destinations[{i}].{at}",
                    hint=hint,
                )
            owner.setdefault(key, (seg, i))


def check_csv_folders(segments: Mapping[str, Segment], config_dir: Path) -> None:
    """Every csv destination's file can be written: its folder exists or can be created (the
    nearest existing folder above it is a writable folder). Relative paths are relative to
    ``config_dir``; the date in the pattern is today's (the check does not depend on it)."""
    now = datetime.now(UTC)
    for seg in segments.values():
        for i, dest in enumerate(seg.destinations):
            if not isinstance(dest, CsvDestinationConfig):
                continue
            folder = dest.file_for(config_dir, now).parent
            problem = folder_problem(folder)
            if problem:
                raise SegmentError(
                    f"cannot write {dest.path!r} there: {problem}",
                    file=str(seg.source) if seg.source else None,
                    segment=seg.name,
                    path=f"destinations[{i}].path",
                    hint="point path at a folder Syncer may create and write "
                    "(relative paths are relative to the config folder).",
                )


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be written in ``folder`` (None if they can, creating it if need be)."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return f"no existing folder above {folder}"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    return None


def load_segment_file(path: Path) -> Segment:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SegmentError(
                f"the file is {size:,} bytes; a segment file may be at most {MAX_FILE_BYTES:,}",
                file=str(path),
                hint="a rule that large is a mistake: check the file",
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SegmentError(f"cannot read the file: {err}", file=str(path)) from err
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except RecursionError:
        raise SegmentError(
            f"the file nests deeper than {MAX_DEPTH} levels, the cap for rules",
            file=str(path),
            hint=DEPTH_HINT,
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SegmentError(f"malformed YAML{where}: {problem}", file=str(path)) from err
    segment = parse_segment(data, source=str(path))
    return segment.model_copy(update={"source": path})


def parse_segment(data: object, *, source: str) -> Segment:
    """A Segment from parsed YAML; SegmentError (one line) for the first problems found."""
    if not isinstance(data, dict):
        raise SegmentError(
            "a segment file must be a mapping with name and rules",
            file=source,
            hint=f"keys: {', '.join(TOP_KEYS)}",
        )
    name = data.get("name")
    seg_name = name if isinstance(name, str) and name.strip() else None
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise SegmentError(
            f"unknown key {unknown[0]!r}",
            file=source,
            segment=seg_name,
            hint=f"allowed: {', '.join(TOP_KEYS)}",
        )
    if "rules" not in data or data["rules"] is None:
        raise SegmentError("no rules", file=source, segment=seg_name, hint=NODE_FORMS)
    rules = parse_rule(data["rules"], "rules", file=source, segment=seg_name)
    try:
        return Segment.model_validate({**data, "rules": rules})
    except ValidationError as err:
        raise SegmentError(_pydantic_lines(err), file=source, segment=seg_name) from None


def _pydantic_lines(err: ValidationError) -> str:
    parts = []
    for e in err.errors(include_url=False):
        # a destination's kind (the union's tag: provider, csv) is not a key of the file
        loc_parts = [
            p for i, p in enumerate(e["loc"])
            if not (p in DESTINATION_TAGS and i and isinstance(e["loc"][i - 1], int))
        ]  # fmt: skip
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc_parts).lstrip(".")
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc or 'segment'}: {msg}")
    return "; ".join(parts)


def parse_rule(
    data: object, path: str, *, file: str | None, segment: str | None, depth: int = 0
) -> Rule:
    """One node of the rule tree (recursively); SegmentError naming ``path``. ``depth`` counts
    the groups and ``not``s around the node (at most ``MAX_DEPTH``)."""

    def fail(message: str, hint: str | None = None, at: str = path) -> SegmentError:
        return SegmentError(message, file=file, segment=segment, path=at, hint=hint)

    if depth > MAX_DEPTH:
        raise fail(
            f"rules nest deeper than {MAX_DEPTH} levels (all / any / not), the cap", DEPTH_HINT
        )

    if isinstance(data, list):
        raise fail("a list here is ambiguous", "write `all: [...]` or `any: [...]`")
    if not isinstance(data, dict) or not data:
        raise fail(f"{data!r} is not a rule", NODE_FORMS)
    keys = set(data)
    for kind in ("all", "any"):
        if kind in keys:
            if len(keys) != 1:
                raise fail(f"`{kind}` must be alone in its mapping", NODE_FORMS)
            items = data[kind]
            if not isinstance(items, list):
                raise fail(f"`{kind}` needs a list of rules", f"write `{kind}: [...]`")
            if not items:
                raise fail(f"empty `{kind}` group", "add a rule or remove the group")
            rules = tuple(
                parse_rule(x, f"{path}.{kind}[{i}]", file=file, segment=segment, depth=depth + 1)
                for i, x in enumerate(items)
            )
            return Group(kind=kind, rules=rules)
    if "not" in keys:
        if len(keys) != 1:
            raise fail("`not` must be alone in its mapping", NODE_FORMS)
        inner = parse_rule(data["not"], f"{path}.not", file=file, segment=segment, depth=depth + 1)
        return Not(rule=inner)
    if "in_segment" in keys:
        ref = data["in_segment"]
        if len(keys) != 1 or not isinstance(ref, str) or not ref.strip():
            raise fail("`in_segment` needs a segment name, alone in its mapping")
        return SegmentRef(segment=ref.strip())
    if "field" in keys:
        extra = sorted(keys - set(CONDITION_KEYS))
        if extra:
            raise fail(f"unknown key {extra[0]!r} in a condition", f"keys: {CONDITION_KEYS}")
        if "op" not in keys:
            raise fail("condition without `op`", "add e.g. `op: gt`")
        try:
            window = None
            if data.get("window") is not None:
                window = Window.model_validate(parse_window(data["window"]))
            value = check_condition(
                data["field"], data["op"], data.get("value"), window is not None
            )
            min_quantity = data.get("min_quantity")
            if min_quantity is not None:
                check_quantity(data["field"], data["op"], min_quantity)
        except RuleError as err:
            raise fail(err.message, err.hint) from None
        return Condition(
            field=data["field"], op=data["op"], value=value, window=window,
            min_quantity=min_quantity,
        )  # fmt: skip
    raise fail(f"unknown rule key {sorted(keys)[0]!r}", NODE_FORMS)


def check_references(
    segments: Mapping[str, Segment], known: Mapping[str, Segment] | None = None
) -> None:
    """Every ``in_segment`` of ``segments`` names a segment of ``known`` (default: the same),
    no chain of references loops, and the rules nest at most ``MAX_DEPTH`` levels counting the
    rules of the segments they name (each ``in_segment`` one level more)."""
    for seg in segments.values():
        _walk_refs(seg, seg.rules, known or segments, (seg.name,), 0)


def _walk_refs(
    origin: Segment,
    rule: Any,
    segments: Mapping[str, Segment],
    chain: tuple[str, ...],
    depth: int,
) -> None:
    where = str(origin.source) if origin.source else None
    if depth > MAX_DEPTH and not isinstance(rule, Condition):
        names = " -> ".join(chain) if len(chain) <= 4 else f"{chain[0]} -> ... -> {chain[-1]}"
        raise SegmentError(
            f"rules nest deeper than {MAX_DEPTH} levels (all / any / not / in_segment), the cap, "
            f"through in_segment {names} ({len(chain)} segments)",
            file=where,
            segment=origin.name,
            hint="flatten the rules, or make the chain of in_segment shorter",
        )
    if isinstance(rule, Group):
        for r in rule.rules:
            _walk_refs(origin, r, segments, chain, depth + 1)
    elif isinstance(rule, Not):
        _walk_refs(origin, rule.rule, segments, chain, depth + 1)
    elif isinstance(rule, SegmentRef):
        if rule.segment not in segments:
            close = difflib.get_close_matches(rule.segment, segments, n=3, cutoff=0.5)
            raise SegmentError(
                f"in_segment {rule.segment!r}: no such segment",
                file=where,
                segment=origin.name,
                hint=f"known: {', '.join(repr(c) for c in close or segments)}",
            )
        if rule.segment in chain:
            loop = " -> ".join((*chain, rule.segment))
            raise SegmentError(
                f"segment references loop: {loop}",
                file=where,
                segment=origin.name,
                hint="remove one in_segment of the loop",
            )
        target = segments[rule.segment].rules
        _walk_refs(origin, target, segments, (*chain, rule.segment), depth + 1)
    elif isinstance(rule, Condition):
        return
