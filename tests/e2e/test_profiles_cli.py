"""`syncer profiles check` and `discover` from the CLI against the running emulators."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.cli.main import main
from syncer.sample.emulated import ACCOUNTS, LocalProviders, profiles_yaml
from tests.e2e.conftest import PROVIDERS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fleet() -> Iterator[LocalProviders]:
    with LocalProviders(PROVIDERS) as running:
        yield running


@pytest.mark.parametrize("provider", PROVIDERS)
def test_check_and_discover_from_the_cli(
    provider: str,
    fleet: LocalProviders,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "profiles.yaml").write_text(profiles_yaml(PROVIDERS))
    for key, value in fleet.env.items():
        monkeypatch.setenv(key, value)
    args = ["--config-dir", str(tmp_path), "profiles"]
    assert main([*args, "check", f"demo-{provider}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main([*args, "discover", f"demo-{provider}", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert ACCOUNTS[provider].list_id in [x["id"] for x in found["lists"]]
    assert {"lists", "tags", "merge_fields"} <= set(found)
    secret = "api_key" if provider == "mailchimp" else "api_token"
    monkeypatch.setenv(f"DEMO_{provider.upper()}_{secret.upper()}", "wrong-us1")
    assert main([*args, "check", f"demo-{provider}"]) == 1
    err = capsys.readouterr().err
    assert "credentials check failed" in err and len(err.strip().splitlines()) == 1
