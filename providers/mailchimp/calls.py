"""The SDK bound to one Mailchimp account: every call named (method and path), limited, counted,
retried, its errors translated and masked, its answer checked against the model of its shape;
paged listings (``count`` + ``offset``) and the segment calls both the adapter and the member
paths make."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

import requests
from mailchimp_marketing.api.lists_api import ListsApi
from mailchimp_marketing.api.ping_api import PingApi
from mailchimp_marketing.api.root_api import RootApi

from providers.base import CallStats, Limits
from providers.http import RateLimiter, RetryPolicy, call_with_retries, shared_limiter
from providers.mailchimp.answers import MemberRef, SegmentAnswer
from providers.mailchimp.client import (
    CONNECTIONS,
    TIMEOUT,
    PooledApiClient,
    pooled_session,
    result,
    translate,
)
from providers.paging import Page, at_key, by_offset
from providers.shapes import Shape, parse

S = TypeVar("S", bound=Shape)
PROVIDER = "mailchimp"
PAGE = 1000  # documented maximum ``count``
TRUE = "true"  # query flags: the SDK would send Python's "True"


class Calls:
    def __init__(
        self,
        api_key: str,
        *,
        limits: Limits,
        stats: CallStats,
        base_url: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        page_size: int = PAGE,
    ) -> None:
        self.page_size = min(max(1, page_size), PAGE)
        dc = api_key.rsplit("-", 1)[1] if "-" in api_key else ""
        self.host = (base_url or f"https://{dc}.api.mailchimp.com/3.0").rstrip("/")
        api = PooledApiClient({"api_key": api_key, "timeout": TIMEOUT}, pooled_session(session))
        api.host = self.host
        api.server = ""  # the SDK would otherwise replace "server" anywhere in the URL
        self.lists = ListsApi(api)
        self.root = RootApi(api)
        self.ping = PingApi(api)
        self.data_center = dc
        self.stats = stats
        self._secrets = (api_key,)
        self._sleep = sleep
        self._retry = retry
        account = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        self._limiter = limiter or shared_limiter(
            f"mailchimp:{account}", replace(limits, max_concurrency=CONNECTIONS)
        )

    def call(self, what: str, fn: Callable[[], Any]) -> dict[str, Any]:
        """One SDK call, ``what`` naming it (method and path): limited, counted, retried, errors
        translated and masked; a success body that is not a JSON object is UnexpectedAnswer."""
        return call_with_retries(
            lambda: result(fn(), what),
            provider=PROVIDER,
            translate=translate,
            limiter=self._limiter,
            stats=self.stats,
            retry=self._retry,
            sleep=self._sleep,
            secrets=self._secrets,
        )

    def answer(self, shape: type[S], what: str, fn: Callable[[], Any]) -> S:
        """``call``, its answer checked against ``shape`` (UnexpectedAnswer naming the field)."""
        return parse(shape, self.call(what, fn), provider=PROVIDER, what=what)

    def pages(self, what: str, fetch: Callable[[int], Any], key: str, item: type[S]) -> Iterator[S]:
        """Every ``item`` of a ``count`` + ``offset`` listing whose answer lists them in ``key``."""

        def page(offset: int) -> Page[S]:
            answer = self.call(what, lambda: fetch(offset))
            items = at_key(answer, key, list[item], provider=PROVIDER, what=what)  # type: ignore[valid-type]
            total = answer.get("total_items")
            return Page(items, total=total if isinstance(total, int) else None)

        return by_offset(page, size=self.page_size)

    def segment(self, list_id: str, seg: str, body: dict[str, list[str]]) -> SegmentAnswer:
        """``POST /lists/{id}/segments/{seg}``: ``members_to_add`` or ``members_to_remove``."""
        return self.answer(
            SegmentAnswer,
            f"POST /lists/{list_id}/segments/{seg}",
            lambda: self.lists.batch_segment_members(body, list_id, seg),
        )

    def segment_emails(self, list_id: str, seg: str) -> Iterator[str]:
        """Lower-cased emails of the segment's members, whatever their status."""
        pages = self.pages(
            f"GET /lists/{list_id}/segments/{seg}/members",
            lambda o: self.lists.get_segment_members_list(
                list_id,
                seg,
                count=self.page_size,
                offset=o,
                fields=["members.email_address", "total_items"],
                include_cleaned=TRUE,
                include_transactional=TRUE,
                include_unsubscribed=TRUE,
            ),
            "members",
            MemberRef,
        )
        for member in pages:
            yield member.email_address.strip().lower()
