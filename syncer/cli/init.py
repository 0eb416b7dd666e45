"""`syncer init DIR`: a clean config folder to start from.

A commented ``profiles.yaml`` with one profile per provider (credentials are ``${VAR}``
references; a profile whose variables are unset stops nothing until a destination uses it) and
one example segment without destinations, so nothing is sent until you add one. The shipped
``config/`` folder is this, plus more example segments.
"""

from __future__ import annotations

from pathlib import Path

import typer

from syncer.cli.common import console
from syncer.errors import ConfigError

PROFILES_YAML = """\
# Provider accounts ("profiles"). A segment's `destinations:` name a profile, a list and a tag.
#
# Credentials are always ${VAR} references (a literal secret here is refused); ${VAR:-x} falls
# back to x. A profile's variables are read only when a command uses that profile, so the ones
# you do not use may stay unset. Check one with `syncer profiles check shop-mailchimp`, and list
# its audiences, tags and merge fields with `syncer profiles discover shop-mailchimp`.
#
# `base_url: http://127.0.0.1:8301/3.0` points a profile at a local emulator
# (`syncer emulator serve --provider mailchimp --port 8301`); `make demo` uses its own config.
profiles:
  shop-mailchimp:
    provider: mailchimp
    credentials:
      api_key: ${MAILCHIMP_API_KEY}              # like 0123...abcd-us21
  shop-activecampaign:
    provider: activecampaign
    credentials:
      api_url: ${ACTIVECAMPAIGN_API_URL}         # https://ACCOUNT.api-us1.com
      api_token: ${ACTIVECAMPAIGN_API_TOKEN}
  shop-sendlane:
    provider: sendlane
    credentials:
      api_token: ${SENDLANE_API_TOKEN}
    options:
      batch_size: 100                            # optional, any provider: 1 to its maximum
                                                 # (Mailchimp 500, ActiveCampaign 250,
                                                 # Sendlane 100); Sendlane also takes
                                                 # concurrency: batches in flight, 1 to 4
"""

EXAMPLE_SEGMENT_FILE = "vip-customers.yaml"
EXAMPLE_SEGMENT = """\
name: VIP customers
description: More than two orders and over 500 spent (net of refunds).
tags: [vip]
rules:
  all:
    - {field: orders, op: gt, value: 2}
    - {field: total_spent, op: gt, value: 500}
schedule: "*/15 * * * *"          # cron, UTC; used by `syncer schedule`
# Nothing is sent until the segment has a destination. Uncomment and fill in:
# destinations:
#   - profile: shop-mailchimp     # a profile in profiles.yaml
#     list: a1b2c3d4e5            # audience / list id (`syncer profiles discover`)
#     tag: vip                    # created if missing; one tag carries one segment
#     on_leave: untag             # untag (default) | unsubscribe | archive
#     without_consent: skip       # skip (default) | non_subscribed
"""


def init_cmd(
    directory: Path = typer.Argument(..., metavar="DIR", help="The config folder to create."),
) -> None:
    """Write a clean config folder: profiles.yaml (one commented profile per provider) and
    segments/ with one example segment (no destinations: nothing is sent until you add one)."""
    files = {
        directory / "profiles.yaml": PROFILES_YAML,
        directory / "segments" / EXAMPLE_SEGMENT_FILE: EXAMPLE_SEGMENT,
    }
    there = [str(p) for p in files if p.exists()]
    if there:
        raise ConfigError(
            f"{', '.join(there)} already exist(s)",
            hint="nothing was written; choose a new folder or remove those files.",
        )
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} is a file, not a folder", hint="choose another path.")
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot write {directory}: {err.strerror}") from err
    console.print(
        f"wrote {directory}/profiles.yaml and {directory}/segments/{EXAMPLE_SEGMENT_FILE}"
    )
    console.print(
        f"next: export MAILCHIMP_API_KEY=...; .venv/bin/syncer --config-dir {directory} "
        "profiles check shop-mailchimp",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("init")(init_cmd)
