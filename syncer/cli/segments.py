"""`syncer segments list | validate | count | preview | describe | insights | export` and
`syncer fields`.

Every command that touches customers runs the segment's ONE compiled select (count, preview,
export); nothing is filtered in Python. Bad input ends as one line naming file, segment and
condition path, exit code 2 (the CLI root prints ``SyncerError``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from providers.errors import ProviderError
from syncer.cli import insights as insights_view
from syncer.cli.as_of import AS_OF_OPTION, parse_as_of
from syncer.cli.common import (
    JSON_OPTION,
    TAG_OPTION,
    console,
    err_console,
    print_json,
    settings,
    warn,
)
from syncer.db import make_engine, mask_url
from syncer.errors import ConfigError, DatabaseError
from syncer.export import export_csv
from syncer.profiles import ProviderFailed, check_destinations, load_profiles
from syncer.segments.attributes import check_attributes
from syncer.segments.breakdown import breakdown, emptied_by
from syncer.segments.catalog import FIELDS, OPERATORS, all_fields
from syncer.segments.compiler import consent_count_query, count_query, members_query
from syncer.segments.describe import describe
from syncer.segments.fields import MappedPreview
from syncer.segments.insights import SAMPLE, TOP, insights
from syncer.segments.known_values import unknown_values
from syncer.segments.loader import SegmentSet, broken_files, load_segments
from syncer.segments.model import CsvDestinationConfig, Segment, as_utc
from syncer.segments.tags import check_tags, has_any_tag
from syncer.segments.validate import load_draft, validate_file
from syncer.source.active import active
from syncer.source.load import SOURCE_FILE
from syncer.state.history import AudiencePoint, audience_history
from syncer.state.migrate import current_revision
from syncer.sync.field_check import check_fields

SMALL_AUDIENCE = 50

segments_app = typer.Typer(help="Customer segments: list, check, count, preview, export.")
NAME_ARG = typer.Argument(
    ...,
    metavar="NAME|FILE",
    help="Segment name (see `syncer segments list`), or a segment file (a draft, anywhere).",
)


def _load(ctx: typer.Context, name: str) -> tuple[Segment, SegmentSet]:
    """The segment called ``name`` (or in the file ``name``: a draft, possibly outside the
    config folder) and the segments it is evaluated with. Broken files of the folder do not
    stop it: they are named in one warning line."""
    folder = settings(ctx).segments_dir
    path = Path(name)
    if name.endswith((".yaml", ".yml")) and path.is_file():
        draft, around = load_draft(path, folder)
        return draft, SegmentSet(around)
    segments = load_segments(folder, strict=False)
    segment = segments.get_or_error(name)
    if segments.broken:
        files = broken_files(segments.broken)
        warn(f"not loaded (`syncer segments validate FILE` says why): {escape(files)}")
    return segment, segments


@contextmanager
def _database(ctx: typer.Context) -> Iterator[tuple[Engine, Connection]]:
    """The commerce database; a failing query becomes one DatabaseError line."""
    engine = make_engine(settings(ctx).database_url)
    where = mask_url(engine.url)
    try:
        with engine.connect() as conn:
            yield engine, conn
    except SQLAlchemyError as err:
        orig = getattr(err, "orig", None) or err
        reason = (str(orig).strip().splitlines() or ["error"])[0]
        hint = ""
        if "no such table" in reason or "does not exist" in reason or "doesn't exist" in reason:
            hint = "; create the commerce tables, e.g. `syncer data generate --customers 1000`"
        raise DatabaseError(f"database {where}: query failed: {reason}{hint}") from err
    finally:
        engine.dispose()


@segments_app.command("list")
def list_cmd(ctx: typer.Context, tags: list[str] = TAG_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every segment in the config folder (or those with a --tag), with its tags, destinations
    and schedule (a file that does not load is named in one warning line each)."""
    loaded = load_segments(settings(ctx).segments_dir, strict=False)
    for problem in loaded.broken:
        warn(escape(str(problem)))
    check_tags(loaded.values(), tags)
    segments = {n: s for n, s in loaded.items() if has_any_tag(s, tags)}
    rows = [
        {
            "name": s.name,
            "description": s.description,
            "tags": list(s.tags),
            "file": str(s.source) if s.source else None,
            "destinations": len(s.destinations),
            "schedule": s.schedule,
        }
        for s in segments.values()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"segments in {settings(ctx).segments_dir}")
    for col in ("name", "description", "tags", "file", "destinations", "schedule"):
        table.add_column(col, justify="right" if col == "destinations" else "left")
    for s in segments.values():
        table.add_row(
            s.name, s.description, ", ".join(s.tags), str(s.source or ""),
            str(len(s.destinations)), s.schedule or "-",
        )  # fmt: skip
    console.print(table)


