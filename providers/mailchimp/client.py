"""The official Mailchimp SDK, made fit for Syncer: pooled connections, and its errors translated.

The SDK (``mailchimp_marketing``) builds every URL, query and body; two things are adjusted:

* Transport. ``ApiClient.request`` calls module-level ``requests.get/post/...``: a fresh
  connection (and TLS handshake) per call, and nothing a test or caller can inject.
  ``PooledApiClient`` overrides only that method to send the same request through a
  ``requests.Session`` (pool sized to Mailchimp's 10 connections per user).
* Answers. ``call_api`` returns the decoded JSON for a JSON answer, raises ``ApiClientError(text,
  status_code)`` for an error with a body, but returns the raw ``requests.Response`` when the body
  is empty or has no content type, *even for an error*; and ``application/problem+json`` bodies
  arrive as text. ``result`` turns every answer into a dict, an ``ApiClientError``, or an
  ``UnexpectedAnswer`` naming the call when a success body is not a JSON object (an HTML page,
  JSON that does not parse, an array).

``error_of`` turns an error answer (status, headers, body) into the error tree: what is
Mailchimp's own (a 400 about one member, a bare 403 from the edge shedding load) first, then the
HTTP layer's one table (``providers.http.status_error``), which reads ``Retry-After``.
``PooledApiClient.request`` raises it for every error answer, headers and all (the SDK's
``ApiClientError`` drops them); ``translate`` unwraps it from the SDK's wrapper, maps an
``ApiClientError`` of its own with ``error_of`` (no headers) and the connection errors it wraps
(status None) with ``request_error``. Messages never contain the API key: the SDK sends it only
in the Basic auth header, and every raised error is masked again by the HTTP layer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests
from mailchimp_marketing.api_client import ApiClient, ApiClientError
from requests.adapters import HTTPAdapter

from providers.errors import MemberRejected, ProviderError, RateLimited
from providers.http import request_error, retry_after_seconds, status_error
from providers.shapes import decode, object_of

PROVIDER = "mailchimp"
CONNECTIONS = 10  # documented: at most 10 simultaneous connections per user
TIMEOUT = (10.0, 120.0)  # connect, read; Mailchimp's own server timeout is 120 s

# 400 titles that speak of one member, never of the request as a whole.
MEMBER_TITLES = (
    "member exists",
    "member in compliance state",
    "forgotten email not subscribed",
)


class PooledApiClient(ApiClient):  # type: ignore[misc]  # the SDK is untyped
    """The SDK's client, sending through ``session`` instead of a new connection per call."""

    def __init__(self, config: Mapping[str, Any], session: requests.Session) -> None:
        super().__init__(dict(config))
        self.session = session

    def request(
        self,
        method: str,
        url: str,
        query_params: Any = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> requests.Response:
        auth = ("user", self.api_key) if self.is_basic_auth else None
        headers = dict(headers or {})
        if self.is_oauth:
            headers["Authorization"] = "Bearer " + self.access_token
        data = json.dumps(body) if method in ("POST", "PUT", "PATCH") else None
        response = self.session.request(
            method,
            url,
            params=query_params,
            headers=headers,
            auth=auth,
            data=data,
            timeout=self.timeout,
        )
        if not response.ok:  # the SDK wraps it; ``translate`` unwraps it
            raise error_of(response.status_code, response.headers, response.text)
        return response


def pooled_session(session: requests.Session | None = None) -> requests.Session:
    """``session``, or a new one whose pool holds ``CONNECTIONS`` connections per host."""
    if session is not None:
        return session
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=CONNECTIONS)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def result(answer: Any, what: str = "request") -> dict[str, Any]:
    """The SDK's answer to call ``what`` as a dict (``{}`` for an empty body); an error the SDK
    let through raises ``ApiClientError``, a body that is not a JSON object ``UnexpectedAnswer``."""
    if isinstance(answer, requests.Response):
        if not answer.ok:
            raise ApiClientError(text=answer.text, status_code=answer.status_code)
        return decode(answer.text, provider=PROVIDER, what=what, status=answer.status_code)
    if isinstance(answer, str):
        return decode(answer, provider=PROVIDER, what=what)
    return object_of(answer, provider=PROVIDER, what=what)


def problem(text: Any) -> dict[str, Any]:
    """An ``application/problem+json`` body (dict or text) as a dict; {} when it is not one."""
    if isinstance(text, dict):
        return text
    if isinstance(text, str) and text.strip().startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    return {}


def describe(body: Mapping[str, Any], fallback: str) -> str:
    """``title: detail`` plus any field errors, on one line."""
    title = str(body.get("title") or "").strip()
    detail = str(body.get("detail") or "").strip()
    text = ": ".join(p for p in (title, detail) if p) or fallback
    fields = [
        f"{e.get('field') or '?'}: {e.get('message') or ''}".strip()
        for e in body.get("errors") or []
        if isinstance(e, dict)
    ]
    if fields:
        text += " (" + "; ".join(fields) + ")"
    return text


def translate(err: Exception) -> ProviderError | None:
    """The SDK's exception as a provider error; None when it is not a provider error at all."""
    if not isinstance(err, ApiClientError):
        if isinstance(err, requests.RequestException):
            return _connection_error(err)
        return None
    status = err.status_code
    if status is None:  # the SDK wraps whatever ``request`` raised
        cause = err.text
        if isinstance(cause, ProviderError):  # raised by ``PooledApiClient.request``
            return cause
        if isinstance(cause, requests.RequestException):
            return _connection_error(cause)
        return None
    return error_of(status, {}, err.text)


def error_of(status: int, headers: Mapping[str, str], text: Any) -> ProviderError:
    """The error of an answer with HTTP error ``status``, its ``headers`` and body ``text`` (a
    problem document, as text or decoded, or anything else): a 400 whose title speaks of one
    member is MemberRejected, a bare 403 (no problem document: the edge shedding load)
    RateLimited; every other status is the HTTP layer's ``status_error``."""
    raw = text if isinstance(text, str) else json.dumps(text)
    body = problem(text)
    reason = describe(body, f"HTTP {status}")
    title = str(body.get("title") or "").strip().lower()
    if status == 400 and title in MEMBER_TITLES:
        return MemberRejected(reason, provider=PROVIDER, status=status, body=raw)
    if status == 403 and not body:
        after = retry_after_seconds(headers.get("Retry-After"))
        return RateLimited(
            f"rate limited: {reason}", retry_after=after, provider=PROVIDER, status=status, body=raw
        )
    return status_error(PROVIDER, status, headers, reason, body=raw)


def _connection_error(err: requests.RequestException) -> ProviderError:
    return request_error(err, provider=PROVIDER, what="request")
