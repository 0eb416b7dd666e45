"""HTTP behaviour every provider shares, configured once: session, timeouts, retries, rate limits,
secret masking, HTTP status -> error class.

    HttpClient          a pooled ``requests`` session bound to one provider account: base URL,
                        headers, timeout; ``request``/``json`` retry retryable failures
    call_with_retries   the same retry / rate-limit / call-count behaviour around any call (the
                        Mailchimp SDK makes its own HTTP requests)
    RateLimiter         requests per second (evenly spaced) and requests in flight, per account
    shared_limiter      one RateLimiter per account key in this process, whatever the number of
                        clients or threads using it; ``account_key`` makes the key from the
                        provider, base URL and a hash of the credentials (one account, one
                        limiter; two accounts on one base URL never throttle each other)
    AccountLimiter      what a client needs of a limiter (``slot``, ``pause``);
                        ``use_limiter_factory`` makes ``shared_limiter`` build another kind, e.g.
                        one shared by every process through Redis (``providers.redis_limits``)

``status_error`` is the one HTTP status -> error class table, for every provider and both paths
(``requests`` answers and the Mailchimp SDK's errors): it takes the status, the answer's headers
(``Retry-After``) and a one-line reason; providers decide what differs for them first.
``request_error`` translates every ``requests`` exception: timeouts, dropped connections and
answers that break off are TransientError; a malformed URL or header, or a redirect loop, is
BadConfiguration; a body that cannot be encoded is a RefusedRequest.

Waiting: a client given no ``sleep`` waits in real time on its account's process-wide limiter;
one given a ``sleep`` (tests, simulations: time that is not the wall clock's) waits with it, on a
limiter of its own (the shared one's clock is the real one).

Retries (tenacity): RetryableError (429, 5xx, timeouts, dropped connections) is retried with
exponential backoff and jitter, up to ``RetryPolicy.attempts`` tries in all; a 429 (or 5xx) that
says ``Retry-After`` pauses the whole account's limiter that long instead (every thread of the
account waits, not just the one that was told). A ``Retry-After`` that would take one call's
pauses past ``RetryPolicy.max_retry_after`` (60 s) is not waited for at all: the error is raised
at once, marked ``beyond_budget``, with the provider's ``resume_at``, and the limiter is not
paused (the run ends partial and records when to come back). Every other error is raised at
once. A refused connection to a loopback address (``NotAnswering``: nothing listens there, an
emulator that is not running) is tried ``LOCAL_REFUSAL_ATTEMPTS`` times, not for a minute, and
says so. Secrets (credential
header values, and any passed in ``secrets``) are replaced by ``***`` in every error message and
body the client raises.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from providers.base import CallStats, Limits
from providers.errors import (
    AuthenticationFailed,
    BadConfiguration,
    NotAnswering,
    NotFound,
    ProviderError,
    RateLimited,
    RefusedRequest,
    RetryableError,
    TransientError,
    UnexpectedAnswer,
)
from providers.shapes import decode

T = TypeVar("T")
Classifier = Callable[[requests.Response], ProviderError | None]
Sleep = Callable[[float], None]

USER_AGENT = "syncer/0.1 (+segment sync)"
MASK = "***"
# Header values that carry credentials; they are masked wherever they could be echoed back.
SECRET_HEADERS = ("authorization", "api-token", "api-key", "x-api-key")
# Tries in all when a local address refuses the connection (an emulator that is not running).
LOCAL_REFUSAL_ATTEMPTS = 2


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; waits grow ``initial * 2**n`` (jittered) up to ``maximum``."""

    attempts: int = 6
    initial: float = 0.5
    maximum: float = 30.0
    # Retry-After pauses of one call add up to at most this; a longer one is not waited for (the
    # error is raised at once and the run ends partial, recording when the provider said to come
    # back).
    max_retry_after: float = 60.0


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and the token part of ``Bearer x``/``Basic x``) masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


class RateLimiter:
    """Spaces request starts ``1 / requests_per_second`` apart and caps requests in flight.

    Thread-safe. ``requests_per_second <= 0`` means no spacing (only the concurrency cap).
    """

    def __init__(
        self,
        requests_per_second: float,
        max_concurrency: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.interval = 1.0 / requests_per_second if requests_per_second > 0 else 0.0
        self.max_concurrency = max(1, max_concurrency)
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.max_concurrency)

    def wait_turn(self) -> float:
        """Block until this request may start; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)

    def pause(self, seconds: float) -> None:
        """No request of this account starts for ``seconds`` (a 429 said so)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)

    @contextmanager
    def slot(self) -> Iterator[None]:
        self._slots.acquire()
        try:
            self.wait_turn()
            yield
        finally:
            self._slots.release()


