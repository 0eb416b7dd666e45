"""`syncer emulator serve | list`: a real process serving a provider API, stopped cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from syncer.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str, dict[str, str]]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncer",
            "emulator",
            "serve",
            "--provider",
            "mailchimp",
            "--port",
            str(port),
            "--latency",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "listening on" in first, first + (proc.stderr.read() if proc.stderr else "")
        url = first.rsplit(" ", 1)[1].strip()
        info: dict[str, str] = {}
        while (line := proc.stdout.readline()).startswith("  "):
            key, _, value = line.strip().partition(": ")
            info[key] = value
        assert url == f"http://127.0.0.1:{port}"
        yield proc, url, info
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.slow
def test_serve_answers_with_the_printed_credentials_and_stops_on_sigterm(served) -> None:
    proc, url, info = served
    assert info["base_url"] == url + "/3.0"
    ping = requests.get(info["base_url"] + "/ping", auth=("any", info["api_key"]), timeout=10)
    assert ping.status_code == 200
    lists = requests.get(info["base_url"] + "/lists", auth=("any", info["api_key"]), timeout=10)
    assert [a["id"] for a in lists.json()["lists"]] == ["demo-list"]
    refused = requests.get(info["base_url"] + "/ping", auth=("any", "wrong"), timeout=10)
    assert refused.status_code == 401
    faults = requests.post(url + "/__emulator/faults", json={"error_next": 1}, timeout=10)
    assert faults.json()["error_next"] == 1
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "stopped after 3 calls" in out
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/3.0/ping", timeout=2)


def test_list_json_names_every_provider(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {r["provider"]: r for r in rows}
    assert set(by_name) == {"mailchimp", "activecampaign", "sendlane"}
    assert by_name["mailchimp"]["available"] is True
    assert by_name["mailchimp"]["module"] == "emulators.mailchimp"


def test_serve_unknown_provider_is_a_one_line_config_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["emulator", "serve", "--provider", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--provider" in err
    assert "mailchimp" in err
    assert len(err.splitlines()) == 1


def test_serve_on_a_busy_port_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["emulator", "serve", "--provider", "mailchimp", "--port", str(port)])
    assert code == 2
    assert "--port" in capsys.readouterr().err
