"""`syncer segments templates | new | copy`: ready segments and new segment files.

``new`` and ``copy`` write into the config's segments folder (``--out FILE`` elsewhere), never
over an existing file and never under a name another segment has; the file is checked like
``segments validate`` before it is written. Bad input is one line, exit 2.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from syncer.cli.common import JSON_OPTION, console, print_json, settings
from syncer.segments.create import Created, copy_segment, new_from_template
from syncer.segments.template import load_templates, parse_sets

OUT_OPTION = typer.Option(
    None, "--out", help="Write this file (default: the segments folder, named after NAME)."
)
COPY_OUT_OPTION = typer.Option(
    None, "--out", help="Write this file (default: the segments folder, named after NEW)."
)


def templates_cmd(as_json: bool = JSON_OPTION) -> None:
    """The ready segments shipped with Syncer: parameters, defaults and the fields they need."""
    templates = load_templates()
    rows = [
        {
            "template": t.name,
            "title": t.title,
            "description": t.describe(t.defaults()),
            "tags": list(t.tags),
            "parameters": [
                {"name": p.name, "type": p.type, "default": p.default,
                 "description": p.description}
                for p in t.parameters
            ],
            "fields": t.fields(),
        }
        for t in templates.values()
    ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    table = Table(title="segment templates (`syncer segments new NAME --template T --set K=V`)")
    for col in ("template", "what (defaults)", "parameters", "fields it needs"):
        table.add_column(col)
    for t in templates.values():
        params = "\n".join(f"{p.name}={p.default} ({p.type})" for p in t.parameters)
        table.add_row(
            t.name, escape(t.describe(t.defaults())), escape(params), ", ".join(t.fields())
        )
    console.print(table)


def new_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="The new segment's name."),
    template: str = typer.Option(
        ..., "--template", "-t", help="A template (see `syncer segments templates`)."
    ),
    sets: list[str] = typer.Option(
        [], "--set", help="A parameter: NAME=VALUE (repeatable); the others take their defaults."
    ),
    out: Path | None = OUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a new segment file from a template."""
    given = parse_sets(sets, template)
    created = new_from_template(settings(ctx).segments_dir, name, template, given, out)
    _report(created, as_json, f"from the template {template!r}")


def copy_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="The segment to copy."),
    new: str = typer.Argument(..., metavar="NEW", help="The copy's name."),
    with_destinations: bool = typer.Option(
        False,
        "--with-destinations",
        help="Copy the destinations too, each with a tag of its own (named after NEW).",
    ),
    out: Path | None = COPY_OUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Copy a segment's file under a new name (comments kept; destinations left out)."""
    segments_dir = settings(ctx).segments_dir
    created = copy_segment(segments_dir, name, new, with_destinations=with_destinations, out=out)
    _report(created, as_json, f"a copy of {name!r}")


def _report(created: Created, as_json: bool, origin: str) -> None:
    seg = created.segment
    if as_json:
        print_json(
            {
                "file": str(created.path),
                "segment": seg.name,
                "description": seg.description,
                "tags": list(seg.tags),
                "destinations": [d.key for d in seg.destinations],
            }
        )
        return
    console.print(
        f"{escape(str(created.path))}: segment {escape(repr(seg.name))}, {escape(origin)}"
    )
    for key, tag in created.tags.items():
        console.print(f"  destination {escape(key)} copied with the tag {escape(repr(tag))}")
    console.print(f"  count it: syncer segments count {escape(repr(seg.name))}")


def register(segments_app: typer.Typer) -> None:
    """Add this module's commands to ``syncer segments``."""
    segments_app.command("templates")(templates_cmd)
    segments_app.command("new")(new_cmd)
    segments_app.command("copy")(copy_cmd)
