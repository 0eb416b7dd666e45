"""Every request the Mailchimp adapter sends, checked against the published (derived) spec."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from providers.base import Change, ChangeKind, Destination, Member, OnLeave
from providers.http import RateLimiter
from providers.mailchimp import Mailchimp
from providers.mailchimp.answers import subscriber_hash
from tests.providers.spec import MAILCHIMP_SPEC, ApiSpec, SpecMismatch
from tests.providers.test_mailchimp import batch_answer, segment_answer

KEY = "0123456789abcdef0123456789abcdef-us21"
HOST = "https://us21.api.mailchimp.com/3.0"
LIST = "a1b2c3"
SEG = "77"


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return ApiSpec.load(MAILCHIMP_SPEC, "/3.0")


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _member(email: str, consent: bool = True) -> Member:
    return Member(
        email,
        email,
        first_name="Ann",
        last_name=None,
        consent=consent,
        merge_fields={"CITY": "Lyon"},
    )


def _record_everything(rsps: responses.RequestsMock) -> None:
    """Answers for every call of a full tour: check, discover, tag creation, add, update,
    remove with unsubscribe and with archive, read back."""
    rsps.get(f"{HOST}/", json={"account_id": "x", "account_name": "Shop"})
    rsps.get(f"{HOST}/lists", json={"lists": [{"id": LIST, "name": "Shop"}], "total_items": 1})
    rsps.get(f"{HOST}/lists/{LIST}", json={"id": LIST, "double_optin": False})
    rsps.get(f"{HOST}/lists/{LIST}/segments", json={"segments": [], "total_items": 0})
    rsps.get(
        f"{HOST}/lists/{LIST}/merge-fields",
        json={"merge_fields": [{"tag": "CITY", "type": "text"}], "total_items": 1},
    )
    rsps.post(f"{HOST}/lists/{LIST}/merge-fields", json={"tag": "LTV", "type": "number"})
    rsps.post(f"{HOST}/lists/{LIST}/segments", json={"id": int(SEG), "name": "vip"})
    rsps.post(
        f"{HOST}/lists/{LIST}",
        json=batch_answer(
            {
                "new_members": [{"email_address": "a@x.io"}],
                "errors": [
                    {
                        "email_address": "b@x.io",
                        "error_code": "ERROR_CONTACT_EXISTS",
                        "error": "exists",
                    }
                ],
            }
        ),
    )
    rsps.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json=segment_answer({"members_added": [], "members_removed": []}),
    )
    rsps.get(
        f"{HOST}/lists/{LIST}/members/{subscriber_hash('a@x.io')}",
        json={"email_address": "a@x.io", "tags": [{"id": int(SEG)}]},
    )
    rsps.get(
        f"{HOST}/lists/{LIST}/members/{subscriber_hash('b@x.io')}",
        json={"email_address": "b@x.io", "tags": []},
    )
    rsps.patch(f"{HOST}/lists/{LIST}/members/{subscriber_hash('c@x.io')}", json={"id": "c"})
    rsps.patch(f"{HOST}/lists/{LIST}/members/{subscriber_hash('e@x.io')}", json={"id": "e"})
    rsps.delete(f"{HOST}/lists/{LIST}/members/{subscriber_hash('d@x.io')}", status=204)
    rsps.get(
        f"{HOST}/lists/{LIST}/segments/{SEG}/members",
        json={"members": [{"email_address": "a@x.io"}], "total_items": 1},
    )


def test_every_request_body_matches_the_published_spec(
    rsps: responses.RequestsMock, spec: ApiSpec
) -> None:
    _record_everything(rsps)
    mc = Mailchimp(KEY, sleep=lambda _s: None, limiter=RateLimiter(0, 10))
    mc.check()
    mc.discover()
    mc.create_field(LIST, "LTV", "money")
    dest = Destination(LIST, "vip")
    mc.apply_batch(
        dest,
        [
            Change(ChangeKind.ADD, _member("a@x.io")),
            Change(ChangeKind.ADD, _member("b@x.io", consent=False)),
            Change(ChangeKind.UPDATE, _member("c@x.io")),
        ],
    )
    mc.apply_batch(
        Destination(LIST, "vip", OnLeave.UNSUBSCRIBE),
        [Change(ChangeKind.REMOVE, _member("e@x.io"))],
    )
    mc.apply_batch(
        Destination(LIST, "vip", OnLeave.ARCHIVE), [Change(ChangeKind.REMOVE, _member("d@x.io"))]
    )
    assert list(mc.read_members(dest)) == ["a@x.io"]

    checked: set[tuple[str, str]] = set()
    for call in rsps.calls:
        url = urlsplit(str(call.request.url or ""))
        raw: Any = call.request.body
        body = json.loads(raw) if raw else None
        query = [k for k, _v in parse_qsl(url.query)]
        op = spec.validate_request(str(call.request.method), url.path, body, query)
        checked.add((op.method, op.template))
    # the tour reached every operation the adapter uses
    assert checked == {
        ("GET", "/"),
        ("GET", "/lists"),
        ("GET", "/lists/{listId}"),
        ("POST", "/lists/{listId}"),
        ("GET", "/lists/{listId}/segments"),
        ("POST", "/lists/{listId}/segments"),
        ("GET", "/lists/{listId}/merge-fields"),
        ("POST", "/lists/{listId}/merge-fields"),
        ("POST", "/lists/{listId}/segments/{segmentId}"),
        ("GET", "/lists/{listId}/segments/{segmentId}/members"),
        ("GET", "/lists/{listId}/members/{subscriberHash}"),
        ("PATCH", "/lists/{listId}/members/{subscriberHash}"),
        ("DELETE", "/lists/{listId}/members/{subscriberHash}"),
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "words"),
    [
        (
            "POST",
            "/3.0/lists/x",
            {"members": [{"email_address": "a@x.io", "status": "gone"}]},
            "is not one of",
        ),
        ("POST", "/3.0/lists/x/segments", {"static_segment": []}, "'name' is a required"),
        ("POST", "/3.0/lists/x/segments/1", {"members_to_add": "a@x.io"}, "is not of type"),
        ("PUT", "/3.0/lists/x/segments/1", {}, "no such operation"),
        ("DELETE", "/3.0/lists/x/members/ab", {"a": 1}, "takes no body"),
    ],
)
def test_the_spec_check_refuses_bad_requests(
    spec: ApiSpec, method: str, path: str, body: Any, words: str
) -> None:
    with pytest.raises(SpecMismatch, match=words):
        spec.validate_request(method, path, body)


def test_undeclared_query_parameters_are_refused(spec: ApiSpec) -> None:
    with pytest.raises(SpecMismatch, match="undeclared query tags"):
        spec.validate_request("GET", "/3.0/lists/x/segments", None, ["count", "tags"])


def test_merge_field_values_are_text_after_the_one_correction(spec: ApiSpec) -> None:
    body = {"merge_fields": {"FNAME": "Ann", "SCORE": 3}}
    spec.validate_request("PATCH", "/3.0/lists/x/members/ab", body)
    with pytest.raises(SpecMismatch, match="merge_fields/FNAME"):
        spec.validate_request("PATCH", "/3.0/lists/x/members/ab", {"merge_fields": {"FNAME": []}})
