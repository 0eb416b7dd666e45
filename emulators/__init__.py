"""Stateful stand-ins for the providers' HTTP APIs (tests, benchmarks, ``syncer emulator serve``).

``EMULATORS`` maps a provider name to its emulator class. It is read-only and imports each
emulator module on first use, so a module that is not there (yet) simply has no entry instead of
breaking every importer.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from emulators.base import (
    DropConnection,
    Emulator,
    EmulatorServer,
    Faults,
    Headers,
    Reply,
    Request,
)

# provider name -> (module, class name)
_PATHS: dict[str, tuple[str, str]] = {
    "mailchimp": ("emulators.mailchimp", "MailchimpEmulator"),
    "activecampaign": ("emulators.activecampaign", "ActiveCampaignEmulator"),
    "sendlane": ("emulators.sendlane", "SendlaneEmulator"),
}


class _Registry(Mapping[str, type[Emulator]]):
    """Provider name -> emulator class, importing lazily; absent modules have no entry.

    ``in`` and iteration skip a module that is absent or fails to import; ``[name]`` raises
    KeyError for an absent one and the ImportError itself for a broken one (a real bug).
    """

    def __getitem__(self, name: str) -> type[Emulator]:
        if name not in _PATHS:
            raise KeyError(name)
        module_name, class_name = _PATHS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise  # the module exists but one of its own imports is missing: a real bug
            raise KeyError(name) from err
        cls = getattr(module, class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, Emulator)):
            raise KeyError(name)
        return cls

    def __iter__(self) -> Iterator[str]:
        return (name for name in _PATHS if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except (KeyError, ImportError):  # absent, or present but failing to import
            return False
        return True


EMULATORS: Mapping[str, type[Emulator]] = _Registry()
KNOWN_PROVIDERS: tuple[str, ...] = tuple(_PATHS)

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
