"""Mapped fields: what 5 mapped fields cost in API calls, per provider.

    python -m bench.fields [--customers 5000] [--changed 1000] [--providers mailchimp,...]

On a fresh sample shop (SQLite, ``customers`` customers, all of them members, consent or not),
against each provider's emulator:

1. ``plain``: a first sync without mapped fields (fresh emulator, fresh state);
2. ``fields``: the same first sync with 5 mapped fields (``FIELDS``: a money, a count, two text
   and a date value), the provider's fields existing; ``overhead`` = its calls - plain's, and
   ``overhead_minimum`` the provider's own minimum for fields (one read of the account's
   fields: Mailchimp ``GET /lists/{id}/merge-fields``, ActiveCampaign ``GET /fields``, Sendlane
   ``GET /custom-fields``);
3. ``resync``: ``changed`` members' zip (a mapped value) changes, then a resync: its updates,
   calls, the update calls among them (the bulk endpoint: Mailchimp batch subscribe,
   ActiveCampaign bulk import, Sendlane list contacts) against ``ceil(changed / batch size)``.

``routes`` give every call per emulator endpoint. Call counts do not depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update

from bench.runner import build_provider
from providers.base import Provider
from syncer.db import make_engine
from syncer.sample.emulated import ACCOUNTS, LocalProviders
from syncer.sample.shop import generate
from syncer.schema import CUSTOMERS
from syncer.segments.compiler import MEMBER_COLUMNS
from syncer.segments.field_map import Fields
from syncer.segments.fields import with_fields
from syncer.segments.model import DestinationConfig
from syncer.sync.engine import SyncEngine

PROVIDERS = ("mailchimp", "activecampaign", "sendlane")
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
FIELDS: Fields = (
    ("LTV", "total_spent"),
    ("ORDERS", "orders"),
    ("ZIPCODE", "zip"),
    ("CARD", "loyalty_card"),
    ("SINCE", "created"),
)
TYPES = {"LTV": "number", "ORDERS": "number", "ZIPCODE": "text", "CARD": "text", "SINCE": "date"}
# The endpoint (emulator route) that carries updates, per provider.
UPDATE_ROUTE = {
    "mailchimp": "batch_subscribe",
    "activecampaign": "bulk_import",
    "sendlane": "add_list_contacts",
}


def emulator_options(provider: str) -> dict[str, Any]:
    """The provider's account with the 5 fields (and no rate limit waits)."""
    if provider == "mailchimp":
        return {"merge_fields": [(name, name, TYPES[name]) for name, _ in FIELDS]}
    ids = {str(i + 1): name for i, (name, _) in enumerate(FIELDS)}
    types = {str(i + 1): TYPES[name] for i, (name, _) in enumerate(FIELDS)}
    if provider == "activecampaign":
        types = {k: ("date" if v == "date" else "text") for k, v in types.items()}
        return {"fields": ids, "field_types": types, "enforce_rate_limits": False}
    return {"custom_fields": ids, "field_types": types, "enforce_rate_limits": False}


def _sync(
    commerce: Engine, state_url: str, provider: Provider, name: str, fields: Fields
) -> dict[str, Any]:
    state = make_engine(state_url)
    engine = SyncEngine(
        commerce=commerce, state=state, providers=lambda _p: provider, confirm_wait=0.2
    )
    target = DestinationConfig(
        profile=f"bench-{name}", list=ACCOUNTS[name].list_id, tag="bench-fields",
        without_consent="non_subscribed", fields=fields,
    )  # fmt: skip
    members = with_fields(select(*MEMBER_COLUMNS), fields, AS_OF)
    try:
        result = engine.sync("bench fields", target, members, trigger="bench")
    finally:
        state.dispose()
    return {
        "outcome": result.outcome,
        "error": result.error,
        "adds": result.adds,
        "updates": result.updates,
        "rejections": result.rejections,
        "pending": result.pending,
        "api_calls": result.api_calls,
    }


