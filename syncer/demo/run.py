"""`make demo`: the main job on the embedded default (SQLite + the local provider emulators).

    python -m syncer.demo [--customers 20000] [--seed 42] [--as-of 2026-03-01] [--no-sync]

1. sample data in an SQLite file (``var/demo.db``);
2. every example segment in config/segments counted and described in plain English (the demo's
   own config folder, ``var/demo-config``, wires some of them to the emulators:
   ``syncer.demo.config``; the shipped config/ sends nothing anywhere);
   one more segment made from a template (``syncer.demo.template``), counted too;
3. the three provider emulators started locally, every segment with destinations synced to
   them; then two weeks of new orders, and a second sync that sends only the difference
   (``syncer.demo.sync``; state in ``var/demo-state.db``);
4. the insights of one example segment (``syncer segments insights``).

The data and the reference date are fixed, so every run prints the same counts.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from syncer.cli import insights as insights_view
from syncer.db import make_engine
from syncer.demo.config import DEMO_CONFIG, write_demo_config
from syncer.demo.sync import full_job
from syncer.demo.template import TemplateSegment, segment_from_template
from syncer.errors import SyncerError
from syncer.sample.shop import generate
from syncer.schema import create_commerce_schema, drop_commerce_schema
from syncer.segments.compiler import consent_count_query
from syncer.segments.describe import describe
from syncer.segments.insights import insights
from syncer.segments.loader import SegmentSet, load_segments
from syncer.state.history import audience_history
from syncer.state.migrate import current_revision

DEMO_DATABASE = Path("var/demo.db")
CUSTOMERS = 20_000
SEED = 42
AS_OF = "2026-03-01"
INSIGHTS_OF = "VIP customers"  # the example segment whose insights end the demo

# Wide enough for the sync tables when the output is a file or a CI log (a terminal keeps its own).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
err_console = Console(stderr=True, highlight=False)


@dataclass(frozen=True)
class SegmentResult:
    name: str
    count: int
    seconds: float
    sentence: str
    consenting: int = 0  # of ``count``, with marketing consent: what a destination receives


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m syncer.demo", description=__doc__)
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--as-of", default=AS_OF, help="reference date, YYYY-MM-DD")
    parser.add_argument("--database", type=Path, default=DEMO_DATABASE, help="SQLite file")
    parser.add_argument(
        "--config-dir", type=Path, default=None,
        help=f"config folder to use as it is (default: {DEMO_CONFIG}, written from config/)",
    )  # fmt: skip
    parser.add_argument(
        "--no-sync", action="store_true", help="only count and describe (no emulators, no sync)"
    )
    return parser.parse_args(argv)


def prepare_database(path: Path, customers: int, seed: int, as_of: datetime) -> Engine:
    """A fresh SQLite file with sample data (replaced on every run)."""
    engine = make_engine(f"sqlite:///{path}")
    drop_commerce_schema(engine)
    create_commerce_schema(engine)
    started = time.perf_counter()
    with console.status(f"generating {customers:,} customers into {path}..."):
        counts = generate(engine, customers=customers, seed=seed, as_of=as_of)
    seconds = time.perf_counter() - started
    console.print(
        f"sample data: {sum(counts.values()):,} rows ({counts['customers']:,} customers, "
        f"{counts['orders']:,} orders) in {seconds:.1f}s, seed {seed}, as of {as_of:%Y-%m-%d}"
    )
    return engine


def count_segments(engine: Engine, segments: SegmentSet, as_of: datetime) -> list[SegmentResult]:
    """Each segment's count (its compiled query) and its plain-English sentence."""
    results = []
    with engine.connect() as conn:
        for segment in segments.values():
            started = time.perf_counter()
            row = conn.execute(consent_count_query(segment, segments, as_of=as_of)).one()
            seconds = time.perf_counter() - started
            results.append(
                SegmentResult(
                    segment.name, int(row.n), seconds, describe(segment), int(row.consenting)
                )
            )
    return results


def show_segments(results: list[SegmentResult], as_of: datetime) -> None:
    table = Table(title=f"example segments, as of {as_of:%Y-%m-%d}", show_lines=True)
    table.add_column("segment", style="bold")
    table.add_column("match", justify="right")
    table.add_column("with consent: pushed", justify="right")
    table.add_column("time", justify="right")
    table.add_column("in plain English")
    for r in results:
        count = f"{r.count:,}" if r.count >= 50 else f"[yellow]{r.count:,} (< 50)[/yellow]"
        table.add_row(r.name, count, f"{r.consenting:,}", f"{r.seconds * 1000:.0f} ms", r.sentence)
    console.print(table)


