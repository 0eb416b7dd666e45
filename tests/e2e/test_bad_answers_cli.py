"""A provider answering 200 with a body that is not its API's, end to end: one line naming the
provider and the call, exit 1, the run recorded failed with every change pending, and the next
run (the fault gone) completing them; ``profiles check`` reports such an answer as an error."""

from __future__ import annotations

import json

import pytest

from syncer.cli.main import main
from tests.e2e.conftest import Workspace

pytestmark = pytest.mark.slow

BODIES = {
    "html": "<!DOCTYPE html><html><head><title>Sign in</title></head><body>x</body></html>",
    "array": "[]",
    "wrong shape": '{"unexpected": true}',
}


@pytest.mark.parametrize("body", list(BODIES))
def test_a_bad_answer_fails_the_run_and_keeps_every_change_pending(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], body: str
) -> None:
    workspace.shop.add(6)
    workspace.emulator.faults.update({"bad_body_next": 1, "bad_body": BODIES[body]})
    capsys.readouterr()
    assert main(workspace.args("sync", "VIP")) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{workspace.provider}: GET /" in err and "unexpected answer" in err, err
    assert "Traceback" not in err
    code, runs = workspace.run(capsys, "runs")
    assert code == 0
    (run,) = runs["runs"]
    assert run["outcome"] == "failed" and "unexpected answer" in run["error"], run
    assert run["pending"] == 6 and run["adds"] == 0, run
    assert workspace.tagged() == set()
    code, results = workspace.run(capsys, "sync", "VIP")  # the fault is gone
    assert code == 0, results
    assert (results[0]["outcome"], results[0]["adds"], results[0]["pending"]) == ("ok", 6, 0)
    assert workspace.tagged() == workspace.desired()


def test_profiles_check_reports_a_bad_answer_as_an_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = workspace.provider
    args = ["--config-dir", str(workspace.config), "profiles", "check", f"demo-{provider}"]
    for body in BODIES.values():
        workspace.emulator.faults.update({"bad_body_next": 1, "bad_body": body})
        capsys.readouterr()
        assert main(args) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "credentials check failed" in err, err
        assert f"{provider}: GET /" in err and "unexpected answer" in err, err
    assert main([*args, "--json"]) == 0  # the fault is gone
    assert json.loads(capsys.readouterr().out)["ok"] is True
