"""`syncer data generate`: deterministic sample data in the commerce database."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from syncer.cli.as_of import AS_OF_OPTION, parse_as_of
from syncer.cli.common import JSON_OPTION, console, err_console, print_json, progress_bar, settings
from syncer.db import make_engine, mask_url
from syncer.errors import ConfigError
from syncer.sample.platforms.woocommerce import write_woocommerce_hpos
from syncer.sample.shop import generate
from syncer.schema import create_commerce_schema, drop_commerce_schema

data_app = typer.Typer(help="Sample data for the commerce database.", no_args_is_help=True)


@data_app.command("generate")
def generate_cmd(
    ctx: typer.Context,
    customers: int = typer.Option(1000, "--customers", "-n", min=0, help="How many customers."),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same data."),
    as_of: str | None = AS_OF_OPTION,
    reset: bool = typer.Option(
        False, "--reset", help="Drop and recreate the commerce tables first (deletes their data)."
    ),
    platform: str | None = typer.Option(
        None,
        "--platform",
        help="Also write the shop as this platform stores it: woocommerce-hpos "
        "(then try `preset: woocommerce-hpos` in config/source.yaml).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write sample customers, orders, visits, carts and email events (same seed, same data)."""
    if platform not in (None, "woocommerce-hpos"):
        raise ConfigError(
            f"--platform {platform!r}: unknown platform", hint="known: woocommerce-hpos"
        )
    when = parse_as_of(as_of)
    engine = make_engine(settings(ctx).database_url)
    try:
        if reset:
            drop_commerce_schema(engine)
            create_commerce_schema(engine)
        started = time.perf_counter()
        with progress_bar(err_console.is_terminal) as progress:
            counts = generate(engine, customers=customers, seed=seed, as_of=when, progress=progress)
        if platform == "woocommerce-hpos":
            counts.update(write_woocommerce_hpos(engine, prefix="wp_"))
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    where = mask_url(engine.url)
    if as_json:
        print_json(
            {
                "database": where,
                "customers": customers,
                "seed": seed,
                "as_of": when.isoformat(),
                "seconds": round(seconds, 2),
                "rows": counts,
            }
        )
        return
    table = Table(caption=f"{where}, seed {seed}, as of {when.isoformat()}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    table.add_row("[b]total[/b]", f"[b]{sum(counts.values()):,}[/b]")
    console.print(table)
    console.print(f"written in {seconds:.1f}s")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(data_app, name="data")
