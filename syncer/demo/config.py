"""The demo's own config folder: the example segments of ``config/segments`` wired to the local
emulators, written under ``var/`` by ``make demo``.

The shipped ``config/`` has no destinations and no demo profiles, so ``syncer sync --all``
against your own database never pushes demo segments; the demo adds its destinations here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from syncer.sample.emulated import profiles_yaml

EXAMPLES = Path("config/segments")
DEMO_CONFIG = Path("var/demo-config")

# The Mailchimp VIP destination's mapped fields: merge tag -> Syncer field (``fields:``); the
# demo's Mailchimp audience has these merge fields (``MERGE_FIELDS``).
VIP_FIELDS = {
    "LTV": "total_spent",
    "ORDERS": "orders",
    "AOV": "average_order_value",
    "FIRSTORDER": "first_order_date",
    "CARD": "loyalty_card",
}
MERGE_FIELDS = (
    ("LTV", "Lifetime value", "number"),
    ("ORDERS", "Orders", "number"),
    ("AOV", "Average order value", "number"),
    ("FIRSTORDER", "First order", "date"),
    ("CARD", "Loyalty card", "text"),
)

# Segment name -> the destinations the demo syncs it to (profiles of ``profiles_yaml``).
DESTINATIONS: dict[str, list[dict[str, object]]] = {
    "Abandoned cart": [{"profile": "demo-mailchimp", "list": "demo-list", "tag": "abandoned-cart"}],
    "Big spender gone quiet": [
        {"profile": "demo-sendlane", "list": "1", "tag": "big-spender-gone-quiet"}
    ],
    "Engaged mobile browsers": [
        # Non-consenting customers too, as non-subscribed contacts (never mailed by campaigns).
        {
            "profile": "demo-mailchimp",
            "list": "demo-list",
            "tag": "engaged-mobile",
            "without_consent": "non_subscribed",
        },
    ],
    "Time to re-order": [
        {"profile": "demo-mailchimp", "list": "demo-list", "tag": "time-to-reorder"}
    ],
    "VIP customers": [  # two providers at once
        {"profile": "demo-mailchimp", "list": "demo-list", "tag": "vip", "fields": VIP_FIELDS},
        {"profile": "demo-activecampaign", "list": "1", "tag": "vip"},
    ],
}


def write_demo_config(examples: Path = EXAMPLES, target: Path = DEMO_CONFIG) -> Path:
    """``target`` (replaced): profiles.yaml reaching the emulators, and a copy of every example
    segment, with the demo's destinations appended to those named in ``DESTINATIONS``."""
    if target.exists():
        shutil.rmtree(target)
    (target / "segments").mkdir(parents=True)
    (target / "profiles.yaml").write_text(
        "# Written by `make demo` (syncer/demo/config.py): the local emulators.\n"
        + profiles_yaml(["mailchimp", "activecampaign", "sendlane"]),
        encoding="utf-8",
    )
    for path in sorted([*examples.glob("*.yaml"), *examples.glob("*.yml")]):
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        name = data.get("name") if isinstance(data, dict) else None
        wiring = DESTINATIONS.get(name) if isinstance(name, str) else None
        if wiring and not (isinstance(data, dict) and data.get("destinations")):
            block = yaml.safe_dump({"destinations": wiring}, sort_keys=False)
            text = text.rstrip("\n") + "\n" + block
        (target / "segments" / path.name).write_text(text, encoding="utf-8")
    return target
