"""Where things are: database URLs and the config directory.

Read once at start from the environment (or CLI options); nothing deeper reads ``os.environ``.

| variable              | default                          |
| --------------------- | -------------------------------- |
| SYNCER_DATABASE_URL   | sqlite:///var/syncer.db          |
| SYNCER_STATE_URL      | the commerce database URL        |
| SYNCER_CONFIG_DIR     | config                           |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///var/syncer.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    state_url: str | None = None
    config_dir: Path = Path("config")

    @property
    def effective_state_url(self) -> str:
        return self.state_url or self.database_url

    @property
    def segments_dir(self) -> Path:
        return self.config_dir / "segments"

    @property
    def profiles_file(self) -> Path:
        return self.config_dir / "profiles.yaml"

    @property
    def alerts_file(self) -> Path:
        return self.config_dir / "alerts.yaml"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("SYNCER_DATABASE_URL", DEFAULT_DATABASE_URL),
            state_url=env.get("SYNCER_STATE_URL") or None,
            config_dir=Path(env.get("SYNCER_CONFIG_DIR", "config")),
        )

    def with_overrides(
        self,
        *,
        database_url: str | None = None,
        state_url: str | None = None,
        config_dir: Path | None = None,
    ) -> Settings:
        return replace(
            self,
            database_url=database_url or self.database_url,
            state_url=state_url or self.state_url,
            config_dir=config_dir or self.config_dir,
        )
