"""Creating and repairing the state schema: safe when several processes make their first run on
one fresh state database at once, and a half-created state is completed without losing rows."""

from __future__ import annotations

import multiprocessing
import traceback
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, inspect, text

from syncer.db import make_engine
from syncer.state.migrate import (
    VERSION_TABLE,
    current_revision,
    ensure_schema,
    head_revision,
    upgrade,
)
from syncer.state.models import STATE_TABLES
from syncer.state.store import StateStore

PROCESSES = 4
STATE_NAMES = {t.name for t in STATE_TABLES}


def _first_run(url: str, barrier: Any, number: int, answers: Any) -> None:
    """One process's first run: the schema, then its own target row."""
    try:
        engine = make_engine(url)
        barrier.wait(timeout=60)
        ensure_schema(engine)
        StateStore(engine).target(f"segment-{number}", "dest", datetime.now(UTC))
        engine.dispose()
        answers.put((number, "ok"))
    except BaseException:  # the parent reports what went wrong in the child
        answers.put((number, traceback.format_exc()))


def test_first_runs_at_once_on_a_fresh_state_database_all_succeed(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    answers = ctx.Queue()
    procs = [
        ctx.Process(target=_first_run, args=(db_url, barrier, n, answers)) for n in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    results = dict(answers.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    failed = {n: out for n, out in results.items() if out != "ok"}
    assert failed == {}
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= STATE_NAMES
        with engine.connect() as conn:
            targets = conn.execute(text("SELECT COUNT(*) FROM syncer_targets")).scalar_one()
            versions = conn.execute(text(f"SELECT COUNT(*) FROM {VERSION_TABLE}")).scalar_one()
        assert (targets, versions) == (PROCESSES, 1)
    finally:
        engine.dispose()


def _half_create(engine: Engine, *, drop: tuple[str, ...], empty_version: bool) -> None:
    """What an interrupted first run could leave: some tables missing, no version row."""
    with engine.begin() as conn:
        for name in drop:
            conn.execute(text(f"DROP TABLE {name}"))
        if empty_version:
            conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))


def test_upgrade_repairs_a_half_created_state_and_keeps_rows(engine: Engine) -> None:
    upgrade(engine)
    target = StateStore(engine).target("VIP", "dest", datetime.now(UTC))
    _half_create(engine, drop=("syncer_runs", "syncer_rejections"), empty_version=True)
    assert current_revision(engine) is None

    before, after = upgrade(engine)

    assert (before, after) == (None, head_revision())
    assert set(inspect(engine).get_table_names()) >= STATE_NAMES
    assert StateStore(engine).target("VIP", "dest", datetime.now(UTC)) == target


def test_upgrade_repairs_missing_tables_under_a_current_version(engine: Engine) -> None:
    upgrade(engine)
    _half_create(engine, drop=("syncer_runs",), empty_version=False)
    upgrade(engine)
    assert "syncer_runs" in inspect(engine).get_table_names()
    assert current_revision(engine) == head_revision()


def test_first_run_completes_a_half_created_state(engine: Engine) -> None:
    upgrade(engine)
    _half_create(engine, drop=("syncer_outbox", "syncer_members"), empty_version=True)
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= STATE_NAMES
