"""The shipped systemd unit (deploy/) is one systemd accepts, with this checkout as /opt/syncer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "syncer-worker.service"


def test_the_worker_unit_runs_the_worker_and_upgrades_the_state_first() -> None:
    text = UNIT.read_text()
    assert "ExecStart=/opt/syncer/.venv/bin/syncer schedule" in text
    assert "ExecStartPre=/opt/syncer/.venv/bin/syncer db upgrade" in text
    assert "RestartPreventExitStatus=2" in text  # bad config: restarting would not help


def test_systemd_analyze_verify_accepts_the_worker_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here; the unit is verified where it is")
    unit = tmp_path / UNIT.name
    syncer = Path(sys.executable).parent / "syncer"  # the installed command, wherever it is
    text = UNIT.read_text().replace("/opt/syncer/.venv/bin/syncer", str(syncer))
    unit.write_text(text.replace("/opt/syncer", str(ROOT)))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
