"""Sendlane's error answers -> the provider error tree, in one place.

Errors come as ``{message, errors}``: ``errors`` keyed by attribute for validation (422, Laravel
style: ``contacts.3.email``), else a list of messages; a 401 may be an HTML page.

    401                     AuthenticationFailed
    403 "blocked"/"too many" RateLimited (the account is blocked for a while after many errors;
                            retried with backoff, then the run ends partial with pending kept)
    403 otherwise           AuthenticationFailed (the token lacks access)
    404                     NotFound
    422                     ValidationFailed (a MemberRejected carrying the keyed errors)
    429                     RateLimited (no Retry-After is sent: exponential backoff with jitter)
    5xx                     TransientError
    other 4xx               RefusedRequest
"""

from __future__ import annotations

import re
from typing import Any

import requests

from providers.errors import (
    AuthenticationFailed,
    MemberRejected,
    ProviderError,
    RateLimited,
)
from providers.http import status_error

PROVIDER = "sendlane"
_MEMBER_KEY = re.compile(r"^contacts\.(\d+)\.")
_TAGS = re.compile(r"<[^>]+>")


class ValidationFailed(MemberRejected):
    """A 422: ``errors`` keyed by attribute (``contacts.3.email``) or a list of messages."""

    def __init__(self, message: str, *, errors: Any, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors = errors

    def members(self) -> dict[int, str]:
        """Index of each refused contact in the payload -> the messages about it."""
        out: dict[int, str] = {}
        if isinstance(self.errors, dict):
            for key, msgs in self.errors.items():
                if m := _MEMBER_KEY.match(str(key)):
                    text = "; ".join(map(str, msgs)) if isinstance(msgs, list) else str(msgs)
                    i = int(m.group(1))
                    out[i] = f"{out[i]}; {text}" if i in out else text
        return out


def reason_of(response: requests.Response) -> str:
    """One line from ``{message, errors}`` (errors keyed by attribute or a list), or HTML/text."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(_TAGS.sub(" ", response.text or "").split())
        return text[:160] or response.reason or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return str(body)[:160]
    parts = [str(body["message"])] if body.get("message") else []
    errors = body.get("errors")
    if isinstance(errors, dict):
        for key, msgs in errors.items():
            parts.append(f"{key}: {'; '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}")
    elif isinstance(errors, list):
        parts += [str(e) for e in errors]
    return "; ".join(parts) or f"HTTP {response.status_code}"


def classify(response: requests.Response) -> ProviderError | None:
    status = response.status_code
    if status < 400:
        return None
    reason = reason_of(response)
    kw: dict[str, Any] = {"provider": PROVIDER, "status": status, "body": response.text}
    if status == 403:
        if any(w in reason.lower() for w in ("block", "too many")):
            return RateLimited(f"blocked for a while: {reason}", **kw)
        return AuthenticationFailed(f"API token lacks access: {reason}", **kw)
    if status == 422:
        try:
            errors = response.json().get("errors")
        except (ValueError, AttributeError):
            errors = None
        return ValidationFailed(reason, errors=errors, **kw)
    return status_error(
        PROVIDER, status, response.headers, reason, body=response.text, auth="API token refused"
    )
