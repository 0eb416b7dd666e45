"""`syncer import shopify`: a platform's exports into the native commerce tables."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from syncer.cli.common import JSON_OPTION, console, err_console, print_json, progress_bar, settings
from syncer.db import make_engine, mask_url
from syncer.imports.shopify import NOT_IN_EXPORTS, import_shopify

import_app = typer.Typer(help="Load a platform's exports into the commerce tables.",
                         no_args_is_help=True)  # fmt: skip
SHOWN_BAD_ROWS = 20


@import_app.command("shopify")
def shopify_cmd(
    ctx: typer.Context,
    customers: Path = typer.Option(..., "--customers", help="Customers export (CSV)."),
    orders: Path = typer.Option(..., "--orders", help="Orders export (CSV)."),
    products: Path | None = typer.Option(
        None, "--products", help="Products export (CSV): vendors, collections."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import Shopify's customers, orders (and products) exports; re-importing updates rows.

    Rows that cannot be imported are skipped and listed with file and line (exit 1)."""
    engine = make_engine(settings(ctx).database_url)
    started = time.perf_counter()
    try:
        with progress_bar(err_console.is_terminal and not as_json, "reading") as progress:
            report = import_shopify(
                engine, customers=customers, orders=orders, products=products, progress=progress
            )
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    if as_json:
        print_json(
            {
                "database": mask_url(engine.url),
                "seconds": round(seconds, 2),
                "files": [dataclasses.asdict(f) for f in report.files],
                "bad_rows": [dataclasses.asdict(b) for b in report.bad_rows],
                "fields_without_data": NOT_IN_EXPORTS,
            }
        )
    else:
        table = Table(caption=f"{mask_url(engine.url)}, {seconds:.1f}s")
        for column in ("file", "rows", "new", "updated", "unchanged", "skipped"):
            table.add_column(column, justify="left" if column == "file" else "right")
        for f in report.files:
            table.add_row(escape(Path(f.file).name), *(f"{n:,}" for n in (
                f.rows, f.new, f.updated, f.unchanged, f.skipped)))  # fmt: skip
        console.print(table)
        for f in report.files:
            for what, n in f.extra.items():
                if n:
                    console.print(f"{escape(Path(f.file).name)}: {what}: {n:,}")
        for bad in report.bad_rows[:SHOWN_BAD_ROWS]:
            err_console.print(f"skipped {escape(bad.file)}:{bad.line}: {escape(bad.reason)}",
                              highlight=False, soft_wrap=True)  # fmt: skip
        more = len(report.bad_rows) - SHOWN_BAD_ROWS
        if more > 0:
            err_console.print(f"... and {more:,} more skipped rows (all of them with --json)")
        console.print(
            "no data in Shopify exports for the fields: " + ", ".join(NOT_IN_EXPORTS),
            soft_wrap=True,
        )
    if report.bad_rows:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(import_app, name="import")
