"""The ``--full`` bench's emulator runs in a process of its own (``bench.full_repair.served``):
it answers at the URL it prints, takes a latency over HTTP, and one that cannot start is a
one-line error naming the provider and why."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from bench.full_repair import served, set_latency
from syncer.errors import SyncerError


def test_the_emulator_serves_from_its_own_process_and_takes_a_latency() -> None:
    with served("mailchimp") as server:
        set_latency(server, 0.2)
        with urllib.request.urlopen(f"{server}/__emulator/faults", timeout=10) as answer:
            faults = json.loads(answer.read())
        assert faults["latency"] == 0.2
        started = time.perf_counter()
        with pytest.raises(urllib.error.HTTPError, match="401"):  # no credentials: refused, late
            urllib.request.urlopen(f"{server}/3.0/ping", timeout=10)
        assert time.perf_counter() - started >= 0.2


def test_an_emulator_that_cannot_start_says_why() -> None:
    with pytest.raises(SyncerError, match=r"emulator nope did not start: .*nope"), served("nope"):
        pass


def test_a_latency_the_emulator_does_not_take_is_one_line() -> None:
    with served("mailchimp") as server:
        pass  # stopped: nothing answers there any more
    with pytest.raises(SyncerError, match=r"POST .*/__emulator/faults: the emulator did not"):
        set_latency(server, 0.1)
