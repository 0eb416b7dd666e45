"""``syncer``: the root command. Subcommand groups live in their own modules."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from syncer import __version__
from syncer.cli import (
    alerts,
    data,
    db,
    emulator,
    imports,
    init,
    profiles,
    schedule,
    segments,
    source,
    sync,
    web,
    worker,
)
from syncer.cli.common import err_console
from syncer.errors import SyncerError
from syncer.settings import Settings

# The commands that compile segments over the shop's tables.
SOURCE_READERS = ("segments", "fields", "sync", "schedule", "web")

app = typer.Typer(
    name="syncer",
    help="Keep email-provider audiences equal to customer segments of your commerce database.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"syncer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    database_url: str | None = typer.Option(
        None, "--database-url", help="Commerce database URL (env SYNCER_DATABASE_URL)."
    ),
    state_url: str | None = typer.Option(
        None,
        "--state-url",
        help="State database URL (env SYNCER_STATE_URL; default: commerce).",
    ),
    config_dir: Path | None = typer.Option(
        None,
        "--config-dir",
        help="Folder of profiles.yaml and segments/ (env SYNCER_CONFIG_DIR).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    ctx.obj = Settings.from_env().with_overrides(
        database_url=database_url, state_url=state_url, config_dir=config_dir
    )
    if ctx.invoked_subcommand in SOURCE_READERS:  # the shop as config/source.yaml maps it
        source.install_source(ctx.obj)


segments.register(app)
source.register(app)
data.register(app)
profiles.register(app)
emulator.register(app)
sync.register(app)
schedule.register(app)
worker.register(app)
db.register(app)
alerts.register(app)
imports.register(app)
web.register(app)
init.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every SyncerError ends as one line on stderr and its exit code."""
    try:
        app(args=argv, prog_name="syncer")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except SyncerError as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        return err.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted; pending changes stay recorded for the next run")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
worker.register(app)
