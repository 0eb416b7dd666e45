"""ActiveCampaign's error answers -> the provider error tree, in one place.

ActiveCampaign answers errors in several shapes (see the design notes on providers):
``{"errors": [{title, detail, code, source: {pointer}}]}`` (422), ``{"errors": [{status, title,
detail}]}``, ``{"message": ...}`` (404), and the bulk importer's ``{success: 0, message,
failureReasons}`` (400), where ``failureReasons`` is either ``[{contact: <index>, failureReason}]``
(the payload was refused whole because of those contacts) or a list of strings ("Rate limit
exceeded.": at most 100 imports a minute).

    401, 403              AuthenticationFailed (a bad ``Api-Token`` answers 403)
    404                   NotFound
    429                   RateLimited (``Retry-After`` seconds when sent)
    400 "Rate limit"      RateLimited, 60 s (the importer's per-minute cap)
    400 failureReasons    ImportRefused (a RefusedRequest carrying the refused contact indexes)
    422                   MemberRejected (single-member calls: invalid email, duplicate, ...)
    5xx                   TransientError (a 503 has been reported under load)
    other 4xx             RefusedRequest
"""

from __future__ import annotations

from typing import Any

import requests

from providers.errors import (
    MemberRejected,
    ProviderError,
    RateLimited,
    RefusedRequest,
)
from providers.http import status_error

PROVIDER = "activecampaign"
IMPORT_RATE_WAIT = 60.0  # "Up to 100 imports may be requested per minute"


class ImportRefused(RefusedRequest):
    """The bulk importer refused the whole payload because of some contacts.

    ``contacts`` maps the index of each refused contact in the payload to the importer's reason.
    (Whether the index counts from 0 or 1 is unconfirmed: the documented example, 230 in a
    payload of up to 250, fits both; the adapter reads it as 0-based and a wrong guess only
    costs one more refusal.)
    """

    def __init__(self, message: str, *, contacts: dict[int, str], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.contacts = contacts


def body_of(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]


def error_reason(body: Any, fallback: str = "") -> str:
    """One readable line from any of ActiveCampaign's error shapes."""
    if not isinstance(body, dict):
        return fallback
    parts: list[str] = []
    if body.get("message"):
        parts.append(str(body["message"]))
    for err in body.get("errors") or []:
        if not isinstance(err, dict):
            parts.append(str(err))
            continue
        text = ": ".join(str(err[k]) for k in ("title", "detail") if err.get(k) not in (None, ""))
        if err.get("code"):
            text += f" [{err['code']}]"
        pointer = (err.get("source") or {}).get("pointer")
        if pointer:
            text += f" at {pointer}"
        parts.append(text or str(err))
    for reason in body.get("failureReasons") or []:
        if isinstance(reason, dict):
            parts.append(f"contact {reason.get('contact')}: {reason.get('failureReason')}")
        else:
            parts.append(str(reason))
    return "; ".join(parts) or fallback


def refused_contacts(body: Any) -> dict[int, str]:
    """``failureReasons[{contact, failureReason}]`` -> {index: reason}."""
    if not isinstance(body, dict):
        return {}
    out: dict[int, str] = {}
    for item in body.get("failureReasons") or []:
        if isinstance(item, dict) and str(item.get("contact", "")).isdigit():
            out[int(item["contact"])] = str(item.get("failureReason") or "refused")
    return out


def classify(response: requests.Response) -> ProviderError | None:
    """HTTP status -> error class, with the reason read from whichever error shape came back."""
    status = response.status_code
    if status < 400:
        return None
    body = body_of(response)
    reason = error_reason(body, response.reason or f"HTTP {status}")
    kw: dict[str, Any] = {"provider": PROVIDER, "status": status, "body": response.text}
    if status == 422:
        return MemberRejected(reason, **kw)
    if status == 400 and "rate limit" in reason.lower():
        return RateLimited(reason, retry_after=IMPORT_RATE_WAIT, **kw)
    if status == 400 and (contacts := refused_contacts(body)):
        return ImportRefused(reason, contacts=contacts, **kw)
    return status_error(
        PROVIDER, status, response.headers, reason, body=response.text, auth="API token refused"
    )
