"""What every CLI command shares: settings from the root options, consoles, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from syncer.settings import Settings

# Tables keep their shape when the output is a file or a CI log (a terminal keeps its width).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")
TAG_OPTION = typer.Option(
    [], "--tag", help="Only segments with this tag (repeatable: any of them)."
)
# Destinations synced at once by one process; each provider account's limits hold across them.
DEFAULT_CONCURRENCY = 4
CONCURRENCY_OPTION = typer.Option(
    DEFAULT_CONCURRENCY,
    "--concurrency",
    "-c",
    min=1,
    help="Destinations synced at once (each provider account's rate limits hold across them).",
)


def settings(ctx: typer.Context) -> Settings:
    """The settings the root command built from the environment and its options."""
    root = ctx.find_root()
    obj = root.obj
    if isinstance(obj, Settings):
        return obj
    return Settings.from_env()


def print_json(data: Any) -> None:
    """JSON on stdout (no rich markup, stable key order)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True)  # one line


PhaseProgress = Callable[[str, int, int], None]  # (phase, done, total)


@contextmanager
def progress_bar(enabled: bool, label: str = "") -> Iterator[PhaseProgress | None]:
    """A rich progress bar on stderr with one task per phase (``update(phase, done, total)``),
    or None when disabled (JSON output, not a terminal)."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(f"{label} {phase}".strip(), total=total)
        bar.update(tasks[phase], completed=done, total=total)

    with bar:
        yield update
