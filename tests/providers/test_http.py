"""The shared HTTP layer: status -> error, retries (Retry-After honoured), limits, masking."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from responses import registries

from providers.base import CallStats, Limits
from providers.errors import (
    AuthenticationFailed,
    BadConfiguration,
    NotFound,
    ProviderError,
    RateLimited,
    RefusedRequest,
    TransientError,
    UnexpectedAnswer,
)
from providers.http import (
    HttpClient,
    RateLimiter,
    RetryPolicy,
    account_key,
    call_with_retries,
    mask,
    request_error,
    shared_limiter,
    status_error,
)

BASE = "https://api.example.test/v1"
LIMITS = Limits(batch_size=10, requests_per_second=0, max_concurrency=4)


class Sleeps(list[float]):
    """A fake sleep that records waits and moves a fake clock."""

    now = 1000.0

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def client(sleeps: Sleeps, **kw: object) -> HttpClient:
    return HttpClient(
        "demo",
        BASE,
        headers={"Authorization": "Bearer sk-verysecret"},
        limits=LIMITS,
        sleep=sleeps,
        limiter=RateLimiter(0, 4, clock=sleeps.clock, sleep=sleeps),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, RefusedRequest),
        (401, AuthenticationFailed),
        (403, AuthenticationFailed),
        (404, NotFound),
        (409, RefusedRequest),
        (422, RefusedRequest),
        (429, RateLimited),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
    ],
)
@responses.activate
def test_status_maps_to_error_class(status: int, error: type[ProviderError]) -> None:
    responses.get(f"{BASE}/x", status=status, json={"message": "nope"})
    with pytest.raises(error) as info:
        client(Sleeps(), retry=RetryPolicy(attempts=1)).json("GET", "/x")
    assert info.value.status == status and info.value.provider == "demo"


@pytest.mark.parametrize(
    ("status", "error", "retry_after"),
    [(429, RateLimited, 6.0), (503, TransientError, 6.0), (418, RefusedRequest, None)],
)
def test_status_error_reads_retry_after_from_any_headers(
    status: int, error: type[ProviderError], retry_after: float | None
) -> None:
    # one table for every path: requests' headers, or a plain mapping in any case
    answered = requests.structures.CaseInsensitiveDict({"Retry-After": "6"})
    for headers in ({"retry-after": "6"}, answered):
        err = status_error("demo", status, headers, "slow down", body="{}")
        assert type(err) is error and err.status == status and err.body == "{}"
        assert getattr(err, "retry_after", None) == retry_after


@responses.activate
def test_a_status_the_classifier_leaves_alone_is_an_unexpected_answer() -> None:
    responses.get(f"{BASE}/x", status=302, body="moved")
    with pytest.raises(UnexpectedAnswer, match="GET /x: unexpected answer: a status this call"):
        client(Sleeps(), classify=lambda _r: None).json("GET", "/x")
    assert len(responses.calls) == 1  # not retried


@responses.activate(registry=registries.OrderedRegistry)
def test_429_with_retry_after_waits_that_long_then_succeeds() -> None:
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "7"})
    responses.get(f"{BASE}/x", json={"ok": True})
    sleeps = Sleeps()
    http = client(sleeps)
    assert http.json("GET", "/x") == {"ok": True}
    assert sum(sleeps) == 7.0  # the account's limiter waited Retry-After once
    assert (http.stats.calls, http.stats.retries, http.stats.rate_limited) == (2, 1, 1)


@responses.activate(registry=registries.OrderedRegistry)
def test_retry_after_beyond_the_budget_is_not_waited_for() -> None:
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "900"})
    responses.get(f"{BASE}/x", json={"ok": True})
    sleeps = Sleeps()
    http = client(sleeps)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        http.json("GET", "/x")
    after = datetime.now(UTC)
    err = info.value
    assert err.beyond_budget and err.retry_after == 900.0
    assert err.resume_at is not None
    assert before + timedelta(seconds=900) <= err.resume_at <= after + timedelta(seconds=900)
    assert sum(sleeps) == 0.0  # not waited for, and the account's limiter is not paused
    http.limiter.wait_turn()
    assert sum(sleeps) == 0.0
    assert (http.stats.calls, http.stats.retries, http.stats.rate_limited) == (1, 0, 1)


@responses.activate(registry=registries.OrderedRegistry)
def test_retry_after_pauses_of_one_call_add_up_to_the_budget() -> None:
    for _ in range(2):
        responses.get(f"{BASE}/x", status=503, headers={"Retry-After": "40"})
    responses.get(f"{BASE}/x", json={"ok": True})
    sleeps = Sleeps()
    http = client(sleeps)
    with pytest.raises(TransientError) as info:
        http.json("GET", "/x")
    assert info.value.beyond_budget and info.value.retry_after == 40.0
    assert sum(sleeps) == 40.0  # the first pause fits in 60 s, the second would not
    assert http.stats.calls == 2
    sleeps.clear()
    assert client(sleeps, retry=RetryPolicy(max_retry_after=100)).json("GET", "/x") == {"ok": True}


@responses.activate(registry=registries.OrderedRegistry)
def test_500_then_success_backs_off_exponentially_with_jitter() -> None:
    for _ in range(3):
        responses.get(f"{BASE}/x", status=500)
    responses.get(f"{BASE}/x", json={"ok": 1})
    sleeps = Sleeps()
    assert client(sleeps, retry=RetryPolicy(initial=1.0)).json("GET", "/x") == {"ok": 1}
    assert len(sleeps) == 3
    for n, waited in enumerate(sleeps):
        assert 2**n / 2 <= waited <= 2**n  # jitter within [ceiling/2, ceiling]


@responses.activate
def test_500_forever_gives_up_after_the_budget() -> None:
    responses.get(f"{BASE}/x", status=500, body="boom")
    sleeps = Sleeps()
    http = client(sleeps, retry=RetryPolicy(attempts=4))
    with pytest.raises(TransientError):
        http.json("GET", "/x")
    assert http.stats.calls == 4 and len(sleeps) == 3


@responses.activate(registry=registries.OrderedRegistry)
def test_timeouts_and_dropped_connections_are_retried() -> None:
    responses.get(f"{BASE}/x", body=requests.Timeout("read timed out"))
    responses.get(f"{BASE}/x", body=requests.ConnectionError("reset by peer"))
    responses.get(f"{BASE}/x", json={"ok": 2})
    assert client(Sleeps()).json("GET", "/x") == {"ok": 2}


@responses.activate(registry=registries.OrderedRegistry)
def test_answers_that_break_off_are_transient_and_retried() -> None:
    responses.get(f"{BASE}/x", body=requests.exceptions.ChunkedEncodingError("broke off"))
    responses.get(f"{BASE}/x", body=requests.exceptions.ContentDecodingError("bad gzip"))
    responses.get(f"{BASE}/x", json={"ok": 3})
    http = client(Sleeps())
    assert http.json("GET", "/x") == {"ok": 3}
    assert http.stats.retries == 2


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.InvalidURL("Failed to parse: https://sk-verysecret@"),
        requests.exceptions.InvalidSchema("No connection adapters were found"),
        requests.exceptions.MissingSchema("Invalid URL 'x': No scheme supplied"),
        requests.exceptions.InvalidHeader(
            "Invalid return character in header: Bearer sk-verysecret"
        ),
    ],
)
def test_url_and_header_problems_are_bad_configuration_without_secrets(error: Exception) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/x", body=error)
        http = client(Sleeps())
        with pytest.raises(BadConfiguration) as info:
            http.json("GET", "/x")
    assert http.stats.calls == 1  # not retried
    assert "sk-verysecret" not in str(info.value)
    assert type(error).__name__ in str(info.value)
    assert ("header" if isinstance(error, requests.exceptions.InvalidHeader) else "URL") in str(
        info.value
    )


def _request_exceptions() -> list[type[requests.RequestException]]:
    found = [requests.RequestException]
    for cls in found:
        found += [c for c in cls.__subclasses__() if c not in found]
    return [c for c in found if c.__module__.startswith("requests")]


@pytest.mark.parametrize("cls", _request_exceptions(), ids=lambda c: c.__name__)
def test_every_requests_exception_is_translated(cls: type[requests.RequestException]) -> None:
    try:
        raised = cls("Bearer sk-verysecret")
    except TypeError:  # JSONDecodeError takes (msg, doc, pos)
        raised = cls("Bearer sk-verysecret", "{", 0)  # type: ignore[call-arg]
    err = request_error(raised, provider="demo", what="GET /x")
    assert type(err) is _translated(cls)
    assert "sk-verysecret" not in str(err)
    assert cls.__name__ in str(err) or "redirects" in str(err)


def _translated(cls: type[requests.RequestException]) -> type[ProviderError]:
    """The one class each ``requests`` exception must become: a URL, header or redirect loop
    the user fixes is BadConfiguration, a body that cannot be sent a RefusedRequest, the rest
    (timeouts, dropped connections, broken answers, anything unknown) TransientError."""
    exc = requests.exceptions
    if issubclass(cls, exc.InvalidJSONError):  # the request body could not be encoded
        return RefusedRequest
    bad = (exc.InvalidURL, exc.InvalidSchema, exc.MissingSchema, exc.URLRequired)
    if issubclass(cls, (*bad, exc.InvalidHeader, exc.TooManyRedirects)):
        return BadConfiguration
    return TransientError


@responses.activate
def test_permanent_errors_are_not_retried() -> None:
    responses.get(f"{BASE}/x", status=401)
    http = client(Sleeps())
    with pytest.raises(AuthenticationFailed):
        http.json("GET", "/x")
    assert http.stats.calls == 1


@responses.activate
def test_expected_statuses_are_returned_not_raised() -> None:
    responses.post(f"{BASE}/x", status=400, json={"failureReasons": []})
    assert client(Sleeps()).request("POST", "/x", expected=(200, 400)).status_code == 400


@responses.activate
def test_secrets_are_masked_in_errors_even_when_the_server_echoes_them() -> None:
    responses.get(f"{BASE}/x", status=400, body="bad token sk-verysecret for acct")
    with pytest.raises(RefusedRequest) as info:
        client(Sleeps(), secrets=["acct-key-9"]).json("GET", "/x")
    text = f"{info.value} {info.value.body}"
    assert "sk-verysecret" not in text and "***" in text


def test_mask_leaves_short_or_empty_secrets_alone() -> None:
    assert mask("a key abcd and ab", ["abcd", "ab", ""]) == "a key *** and ab"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<html>login</html>", "an HTML page, not JSON ('<html>login</html>')"),
        ('{"data": [', "not JSON ('{\"data\": [')"),
        ("[]", "a JSON array, not an object"),
        ('"ok"', "a JSON string, not an object"),
        ("null", "JSON null, not an object"),
    ],
)
@responses.activate
def test_an_answer_that_is_not_a_json_object_is_unexpected_not_configuration(
    body: str, problem: str
) -> None:
    responses.get(f"{BASE}/x", body=body)
    with pytest.raises(UnexpectedAnswer) as info:
        client(Sleeps()).json("GET", "/x")
    assert str(info.value).startswith(f"demo: GET /x: unexpected answer: {problem}")
    assert not isinstance(info.value, BadConfiguration) and not info.value.retryable
    assert len(responses.calls) == 1  # not retried


@responses.activate
def test_secrets_echoed_in_an_unexpected_answer_are_masked() -> None:
    responses.get(f"{BASE}/x", body="<html>token sk-verysecret</html>")
    with pytest.raises(UnexpectedAnswer) as info:
        client(Sleeps(), secrets=["sk-verysecret"]).json("GET", "/x")
    assert "sk-verysecret" not in str(info.value) and "***" in str(info.value)


@responses.activate
def test_an_empty_body_is_an_empty_object() -> None:
    responses.get(f"{BASE}/x", body="", status=204)
    assert client(Sleeps()).json("GET", "/x") == {}


def test_limiter_spaces_request_starts_evenly() -> None:
    now = [100.0]
    waited: list[float] = []

    def sleep(s: float) -> None:
        waited.append(s)
        now[0] += s

    limiter = RateLimiter(5, 2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        with limiter.slot():
            pass
    assert waited == pytest.approx([0.2, 0.2, 0.2])


def test_limiter_pause_delays_every_thread_of_the_account() -> None:
    now = [0.0]
    waited: list[float] = []

    def sleep(s: float) -> None:
        waited.append(s)
        now[0] += s

    limiter = RateLimiter(0, 2, clock=lambda: now[0], sleep=sleep)
    limiter.pause(3.0)
    limiter.wait_turn()
    assert waited == [3.0]


@pytest.mark.serial  # the peak needs two threads inside one 20 ms sleep at once: timing
def test_limiter_caps_requests_in_flight() -> None:
    limiter = RateLimiter(0, 2)
    inside = 0
    peak = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, peak
        with limiter.slot():
            with guard:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.02)
            with guard:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


class SdkError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"sdk failed {status} with key key-123456")
        self.status = status


def test_call_with_retries_translates_third_party_errors_and_retries() -> None:
    answers = iter([SdkError(503), SdkError(503), "done"])

    def call() -> str:
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    def translate(err: Exception) -> ProviderError | None:
        if isinstance(err, SdkError):
            return TransientError(str(err), provider="sdk", status=err.status)
        return None

    stats = CallStats()
    result = call_with_retries(
        call, provider="sdk", translate=translate, limiter=RateLimiter(0, 1), stats=stats,
        sleep=lambda _s: None,
    )  # fmt: skip
    assert result == "done" and (stats.calls, stats.retries) == (3, 2)

    def fails() -> str:
        raise SdkError(503)

    with pytest.raises(TransientError) as info:
        call_with_retries(
            fails, provider="sdk", translate=translate, limiter=RateLimiter(0, 1),
            stats=CallStats(), sleep=lambda _s: None, secrets=["key-123456"],
        )  # fmt: skip
    assert "key-123456" not in str(info.value)
    assert isinstance(info.value.__cause__, SdkError)


def test_call_with_retries_reraises_what_translate_does_not_know() -> None:
    def boom() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        call_with_retries(
            boom, provider="x", translate=lambda _e: None, limiter=RateLimiter(0, 1),
            stats=CallStats(), sleep=lambda _s: None,
        )  # fmt: skip


def test_one_limiter_per_account_and_none_shared_between_accounts() -> None:
    def make(token: str) -> HttpClient:
        headers = {"Authorization": f"Bearer {token}"}
        return HttpClient("demo", "https://same.example.test/v2/", headers=headers, limits=LIMITS)

    first, again, other = make("tok-account-one"), make("tok-account-one"), make("tok-account-two")
    assert first.limiter is again.limiter  # one account: one budget, however many clients
    assert first.limiter is not other.limiter  # same base URL, another account: its own
    key = account_key("demo", "https://same.example.test/v2", first.secrets)
    assert key.startswith("demo:https://same.example.test/v2:")
    assert "tok-account-one" not in key and shared_limiter(key, LIMITS) is first.limiter


def test_an_injected_sleep_governs_the_limiter_waits() -> None:
    sleeps = Sleeps()
    limits = Limits(batch_size=1, requests_per_second=2, max_concurrency=1)
    http = HttpClient("demo", BASE, headers={"Api-Token": "tok-x1"}, limits=limits, sleep=sleeps)
    http.limiter.wait_turn()
    http.limiter.wait_turn()
    assert sleeps and sleeps[-1] > 0  # the fake sleep was asked to wait, not time.sleep


@responses.activate(registry=registries.OrderedRegistry)
def test_a_retry_after_pause_is_told_to_the_stats_listener() -> None:
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "7"})
    responses.get(f"{BASE}/x", json={"ok": True})
    http = client(Sleeps())
    told: list[float] = []
    http.stats.on_wait = told.append
    assert http.json("GET", "/x") == {"ok": True}
    assert told == [7.0]  # the run's progress can say "waiting on Retry-After 7s"


def _closed_local_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


def test_a_local_address_that_refuses_is_tried_twice_and_says_the_emulator_is_not_running() -> None:
    from providers.errors import NotAnswering

    port = _closed_local_port()
    sleeps = Sleeps()
    http = HttpClient(
        "demo", f"http://127.0.0.1:{port}/v1", limits=LIMITS, sleep=sleeps,
        limiter=RateLimiter(0, 4, clock=sleeps.clock, sleep=sleeps),
    )  # fmt: skip
    with pytest.raises(NotAnswering) as info:
        http.json("GET", "/lists")
    assert http.stats.calls == 2 and sum(sleeps) <= 1.0  # not six tries over a minute
    assert f"nothing is answering at 127.0.0.1:{port}" in str(info.value)
    assert "is the emulator running? `make demo` starts them" in str(info.value)


@responses.activate
def test_a_refused_remote_host_is_retried_as_before() -> None:
    responses.get(f"{BASE}/x", body=requests.ConnectionError("Connection refused"))
    with pytest.raises(TransientError) as info:
        client(Sleeps()).json("GET", "/x")
    assert "emulator" not in str(info.value)
    assert len(responses.calls) == RetryPolicy().attempts


def test_the_mailchimp_sdk_path_says_the_emulator_is_not_running_too() -> None:
    from providers.errors import NotAnswering
    from providers.mailchimp import Mailchimp

    port = _closed_local_port()
    provider = Mailchimp.from_credentials(
        {"api_key": "demo-us1"}, base_url=f"http://127.0.0.1:{port}/3.0", sleep=Sleeps()
    )
    with pytest.raises(NotAnswering) as info:
        provider.check()
    assert f"127.0.0.1:{port}" in str(info.value) and "emulator running" in str(info.value)
