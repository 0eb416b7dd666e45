"""`syncer source check`: the shop's database against ``config/source.yaml``."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from syncer.cli.common import JSON_OPTION, console, err_console, print_json, settings
from syncer.db import make_engine, mask_url
from syncer.errors import ConfigError, DatabaseError
from syncer.segments.attributes import check_attributes
from syncer.settings import Settings
from syncer.source.active import install, using
from syncer.source.check import Report, check_source
from syncer.source.load import (
    SOURCE_FILE,
    attributes_only,
    check_complete,
    load_source,
    with_preset,
)
from syncer.source.model import read_source_file

source_app = typer.Typer(help="Your shop's database: the mapping in config/source.yaml.")


def install_source(conf: Settings) -> None:
    """Make the compiler read the shop as ``config/source.yaml`` maps it (native without)."""
    install(load_source(conf.config_dir))


@source_app.command("check")
def check_cmd(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Connect and check every mapped table and column; show what each field reads from,
    which fields are unavailable and why, and sample rows. Exit 2 on any problem."""
    conf = settings(ctx)
    path = conf.config_dir / SOURCE_FILE
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist: Syncer reads its native schema (docs/schema.md)",
            hint="write one to map your shop's tables (docs/source.md)",
        )
    spec = read_source_file(path)
    native = attributes_only(spec)  # only `attributes:`: the native tables, not checked here
    if not native:
        spec = with_preset(spec, str(path))
        check_complete(spec, str(path))
    source = load_source(conf.config_dir)
    engine = make_engine(conf.database_url)
    try:
        with engine.connect() as conn:
            report = Report() if native else check_source(conn, spec, source)
            with using(source):  # each declared attribute's SQL run once
                report.problems.extend(check_attributes(conn))
    except SQLAlchemyError as err:
        orig = getattr(err, "orig", None) or err
        reason = (str(orig).strip().splitlines() or ["error"])[0]
        raise DatabaseError(f"database {mask_url(engine.url)}: {reason}") from err
    finally:
        engine.dispose()
    if as_json:
        attributes = {n: a.type for n, a in source.attributes.items()}
        print_json(
            {"source": str(path), "preset": spec.preset, "attributes": attributes}
            | report.as_dict()
        )
    else:
        _show(str(path), report.tables, report.unavailable)
        for name, attr in source.attributes.items():
            console.print(f"attribute [b]attributes.{name}[/b] ({attr.type})")
    for problem in report.problems:
        err_console.print(f"[red]error:[/red] {escape(f'{path}: {problem}')}", soft_wrap=True)
    if report.problems:
        raise typer.Exit(2)


def _show(path: str, tables: dict[str, dict[str, object]], unavailable: dict[str, str]) -> None:
    grid = Table(title=f"what each column reads ({path})")
    for col in ("table", "column", "reads"):
        grid.add_column(col)
    for name, entry in tables.items():
        if "absent" in entry:
            grid.add_row(name, "", f"absent: {entry['absent']}")
            continue
        columns = entry["columns"]
        assert isinstance(columns, dict)
        for i, (col, reads) in enumerate(columns.items()):
            grid.add_row(name if i == 0 else "", col, str(reads))
    console.print(grid)
    if unavailable:
        console.print("[b]unavailable fields[/b]")
        for name, why in unavailable.items():
            console.print(f"  {name}: {why}", soft_wrap=True)
    console.print("[b]samples[/b]")
    for name, entry in tables.items():
        rows = entry.get("sample") or []
        assert isinstance(rows, list)
        for row in rows:
            console.print(f"  {name}: {row}", soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(source_app, name="source")
