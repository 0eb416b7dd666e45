"""`syncer web [--host 127.0.0.1] [--port 8080]` and `syncer web hash-password`.

The admin UI (syncer.web) on this machine only unless ``--host`` says otherwise. Login needs
``SYNCER_WEB_PASSWORD_HASH`` (from ``hash-password``) or ``SYNCER_WEB_USERS_FILE``; sessions
are signed with ``SYNCER_WEB_SECRET_KEY`` (a random key per process if unset).
"""

from __future__ import annotations

import os
import socket

import typer

from syncer.cli.as_of import parse_as_of
from syncer.cli.common import console, settings, warn
from syncer.errors import ConfigError

web_app = typer.Typer(
    help="The admin UI in the browser: dashboard, runs, profiles.", invoke_without_command=True
)


def _check_port(host: str, port: int) -> None:
    """ConfigError (exit 2) if ``host:port`` cannot be listened on."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {err.strerror or err}",
            hint="choose another --port, or stop what uses it.",
        ) from None


@web_app.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (this machine)."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Evaluate segments (counts, previews, insights) as of this date, e.g. over data "
        "that ends in the past (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC; default now).",
    ),
) -> None:
    """Serve the admin UI (log in with the admin password or a user of the users file)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from syncer.web.app import create_app
    from syncer.web.auth import load_users, secret_key

    when = None if as_of is None else parse_as_of(as_of)
    users = load_users(os.environ)
    _check_port(host, port)
    if secret_key(os.environ) is None:
        warn("SYNCER_WEB_SECRET_KEY is not set: sessions end when this process stops")
    app = create_app(settings(ctx), os.environ, users=users, as_of=when)
    at = "" if when is None else f", segments as of {when:%Y-%m-%d %H:%M} UTC"
    console.print(f"Syncer admin on http://{host}:{port}/{at} (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@web_app.command("hash-password")
def hash_password_cmd(
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="The password (asked for when not given).",
    ),
) -> None:
    """Print a hash of a password for SYNCER_WEB_PASSWORD_HASH or the users file."""
    from syncer.web.auth import hash_password

    if len(password) < 8:
        raise ConfigError("the password is shorter than 8 characters", hint="choose a longer one.")
    typer.echo(hash_password(password))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(web_app, name="web")
