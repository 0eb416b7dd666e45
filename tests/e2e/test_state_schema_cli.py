"""The state schema through the real CLI: several `syncer sync` processes making their first run
on one fresh state database at once, and `syncer db upgrade` completing a half-created state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from syncer.db import make_engine
from syncer.state.migrate import VERSION_TABLE, head_revision
from tests.dbs import BACKENDS, scratch_database
from tests.e2e.conftest import Workspace

pytestmark = pytest.mark.slow

SEGMENTS = 4
SEGMENT = """\
name: S{n}
rules: {{field: loyalty_card, op: eq, value: Gold}}
destinations:
  - {{profile: demo-mailchimp, list: "{list_id}", tag: s{n}}}
"""


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def provider() -> str:
    return "mailchimp"  # the schema does not depend on the provider


def test_first_syncs_of_several_segments_at_once_all_succeed(workspace: Workspace, capsys) -> None:
    workspace.shop.add(3)
    for n in range(SEGMENTS):
        segment = SEGMENT.format(n=n, list_id=workspace.list_id)
        (workspace.config / "segments" / f"s{n}.yaml").write_text(segment)
    procs = [workspace.spawn("sync", f"S{n}", "--json") for n in range(SEGMENTS)]
    outputs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * SEGMENTS, [err for _out, err in outputs]
    assert [json.loads(out)[0]["adds"] for out, _err in outputs] == [3] * SEGMENTS
    code, current = workspace.run(capsys, "db", "current")
    assert (code, current["current"]) == (0, head_revision())


def test_db_upgrade_repairs_a_half_created_state_then_sync_works(
    workspace: Workspace, capsys
) -> None:
    workspace.shop.add(4)
    assert workspace.run(capsys, "sync", "VIP")[0] == 0
    engine = make_engine(workspace.db_url)
    try:  # what an interrupted first run could leave: tables missing, no version row
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE syncer_runs"))
            conn.execute(text("DROP TABLE syncer_provider_tagged"))
            conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
    finally:
        engine.dispose()

    code, upgraded = workspace.run(capsys, "db", "upgrade")
    assert code == 0
    assert (upgraded["before"], upgraded["after"]) == (None, head_revision())

    workspace.shop.add(2, start=50)
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert (results[0]["outcome"], results[0]["adds"]) == ("ok", 2)  # the snapshot was kept
    assert workspace.tagged() == workspace.desired()
