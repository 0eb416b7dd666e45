"""`syncer sync` and `syncer runs` tables stay readable at 80 columns: the segment, the
destination and the outcome are never cut short with an ellipsis, and no line is wider."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from syncer.cli import sync as sync_cli
from syncer.state.history import DestinationStatus
from syncer.state.runs import RunResult

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SEGMENT, DESTINATION = "Big spender gone quiet", "shop-activecampaign/list-12345/big-spender"


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> io.StringIO:
    out = io.StringIO()
    width = getattr(request, "param", 80)
    console = Console(file=out, width=width, highlight=False, force_terminal=False)
    monkeypatch.setattr(sync_cli, "console", console)
    return out


def result(outcome: str = "partial") -> RunResult:
    r = RunResult(SEGMENT, DESTINATION, outcome=outcome, run_id=7, adds=4486, updates=12)
    r.removes, r.rejections, r.api_calls, r.retries, r.pending = 30, 3, 142, 5, 17
    r.started_at, r.finished_at = START, START + timedelta(seconds=130.25)
    return r


def run_row() -> dict[str, object]:
    r = result()
    return {
        "id": 7, "started_at": START, "segment": SEGMENT, "destination": DESTINATION,
        "trigger": "schedule", "outcome": "partial", "adds": 4486, "updates": 12, "removes": 30,
        "rejections": 3, "api_calls": 142, "retries": 5, "seconds": r.seconds, "error": None,
    }  # fmt: skip


def readable(text: str, *words: str) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    assert "…" not in text, text
    flat = " ".join(text.split())
    for word in words:
        assert word in flat, (word, text)


def test_sync_results_at_80_columns(screen: io.StringIO) -> None:
    sync_cli._print_results([result(), result("ok")], dry_run=False)
    text = screen.getvalue()
    readable(text, SEGMENT, DESTINATION, "partial", "ok", "+4486 ~12 -30", "130.2s")
    assert "142" in text and "17" in text  # calls and pending are still said


def test_dry_run_results_at_80_columns(screen: io.StringIO) -> None:
    sync_cli._print_results([result("dry-run")], dry_run=True)
    readable(screen.getvalue(), SEGMENT, DESTINATION, "dry-run", "+4486 ~12 -30")


@pytest.mark.parametrize("screen", [200], indirect=True)
def test_a_wide_terminal_keeps_one_column_per_count(screen: io.StringIO) -> None:
    sync_cli._print_results([result()], dry_run=False)
    header = screen.getvalue().splitlines()[1]
    for col in ("segment", "destination", "outcome", "adds", "API calls", "pending", "time"):
        assert col in header


def test_runs_at_80_columns(screen: io.StringIO) -> None:
    sync_cli._print_runs([run_row()])
    readable(screen.getvalue(), "7", SEGMENT, DESTINATION, "schedule", "partial", "130.2s")


def test_destinations_at_80_columns(screen: io.StringIO) -> None:
    status = DestinationStatus(
        SEGMENT, DESTINATION, "*/15 * * * *", START, "failed", START - timedelta(days=2),
        stale=True, reason="no success for 2 days",
    )  # fmt: skip
    sync_cli._print_statuses([status])
    readable(screen.getvalue(), SEGMENT, DESTINATION, "failed", "STALE", "*/15 * * * *")
