"""`syncer alerts test [--channel C]`: send a test alert so you can check config/alerts.yaml.

Exit codes: 0 every channel took it, 1 one did not (its masked reason is printed), 2 no or bad
config/alerts.yaml, or an unknown channel.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import typer
from rich.markup import escape

from syncer.alerts.config import load_alerts
from syncer.alerts.dispatch import trial
from syncer.cli.common import JSON_OPTION, console, print_json, settings
from syncer.errors import ConfigError

alerts_app = typer.Typer(help="Alerts: failed, partial, STALE, rejection spikes, recoveries.")


@alerts_app.command("test")
def test_cmd(
    ctx: typer.Context,
    channel: str | None = typer.Option(
        None, "--channel", "-c", help="Only this channel (default: every channel)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Send a test alert to each channel of config/alerts.yaml and say which ones took it."""
    conf = settings(ctx)
    config = load_alerts(conf.alerts_file, os.environ)
    if config is None or not config.channels:
        raise ConfigError(
            "no alerts configured",
            where=str(conf.alerts_file),
            hint=(
                "copy config/alerts.yaml (its commented example) there, or uncomment the "
                "example if it is there, and set its variables (README: Alerts)"
            ),
        )
    results = trial(config, channel, datetime.now(UTC), log_failures=False)  # printed below
    if as_json:
        print_json([{"channel": d.channel, "ok": d.ok, "error": d.error or None} for d in results])
    else:
        for d in results:
            label = escape(config.channels[d.channel].label)
            if d.ok:
                console.print(f"[green]ok[/green]     {label}")
            else:
                console.print(f"[red]failed[/red] {label}: {escape(d.error)}", soft_wrap=True)
    if not all(d.ok for d in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(alerts_app, name="alerts")
