"""Provider errors, sorted by what a retry means.

    ProviderError                 base: provider name, HTTP status, truncated body (secrets masked)
    ├── RetryableError            worth retrying the same request later (``retry_after`` seconds
    │   │                         and ``resume_at``, the UTC time, when the provider says when)
    │   ├── RateLimited           429
    │   └── TransientError        5xx, timeout, connection reset, dropped connection
    ├── FatalError                the run cannot go on; retrying will not help
    │   ├── AuthenticationFailed  401/403 on credentials
    │   ├── NotFound              the list or tag is gone (404)
    │   ├── BadConfiguration      the provider refuses the destination or the request shape
    │   ├── UnexpectedAnswer      a success status whose body is not the answer the call documents
    │   └── Unsupported           the provider cannot do what was asked
    └── MemberRejected            permanent for one member (invalid email, compliance state)

A per-member rejection inside a batch answer is not raised: it becomes an ``Outcome`` with
``status=REJECTED``. ``MemberRejected`` is for single-member calls.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ProviderError(Exception):
    """Base of every provider error. ``str()`` never contains a secret."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        body: str | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.body = body[:500] if body else body
        prefix = f"{provider}: " if provider else ""
        suffix = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{prefix}{message}{suffix}")
        self.message = message


class RetryableError(ProviderError):
    """``retry_after``: the seconds the provider asked to wait (``Retry-After``), None if it did
    not say; ``resume_at``: the UTC time that comes to, fixed when the answer arrived.
    ``beyond_budget``: the HTTP layer did not wait that long (see ``RetryPolicy``)."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.beyond_budget = False
        self.asked_to_wait(retry_after)

    def asked_to_wait(self, seconds: float | None, now: datetime | None = None) -> RetryableError:
        """Record the provider's ``Retry-After``: ``seconds`` from ``now`` (the time the answer
        arrived, default the current time); returns self."""
        self.retry_after = seconds
        at = now or datetime.now(UTC)
        self.resume_at: datetime | None = (
            None if seconds is None else at + timedelta(seconds=seconds)
        )
        return self


class RateLimited(RetryableError):
    pass


class TransientError(RetryableError):
    pass


class FatalError(ProviderError):
    pass


class AuthenticationFailed(FatalError):
    pass


class NotFound(FatalError):
    pass


class BadConfiguration(FatalError):
    pass


class Unsupported(FatalError):
    pass


class UnexpectedAnswer(FatalError):
    """A call succeeded (2xx) but its body is not the answer it documents: an HTML page, JSON
    that does not parse, an array, an empty body, or an object missing a field the adapter
    relies on. The message names the call (``what``: method and path, no query, no secret) and
    the ``problem``. Nothing is settled from such an answer.

    Not retried: repeating a write whose answer could not be read may repeat the write, and a
    changed shape answers the same next time. The run ends ``failed`` with its changes still
    pending; the next run sends them again."""

    def __init__(self, what: str, problem: str, **kw: object) -> None:
        super().__init__(f"{what}: unexpected answer: {problem}", **kw)  # type: ignore[arg-type]
        self.what = what
        self.problem = problem


class MemberRejected(ProviderError):
    def __init__(self, message: str, *, email: str = "", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.email = email
