"""``python -m bench.state_writes``: a first sync's state writes, at a tiny size."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.state_writes import Timer, main, planned


def test_the_plan_is_adds_ascending_by_id_with_addresses_in_another_order() -> None:
    rows = list(planned(500))
    ids = [p.customer_id or 0 for p in rows]
    assert ids == sorted(set(ids)) and {p.kind for p in rows} == {"add"}
    assert 2.0 < ids[-1] / len(ids) < 4.0  # spread like the largest sample segment's (~1/3)
    emails = [p.email for p in rows]
    assert emails != sorted(emails) and all(
        f".{i}@example.com" in e for i, e in zip(ids, emails, strict=True)
    )


def test_statement_kinds_name_the_table() -> None:
    assert Timer.kind("SELECT syncer_outbox.id, x FROM syncer_outbox WHERE") == (
        "SELECT FROM syncer_outbox"
    )
    assert Timer.kind("DELETE FROM syncer_members WHERE a") == "DELETE FROM SYNCER_MEMBERS"
    assert Timer.kind("ANALYZE syncer_members") == "ANALYZE syncer_members"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_tiny_first_sync_settles_every_member_and_reports_each_phase(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "sqlite" if backend == "sqlite" else os.environ.get("SYNCER_TEST_POSTGRES_URL")
    if url is None:
        pytest.skip("postgresql tests skipped: set SYNCER_TEST_POSTGRES_URL to run them")
    out = tmp_path / "result.json"
    assert main(["--members", "1200", "--url", url, "--out", str(out)]) == 0
    assert "1,200 members:" in capsys.readouterr().out
    (result,) = json.loads(out.read_text())
    assert (result["members"], result["settled"]) == (1200, 1200)
    plan, push = result["phases"]["plan"], result["phases"]["push_settle"]
    assert plan["statements"]["INSERT INTO SYNCER_OUTBOX"]["calls"] == 2  # pages of 1000
    assert push["statements"]["INSERT INTO SYNCER_MEMBERS"]["calls"] == 3  # batches of 500
    assert len(plan["tenths_per_second"]) == 10
    assert len(push["tenths_per_second"]) == 3  # a tenth, or a batch (500) when that is more
    if backend == "postgresql":
        assert push["io"]["syncer_members.heap_blks_hit"] > 0  # the snapshot was written
