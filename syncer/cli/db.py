"""`syncer db`: the state database's schema (Alembic migrations shipped with the package).

``syncer sync`` creates the state tables by itself in a database that has none; a database at
an older revision must be upgraded with ``syncer db upgrade`` (a deliberate step on a shared
database), which also completes a half-created state (some tables, no version row).
"""

from __future__ import annotations

import typer

from syncer.cli.common import JSON_OPTION, console, print_json, settings
from syncer.db import make_engine, mask_url
from syncer.state.migrate import current_revision, head_revision, upgrade

db_app = typer.Typer(help="The state database (run history, snapshot, pending changes).")


@db_app.command("upgrade")
def upgrade_cmd(
    ctx: typer.Context,
    revision: str = typer.Option("head", "--revision", help="Target revision."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create or upgrade the syncer_ tables in the state database (completes a half-created one)."""
    url = settings(ctx).effective_state_url
    engine = make_engine(url)
    try:
        before, after = upgrade(engine, revision)
    finally:
        engine.dispose()
    where = mask_url(engine.url)
    if as_json:
        print_json({"database": where, "before": before, "after": after})
    elif before == after:
        console.print(f"state schema already at {after} in {where}")
    else:
        console.print(f"state schema upgraded {before or '(empty)'} → {after} in {where}")


@db_app.command("current")
def current_cmd(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Show the state schema's revision and the one this syncer needs."""
    engine = make_engine(settings(ctx).effective_state_url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    where = mask_url(engine.url)
    if as_json:
        print_json({"database": where, "current": current, "head": head})
        return
    state = "up to date" if current == head else "run `syncer db upgrade`"
    console.print(f"{where}: revision {current or '(none)'}, needed {head}: {state}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(db_app, name="db")
