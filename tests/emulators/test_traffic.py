"""Per-account traffic at the emulators: peak requests in flight, per second, over the quota."""

from __future__ import annotations

import threading

import pytest

from emulators.activecampaign import ActiveCampaignEmulator
from emulators.base import Headers, Request
from emulators.mailchimp import MailchimpEmulator


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def ac_request(token: str) -> Request:
    return Request("GET", "/api/3/users/me", headers=Headers({"Api-Token": token}))


def test_requests_per_second_and_over_quota_are_counted_per_account() -> None:
    clock = Clock()
    emulator = ActiveCampaignEmulator(enforce_rate_limits=False, clock=clock)
    for _ in range(7):  # seven within one second: the quota (a bucket of 5) refuses two
        emulator.dispatch(ac_request("demo-token"))
        clock.now += 0.01
    clock.now += 5
    for _ in range(5):  # five a second, evenly spaced: within every limit
        emulator.dispatch(ac_request("other-token"))
        clock.now += 0.2
    accounts = emulator.stats()["accounts"]
    assert len(accounts) == 2
    busy, calm = sorted(accounts.values(), key=lambda a: -a["over_rate"])
    assert (busy["calls"], busy["peak_per_second"], busy["over_rate"]) == (7, 7, 2)
    assert (calm["calls"], calm["peak_per_second"], calm["over_rate"]) == (5, 5, 0)
    emulator.reset_all()
    assert emulator.stats()["accounts"] == {}


@pytest.mark.serial  # three threads inside one 0.3 s latency at once: timing
def test_peak_in_flight_is_counted_per_account() -> None:
    emulator = MailchimpEmulator()
    emulator.faults.update({"latency": 0.3})
    headers = Headers({"Authorization": "Basic abc"})
    threads = [
        threading.Thread(
            target=emulator.dispatch, args=(Request("GET", "/3.0/ping", headers=headers),)
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (account,) = emulator.stats()["accounts"].values()
    assert account["peak_in_flight"] == 3
    assert account["over_rate"] == 0  # Mailchimp has no per-second quota
