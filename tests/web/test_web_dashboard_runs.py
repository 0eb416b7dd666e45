"""The dashboard and the runs page over real run history (the CLI's SyncService with a fake
provider): a failed run stands out, a stale destination is marked, the rejections of the last
run and the next scheduled run are shown, and the runs page lists every run with its counts,
calls and error, and the members the provider refused with their reasons."""

from __future__ import annotations

import html
import re
from pathlib import Path

import yaml
from starlette.testclient import TestClient

from providers.errors import ProviderError
from syncer.db import make_engine
from syncer.segments.loader import load_segments
from syncer.settings import Settings
from syncer.sync.service import SyncService
from tests.sync.fakes import FakeClock, FakeProvider, Shop

SEGMENTS = {
    "vip.yaml": {
        "name": "VIP",
        "rules": {"field": "loyalty_card", "op": "eq", "value": "Gold"},
        "schedule": "*/15 * * * *",
        "destinations": [{"profile": "shop-mailchimp", "list": "L1", "tag": "vip"}],
    },
    "silver.yaml": {
        "name": "Silver",
        "rules": {"field": "loyalty_card", "op": "eq", "value": "Silver"},
        "schedule": "0 * * * *",
        "destinations": [{"profile": "shop-mailchimp", "list": "L1", "tag": "silver"}],
    },
}


def _row(page: str, text: str) -> str:
    """The ``<tr>`` of ``page`` whose text (without its tags) holds ``text``."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, flags=re.S)
    found = [r for r in rows if text in html.unescape(re.sub(r"<[^>]+>", "", r))]
    assert found, f"no row with {text!r}"
    return html.unescape(found[0])


def test_dashboard_and_runs_show_failures_staleness_and_rejections(
    editor: tuple[TestClient, str], app_settings: Settings, config: Path
) -> None:
    client, _token = editor
    for name, data in SEGMENTS.items():
        (config / "segments" / name).write_text(yaml.safe_dump(data))
    engine = make_engine(app_settings.database_url)
    shop = Shop(engine)
    shop.add(3)
    shop.add(2, start=10, card="Silver")
    fake = FakeProvider()
    fake.reject["c2@example.com"] = ("invalid address: not a mailbox", False)
    service = SyncService(app_settings, {}, clock=FakeClock(), confirm_wait=0.0)
    service._providers["shop-mailchimp"] = fake  # the profile's provider, without a network
    segments = load_segments(config / "segments")
    try:
        ok = service.sync(segments["VIP"], segments["VIP"].destinations[0])
        fake.raise_at[len(fake.batches_sent)] = ProviderError("server said no", provider="fake")
        bad = service.sync(segments["Silver"], segments["Silver"].destinations[0])
    finally:
        service.close()
        engine.dispose()
    assert ok.rejections == 1 and bad.outcome == "failed", (ok, bad)

    dashboard = client.get("/").text
    vip = _row(dashboard, "VIP → shop-mailchimp/L1/vip")
    silver = _row(dashboard, "Silver → shop-mailchimp/L1/silver")
    assert 'class="failed"' in silver and "server said no" in silver  # the failure stands out
    assert 'class="failed"' not in vip
    assert "STALE" in vip and "STALE" in silver  # the fake clock's runs are days old
    assert "<td>1</td>" in vip  # the last run's rejections
    assert "*/15 * * * *" in vip and re.search(
        r"<td>20\d\d-\d\d-\d\d \d\d:\d\d:\d\d</td>\s*</tr>", vip
    )

    runs = client.get("/runs").text
    history = runs[runs.index('id="history"') : runs.index('id="rejections"')]
    assert "VIP → shop-mailchimp/L1/vip" in html.unescape(history)
    failed = _row(history, "Silver → shop-mailchimp/L1/silver")
    assert 'class="failed"' in failed and ">failed<" in failed
    assert "server said no" in html.unescape(history)
    assert "+2 ~0 -0" in _row(history, "VIP → shop-mailchimp/L1/vip")
    rejected = _row(runs[runs.index('id="rejections"') :], "c2@example.com")
    assert "invalid address: not a mailbox" in rejected and "VIP" in rejected
    only = client.get("/runs?segment=Silver").text
    assert "c2@example.com" not in only and "Silver → shop-mailchimp/L1/silver" in html.unescape(
        only
    )
