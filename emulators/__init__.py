"""Stateful stand-ins for the providers' HTTP APIs (tests, benchmarks, ``syncer emulator serve``).

``EMULATORS`` maps a provider name to its emulator class (read-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from emulators.activecampaign import ActiveCampaignEmulator
from emulators.base import (
    DropConnection,
    Emulator,
    EmulatorServer,
    Faults,
    Headers,
    Reply,
    Request,
)
from emulators.mailchimp import MailchimpEmulator
from emulators.sendlane import SendlaneEmulator

# provider name -> its emulator; imported directly, so a broken emulator fails every importer
# (tests included) instead of quietly dropping out of the fleet.
EMULATORS: Mapping[str, type[Emulator]] = MappingProxyType(
    {
        "mailchimp": MailchimpEmulator,
        "activecampaign": ActiveCampaignEmulator,
        "sendlane": SendlaneEmulator,
    }
)
KNOWN_PROVIDERS: tuple[str, ...] = tuple(EMULATORS)

__all__ = [
    "EMULATORS",
    "KNOWN_PROVIDERS",
    "DropConnection",
    "Emulator",
    "EmulatorServer",
    "Faults",
    "Headers",
    "Reply",
    "Request",
]