class AccountLimiter(Protocol):
    """What a client needs of an account's limiter: a slot to send one request in (waits for a
    free slot and for the account's turn), and a pause of the whole account (a Retry-After)."""

    def slot(self) -> AbstractContextManager[None]: ...

    def pause(self, seconds: float) -> None: ...


# Builds the limiter of an account key (see ``use_limiter_factory``).
LimiterFactory = Callable[[str, Limits], AccountLimiter]

_LIMITERS: dict[str, AccountLimiter] = {}
_LIMITERS_GUARD = threading.Lock()
_FACTORY: list[LimiterFactory | None] = [None]


def use_limiter_factory(factory: LimiterFactory | None) -> None:
    """From now on ``shared_limiter`` builds accounts' limiters with ``factory`` (None: the
    in-process ``RateLimiter``, the default); limiters built before are forgotten."""
    with _LIMITERS_GUARD:
        _FACTORY[0] = factory
        _LIMITERS.clear()


def account_key(provider: str, base_url: str, secrets: Iterable[str]) -> str:
    """``provider:base_url:<hash>``: one key per account. Providers limit per account, and
    accounts of one provider often share a base URL (Sendlane's is the same for all), so the
    credentials tell them apart: a short SHA-256 of them, never the secrets themselves."""
    digest = hashlib.sha256("\0".join(sorted(s for s in secrets if s)).encode()).hexdigest()
    return f"{provider}:{base_url.rstrip('/')}:{digest[:16]}"


def shared_limiter(account: str, limits: Limits) -> AccountLimiter:
    """The process-wide limiter of ``account`` (a key from ``account_key``)."""
    with _LIMITERS_GUARD:
        if account not in _LIMITERS:
            factory = _FACTORY[0]
            _LIMITERS[account] = (
                factory(account, limits)
                if factory is not None
                else RateLimiter(limits.requests_per_second, limits.max_concurrency)
            )
        return _LIMITERS[account]


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (HTTP dates are not used by these providers)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


# requests' exceptions that mean the URL or a header is wrong: retrying cannot help.
URL_ERRORS = (
    requests.exceptions.InvalidURL,  # also InvalidProxyURL
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.URLRequired,
)
# The answer broke off or could not be decoded: worth another try.
BROKEN_ANSWERS = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    requests.exceptions.RetryError,
)


def request_error(err: requests.RequestException, *, provider: str, what: str) -> ProviderError:
    """``err`` (anything ``requests`` raises) as a provider error; ``what`` names the call, e.g.
    ``"GET https://host/v2/lists"``. Messages carry the exception's type, never its text (an
    invalid header's text is the header value: a credential)."""
    kind = type(err).__name__
    if isinstance(err, requests.Timeout):
        return TransientError(f"{what} timed out ({kind})", provider=provider)
    if isinstance(err, requests.ConnectionError):
        local = _refused_locally(err)
        if local is not None:
            return NotAnswering(
                f"{what}: nothing is answering at {local} (connection refused): is the "
                "emulator running? `make demo` starts them (or `.venv/bin/syncer emulator "
                "serve --provider NAME --port PORT`)",
                provider=provider,
            )
        return TransientError(f"{what}: connection failed ({kind})", provider=provider)
    if isinstance(err, BROKEN_ANSWERS):
        return TransientError(f"{what}: the answer broke off ({kind})", provider=provider)
    if isinstance(err, URL_ERRORS):
        return BadConfiguration(
            f"{what}: not a usable URL ({kind}); base_url must look like https://host/path",
            provider=provider,
        )
    if isinstance(err, requests.exceptions.InvalidHeader):
        return BadConfiguration(
            f"{what}: a request header is not valid ({kind}); check the credentials for "
            "spaces or line breaks",
            provider=provider,
        )
    if isinstance(err, requests.exceptions.TooManyRedirects):
        return BadConfiguration(f"{what}: too many redirects; check base_url", provider=provider)
    if isinstance(err, requests.exceptions.InvalidJSONError):
        return RefusedRequest(f"{what}: the request body is not JSON ({kind})", provider=provider)
    return TransientError(f"{what}: request failed ({kind})", provider=provider)


