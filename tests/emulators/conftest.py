from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from emulators import EmulatorServer
from emulators.mailchimp import DEMO_API_KEY, MailchimpEmulator


class MailchimpClient:
    """Raw HTTP against a running Mailchimp emulator (Basic auth with the demo key)."""

    def __init__(self, server: EmulatorServer, key: str = DEMO_API_KEY) -> None:
        self.base = server.url + "/3.0"
        self.session = requests.Session()
        self.session.auth = ("anyone", key)

    def __call__(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=10, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def mc_emulator() -> MailchimpEmulator:
    return MailchimpEmulator(
        lists={"demo-list": "Demo audience", "dbl": "Double opt-in"},
        double_optin=["dbl"],
    )


@pytest.fixture
def mc_server(mc_emulator: MailchimpEmulator) -> Iterator[EmulatorServer]:
    with EmulatorServer(mc_emulator) as server:
        yield server


@pytest.fixture
def mc(mc_server: EmulatorServer) -> Iterator[MailchimpClient]:
    client = MailchimpClient(mc_server)
    yield client
    client.session.close()
