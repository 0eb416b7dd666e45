"""The emulator framework: routing, auth, faults, admin endpoints, concurrency cap, counting."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulators import EMULATORS, KNOWN_PROVIDERS, Emulator, EmulatorServer, Reply, Request
from emulators.base import Faults, Headers

KEY = {"X-Key": "good"}


class ToyEmulator(Emulator):
    """A tiny provider: one key, a dict of items, and a route that can be made to block."""

    name = "toy"

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, str] = {}
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def authorize(self, req: Request) -> Reply | None:
        if req.headers.get("x-key") == "good":
            return None
        return self.error_reply(401, "bad key")

    def error_reply(self, status: int, message: str) -> Reply:
        return Reply(status, {"toy_error": message, "code": status})

    def reset(self) -> None:
        self.items.clear()

    def state(self) -> dict[str, Any]:
        return {"items": dict(self.items)}

    @Emulator.route("GET", r"/items/(?P<key>[a-z]+)")
    def get_item(self, req: Request) -> Reply:
        if req.params["key"] not in self.items:
            return self.error_reply(404, "no such item")
        return Reply(body={"key": req.params["key"], "value": self.items[req.params["key"]]})

    @Emulator.route("PUT", r"/items/(?P<key>[a-z]+)")
    def put_item(self, req: Request) -> Reply:
        self.items[req.params["key"]] = str(req.body["value"])
        return Reply(body={"ok": True, "page": req.int_arg("page", 1)})

    @Emulator.route("GET", r"/slow")
    def slow(self, req: Request) -> Reply:
        self.entered.set()
        self.release.wait(timeout=10)
        return Reply(body={"slow": True})


class CappedToy(ToyEmulator):
    max_concurrency = 1

    def too_many_reply(self) -> Reply:
        return self.error_reply(429, "too many in flight")


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(ToyEmulator()) as srv:
        yield srv


def toy(srv: EmulatorServer) -> ToyEmulator:
    assert isinstance(srv.emulator, ToyEmulator)
    return srv.emulator


def test_server_binds_a_free_port_and_stops(server: EmulatorServer) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    url = server.url
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/items/a", headers=KEY, timeout=2)


def test_routes_params_query_and_json_body(server: EmulatorServer) -> None:
    r = requests.put(server.url + "/items/abc?page=3", json={"value": 7}, headers=KEY, timeout=5)
    assert r.status_code == 200
    assert r.json() == {"ok": True, "page": 3}
    got = requests.get(server.url + "/items/abc", headers=KEY, timeout=5)
    assert got.json() == {"key": "abc", "value": "7"}
    assert toy(server).state() == {"items": {"abc": "7"}}


def test_unknown_path_is_404_and_wrong_method_405_in_provider_shape(server: EmulatorServer) -> None:
    r = requests.get(server.url + "/nothing/here", headers=KEY, timeout=5)
    assert r.status_code == 404
    assert r.json()["code"] == 404
    r = requests.delete(server.url + "/items/abc", headers=KEY, timeout=5)
    assert r.status_code == 405
    assert "toy_error" in r.json()


def test_auth_failure_uses_the_provider_reply(server: EmulatorServer) -> None:
    r = requests.get(server.url + "/items/abc", headers={"X-Key": "bad"}, timeout=5)
    assert r.status_code == 401
    assert r.json() == {"toy_error": "bad key", "code": 401}


def test_calls_are_counted_per_route_admin_calls_are_not(server: EmulatorServer) -> None:
    requests.put(server.url + "/items/a", json={"value": 1}, headers=KEY, timeout=5)
    requests.get(server.url + "/items/a", headers=KEY, timeout=5)
    requests.get(server.url + "/items/b", headers=KEY, timeout=5)
    requests.get(server.url + "/zzz", headers=KEY, timeout=5)
    requests.get(server.url + "/__emulator/state", timeout=5)
    emu = toy(server)
    assert emu.calls == {"put_item": 1, "get_item": 2, "unmatched": 1}
    assert emu.total_calls == 4
    stats = requests.get(server.url + "/__emulator/stats", timeout=5).json()
    assert stats["calls"] == {"put_item": 1, "get_item": 2, "unmatched": 1}
    assert stats["total_calls"] == 4


@pytest.mark.parametrize("retry_after", [None, 2.0, 0.5])
def test_rate_limit_next_with_and_without_retry_after(
    server: EmulatorServer, retry_after: float | None
) -> None:
    emu = toy(server)
    emu.items["a"] = "x"
    emu.faults.rate_limit_next = 2
    emu.faults.retry_after = retry_after
    answers = [requests.get(server.url + "/items/a", headers=KEY, timeout=5) for _ in range(3)]
    assert [r.status_code for r in answers] == [429, 429, 200]
    assert answers[0].json() == {"toy_error": "Too Many Requests", "code": 429}
    expected = None if retry_after is None else ("2" if retry_after == 2.0 else "0.5")
    assert answers[0].headers.get("Retry-After") == expected
    assert "Retry-After" not in answers[2].headers
    assert emu.calls["get_item"] == 3


def test_rate_limit_every_nth_call(server: EmulatorServer) -> None:
    emu = toy(server)
    emu.items["a"] = "x"
    emu.faults.rate_limit_every = 3
    codes = [
        requests.get(server.url + "/items/a", headers=KEY, timeout=5).status_code for _ in range(7)
    ]
    assert codes == [200, 200, 429, 200, 200, 429, 200]


def test_error_next_answers_the_configured_status(server: EmulatorServer) -> None:
    emu = toy(server)
    emu.items["a"] = "x"
    emu.faults.error_next = 1
    assert requests.get(server.url + "/items/a", headers=KEY, timeout=5).status_code == 500
    emu.faults.error_next = 1
    emu.faults.error_status = 503
    r = requests.get(server.url + "/items/a", headers=KEY, timeout=5)
    assert r.status_code == 503
    assert r.json()["code"] == 503
    assert requests.get(server.url + "/items/a", headers=KEY, timeout=5).status_code == 200


def test_drop_next_closes_the_connection_without_an_answer(server: EmulatorServer) -> None:
    emu = toy(server)
    emu.items["a"] = "x"
    emu.faults.drop_next = 1
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/items/a", headers=KEY, timeout=5)
    assert requests.get(server.url + "/items/a", headers=KEY, timeout=5).status_code == 200
    assert emu.calls["get_item"] == 2


def test_bad_body_next_answers_200_with_a_body_that_is_not_the_api(server: EmulatorServer) -> None:
    emu = toy(server)
    emu.items["a"] = "x"
    url = server.url + "/__emulator/faults"
    assert requests.post(url, json={"bad_body_next": 1}, timeout=5).status_code == 200
    r = requests.get(server.url + "/items/a", headers=KEY, timeout=5)
    assert (r.status_code, r.headers["Content-Type"]) == (200, "text/html")
    assert r.text.startswith("<!DOCTYPE html>")
    assert requests.post(url, json={"bad_body_next": 1, "bad_body": "[]"}, timeout=5).ok
    r = requests.get(server.url + "/items/a", headers=KEY, timeout=5)
    assert (r.text, r.headers["Content-Type"]) == ("[]", "application/json")
    assert requests.get(server.url + "/items/a", headers=KEY, timeout=5).json() != []
    assert requests.post(url, json={"bad_body": 3}, timeout=5).status_code == 400


def test_latency_is_applied_to_every_call() -> None:
    slept: list[float] = []
    emu = ToyEmulator()
    emu.sleep = slept.append
    emu.faults.latency = 0.25
    emu.items["a"] = "x"
    for _ in range(3):
        emu.dispatch(Request("GET", "/items/a", headers=Headers({"X-Key": "good"})))
    emu.dispatch(Request("GET", "/__emulator/stats"))
    assert slept == [0.25, 0.25, 0.25]


def test_auth_comes_before_faults(server: EmulatorServer) -> None:
    emu = toy(server)
    emu.faults.error_next = 1
    r = requests.get(server.url + "/items/a", headers={"X-Key": "no"}, timeout=5)
    assert r.status_code == 401
    assert emu.faults.error_next == 1


def test_admin_faults_over_http(server: EmulatorServer) -> None:
    url = server.url + "/__emulator/faults"
    r = requests.post(
        url, json={"error_next": 2, "reject": {"A@X.COM": "invalid"}, "latency": 0}, timeout=5
    )
    assert r.status_code == 200
    assert r.json()["error_next"] == 2
    emu = toy(server)
    assert emu.faults.error_next == 2
    assert emu.faults.reject == {"a@x.com": "invalid"}
    assert requests.get(url, timeout=5).json()["reject"] == {"a@x.com": "invalid"}
    bad = requests.post(url, json={"nonsense": 1}, timeout=5)
    assert bad.status_code == 400
    assert "nonsense" in bad.json()["error"]
    assert requests.post(url, json={"error_next": "two"}, timeout=5).status_code == 400
    assert requests.delete(url, timeout=5).json() == Faults().to_dict()
    assert emu.faults == Faults()


def test_admin_state_and_reset(server: EmulatorServer) -> None:
    emu = toy(server)
    requests.put(server.url + "/items/q", json={"value": "v"}, headers=KEY, timeout=5)
    emu.faults.error_next = 5
    assert requests.get(server.url + "/__emulator/state", timeout=5).json() == {"items": {"q": "v"}}
    assert requests.post(server.url + "/__emulator/reset", timeout=5).status_code == 200
    assert emu.items == {}
    assert emu.total_calls == 0
    assert emu.faults.error_next == 0
    assert requests.get(server.url + "/__emulator/nope", timeout=5).status_code == 404


def test_concurrency_cap_answers_too_many_beyond_the_limit() -> None:
    emu = CappedToy()
    emu.release.clear()
    with EmulatorServer(emu) as srv:
        first: list[requests.Response] = []
        worker = threading.Thread(
            target=lambda: first.append(requests.get(srv.url + "/slow", headers=KEY, timeout=10))
        )
        worker.start()
        assert emu.entered.wait(timeout=10)
        second = requests.get(srv.url + "/items/a", headers=KEY, timeout=10)
        emu.release.set()
        worker.join(timeout=10)
    assert second.status_code == 429
    assert second.json() == {"toy_error": "too many in flight", "code": 429}
    assert first[0].status_code == 200
    assert emu.peak_in_flight == 2
    assert emu.calls == {"slow": 1, "get_item": 1}


def test_handler_exception_answers_500_not_a_hang(server: EmulatorServer) -> None:
    r = requests.put(server.url + "/items/a", data=b"not json", headers=KEY, timeout=5)
    assert r.status_code == 500
    assert "emulator failure" in r.json()["error"]


def test_headers_are_case_insensitive() -> None:
    h = Headers({"Content-Type": "a", "X-Key": "b"})
    assert h["content-type"] == "a"
    assert h.get("X-KEY") == "b"
    assert len(h) == 2


def test_registry_lists_only_importable_emulators() -> None:
    assert set(EMULATORS) <= set(KNOWN_PROVIDERS)
    assert "nope" not in EMULATORS
    with pytest.raises(KeyError):
        EMULATORS["nope"]
    for name in EMULATORS:
        assert issubclass(EMULATORS[name], Emulator)