ONLINE_HELP = (
    "Also ask each destination's provider: does the list exist, and the tag (the first sync "
    "creates a missing tag)? Does every mapped field (`fields:`) exist with a type that takes "
    "its values? And warn of products, vendors, collections or coupons the shop's "
    "data does not have."
)


@segments_app.command("validate")
def validate_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A segment YAML file."),
    online: bool = typer.Option(False, "--online", help=ONLINE_HELP),
    create_fields: bool = typer.Option(
        False,
        "--create-fields",
        help="With --online: create a mapped field the provider does not have yet (Mailchimp "
        "merge fields: number for numbers and money, date for dates, else text).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check one segment file, and its references against the other segments in the config."""
    conf = settings(ctx)
    segment = validate_file(file, conf.segments_dir)
    if active().attributes:  # each declared attribute's SQL runs once, not first mid-sync
        with _database(ctx) as (_engine, conn):
            problems = check_attributes(conn)
        if problems:
            raise ConfigError(
                problems[0],
                where=str(conf.config_dir / SOURCE_FILE),
                hint="fix its SQL in `attributes:` (`syncer source check` lists every problem)",
            )
    if segment.destinations:  # each names a profile that can serve it (no secret is resolved)
        profiles = load_profiles(conf.profiles_file, {}, resolve=False)
        check_destinations([segment], profiles, conf.profiles_file)
    if create_fields and not online:
        raise ConfigError("--create-fields needs --online", hint="add --online")
    checks = _check_online(conf.profiles_file, file, segment, create_fields) if online else []
    if online:  # and the values it names, against the shop's data
        with _database(ctx) as (_engine, conn):
            for line in unknown_values(conn, segment):
                warn(escape(line))
    if as_json:
        print_json({"file": str(file), "segment": segment.name, "valid": True,
                    **({"destinations": checks} if online else {})})  # fmt: skip
        return
    console.print(f"{file}: segment {segment.name!r} is valid")
    for check in checks:
        tag = "exists" if check["tag_exists"] else "does not exist yet (the first sync creates it)"
        console.print(
            f"  {escape(check['destination'])}: list found; tag {check['tag']!r} {tag}",
            soft_wrap=True,
        )
        for f in check.get("fields", []):
            made = " (created)" if f["created"] else ""
            console.print(
                f"    field {escape(f['field'])}: {f['provider_type']}{made} <- "
                f"{escape(f['source'])} ({f['value_type']})",
                soft_wrap=True,
            )


def _check_online(
    profiles_file: Path, file: Path, segment: Segment, create_fields: bool = False
) -> list[dict[str, Any]]:
    """Ask each destination's provider whether its list and tag exist (ConfigError, exit 2, for
    a missing list; ProviderFailed, exit 1, for a provider that does not answer). A csv
    destination has no provider to ask."""
    checks: list[dict[str, Any]] = []
    for i, dest in enumerate(segment.destinations):
        if isinstance(dest, CsvDestinationConfig):
            continue  # a file: no provider to ask
        profile = load_profiles(profiles_file, os.environ, only={dest.profile})[dest.profile]
        provider = profile.build()
        try:
            if not provider.list_exists(dest.list):
                raise ConfigError(
                    f"list {dest.list!r} does not exist at {profile.provider} "
                    f"(profile {dest.profile!r})",
                    where=f"{file}: destinations[{i}].list",
                    hint=f"pick one from `syncer profiles discover {dest.profile}`; Syncer "
                    "never creates lists.",
                )
            tags = provider.discover().tags
            fields = check_fields(provider, dest, create=create_fields)
        except ProviderError as err:
            raise ProviderFailed(
                f"profile {dest.profile!r} ({profile.provider}): checking {file}: "
                f"destinations[{i}] failed: {err}"
            ) from err
        wanted = dest.tag.strip().casefold()
        found = any(
            t.name.strip().casefold() == wanted and t.list_id in (None, dest.list) for t in tags
        )
        for f in fields:
            if not f.ok:
                raise ConfigError(
                    f.problem,
                    where=f"{file}: destinations[{i}].fields.{f.field}",
                    hint=f"`syncer profiles discover {dest.profile}` lists the fields and types",
                )
        checks.append({"destination": dest.key, "list_exists": True, "tag": dest.tag,
                       "tag_exists": found, "fields": [vars(f) for f in fields]})  # fmt: skip
    return checks


@segments_app.command("count")
def count_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    as_of: str | None = AS_OF_OPTION,
    show_breakdown: bool = typer.Option(
        False, "--breakdown", help="How many customers each condition and group keeps."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """How many customers match (warns under 50, too few for a campaign)."""
    segment, segments = _load(ctx, name)
    when = parse_as_of(as_of)
    started = time.perf_counter()
    with _database(ctx) as (_engine, conn):
        row = conn.execute(consent_count_query(segment, segments, as_of=when)).one()
        count, consenting = int(row.n), int(row.consenting)
        seconds = time.perf_counter() - started
        rows = breakdown(conn, segment, segments, as_of=when) if show_breakdown else []
        for line in unknown_values(conn, segment):  # a misspelt product matches no one
            warn(escape(line))
    if count < SMALL_AUDIENCE:
        err_console.print(
            f"[yellow]warning:[/yellow] segment {segment.name!r} has only {count} customer(s), "
            f"fewer than {SMALL_AUDIENCE}: a very small audience may not justify a campaign",
            soft_wrap=True,
        )
    if as_json:
        data: dict[str, object] = {
            "segment": segment.name, "count": count, "consenting": consenting,
            "pushed": _pushed(segment, count, consenting), "as_of": when.isoformat(),
            "small": count < SMALL_AUDIENCE, "seconds": round(seconds, 3),
        }  # fmt: skip
        if show_breakdown:
            data["breakdown"] = [r.as_dict() for r in rows]
        print_json(data)
        return
    console.print(
        f"{escape(segment.name)}: [b]{count:,}[/b] match, [b]{consenting:,}[/b] with marketing "
        f"consent would be pushed (as of {when.isoformat()}, {seconds:.2f}s)",
        soft_wrap=True,
    )
    for dest, pushed in _pushed(segment, count, consenting).items():
        if pushed != consenting:  # without_consent: non_subscribed pushes every member
            console.print(f"  {escape(dest)}: {pushed:,} (without_consent: non_subscribed)")
    if show_breakdown:
        empty = emptied_by(rows)
        table = Table(title="how many customers each condition keeps")
        table.add_column("path")
        table.add_column("condition")
        table.add_column("alone", justify="right")
        table.add_column("with the ones above", justify="right")
        for r in rows:
            style = "red" if r is empty else ""
            running = "" if r.running is None else f"{r.running:,}"
            table.add_row(r.path, "  " * r.depth + r.text, f"{r.alone:,}", running, style=style)
        console.print(table)
        if empty is not None:
            console.print(f"[red]{empty.path} leaves no customers[/red]: {empty.text}")


def _pushed(segment: Segment, count: int, consenting: int) -> dict[str, int]:
    """Members each destination would receive: only those with marketing consent, unless it
    says ``without_consent: non_subscribed`` (then every member, the others non-subscribed)."""
    return {
        d.key: count
        if isinstance(d, CsvDestinationConfig) or d.without_consent == "non_subscribed"
        else consenting
        for d in segment.destinations
    }


@segments_app.command("preview")
def preview_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000, help="How many customers."),
    as_of: str | None = AS_OF_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The first matching customer profiles (by id), with a few useful columns."""
    segment, segments = _load(ctx, name)
    when = parse_as_of(as_of)
    c = active().customers.c
    query = (
        members_query(segment, segments, as_of=when)
        .add_columns(c.country, c.status, c.loyalty_card, c.created_at)
        .order_by(c.id)
        .limit(limit)
    )
    # each destination's mapped fields, as the provider would receive them (``fields:``)
    mapped = MappedPreview(segment.destinations, when)
    query = query.add_columns(*mapped.columns)
    with _database(ctx) as (_engine, conn):
        result = conn.execute(query)
        columns = [k for k in result.keys() if not mapped.is_mapped(k)]  # noqa: SIM118
        rows: list[dict[str, Any]] = []
        for found in result:
            shown = {k: found._mapping[k] for k in columns}
            shown.update(mapped.values(found))
            rows.append(shown)
        if rows:
            columns = list(rows[0])
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{name}: first {len(rows)} customer(s)")
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)


@segments_app.command("describe")
def describe_cmd(
    ctx: typer.Context, name: str = NAME_ARG, as_of: str | None = AS_OF_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:  # fmt: skip
    """The segment's rule as one plain-English sentence, and how many match and would be pushed
    (the counts are left out, with a warning, when the database cannot be read)."""
    segment, segments = _load(ctx, name)
    sentence = describe(segment)
    when = parse_as_of(as_of)
    counts: tuple[int, int] | None = None
    try:
        with _database(ctx) as (_engine, conn):
            row = conn.execute(consent_count_query(segment, segments, as_of=when)).one()
            counts = int(row.n), int(row.consenting)
    except DatabaseError as err:
        warn(f"counts not shown: {escape(str(err))}")
    if as_json:
        data: dict[str, object] = {
            "segment": segment.name, "description": segment.description, "sentence": sentence,
        }  # fmt: skip
        if counts is not None:
            data.update(count=counts[0], consenting=counts[1],
                        pushed=_pushed(segment, *counts))  # fmt: skip
        print_json(data)
        return
    console.print(sentence)
    if counts is not None:
        console.print(
            f"{counts[0]:,} match, {counts[1]:,} with marketing consent would be pushed "
            f"(as of {when:%Y-%m-%d})"
        )


@segments_app.command("insights")
def insights_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    as_of: str | None = AS_OF_OPTION,
    top: int = typer.Option(TOP, "--top", min=1, max=100, help="Entries in each top list."),
    sample: int | None = typer.Option(
        None,
        "--sample",
        min=1,
        help=f"A larger segment's figures (all but size and consent) come from this many of "
        f"its members, scaled up (default {SAMPLE:,}).",
    ),
    exact: bool = typer.Option(
        False, "--exact", help="Read every member, however many (slower for large segments)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Who the members are: consent, spend, orders, recency, top products, countries, devices,
    overlap with the other segments, and the audience over the run history. Over more than
    --sample members, every figure but the size and the consent is estimated from a sample."""
    if exact and sample is not None:
        raise ConfigError(
            "--sample and --exact ask for two different readings", hint="give one of them"
        )
    segment, segments = _load(ctx, name)
    when = as_utc(parse_as_of(as_of))
    with _database(ctx) as (_engine, conn):
        chosen = None if exact else SAMPLE if sample is None else sample
        result = insights(conn, segment, segments, as_of=when, top=top, sample=chosen)
    history = _audience_history(ctx, name, when)
    if as_json:
        data = result.to_json()
        data["history"] = {
            dest: [
                {"started_at": p.started_at.isoformat(), "outcome": p.outcome,
                 "audience": p.audience}
                for p in points
            ]
            for dest, points in history.items()
        }  # fmt: skip
        print_json(data)
        return
    insights_view.show(console, result, history)


def _audience_history(
    ctx: typer.Context, segment: str, until: datetime
) -> dict[str, list[AudiencePoint]]:
    """The audience after each run, from the state database ({} before the first sync)."""
    engine = make_engine(settings(ctx).effective_state_url)
    try:
        if current_revision(engine) is None:
            return {}
        return audience_history(engine, segment, until=until)
    except SQLAlchemyError as err:
        reason = (str(getattr(err, "orig", None) or err).strip().splitlines() or ["error"])[0]
        where = mask_url(engine.url)
        raise DatabaseError(
            f"state database {where}: reading the run history failed: {reason}"
        ) from err
    finally:
        engine.dispose()


@segments_app.command("export")
def export_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    csv_file: Path = typer.Option(..., "--csv", help="Write the members to this CSV file."),
    as_of: str | None = AS_OF_OPTION,
) -> None:
    """Stream the members to a CSV file (memory does not grow with the audience)."""
    _check_csv_target(csv_file)
    segment, segments = _load(ctx, name)
    when = parse_as_of(as_of)
    query = members_query(segment, segments, as_of=when).order_by(active().customers.c.id)
    with _database(ctx) as (engine, conn):
        total = int(conn.execute(count_query(segment, segments, as_of=when)).scalar_one())
        bar = Progress(
            TextColumn(f"export {name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err_console, transient=True, disable=not err_console.is_terminal,
        )  # fmt: skip
        with bar:
            task = bar.add_task("export", total=total)
            written = export_csv(
                engine, query, csv_file, progress=lambda n: bar.update(task, completed=n)
            )
    console.print(f"{written:,} rows written to {csv_file}")


def _check_csv_target(path: Path) -> None:
    """ConfigError unless ``path`` can become a file (checked before the query runs)."""
    if path.is_dir():
        raise ConfigError(f"--csv {path} is a folder;", hint="give a file name, e.g. members.csv.")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    f"--csv {path}: {parent} is a file, not a folder;",
                    hint="choose a path inside a folder.",
                )
            return


