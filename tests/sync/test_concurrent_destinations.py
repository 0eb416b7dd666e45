"""Destinations synced side by side in one process (``SyncService.each``, ``--concurrency``):
each segment evaluated once, every destination equal to its segment on the three emulators,
every provider account within its limits, and one failing destination stopping no other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from providers.base import Destination
from syncer.profiles import load_profiles
from syncer.sample.emulated import ACCOUNTS, LocalProviders, profiles_yaml
from syncer.settings import Settings
from syncer.state.models import Run
from syncer.sync.service import SyncService
from tests.sync.fakes import Shop

PROVIDERS = tuple(ACCOUNTS)
CARDS = {"Gold": 120, "Silver": 80, "Bronze": 50, "Platinum": 30}
RUNS = Run.__table__  # type: ignore[attr-defined]


@pytest.fixture
def fleet() -> Iterator[LocalProviders]:
    # rate quotas counted (``over_rate``), not enforced: an excess shows instead of a 429
    options = {p: {"enforce_rate_limits": False} for p in ("activecampaign", "sendlane")}
    with LocalProviders(PROVIDERS, options=options) as running:
        yield running


def write_config(config: Path, *, broken: str | None = None) -> None:
    """One segment per card, one destination per provider on each; ``broken``: that card's
    Mailchimp destination names a list that does not exist."""
    (config / "segments").mkdir(parents=True)
    (config / "profiles.yaml").write_text(profiles_yaml(PROVIDERS), encoding="utf-8")
    for card in CARDS:
        lines = [f"name: {card}", "rules:", f"  field: loyalty_card\n  op: eq\n  value: {card}"]
        lines.append("destinations:")
        for p in PROVIDERS:
            list_id = "nope" if card == broken and p == "mailchimp" else ACCOUNTS[p].list_id
            lines.append(f'  - {{profile: demo-{p}, list: "{list_id}", tag: {card.lower()}}}')
        (config / "segments" / f"{card.lower()}.yaml").write_text("\n".join(lines) + "\n")


def make_service(engine: Engine, tmp_path: Path, fleet: LocalProviders, **kw: Any) -> SyncService:
    config = tmp_path / "config"
    settings = Settings(database_url=str(engine.url.render_as_string(False)), config_dir=config)
    return SyncService(settings, fleet.env, confirm_wait=0.0, **kw)


def add_customers(shop: Shop) -> None:
    start = 1
    for card, n in CARDS.items():
        shop.add(n, start=start, card=card)
        start += n


def listed(fleet: LocalProviders, tmp_path: Path, provider: str, card: str) -> list[str]:
    profiles = load_profiles(tmp_path / "config" / "profiles.yaml", fleet.env)
    client = profiles[f"demo-{provider}"].build()
    return list(client.read_members(Destination(ACCOUNTS[provider].list_id, card.lower())))


def runs(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(RUNS)).mappings())


def test_a_segment_with_three_destinations_is_evaluated_once(
    shop: Shop, engine: Engine, tmp_path: Path, fleet: LocalProviders
) -> None:
    write_config(tmp_path / "config")
    shop.add(40, card="Gold")
    service = make_service(engine, tmp_path, fleet, concurrency=3)
    evaluations: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if "loyalty_card" in statement:  # the segment's rule: an evaluation of the segment
            evaluations.append(statement)

    event.listen(service.engine.commerce, "before_cursor_execute", count)
    try:
        lines = list(service.run_segment("Gold"))
    finally:
        event.remove(service.engine.commerce, "before_cursor_execute", count)
        service.close()
    assert [line["outcome"] for line in lines] == ["ok"] * 3, lines
    assert len(evaluations) == 1, evaluations
    for provider in PROVIDERS:
        assert set(listed(fleet, tmp_path, provider, "Gold")) == shop.desired_emails("Gold")
    with engine.connect() as conn:  # the copy of the segment is gone
        names = engine.dialect.get_table_names(conn)
    assert not [n for n in names if n.startswith("syncer_members_")]


@pytest.mark.serial  # requests per second at each account (``over_rate``): timing
def test_concurrent_destinations_end_equal_within_every_account_limit(
    shop: Shop, engine: Engine, tmp_path: Path, fleet: LocalProviders
) -> None:
    write_config(tmp_path / "config")
    add_customers(shop)
    fleet.set_faults(latency=0.05)
    service = make_service(engine, tmp_path, fleet, concurrency=6)
    try:
        pairs = service.select(all_segments=True)
        ended = dict(service.each(pairs, lambda s, d, shared, at: service.sync(
            s, d, as_of=at, shared=shared)))  # fmt: skip
    finally:
        service.close()
    fleet.set_faults(latency=0.0)
    stats = {p: e.stats()["accounts"] for p, e in fleet.emulators.items()}
    assert sorted(ended) == list(range(12))
    assert all(r.outcome == "ok" for r in ended.values()), [r.error for r in ended.values()]
    for card in CARDS:
        for provider in PROVIDERS:
            names = listed(fleet, tmp_path, provider, card)
            assert len(names) == len(set(names)) and set(names) == shop.desired_emails(card)
    recorded = runs(engine)
    assert len(recorded) == 12 and {r["outcome"] for r in recorded} == {"ok"}
    # each run counts only its own calls: together they are every call the emulators answered
    answered = sum(a["calls"] for accounts in stats.values() for a in accounts.values())
    assert sum(r["api_calls"] for r in recorded) <= answered
    assert all(r["api_calls"] > 0 for r in recorded)
    overlapping = [
        (a["id"], b["id"])
        for a in recorded
        for b in recorded
        if a["id"] < b["id"]
        and a["started_at"] < b["finished_at"]
        and b["started_at"] < a["finished_at"]
    ]
    assert overlapping, "the destinations ran one after another"
    for provider, accounts in stats.items():
        (account,) = accounts.values()  # one account per provider, shared by 4 destinations
        assert account["peak_in_flight"] <= 4, (provider, account)  # Syncer's cap, under 10
        assert account["over_rate"] == 0, (provider, account)


def test_one_failing_destination_leaves_the_others_synced(
    shop: Shop, engine: Engine, tmp_path: Path, fleet: LocalProviders
) -> None:
    write_config(tmp_path / "config", broken="Silver")
    add_customers(shop)
    service = make_service(engine, tmp_path, fleet, concurrency=4)
    try:
        lines = list(service.run_segment("Silver")) + list(service.run_segment("Gold"))
    finally:
        service.close()
    outcomes = sorted((line["destination"].split("/")[0], line["outcome"]) for line in lines)
    assert outcomes.count(("demo-mailchimp", "failed")) == 1
    assert sum(1 for _, o in outcomes if o == "ok") == 5, lines
    for provider in ("activecampaign", "sendlane"):
        assert set(listed(fleet, tmp_path, provider, "Silver")) == shop.desired_emails("Silver")
    for provider in PROVIDERS:
        assert set(listed(fleet, tmp_path, provider, "Gold")) == shop.desired_emails("Gold")
    recorded = {(r["segment"], r["destination"].split("/")[0]): r for r in runs(engine)}
    failed = recorded[("Silver", "demo-mailchimp")]
    assert failed["outcome"] == "failed" and "nope" in (failed["error"] or "")
    assert failed["finished_at"] is not None
    others = [r for k, r in recorded.items() if k != ("Silver", "demo-mailchimp")]
    assert len(others) == 5 and all(r["outcome"] == "ok" for r in others)


def test_a_destination_with_mapped_fields_evaluates_its_own_query_and_gets_its_values(
    shop: Shop, engine: Engine, tmp_path: Path, fleet: LocalProviders
) -> None:
    """The shared copy holds no field values: a destination with ``fields:`` reads the segment
    with its values itself, the other two share one evaluation."""
    write_config(tmp_path / "config")
    gold = tmp_path / "config" / "segments" / "gold.yaml"
    lines = [
        line.replace("tag: gold}", "tag: gold, fields: {FNAME: first_name}}")
        if "demo-mailchimp" in line
        else line
        for line in gold.read_text().splitlines()
    ]
    gold.write_text("\n".join(lines) + "\n")
    shop.add(12, card="Gold")
    service = make_service(engine, tmp_path, fleet, concurrency=3)
    evaluations: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if "loyalty_card" in statement:
            evaluations.append(statement)

    event.listen(service.engine.commerce, "before_cursor_execute", count)
    try:
        lines = list(service.run_segment("Gold"))
    finally:
        event.remove(service.engine.commerce, "before_cursor_execute", count)
        service.close()
    assert [line["outcome"] for line in lines] == ["ok"] * 3, lines
    assert len(evaluations) == 2, evaluations  # the shared copy, and the mapped destination's
    for provider in PROVIDERS:
        assert set(listed(fleet, tmp_path, provider, "Gold")) == shop.desired_emails("Gold")
    emulator: Any = fleet.emulators["mailchimp"]
    audience = emulator.audiences[ACCOUNTS["mailchimp"].list_id]
    names = {e: audience.member(e).merge_fields.get("FNAME") for e in shop.desired_emails("Gold")}
    assert names == {f"c{i}@example.com": f"F{i}" for i in range(1, 13)}