def template_dir(args: argparse.Namespace) -> Path:
    """Where the demo's config copy with the segment made from a template goes (never the
    demo's own config folder, ``var/demo-config``, which the copy is made from)."""
    database: Path = args.database
    return database.with_name(f"{database.stem}-template-config")


def show_template_segment(made: TemplateSegment) -> None:
    sets = [x for k, v in made.values.items() for x in ("--set", f"{k}={v}")]
    command = shlex.join(
        ["syncer", "segments", "new", made.name, "--template", made.template, *sets]
    )
    console.print(
        f"from a template: [b]{escape(made.name)}[/b] (`{escape(command)}`, written to "
        f"{made.path}): [b]{made.count:,}[/b] customers; {escape(made.sentence)}",
        soft_wrap=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        as_of = datetime.fromisoformat(args.as_of)
    except ValueError:
        err_console.print(f"error: --as-of {args.as_of!r} is not a date; use YYYY-MM-DD")
        return 2
    try:
        if args.config_dir is None:
            args.config_dir = write_demo_config()
        segments = load_segments(args.config_dir / "segments")
        engine = prepare_database(args.database, args.customers, args.seed, as_of)
        try:
            results = count_segments(engine, segments, as_of)
            made = segment_from_template(engine, args.config_dir, template_dir(args), as_of)
        finally:
            engine.dispose()
    except SyncerError as err:
        return _error(err)
    if not results:
        console.print(f"no segments in {args.config_dir / 'segments'}")
        return 0
    show_segments(results, as_of)
    show_template_segment(made)
    code = 0
    if not args.no_sync and any(s.destinations for s in segments.values()):
        code = sync_twice(args, as_of)
    show_insights(args, segments, as_of)
    return code


def show_insights(args: argparse.Namespace, segments: SegmentSet, as_of: datetime) -> None:
    """Step 4: one segment's insights, and its audience over the demo's runs."""
    if INSIGHTS_OF not in segments:
        return
    stage(f"insights of {INSIGHTS_OF!r} (syncer segments insights)")
    engine = make_engine(f"sqlite:///{args.database}")
    state = args.database.with_name(f"{args.database.stem}-state.db")
    try:
        with engine.connect() as conn:
            result = insights(conn, segments[INSIGHTS_OF], segments, as_of=as_of, top=5)
    finally:
        engine.dispose()
    history = {}
    if state.exists():  # the runs of step 3 (this one or an earlier demo's)
        states = make_engine(f"sqlite:///{state}")
        try:
            if current_revision(states) is not None:
                history = audience_history(states, INSIGHTS_OF)
        finally:
            states.dispose()
    insights_view.show(console, result, history)


def _error(err: SyncerError) -> int:
    err_console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)
    return err.exit_code


def stage(text: str) -> None:
    console.rule(f"[bold]{text}")


def sync_twice(args: argparse.Namespace, as_of: datetime) -> int:
    """Step 3: the full job against the emulators (see ``syncer.demo.sync``)."""
    url = f"sqlite:///{args.database}"
    state = args.database.with_name(f"{args.database.stem}-state.db")
    try:
        engine = make_engine(url)
        try:
            same = full_job(engine, url, state, args.config_dir, as_of.replace(tzinfo=UTC),
                            args.seed, console, stage)  # fmt: skip
        finally:
            engine.dispose()
    except SyncerError as err:
        return _error(err)
    if not same:
        err_console.print("[red]a provider does not match its segment[/red] (see the tables)")
        return 1
    console.print("every provider now carries exactly its segment's members; run history:")
    console.print(  # one line, as it runs (the emulators have stopped: `runs` needs none)
        f"  .venv/bin/syncer --database-url {url} --state-url sqlite:///{state} "
        f"--config-dir {args.config_dir} runs",
        soft_wrap=True,
    )
    console.print(
        "the admin in the browser on this data (http://127.0.0.1:8080/, log in as admin / "
        f"{DEMO_ADMIN_PASSWORD}):\n  {escape(admin_command(url, state, args.config_dir))}",
        soft_wrap=True,
    )
    return 0


DEMO_ADMIN_PASSWORD = "demo-admin"


def admin_command(url: str, state: Path, config_dir: Path) -> str:
    """One command serving `syncer web` on the demo's data, its password ``demo-admin``."""
    from syncer.web.auth import hash_password

    return (
        f"SYNCER_WEB_PASSWORD_HASH='{hash_password(DEMO_ADMIN_PASSWORD)}' .venv/bin/syncer "
        f"--database-url {url} --state-url sqlite:///{state} --config-dir {config_dir} web"
    )


if __name__ == "__main__":
    sys.exit(main())
