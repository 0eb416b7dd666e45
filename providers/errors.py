"""Provider errors, sorted by what a retry means.

    ProviderError                 base: provider name, HTTP status, truncated body (secrets masked)
    ├── RetryableError            the same request may succeed later (``retry_after`` seconds and
    │   │                         ``resume_at``, the UTC time, when the provider says when)
    │   ├── RateLimited           429, and the providers' other "slow down" answers
    │   └── TransientError        5xx, timeout, connection reset, an answer that broke off
    ├── FatalError                the run ends ``failed``; retrying the same request will not help
    │   ├── AuthenticationFailed  401/403 on credentials: the user fixes the credentials
    │   ├── NotFound              the list or tag is gone (404): the user fixes the list id
    │   │   └── TagRefused        (providers.sendlane) a 422 refusing a deleted tag's cached id
    │   ├── BadConfiguration      something the user must fix: credentials, base URL, list id,
    │   │                         merge field, batch size, provider name
    │   ├── RefusedRequest        the provider refused the request as sent (a 4xx no table
    │   │   │                     knows) or it could not be sent as built: it fails again as is
    │   │   └── ImportRefused     (providers.activecampaign) the importer refused some contacts
    │   ├── UnexpectedAnswer      a success status whose body is not the answer the call documents
    │   └── Unsupported           the provider cannot do what was asked
    └── MemberRejected            permanent for one member (invalid email, compliance state)
        └── ValidationFailed      (providers.sendlane) a 422 keyed by contact and attribute

A per-member rejection inside a batch answer is not raised: it becomes an ``Outcome`` with
``status=REJECTED``. ``MemberRejected`` is for single-member calls. The HTTP status -> class
table is ``providers.http.status_error``, used by every provider.
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


class NotAnswering(TransientError):
    """A local address (127.0.0.1, localhost) refused the connection: nothing listens there,
    typically an emulator that is not running. Retried once, briefly, not for minutes."""


class FatalError(ProviderError):
    pass


class AuthenticationFailed(FatalError):
    pass


class NotFound(FatalError):
    pass


class BadConfiguration(FatalError):
    """Something the user must fix before a retry can help; the message names it."""


class RefusedRequest(FatalError):
    """The provider refused the request as it was sent (a 4xx the status table does not know,
    a validation error that names no member, a batch refused on every try), or the request
    could not be sent as built. Sending it again fails again; nothing is for the user to fix
    in their configuration."""


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
