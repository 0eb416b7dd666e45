"""`syncer alerts test`: a test alert to each channel, one line each; no secret printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncer.cli.main import main
from tests.alerts.conftest import Receiver, down_url, receiver

__all__ = ["down_url", "receiver"]

ALERTS = """
channels:
  hook: {type: webhook, url: "${ALERT_CLI_HOOK}"}
  slack: {type: slack, url: "${ALERT_CLI_SLACK}", timeout: 2}
rules:
  - {events: [failed], channels: [hook, slack]}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "alerts.yaml").write_text(ALERTS, encoding="utf-8")
    return folder


def test_test_alert_reaches_each_channel_and_a_down_one_fails_the_command(
    config: Path, receiver: Receiver, down_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("ALERT_CLI_HOOK", receiver.url)
    monkeypatch.setenv("ALERT_CLI_SLACK", down_url)
    assert main(["--config-dir", str(config), "alerts", "test"]) == 1
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert lines[0] == f"ok     hook (webhook {receiver.url.split('/services')[0]}/***)"
    assert lines[1].startswith("failed slack (slack http://127.0.0.1:") and "refused" in lines[1]
    assert "s3cr3t" not in out + err and err == ""
    assert [body["event"] for _p, body in receiver.requests] == ["test"]


def test_one_channel_with_json(
    config: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("ALERT_CLI_HOOK", receiver.url)
    monkeypatch.setenv("ALERT_CLI_SLACK", receiver.url)
    assert main(["--config-dir", str(config), "alerts", "test", "-c", "slack", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"channel": "slack", "ok": True, "error": None}]
    assert receiver.requests[0][1]["text"].startswith("syncer: test alert to channel 'slack'")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["alerts", "test", "--channel", "pager"], "unknown channel 'pager' (known: hook, slack)"),
        (["alerts", "test"], "environment variable ALERT_CLI_HOOK is not set"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    config: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("ALERT_CLI_HOOK", raising=False)
    if "pager" in args:
        monkeypatch.setenv("ALERT_CLI_HOOK", "http://127.0.0.1:9/x")
        monkeypatch.setenv("ALERT_CLI_SLACK", "http://127.0.0.1:9/y")
    assert main(["--config-dir", str(config), *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_no_alerts_file_says_how_to_set_one_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config-dir", str(tmp_path), "alerts", "test"]) == 2
    assert "alerts.yaml: no alerts configured" in capsys.readouterr().err