def _refused_locally(err: requests.ConnectionError) -> str | None:
    """``host:port`` when ``err`` is a refused connection to a loopback address, else None."""
    text = str(err).lower()
    if "refused" not in text and "errno 111" not in text:
        return None
    url = getattr(getattr(err, "request", None), "url", None)
    try:
        parts = urlsplit(url or "")
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return None
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return f"{host}:{port}" if loopback and port else (host if loopback else None)


def status_error(
    provider: str,
    status: int,
    headers: Mapping[str, str],
    reason: str,
    *,
    body: str | None = None,
    auth: str = "credentials refused",
) -> ProviderError:
    """The error of an HTTP error ``status``: 401/403 AuthenticationFailed, 404 NotFound, 429
    RateLimited and 5xx TransientError (both with the ``Retry-After`` of ``headers``, looked up
    in any case), any other status RefusedRequest. ``reason`` is one line naming what was
    refused; ``body`` the raw answer. Providers handle what differs for them first."""
    kw: dict[str, Any] = {"provider": provider, "status": status, "body": body}
    if status in (401, 403):
        return AuthenticationFailed(f"{auth}: {reason}", **kw)
    if status == 404:
        return NotFound(reason, **kw)
    if status == 429 or status >= 500:
        after = retry_after_seconds(_header(headers, "Retry-After"))
        if status == 429:
            return RateLimited(f"rate limited: {reason}", retry_after=after, **kw)
        return TransientError(f"server error: {reason}", retry_after=after, **kw)
    return RefusedRequest(reason, **kw)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]`` in any case (``requests`` headers ignore case already; plain dicts)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def default_classifier(provider: str) -> Classifier:
    """``status_error`` with the first line of the body as the reason."""

    def classify(response: requests.Response) -> ProviderError | None:
        if response.status_code < 400:
            return None
        lines = (response.text or response.reason or "").strip().splitlines()
        reason = lines[0][:200] if lines else f"HTTP {response.status_code}"
        return status_error(
            provider, response.status_code, response.headers, reason, body=response.text
        )

    return classify


