"""`syncer profiles list | check NAME | discover NAME`: the provider accounts in profiles.yaml.

``check`` proves the credentials work; ``discover`` lists what the account has (lists/audiences,
tags/segments, merge fields), to pick a destination's ``list`` and ``tag`` from.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.table import Table

from providers.errors import ProviderError
from syncer.cli.common import JSON_OPTION, console, print_json, settings
from syncer.profiles import Profile, load_profiles, profile_named, provider_failed

profiles_app = typer.Typer(help="Provider accounts (config/profiles.yaml): list, check, discover.")


def _profile(ctx: typer.Context, name: str) -> Profile:
    return profile_named(settings(ctx).profiles_file, os.environ, name)


@profiles_app.command("list")
def list_cmd(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """The profiles, with the environment variables their credentials come from."""
    conf = settings(ctx)
    profiles = load_profiles(conf.profiles_file, os.environ, resolve=False)
    rows = [p.describe() for p in profiles.values()]
    if as_json:
        print_json(rows)
        return
    table = Table(title=str(conf.profiles_file))
    for col in ("name", "provider", "credentials", "base URL"):
        table.add_column(col)
    for r in rows:
        creds = ", ".join(f"{k}={v}" for k, v in r["credentials"].items())
        table.add_row(r["name"], r["provider"], creds, r["base_url"] or "(provider default)")
    console.print(table)


@profiles_app.command("check")
def check_cmd(ctx: typer.Context, name: str, as_json: bool = JSON_OPTION) -> None:
    """Prove the profile's credentials work (one API call)."""
    profile = _profile(ctx, name)
    provider = profile.build()
    try:
        info = provider.check()
    except ProviderError as err:
        raise provider_failed(profile, "credentials check", err) from err
    if as_json:
        print_json({"profile": name, "provider": info.provider, "account": info.account,
                    "detail": info.detail, "ok": True})  # fmt: skip
        return
    detail = f" ({info.detail})" if info.detail else ""
    console.print(f"[green]ok[/green] {name}: {info.provider} account {info.account}{detail}")


@profiles_app.command("discover")
def discover_cmd(ctx: typer.Context, name: str, as_json: bool = JSON_OPTION) -> None:
    """The account's lists, tags/segments and merge fields, as the provider reports them."""
    profile = _profile(ctx, name)
    provider = profile.build()
    try:
        found = provider.discover()
    except ProviderError as err:
        raise provider_failed(profile, "discovery", err) from err
    data: dict[str, list[dict[str, Any]]] = {
        "lists": [vars(x) for x in found.lists],
        "tags": [vars(x) for x in found.tags],
        "merge_fields": [vars(x) for x in found.merge_fields],
    }
    if as_json:
        print_json({"profile": name, "provider": profile.provider, **data})
        return
    for title, rows in data.items():
        table = Table(title=f"{name}: {title.replace('_', ' ')} ({len(rows)})")
        columns = list(rows[0]) if rows else ["id", "name"]
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(profiles_app, name="profiles")
