"""`syncer sync` and `syncer runs`.

Exit codes: 0 all synced (or skipped because another process holds the lock), 1 a sync failed
or left pending changes (or SIGTERM/SIGINT stopped it: the batch in flight is finished, the run
recorded ``partial``, the rest left pending), 2 bad configuration or an unreachable database.

A destination whose provider asked not to be called before a time (a long ``Retry-After``) is
skipped by the worker until then; ``syncer sync`` run by hand says so and tries anyway.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from syncer.cli.as_of import AS_OF_OPTION, parse_as_of
from syncer.cli.common import (
    CONCURRENCY_OPTION,
    JSON_OPTION,
    TAG_OPTION,
    console,
    err_console,
    print_json,
    settings,
    warn,
)
from syncer.cli.sync_progress import sync_board
from syncer.db import make_engine
from syncer.errors import ConfigError, SyncerError
from syncer.schedule import stop_on_signals
from syncer.segments.loader import SegmentSet
from syncer.segments.model import CsvDestinationConfig
from syncer.settings import Settings
from syncer.state.history import destination_status, list_rejections, list_runs
from syncer.state.migrate import current_revision
from syncer.state.runs import RunResult, close_interrupted

OUTCOME_STYLE = {
    "ok": "green",
    "partial": "yellow",
    "failed": "red",
    "interrupted": "red",
    "skipped": "cyan",
}


def _style(outcome: str) -> str:
    color = OUTCOME_STYLE.get(outcome)
    return f"[{color}]{outcome}[/{color}]" if color else outcome


def _fit(wide: Table, stacked: Callable[[], Table]) -> Table:
    """``wide`` (one column per field) when all of it fits the console unwrapped; else the
    ``stacked`` form, whose names and outcomes are never cut short (80 columns)."""
    unbounded = console.options.update_width(10_000)
    return wide if console.measure(wide, options=unbounded).maximum <= console.width else stacked()


def _stacked(title: str | None, rows: list[tuple[str, str, list[str]]]) -> Table:
    """One cell per row: ``head`` and its outcome (markup) on the first line, the facts under it
    (wrapped between facts, long names folded, never truncated)."""
    table = Table(title=title, show_header=False, show_lines=True)
    table.add_column(overflow="fold")
    for head, outcome, facts in rows:
        cell = Text(head, style="bold")
        cell.append("  ").append_text(Text.from_markup(outcome))
        cell.append("\n" + " · ".join(facts))
        table.add_row(cell)
    return table


def _print_results(results: list[RunResult], dry_run: bool) -> None:
    """The result of each run: a table, stacked rows when the console is narrow."""
    title = "dry run: nothing sent, nothing recorded" if dry_run else None
    rows = []
    for r in results:
        facts = [f"+{r.adds} ~{r.updates} -{r.removes}"]
        if not dry_run:
            facts += [f"{r.rejections} rejected", f"{r.api_calls} API calls ({r.retries} retries)"]
            facts += [f"{r.pending} pending", f"{r.seconds:.1f}s"]
        rows.append((f"{r.segment} → {r.destination}", _style(r.outcome), facts))
    console.print(_fit(_results_table(results, dry_run), lambda: _stacked(title, rows)))


def _results_table(results: list[RunResult], dry_run: bool) -> Table:
    table = Table(title="dry run: nothing sent, nothing recorded" if dry_run else None)
    for col in ("segment", "destination", "outcome", "adds", "updates", "removes"):
        table.add_column(col, justify="right" if col in ("adds", "updates", "removes") else "left")
    if not dry_run:
        for col in ("rejections", "API calls", "retries", "pending", "time"):
            table.add_column(col, justify="right")
    left_out = any(r.left_out for r in results)
    if left_out:
        table.add_column("left out", justify="right")
    for r in results:
        row = [escape(r.segment), escape(r.destination), _style(r.outcome), str(r.adds)]
        row.append(str(r.updates))
        row.append(str(r.removes))
        if not dry_run:
            row += [str(r.rejections), str(r.api_calls), str(r.retries), str(r.pending)]
            row.append(f"{r.seconds:.1f}s")
        if left_out:
            row.append(str(r.left_out))
        table.add_row(*row)
    return table


def _files_written(results: list[RunResult], dry_run: bool) -> list[str]:
    """One line per csv destination: the rows and the file (to be) written."""
    lines = []
    for r in results:
        if r.file is None or r.exported is None:
            continue
        verb = "would write" if dry_run else "wrote"
        lines.append(
            escape(f"  {r.segment} → {r.destination}: {verb} {r.exported:,} rows to {r.file}")
            + (f" ({r.left_out:,} left out by require)" if r.left_out else "")
        )
    return lines


def sync_cmd(
    ctx: typer.Context,
    names: list[str] | None = typer.Argument(None, metavar="[SEGMENT]...", help="Segment names."),
    all_segments: bool = typer.Option(False, "--all", help="Every segment with destinations."),
    tags: list[str] = TAG_OPTION,
    destination: str | None = typer.Option(
        None, "--destination", "-d", help="Only this destination (key, profile, tag; csv)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the changes; call no provider, write no state."
    ),
    full: bool = typer.Option(
        False, "--full", help="Also read the provider's tagged members and repair drift."
    ),
    as_of: str | None = AS_OF_OPTION,
    concurrency: int = CONCURRENCY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Make each destination's tagged members equal to its segment, sending only the changes."""
    from syncer.sync.service import SyncService  # the segment engine loads only when needed

    when = parse_as_of(as_of) if as_of is not None else None
    service = SyncService(settings(ctx), os.environ, concurrency=concurrency)
    try:
        pairs = service.select(
            names or [], all_segments=all_segments, destination=destination, tags=tags
        )
        pairs = _ready(service, pairs, all_segments or bool(tags))
        if not dry_run:
            _ = service.alerts  # a bad config/alerts.yaml fails before any sync too
        results: list[RunResult] = []
        show = not as_json and err_console.is_terminal and not dry_run
        stop = threading.Event()
        signals: list[str] = []
        with stop_on_signals(stop, signals.append), sync_board(err_console, enabled=show) as board:

            def job(seg: Any, dest: Any, shared: Any, at: datetime) -> RunResult:
                if not dry_run:
                    _say_if_asked_to_wait(service.engine, seg.name, dest.key, as_json)
                with board.track(f"{seg.name} → {dest.key}") as progress:
                    return service.sync(  # type: ignore[no-any-return]
                        seg, dest, trigger="cli", dry_run=dry_run, full=full, as_of=at,
                        progress=progress, stop=stop, shared=shared,
                    )  # fmt: skip

            # destinations run side by side (``--concurrency``); printed in the order asked
            ended: dict[int, RunResult] = {}
            for i, result in service.each(pairs, job, stop=stop, as_of=when, share=not dry_run):
                ended[i] = result
                if not as_json and result.error:
                    paint = "cyan" if result.outcome == "skipped" else "red"
                    where = escape(f"{result.segment} → {result.destination}:")
                    line = f"[{paint}]{where}[/{paint}] {escape(result.error)}"
                    err_console.print(line, soft_wrap=True)  # one line, whatever its length
            results = [ended[i] for i in sorted(ended)]
        if signals:
            left = len(pairs) - len(results)
            err_console.print(
                f"[yellow]{signals[0]}:[/yellow] stopped after the batch in flight; "
                f"{left} destination(s) not started; pending changes stay for the next run"
            )
    finally:
        service.close()
    if as_json:
        print_json([r.as_dict() for r in results])
    else:
        _print_results(results, dry_run)
        for line in _files_written(results, dry_run):
            console.print(line, soft_wrap=True)
        if dry_run:
            for r in results:
                for kind, emails in r.samples.items():
                    if emails:
                        console.print(
                            f"  {r.segment} → {r.destination} {kind}: {', '.join(emails)}"
                        )
                for change in r.changed:  # a few updates: the mapped values, old -> new
                    values = ", ".join(
                        f"{k}: {v!r} -> {change['new'][k]!r}" for k, v in change["old"].items()
                    )
                    console.print(
                        f"  {r.segment} → {r.destination} update {change['email']}: "
                        f"{escape(values)}",
                        soft_wrap=True,
                    )
                if r.pending_before:
                    console.print(f"  {r.pending_before} change(s) pending from an earlier run")
    for problem in service.problems:  # --all: each segment left out, in one line
        err_console.print(f"[red]not synced:[/red] {escape(str(problem))}", soft_wrap=True)
    if signals or service.problems or any(r.failed for r in results):
        raise typer.Exit(1)


