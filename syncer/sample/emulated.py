"""The three local provider emulators as one fleet, for the demo, the end-to-end tests and the
benchmarks: start them on free ports and hand out what a profile needs to reach each.

    with LocalProviders() as fleet:
        env = {**os.environ, **fleet.env}  # SYNCER_DEMO_MAILCHIMP_URL=http://127.0.0.1:PORT/3.0
        ...                                # the demo config's demo-* profiles read these

``ACCOUNTS`` holds each emulator's demo account: credentials the emulator accepts (demo values,
not secrets) and the list it starts with (Syncer never creates lists; users make them in the
provider).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from emulators import EMULATORS, Emulator, EmulatorServer


@dataclass(frozen=True)
class Account:
    provider: str
    credentials: Mapping[str, str]
    list_id: str
    api_root: str  # appended to the emulator's URL: the API root the adapter is given
    port: int  # the port the demo config's profiles assume when SYNCER_DEMO_*_URL is not set

    @property
    def url_variable(self) -> str:
        return f"SYNCER_DEMO_{self.provider.upper()}_URL"


ACCOUNTS: dict[str, Account] = {
    "mailchimp": Account("mailchimp", {"api_key": "demo-us1"}, "demo-list", "/3.0", 8301),
    "activecampaign": Account(
        "activecampaign",
        {"api_url": "https://demo.api-us1.com", "api_token": "demo-token"},
        "1",
        "/api/3",
        8302,
    ),
    "sendlane": Account("sendlane", {"api_token": "demo-token"}, "1", "/v2", 8303),
}


class LocalProviders:
    """Starts one emulator per provider on 127.0.0.1 (free ports unless ``ports`` says)."""

    def __init__(
        self,
        providers: Iterable[str] = tuple(ACCOUNTS),
        *,
        ports: Mapping[str, int] | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.providers = list(providers)
        self.ports = dict(ports or {})
        self.options = {k: dict(v) for k, v in (options or {}).items()}
        self.emulators: dict[str, Emulator] = {}
        self.servers: dict[str, EmulatorServer] = {}

    def start(self) -> LocalProviders:
        try:
            for name in self.providers:
                emulator = EMULATORS[name](**self.options.get(name, {}))
                server = EmulatorServer(emulator, port=self.ports.get(name, 0)).start()
                self.emulators[name], self.servers[name] = emulator, server
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def api_url(self, provider: str) -> str:
        return self.servers[provider].url + ACCOUNTS[provider].api_root

    @property
    def env(self) -> dict[str, str]:
        """``SYNCER_DEMO_<PROVIDER>_URL`` for every running emulator."""
        return {ACCOUNTS[p].url_variable: self.api_url(p) for p in self.servers}

    def calls(self) -> dict[str, int]:
        return {p: e.total_calls for p, e in self.emulators.items()}

    def set_faults(self, **faults: Any) -> None:
        """The same faults on every emulator (e.g. ``latency=0.1``)."""
        for emulator in self.emulators.values():
            emulator.faults.update(faults)

    def __enter__(self) -> LocalProviders:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


def profiles_yaml(providers: Iterable[str], *, prefix: str = "demo-") -> str:
    """A profiles.yaml whose profiles reach the emulators through ``SYNCER_DEMO_*_URL``."""
    lines = ["profiles:"]
    for name in providers:
        account = ACCOUNTS[name]
        lines.append(f"  {prefix}{name}:")
        lines.append(f"    provider: {name}")
        lines.append("    credentials:")
        for key, value in account.credentials.items():
            var = f"DEMO_{name.upper()}_{key.upper()}"
            lines.append(f"      {key}: ${{{var}:-{value}}}")
        default = f"http://127.0.0.1:{account.port}{account.api_root}"
        lines.append(f"    base_url: ${{{account.url_variable}:-{default}}}")
    return "\n".join(lines) + "\n"