def _routes(fleet: LocalProviders, name: str, before: Counter[str]) -> dict[str, int]:
    now = fleet.emulators[name].calls
    return {k: now[k] - before[k] for k in sorted(now) if now[k] - before[k]}


def measure(commerce: Engine, folder: Path, name: str, changed: int) -> dict[str, Any]:
    out: dict[str, Any] = {"provider": name}
    with LocalProviders([name], options={name: emulator_options(name)}) as fleet:
        provider = build_provider(name, fleet.api_url(name))
        out["plain"] = _sync(commerce, f"sqlite:///{folder / f'{name}-plain.db'}", provider,
                             name, ())  # fmt: skip
    with LocalProviders([name], options={name: emulator_options(name)}) as fleet:
        provider = build_provider(name, fleet.api_url(name))
        state = f"sqlite:///{folder / f'{name}-fields.db'}"
        before = Counter(fleet.emulators[name].calls)
        first = _sync(commerce, state, provider, name, FIELDS)
        first["routes"] = _routes(fleet, name, before)
        out["fields"] = first
        out["overhead"] = first["api_calls"] - out["plain"]["api_calls"]
        out["overhead_minimum"] = 1
        ids = select(CUSTOMERS.c.id).order_by(CUSTOMERS.c.id).limit(changed).subquery()
        with commerce.begin() as conn:
            conn.execute(
                update(CUSTOMERS)
                .where(CUSTOMERS.c.id.in_(select(ids.c.id)))
                .values(zip=func.coalesce(CUSTOMERS.c.zip, "") + "-2")
            )
        before = Counter(fleet.emulators[name].calls)
        resync = _sync(commerce, state, provider, name, FIELDS)
        resync["routes"] = _routes(fleet, name, before)
        batch = provider.limits.batch_size
        resync["update_calls"] = resync["routes"].get(UPDATE_ROUTE[name], 0)
        resync["update_calls_maximum"] = math.ceil(changed / batch)
        out["resync"] = resync
        # the values back for the next provider
        with commerce.begin() as conn:
            conn.execute(
                update(CUSTOMERS)
                .where(CUSTOMERS.c.id.in_(select(ids.c.id)))
                .values(zip=func.substr(CUSTOMERS.c.zip, 1, func.length(CUSTOMERS.c.zip) - 2))
            )
    return out


def run(customers: int, changed: int, providers: tuple[str, ...]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-fields-") as tmp:
        folder = Path(tmp)
        commerce = make_engine(f"sqlite:///{folder / 'shop.db'}")
        try:
            generate(commerce, customers=customers, seed=7, as_of=AS_OF)
            results = [measure(commerce, folder, p, changed) for p in providers]
        finally:
            commerce.dispose()
    return {"customers": customers, "changed": changed, "fields": len(FIELDS), "runs": results}


def table(data: dict[str, Any]) -> str:
    lines = [
        f"#### Mapped fields: {data['customers']:,} members, {data['fields']} mapped fields, "
        f"then {data['changed']:,} members' values change",
        "",
        "| provider | first sync calls (no fields) | with fields | overhead (minimum) | "
        "resync updates | resync calls | update calls (max ceil(changed ÷ batch)) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in data["runs"]:
        rs = r["resync"]
        lines.append(
            f"| {r['provider']} | {r['plain']['api_calls']:,} | {r['fields']['api_calls']:,} | "
            f"{r['overhead']} ({r['overhead_minimum']}) | {rs['updates']:,} | "
            f"{rs['api_calls']:,} | {rs['update_calls']} ({rs['update_calls_maximum']}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fields", description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--providers", default=",".join(PROVIDERS))
    parser.add_argument("--json", action="store_true", help="the whole result as JSON")
    args = parser.parse_args(argv)
    providers = tuple(p for p in args.providers.split(",") if p)
    unknown = [p for p in providers if p not in PROVIDERS]
    if unknown or args.changed > args.customers:
        print(f"error: unknown provider {unknown} or --changed over --customers", file=sys.stderr)
        return 2
    data = run(args.customers, args.changed, providers)
    print(json.dumps(data, indent=2) if args.json else table(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