def _ready(service: Any, pairs: list[Any], all_segments: bool) -> list[Any]:
    """``pairs`` whose profile builds (credentials set): bad credentials config fails before
    any sync; under ``--all`` only that segment's destination is left out (reported)."""
    ready = []
    for seg, dest in pairs:
        if isinstance(dest, CsvDestinationConfig):  # a file: no provider to build
            ready.append((seg, dest))
            continue
        try:
            service.provider(dest.profile)
        except ConfigError as err:
            if not all_segments:
                raise
            service.problems.append(
                ConfigError(str(err), where=f"segment {seg.name!r} → {dest.key}")
            )
            continue
        ready.append((seg, dest))
    return ready


def _say_if_asked_to_wait(engine: Any, segment: str, destination: str, as_json: bool) -> None:
    """A run by hand is not held back by the provider's Retry-After, but says it was given."""
    until = engine.retry_not_before(segment, destination)
    if until is not None and not as_json and until > datetime.now(UTC):
        warn(
            escape(f"{segment} → {destination}: the provider asked not to be called before ")
            + f"{_when(until)} UTC (the worker waits for it); trying now, as asked by hand"
        )


def runs_cmd(
    ctx: typer.Context,
    segment: str | None = typer.Option(None, "--segment", "-s", help="Only this segment."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many runs to show."),
    rejections: bool = typer.Option(
        False, "--rejections", help="Also list members the provider refused, with its reasons."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run history with counts and errors; STALE marks destinations that missed their schedule."""
    conf = settings(ctx)
    engine = make_engine(conf.effective_state_url)
    try:
        if current_revision(engine) is None:
            if segment is not None:
                _known_segment(_segments(conf), segment)
            if as_json:
                print_json({"destinations": [], "runs": [], "rejections": []})
            else:
                console.print("no runs recorded yet (no state tables; `syncer sync` creates them)")
            return
        close_interrupted(engine, datetime.now(UTC))  # a killed run's lock is dead: say so
        configured: dict[tuple[str, str], str | None] = {}
        segments = _segments(conf)
        for seg in (segments or {}).values():
            for dest in seg.destinations:
                configured[(seg.name, dest.key)] = seg.schedule
        now = datetime.now(UTC)
        statuses = destination_status(engine, configured, now, segment=segment)
        history = list_runs(engine, segment=segment, limit=limit)
        if segment is not None and not statuses and not history:
            _known_segment(segments, segment)  # a removed segment's runs are still shown
        refused = list_rejections(engine, segment=segment) if rejections else []
    finally:
        engine.dispose()
    if as_json:
        print_json(
            {
                "destinations": [s.as_dict() for s in statuses],
                "runs": history,
                "rejections": refused,
            }
        )
        return
    _print_statuses(statuses)
    _print_runs(history)
    if rejections:
        _print_rejections(refused)


def _segments(conf: Settings) -> SegmentSet | None:
    """The configured segments, or None (with a warning) if they do not load."""
    from syncer.sync.service import SyncService  # the segment engine loads only when needed

    try:
        return SyncService(conf, os.environ).segments
    except SyncerError as err:
        warn(f"segments not loaded, so no schedules to check freshness against: {err}")
        return None


def _known_segment(segments: SegmentSet | None, name: str) -> None:
    """ConfigError (with close names) if the segments loaded and none is called ``name``."""
    if segments is not None:
        segments.get_or_error(name)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _print_statuses(statuses: list[Any]) -> None:
    table = Table(title="destinations")
    for col in ("segment → destination", "schedule", "last run", "last success", "state"):
        table.add_column(col)
    rows = []
    for s in statuses:
        state = (
            f"[red]STALE[/red] ({escape(s.reason)})" if s.stale else "fresh" if s.schedule else "-"
        )
        if s.retry_not_before is not None:
            state += f"; provider asked to wait until {_when(s.retry_not_before)} UTC"
        last = f"{_when(s.last_run)} {_style(s.last_outcome)}" if s.last_outcome else "-"
        table.add_row(
            escape(f"{s.segment} → {s.destination}"), escape(s.schedule or "-"), last,
            _when(s.last_success), state,
        )  # fmt: skip
        facts = [f"schedule {s.schedule or '-'}", f"last run {Text.from_markup(last).plain}"]
        facts.append(f"last success {_when(s.last_success)}")
        rows.append((f"{s.segment} → {s.destination}", state, facts))
    console.print(_fit(table, lambda: _stacked("destinations", rows)))


def _print_runs(history: list[dict[str, Any]]) -> None:
    """One line per run; changes as +adds ~updates -removes; errors listed under the table."""
    table = Table(title="runs (newest first)")
    for col in ("run", "started", "segment → destination", "trigger", "outcome"):
        table.add_column(col)
    for col in ("changes", "rejected", "left out", "API calls (retries)", "time"):
        table.add_column(col, justify="right")
    errors: list[str] = []
    rows = []
    for r in history:
        seconds = f"{r['seconds']:.1f}s" if r["seconds"] is not None else "-"
        changes = f"+{r['adds']} ~{r['updates']} -{r['removes']}"
        if r.get("file") is not None:  # a csv destination: the rows of the file
            changes = f"{r['exported']:,} rows" if r.get("exported") is not None else "-"
        table.add_row(
            str(r["id"]), _when(r["started_at"]), escape(f"{r['segment']} → {r['destination']}"),
            r["trigger"], _style(r["outcome"]), changes, str(r["rejections"]),
            str(r.get("left_out") or 0), f"{r['api_calls']} ({r['retries']})", seconds,
        )  # fmt: skip
        facts = [f"run {r['id']}", _when(r["started_at"]), r["trigger"], changes]
        facts += [
            f"{r['rejections']} rejected",
            f"{r.get('left_out') or 0} left out",
            f"{r['api_calls']} API calls ({r['retries']} retries)",
        ]
        facts.append(seconds)
        rows.append((f"{r['segment']} → {r['destination']}", _style(r["outcome"]), facts))
        if r.get("file") is not None and r["outcome"] == "ok":
            errors.append(f"run {r['id']}: wrote {escape(r['file'])}")
        if r["error"]:
            errors.append(f"run {r['id']}: {escape(r['error'])}")
    console.print(_fit(table, lambda: _stacked("runs (newest first)", rows)))
    for line in errors:
        console.print(line, soft_wrap=True)


def _print_rejections(refused: list[dict[str, Any]]) -> None:
    table = Table(title="rejected members")
    for col in ("segment → destination", "email", "change", "reason", "retryable", "last seen"):
        table.add_column(col)
    table.add_column("times", justify="right")
    for r in refused:
        table.add_row(
            escape(f"{r['segment']} → {r['destination']}"), escape(r["email"]), r["kind"],
            escape(r["reason"]), "yes" if r["retryable"] else "no", _when(r["last_seen"]),
            str(r["count"]),
        )  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("sync")(sync_cmd)
    app.command("runs")(runs_cmd)
