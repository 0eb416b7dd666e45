"""`syncer worker --queue` and `syncer schedule --queue`: a queue that is not Redis, or does not
answer, is one line and exit 2, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.cli.main import main


@pytest.mark.parametrize("command", ["worker", "schedule"])
@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:6379/0", "is not a Redis URL"),
        ("redis://:secret-pw@127.0.0.1:1/0", "does not answer"),
        ("redis://127.0.0.1:6379/0?prefix=a:b", "prefix must be a non-empty name without ':'"),
    ],
)
def test_a_bad_queue_is_one_line_and_exit_2(
    command: str, url: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "segments").mkdir()
    (tmp_path / "profiles.yaml").write_text("profiles: {}\n")
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    code = main(["--database-url", db, "--config-dir", str(tmp_path), command, "--queue", url])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and said in lines[0], err
    assert "Traceback" not in err and "secret-pw" not in err
