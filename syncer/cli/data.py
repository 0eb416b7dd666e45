"""`syncer data generate`: deterministic sample data in the commerce database."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import Engine

from syncer.cli.as_of import AS_OF_OPTION, parse_as_of
from syncer.cli.common import JSON_OPTION, console, err_console, print_json, progress_bar, settings
from syncer.db import make_engine, mask_url
from syncer.errors import ConfigError
from syncer.sample.platforms.magento import write_magento2
from syncer.sample.platforms.prestashop import write_prestashop
from syncer.sample.platforms.shopify import write_exports
from syncer.sample.platforms.woocommerce import write_woocommerce_hpos, write_woocommerce_legacy
from syncer.sample.shop import generate
from syncer.schema import create_commerce_schema, drop_commerce_schema

# None: the native tables only; a database platform: its tables too; shopify: export files.
PLATFORMS = (None, "woocommerce-hpos", "woocommerce-legacy", "magento2", "prestashop", "shopify")

WRITERS: dict[str, Callable[[Engine], dict[str, int]]] = {
    "woocommerce-hpos": write_woocommerce_hpos,
    "woocommerce-legacy": write_woocommerce_legacy,
    "magento2": write_magento2,  # no table prefix
    "prestashop": write_prestashop,  # prefix ps_, local times in Europe/Paris
}

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
        help="woocommerce-hpos, woocommerce-legacy, magento2, prestashop: also write the "
        "shop as that platform stores it (then try `preset: <the same name>` in "
        "config/source.yaml); "
        "shopify: write it as Shopify's CSV exports into --out instead.",
    ),
    out: Path | None = typer.Option(None, "--out", help="Folder for --platform shopify's files."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write sample customers, orders, visits, carts and email events (same seed, same data)."""
    if platform not in PLATFORMS:
        raise ConfigError(
            f"--platform {platform!r}: unknown platform",
            hint=f"known: {', '.join(p for p in PLATFORMS if p)}",
        )
    when = parse_as_of(as_of)
    if platform == "shopify":
        _platform_files(platform, out, customers, seed, when, as_json)
        return
    engine = make_engine(settings(ctx).database_url)
    try:
        if reset:
            drop_commerce_schema(engine)
            create_commerce_schema(engine)
        started = time.perf_counter()
        with progress_bar(err_console.is_terminal) as progress:
            counts = generate(engine, customers=customers, seed=seed, as_of=when, progress=progress)
        if platform in WRITERS:
            counts.update(WRITERS[platform](engine))
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


def _platform_files(
    platform: str, out: Path | None, customers: int, seed: int, when: datetime, as_json: bool
) -> None:
    """The sample shop as a platform's export files in ``out`` (the database is not touched)."""
    if out is None:
        raise ConfigError("--platform shopify needs --out DIR, the folder for the CSV files")
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'shop.db'}")
        try:
            with progress_bar(err_console.is_terminal and not as_json) as progress:
                generate(engine, customers=customers, seed=seed, as_of=when, progress=progress)
            paths = write_exports(engine, out)
        finally:
            engine.dispose()
    if as_json:
        print_json({"platform": platform, "files": {k: str(p) for k, p in paths.items()}})
        return
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")
    console.print(
        f"import with: syncer import shopify --customers {paths['customers']} "
        f"--orders {paths['orders']} --products {paths['products']}",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(data_app, name="data")