def fields_cmd(as_json: bool = JSON_OPTION) -> None:
    """The fields a condition can test: operators, value type, window, customers with no data."""
    source = active()
    if as_json:
        from syncer.segments.catalog import catalog_as_dict

        fields = [f for f in catalog_as_dict() if source.missing(f["field"]) is None]
        print_json({"fields": fields, "operators": OPERATORS})
        return
    console.print("[b]Segment fields[/b] (examples: config/segments/*.yaml)\n")
    for spec in all_fields().values():
        if source.missing(spec.name) is not None:  # the shop's mapping cannot give it
            continue
        window = "takes a window" if spec.window else "no window"
        console.print(f"[b]{spec.name}[/b]: {spec.label} ({spec.value_type.value}, {window})")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=11, justify="right", style="dim")
        grid.add_column()
        grid.add_row("operators", ", ".join(spec.operators))
        grid.add_row("no data", spec.no_data)
        grid.add_row("", f"[dim]{spec.description}[/dim]")
        console.print(grid)
    console.print("\n[b]Operators[/b]")
    ops = Table.grid(padding=(0, 1))
    ops.add_column(width=11, justify="right")
    ops.add_column()
    for op, meaning in OPERATORS.items():
        ops.add_row(op, meaning)
    console.print(ops)
    hidden = [n for n in FIELDS if source.missing(n) is not None]
    if hidden:
        console.print(
            f"\n[dim]not available over {source.origin}: {', '.join(hidden)} "
            "(`syncer source check` says why)[/dim]",
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    from syncer.cli import segment_files

    segment_files.register(segments_app)
    app.add_typer(segments_app, name="segments")
    app.command("fields")(fields_cmd)
