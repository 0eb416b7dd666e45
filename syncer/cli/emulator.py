"""`syncer emulator serve | list`: local stand-ins of the providers' APIs for demos and tests.

``serve`` runs one emulator (``emulators.EMULATORS``) in the foreground on a real HTTP
port until Ctrl-C or SIGTERM, printing its URL and the demo credentials to put in a profile
(they are the emulator's fixed demo values, not secrets). Faults are switched over HTTP:
``POST {url}/__emulator/faults`` with JSON such as ``{"rate_limit_next": 3}``.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import typer
from rich.table import Table

from emulators import EMULATORS, Emulator, EmulatorServer
from syncer.cli.common import JSON_OPTION, console, print_json
from syncer.errors import ConfigError

emulator_app = typer.Typer(help="Local emulators of the provider APIs: serve one, list them.")


def _emulator_class(provider: str) -> type[Emulator]:
    try:
        return EMULATORS[provider]
    except KeyError:
        available = ", ".join(EMULATORS) or "none"
        raise ConfigError(
            f"no emulator for provider {provider!r}.",
            where="--provider",
            hint=f"Choose one of: {available}.",
        ) from None


@emulator_app.command("serve")
def serve(
    provider: str = typer.Option(..., "--provider", help="mailchimp, activecampaign or sendlane."),
    port: int = typer.Option(0, "--port", help="TCP port (0: any free port, printed)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    latency: float = typer.Option(0.0, "--latency", help="Seconds added to every call."),
) -> None:
    """Run one provider emulator in the foreground until Ctrl-C / SIGTERM."""
    if latency < 0:
        raise ConfigError("--latency must be 0 or more seconds", where="--latency")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a TCP port (0-65535)", where="--port")
    emulator = _emulator_class(provider)()
    emulator.faults.latency = latency
    server = EmulatorServer(emulator, host=host, port=port)
    try:
        server.start()
    except OSError as err:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {err.strerror or err}.",
            where="--port",
            hint="Choose another --port (0 picks a free one).",
        ) from err
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        typer.echo(f"{provider} emulator listening on {server.url}")
        for key, value in emulator.connection(server.url).items():
            typer.echo(f"  {key}: {value}")
        typer.echo(f"  faults: POST {server.url}/__emulator/faults  (stats, state, reset too)")
        typer.echo("Ctrl-C to stop.")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    typer.echo(f"{provider} emulator stopped after {emulator.total_calls} calls")


@emulator_app.command("list")
def list_cmd(as_json: bool = JSON_OPTION) -> None:
    """The provider emulators this installation has."""
    rows: list[dict[str, Any]] = []
    for name, cls in EMULATORS.items():
        doc = cls.__doc__ or sys.modules[cls.__module__].__doc__ or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        rows.append({"provider": name, "available": True, "module": cls.__module__,
                     "summary": summary})  # fmt: skip
    if as_json:
        print_json(rows)
        return
    table = Table(title="provider emulators")
    for col in ("provider", "available", "summary"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            str(row["provider"]), "yes" if row["available"] else "no", str(row["summary"])
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(emulator_app, name="emulator")
