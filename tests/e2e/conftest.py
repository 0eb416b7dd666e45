"""End-to-end: the real CLI, real adapters and real HTTP against the local emulators.

``Workspace`` is one shop: a commerce database (customers edited by the test), a config folder
(profiles reaching the emulators, one segment "VIP" = loyalty card Gold, synced to one provider)
and helpers to run ``syncer`` in-process or as a separate process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from emulators import EMULATORS
from providers.base import Destination
from syncer.cli.main import main
from syncer.profiles import load_profiles
from syncer.sample.emulated import ACCOUNTS, LocalProviders, profiles_yaml
from tests.dbs import scratch_database
from tests.sync.fakes import Shop

PROVIDERS = list(ACCOUNTS)
assert set(PROVIDERS) == set(EMULATORS), "every provider has an account and an emulator"
ROOT = Path(__file__).resolve().parents[2]
# Emulator settings that keep the tests quick without changing what is checked.
FAST: dict[str, dict[str, Any]] = {
    "activecampaign": {"enforce_rate_limits": False},
    "sendlane": {"enforce_rate_limits": False},
}

SEGMENT = """\
name: VIP
description: Gold card holders
rules:
  all:
    - {{field: loyalty_card, op: eq, value: Gold}}
destinations:
  - profile: demo-{provider}
    list: "{list_id}"
    tag: vip
    without_consent: {without_consent}
"""


class Workspace:
    def __init__(
        self,
        tmp_path: Path,
        db_url: str,
        engine: Engine,
        fleet: LocalProviders,
        provider: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.provider = provider
        self.last_err = ""
        self.fleet = fleet
        self.db_url = db_url
        self.emulator = fleet.emulators[provider]
        self.list_id = ACCOUNTS[provider].list_id
        self.config = tmp_path / "config"
        (self.config / "segments").mkdir(parents=True)
        (self.config / "profiles.yaml").write_text(profiles_yaml(ACCOUNTS))
        self.write_segment()
        self.shop = Shop(engine)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")},
            **fleet.env,
            "SYNCER_DATABASE_URL": db_url,
            "SYNCER_CONFIG_DIR": str(self.config),
        }
        for key, value in fleet.env.items():
            monkeypatch.setenv(key, value)

    def write_segment(self, without_consent: str = "skip") -> None:
        text = SEGMENT.format(
            provider=self.provider, list_id=self.list_id, without_consent=without_consent
        )
        (self.config / "segments" / "vip.yaml").write_text(text)

    def args(self, *args: str) -> list[str]:
        return ["--database-url", self.db_url, "--config-dir", str(self.config), *args]

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
        """``syncer ARGS --json`` in this process: (exit code, parsed JSON)."""
        capsys.readouterr()
        code = main(self.args(*args, "--json"))
        captured = capsys.readouterr()
        self.last_err = captured.err  # what the command said on stderr (for assert messages)
        out = captured.out
        return code, json.loads(out) if out.strip() else None

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """``syncer ARGS`` as a separate process."""
        return subprocess.Popen(
            [sys.executable, "-m", "syncer", *self.args(*args)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def provider_client(self) -> Any:
        profile = load_profiles(self.config / "profiles.yaml", self.env)[f"demo-{self.provider}"]
        return profile.build()

    def tagged(self) -> set[str]:
        """Who carries the tag, as the provider itself answers (its own API, read back)."""
        client = self.provider_client()
        return set(client.read_members(Destination(self.list_id, "vip")))

    def desired(self, *, consent_only: bool = True) -> set[str]:
        return self.shop.desired_emails(consent_only=consent_only)


@pytest.fixture(params=("sqlite", "postgresql"))
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """End to end on SQLite and PostgreSQL (the engine's SQL is proven on MariaDB by the sync
    and segment tests; one more full pass there would double this folder's time)."""
    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fleet(provider: str) -> Iterator[LocalProviders]:
    with LocalProviders([provider], options={provider: FAST.get(provider, {})}) as running:
        yield running


@pytest.fixture
def workspace(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    fleet: LocalProviders,
    provider: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    return Workspace(tmp_path, db_url, engine, fleet, provider, monkeypatch)
