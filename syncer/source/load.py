"""``config/source.yaml`` -> a Source: the preset filled in, every logical table accounted for.

No file: the native schema, unchanged."""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from syncer.errors import ConfigError
from syncer.source.model import SourceFile, parse_source, read_source_file
from syncer.source.tables import COLUMNS, LOGICAL, NATIVE, Source, build_source, native_source

SOURCE_FILE = "source.yaml"


def preset_names() -> list[str]:
    folder = resources.files("syncer.source") / "presets"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def read_preset(name: str, where: str) -> dict[str, Any]:
    """The preset file's data; ConfigError naming the presets there are."""
    if name not in preset_names():
        known = ", ".join(preset_names())
        raise ConfigError(f"preset: unknown preset {name!r}", where=where, hint=f"known: {known}")
    text = (resources.files("syncer.source") / "presets" / f"{name}.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def with_preset(spec: SourceFile, where: str) -> SourceFile:
    """``spec`` with its preset's tables and option defaults filled in (the file's own
    tables, options, identity and timezone win)."""
    if spec.preset is None:
        return spec
    preset = read_preset(spec.preset, where)
    declared: dict[str, Any] = preset.get("options") or {}
    unknown = sorted(set(spec.options) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise ConfigError(
            f"options: {unknown[0]!r} is no option of preset {spec.preset!r}",
            where=where,
            hint=f"its options: {known}",
        )
    options = {k: (v or {}).get("default") for k, v in declared.items()}
    options.update(spec.options)
    data: dict[str, Any] = {
        "prefix": spec.prefix,
        "options": options,
        "identity": spec.identity
        if "identity" in spec.model_fields_set
        else preset.get("identity", "id"),
        "timezone": spec.timezone
        if "timezone" in spec.model_fields_set
        else preset.get("timezone", "UTC"),
        "tables": preset.get("tables") or {},
    }
    merged = parse_source(data, where=f"preset {spec.preset}")
    tables = {**merged.tables, **spec.tables}
    return merged.model_copy(update={"tables": tables, "preset": spec.preset})


def check_complete(spec: SourceFile, where: str) -> None:
    """Every logical table mapped or declared absent; only native column names."""
    for name, t in spec.tables.items():
        if name not in NATIVE:
            raise ConfigError(
                f"tables: unknown logical table {name!r}",
                where=where,
                hint=f"known: {', '.join(LOGICAL)}",
            )
        extra = [c for c in t.columns if c not in NATIVE[name].c]
        if extra:
            known = ", ".join(COLUMNS[name])
            raise ConfigError(
                f"tables.{name}.columns: {extra[0]!r} is no column of {name}",
                where=where,
                hint=f"its columns: {known}",
            )
    missing = [n for n in LOGICAL if n not in spec.tables]
    if missing:
        raise ConfigError(
            f"tables: {missing[0]} is not mapped",
            where=where,
            hint=f"map it (table: or model:) or write `{missing[0]}: absent`",
        )


def attributes_only(spec: SourceFile) -> bool:
    """A file with no preset and no tables: the native schema, plus its ``attributes:``."""
    return spec.preset is None and not spec.tables


def source_from(spec: SourceFile, where: str) -> Source:
    if attributes_only(spec):
        return replace(native_source(), attributes=spec.attributes)
    full = with_preset(spec, where)
    check_complete(full, where)
    return build_source(full, origin=where)


def load_source(config_dir: Path) -> Source:
    """The source described by ``config_dir/source.yaml``; the native schema without one."""
    path = config_dir / SOURCE_FILE
    if not path.exists():
        return native_source()
    return source_from(read_source_file(path), str(path))
