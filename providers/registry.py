"""Provider name -> class, imported on first use (so a broken or slow SDK import costs nothing
to the commands that do not need that provider)."""

from __future__ import annotations

import importlib

from providers.base import Provider
from providers.errors import BadConfiguration

PROVIDERS: dict[str, str] = {
    "mailchimp": "providers.mailchimp:Mailchimp",
    "activecampaign": "providers.activecampaign:ActiveCampaign",
    "sendlane": "providers.sendlane:Sendlane",
}


def provider_class(name: str) -> type[Provider]:
    """The class of provider ``name``; BadConfiguration naming the known ones otherwise."""
    target = PROVIDERS.get(name)
    if target is None:
        known = ", ".join(sorted(PROVIDERS))
        raise BadConfiguration(f"unknown provider {name!r}; use one of: {known}")
    module_name, _, attr = target.partition(":")
    cls: type[Provider] = getattr(importlib.import_module(module_name), attr)
    return cls