class _Wait:
    """tenacity wait: the answer's Retry-After when given, else exponential backoff, full jitter."""

    def __init__(self, policy: RetryPolicy, rng: random.Random) -> None:
        self.policy = policy
        self.rng = rng

    def __call__(self, state: RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        if isinstance(err, RetryableError) and err.retry_after is not None:
            return 0.0  # the account's limiter is paused for Retry-After (see ``_note``)
        ceiling = min(self.policy.maximum, self.policy.initial * 2 ** (state.attempt_number - 1))
        return self.rng.uniform(ceiling / 2, ceiling)


def _retrying(policy: RetryPolicy, stats: CallStats, sleep: Sleep) -> Retrying:
    def count_retry(_state: RetryCallState) -> None:
        stats.add(retries=1)

    return Retrying(
        stop=stop_after_attempt(max(1, policy.attempts)) | _LocalRefusalSpent(),
        wait=_Wait(policy, random.Random()),
        retry=retry_if_exception(_worth_retrying),
        sleep=sleep,
        before_sleep=count_retry,
        reraise=True,
    )


def _worth_retrying(err: BaseException) -> bool:
    return isinstance(err, RetryableError) and not err.beyond_budget


class _LocalRefusalSpent(stop_base):
    """tenacity stop: a local address that refused twice is not listening (seconds, not a
    minute of backoff)."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        err = outcome.exception() if outcome else None
        return isinstance(err, NotAnswering) and (
            retry_state.attempt_number >= LOCAL_REFUSAL_ATTEMPTS
        )


def _scrub(err: ProviderError, secrets: Sequence[str]) -> ProviderError:
    """Mask secrets in an error's message, text and body, in place."""
    err.message = mask(err.message, secrets)
    err.args = tuple(mask(str(a), secrets) for a in err.args)
    if err.body:
        err.body = mask(err.body, secrets)
    return err


def call_with_retries(
    fn: Callable[[], T],
    *,
    provider: str,
    translate: Callable[[Exception], ProviderError | None],
    limiter: AccountLimiter,
    stats: CallStats,
    retry: RetryPolicy | None = None,
    sleep: Sleep | None = None,
    secrets: Sequence[str] = (),
) -> T:
    """Run ``fn`` (one API call) under ``limiter``, counted in ``stats``, retried like
    ``HttpClient.request``. ``translate`` maps the call's own exceptions to the error tree;
    None means "not a provider error": it is re-raised as it is."""
    policy = retry or RetryPolicy()
    paused = [0.0]  # Retry-After seconds this call has waited so far

    def once() -> T:
        with limiter.slot():
            stats.add(calls=1)
            try:
                return fn()
            except ProviderError as err:
                raise _note(_scrub(err, secrets), limiter, stats, policy, paused)  # noqa: B904 (keeps its cause)
            except Exception as err:
                mapped = translate(err)
                if mapped is None:
                    raise
                raise _note(_scrub(mapped, secrets), limiter, stats, policy, paused) from err

    return _retrying(policy, stats, time.sleep if sleep is None else sleep)(once)


def _note(
    err: ProviderError,
    limiter: AccountLimiter,
    stats: CallStats,
    policy: RetryPolicy,
    paused: list[float],
) -> ProviderError:
    """Count a 429; pause the account for a Retry-After within the call's budget, or mark the
    error ``beyond_budget`` (not retried, no pause) when waiting would exceed it."""
    if isinstance(err, RateLimited):
        stats.add(rate_limited=1)
    if isinstance(err, RetryableError) and err.retry_after is not None:
        if paused[0] + err.retry_after > policy.max_retry_after:
            err.beyond_budget = True
        else:
            paused[0] += err.retry_after
            limiter.pause(err.retry_after)
            stats.wait(err.retry_after)
    return err


class HttpClient:
    """A provider account's HTTP access: every call is limited, counted, classified, retried."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        limits: Limits,
        session: requests.Session | None = None,
        sleep: Sleep | None = None,
        classify: Classifier | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        limiter: AccountLimiter | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self.session = session or requests.Session()
        self.sleep = time.sleep if sleep is None else sleep
        self.classify = classify or default_classifier(provider)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.stats = CallStats()
        header_secrets = [v for k, v in self.headers.items() if k.lower() in SECRET_HEADERS]
        tokens = [v.split(" ", 1)[1] for v in header_secrets if " " in v]
        self.secrets = tuple(s for s in (*secrets, *header_secrets, *tokens) if s)
        if limiter is None and sleep is not None:
            # time that is not the wall clock's governs the limiter's waits too: one of its own
            limiter = RateLimiter(limits.requests_per_second, limits.max_concurrency, sleep=sleep)
        key = account_key(provider, self.base_url, self.secrets)
        self.limiter = limiter or shared_limiter(key, limits)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expected: Collection[int] = (200, 201, 202, 204),
    ) -> requests.Response:
        """Send one request; a status in ``expected`` is returned, any other raises its error
        class (retryable ones after the retry policy is spent)."""

        def send() -> requests.Response:
            try:
                response = self.session.request(
                    method,
                    self.url(path),
                    params=params,
                    json=json,
                    headers=self.headers,
                    timeout=self.timeout,
                )
            except requests.Timeout as err:
                raise TransientError(
                    f"{method} {path} timed out after {self.timeout:g}s", provider=self.provider
                ) from err
            except requests.RequestException as err:
                what = f"{method} {mask(self.url(path), self.secrets)}"
                raise request_error(err, provider=self.provider, what=what) from err
            if response.status_code in expected:
                return response
            error = self.classify(response) or UnexpectedAnswer(
                f"{method} {path}",
                "a status this call does not expect",
                provider=self.provider,
                status=response.status_code,
                body=response.text,
            )
            raise error

        return call_with_retries(
            send,
            provider=self.provider,
            translate=lambda _err: None,
            limiter=self.limiter,
            stats=self.stats,
            retry=self.retry,
            sleep=self.sleep,
            secrets=self.secrets,
        )

    def json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        """``request`` and the decoded JSON object (``{}`` for an empty body); any other body
        (an HTML page, JSON that does not parse, an array) is an ``UnexpectedAnswer`` naming
        ``method path``."""
        response = self.request(method, path, **kw)
        try:
            return decode(
                response.text,
                provider=self.provider,
                what=f"{method} {path}",
                status=response.status_code,
            )
        except UnexpectedAnswer as err:
            raise _scrub(err, self.secrets) from None
