"""The demo's main job: every segment with destinations synced to the local emulators, twice.

1. The three emulators start on free ports (``LocalProviders``); the demo config's demo-*
   profiles (``var/demo-config/profiles.yaml``, see ``config``) reach them through
   ``SYNCER_DEMO_*_URL``.
2. First run: each (segment, destination) is synced as of the demo date (a fresh state database,
   so everything is an add).
3. Two weeks go by: some customers order again (``simulate_activity``), everyone else's "days
   since" grows.
4. Second run as of two weeks later: only the difference is sent.

After each run the emulators are asked who carries each tag, and that is compared with the
segment (the provider's own answer, not the state database's).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select

from providers.base import Destination
from providers.mailchimp import Mailchimp
from providers.mailchimp.answers import subscriber_hash
from syncer.demo.config import MERGE_FIELDS
from syncer.sample.activity import simulate_activity
from syncer.sample.emulated import LocalProviders
from syncer.segments.compiler import members_query
from syncer.segments.model import CsvDestinationConfig
from syncer.settings import Settings
from syncer.state.runs import RunResult
from syncer.sync.service import SyncService

WEEKS_LATER = 2
BUYERS_PER_WEEK = 150


def run_all(service: SyncService, as_of: datetime, console: Console) -> list[RunResult]:
    """Sync every destination of every segment that has one."""
    results = []
    for segment, destination in service.select(all_segments=True):
        with console.status(f"syncing {segment.name} → {destination.key} ..."):
            results.append(service.sync(segment, destination, trigger="demo", as_of=as_of))
    return results


def verify(service: SyncService, as_of: datetime) -> list[tuple[str, str, int, int]]:
    """(segment, destination, members wanted, members the provider says carry the tag)."""
    rows = []
    with service.engine.commerce.connect() as conn:
        for segment, dest in service.select(all_segments=True):
            if isinstance(dest, CsvDestinationConfig):
                continue  # a file, not a provider to ask
            members = members_query(segment, service.segments, as_of=as_of).subquery()
            query = select(func.count()).select_from(members)
            if dest.without_consent == "skip":
                query = query.where(members.c.accepts_marketing.is_(True))
            wanted = int(conn.execute(query).scalar_one())
            tagged = service.provider(dest.profile).read_members(Destination(dest.list, dest.tag))
            rows.append((segment.name, dest.key, wanted, sum(1 for _ in tagged)))
    return rows


def results_table(
    title: str, results: list[RunResult], checks: list[tuple[str, str, int, int]]
) -> Table:
    """One row per destination: what was sent, what it cost, and whether the provider now
    carries exactly the segment's members."""
    table = Table(title=title)
    table.add_column("segment → profile / tag")
    for col in ("adds", "updates", "removes", "API calls", "time", "provider = segment"):
        table.add_column(col, justify="right")
    by_key = {(s, d): (w, t) for s, d, w, t in checks}
    for r in results:
        wanted, tagged = by_key.get((r.segment, r.destination), (0, 0))
        profile, _list, tag = r.destination.split("/", 2)
        check = (
            f"{tagged:,} [green]✓[/green]"
            if wanted == tagged
            else f"[red]{tagged:,} ≠ {wanted:,}[/red]"
        )
        if r.outcome != "ok":
            check += f" [red]{r.outcome}[/red]"
        if r.rejections:
            check += f" ({r.rejections} rejected)"
        table.add_row(
            f"{r.segment} → {profile} / {tag}", f"{r.adds:,}", f"{r.updates:,}",
            f"{r.removes:,}", f"{r.api_calls:,}", f"{r.seconds:.1f}s", check,
        )  # fmt: skip
    return table


def read_back(service: SyncService, as_of: datetime, shown: int = 3) -> Table:
    """A few members of the Mailchimp destination with mapped fields, as Mailchimp's own API
    answers (``GET /lists/{id}/members/{hash}``): the merge fields it now holds."""
    table = Table(title="mapped fields, read back from Mailchimp")
    table.add_column("segment → member")
    for tag, *_rest in MERGE_FIELDS:
        table.add_column(tag, justify="right")
    for segment, dest in service.select(all_segments=True):
        if isinstance(dest, CsvDestinationConfig) or not dest.fields:
            continue
        provider = service.provider(dest.profile)
        if not isinstance(provider, Mailchimp):
            continue
        members = members_query(segment, service.segments, as_of=as_of)
        members = members.where(members.selected_columns.accepts_marketing.is_(True))
        with service.engine.commerce.connect() as conn:
            emails = conn.execute(
                members.with_only_columns(members.selected_columns.email).limit(shown)
            ).scalars()
            for email in list(emails):
                answer = provider.lists.get_list_member(
                    dest.list, subscriber_hash(email), fields=["merge_fields"]
                )
                values = answer.get("merge_fields", {}) if isinstance(answer, dict) else {}
                table.add_row(
                    f"{segment.name} → {email}", *(str(values.get(t, "")) for t, *_ in MERGE_FIELDS)
                )
    return table


def full_job(
    commerce: Engine,
    database_url: str,
    state_file: Path,
    config_dir: Path,
    as_of: datetime,
    seed: int,
    console: Console,
    stage: Callable[[str], None],
) -> bool:
    """Both runs; True when every provider ends equal to its segment."""
    state_file.unlink(missing_ok=True)  # the emulators start empty, so must the state
    options = {"mailchimp": {"merge_fields": MERGE_FIELDS}}
    with LocalProviders(options=options) as fleet:
        settings = Settings(
            database_url=database_url,
            state_url=f"sqlite:///{state_file}",
            config_dir=config_dir,
        )
        service = SyncService(settings, {**os.environ, **fleet.env}, confirm_wait=0.2)
        try:
            stage("first sync: every member is new")
            first = run_all(service, as_of, console)
            console.print(results_table(f"first sync, as of {as_of:%Y-%m-%d}", first,
                                        verify(service, as_of)))  # fmt: skip
            console.print(read_back(service, as_of))
            later = as_of + timedelta(weeks=WEEKS_LATER)
            orders = simulate_activity(
                commerce, since=as_of, until=later, buyers=BUYERS_PER_WEEK * WEEKS_LATER,
                seed=seed + 1,
            )  # fmt: skip
            stage(
                f"{WEEKS_LATER} weeks later: {orders} new orders; others' last order grows "
                "older. Second sync sends only the difference"
            )
            second = run_all(service, later, console)
            checks = verify(service, later)
            console.print(results_table(f"second sync, as of {later:%Y-%m-%d}", second, checks))
        finally:
            service.close()
    return all(w == t for _s, _d, w, t in checks)
