"""Mailchimp adapter against recorded HTTP (``responses``): request shapes, outcomes, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from mailchimp_marketing.api_client import ApiClientError

from providers.base import (
    Change,
    ChangeKind,
    Destination,
    Member,
    OnLeave,
    OutcomeStatus,
)
from providers.errors import (
    AuthenticationFailed,
    BadConfiguration,
    FatalError,
    MemberRejected,
    NotFound,
    RateLimited,
    RefusedRequest,
    RetryableError,
    TransientError,
)
from providers.http import RateLimiter, RetryPolicy
from providers.mailchimp import Mailchimp
from providers.mailchimp.answers import subscriber_hash
from providers.mailchimp.client import error_of, result, translate

KEY = "0123456789abcdef0123456789abcdef-us21"
HOST = "https://us21.api.mailchimp.com/3.0"
LIST = "a1b2c3"
SEG = "4242"
DEST = Destination(list_id=LIST, tag="vip")
RETRY = RetryPolicy(attempts=3)


def problem(status: int, title: str, detail: str = "") -> dict[str, Any]:
    return {
        "type": "https://mailchimp.com/developer/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "x",
    }


def add_problem(
    rsps: responses.RequestsMock, method: str, url: str, status: int, title: str, detail: str = ""
) -> None:
    rsps.add(
        method,
        url,
        body=json.dumps(problem(status, title, detail)),
        status=status,
        content_type="application/problem+json",
    )


def batch_answer(parts: dict[str, Any]) -> dict[str, Any]:
    """A batch subscribe answer: every per-member list Mailchimp documents, with ``parts``."""
    return {"new_members": [], "updated_members": [], "errors": [], **parts}


def segment_answer(parts: dict[str, Any]) -> dict[str, Any]:
    """A static segment members answer: every per-member list, with ``parts``."""
    return {"members_added": [], "members_removed": [], "errors": [], **parts}


def member(email: str, *, consent: bool = True, first: str | None = "Ann") -> Member:
    return Member(
        email=email,
        customer_id=email.split("@")[0],
        first_name=first,
        last_name="Lee",
        consent=consent,
    )


def change(kind: ChangeKind, email: str, **kw: Any) -> Change:
    return Change(kind, member(email, **kw))


def url_of(call: Any) -> str:
    """A recorded call's URL without its query."""
    return str(call.request.url or "").split("?")[0]


def query_of(call: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(str(call.request.url or "")).query))


def bodies(rsps: responses.RequestsMock, method: str, suffix: str) -> list[Any]:
    return [
        json.loads(c.request.body or "null")
        for c in rsps.calls
        if c.request.method == method and url_of(c).endswith(suffix)
    ]


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def mc() -> Mailchimp:
    return Mailchimp(KEY, sleep=lambda _s: None, retry=RETRY, limiter=RateLimiter(0, 10))


@pytest.fixture
def ready(rsps: responses.RequestsMock) -> responses.RequestsMock:
    """The audience (single opt-in) and its tag exist."""
    rsps.get(f"{HOST}/lists/{LIST}", json={"id": LIST, "name": "Shop", "double_optin": False})
    rsps.get(
        f"{HOST}/lists/{LIST}/segments",
        json={"segments": [{"id": int(SEG), "name": "VIP"}], "total_items": 1},
    )
    return rsps


# --- credentials and account ----------------------------------------------------------------
def test_from_credentials_needs_a_key_with_its_data_center() -> None:
    with pytest.raises(BadConfiguration, match="api_key"):
        Mailchimp.from_credentials({})
    with pytest.raises(BadConfiguration, match="data center") as err:
        Mailchimp.from_credentials({"api_key": "0123456789abcdef"})
    assert "0123456789abcdef" not in str(err.value)


def test_base_url_points_the_sdk_at_an_emulator(rsps: responses.RequestsMock) -> None:
    rsps.get("http://127.0.0.1:8301/3.0/", json={"account_id": "x1", "account_name": "Shop"})
    mc = Mailchimp.from_credentials({"api_key": KEY}, base_url="http://127.0.0.1:8301/3.0/")
    info = mc.check()
    assert (info.provider, info.account) == ("mailchimp", "Shop")
    assert mc.stats.calls == 1


def test_check_sends_the_key_as_basic_auth(rsps: responses.RequestsMock, mc: Mailchimp) -> None:
    rsps.get(f"{HOST}/", json={"account_id": "x1", "account_name": "Shop"})
    assert mc.check().account == "Shop"
    auth = requests.auth._basic_auth_str("user", KEY)
    assert rsps.calls[0].request.headers["Authorization"] == auth


def test_check_falls_back_to_ping(rsps: responses.RequestsMock, mc: Mailchimp) -> None:
    add_problem(rsps, "GET", f"{HOST}/", 404, "Resource Not Found")
    rsps.get(f"{HOST}/ping", json={"health_status": "Everything's Chimpy!"})
    assert "Chimpy" in mc.check().detail


def test_check_with_a_bad_key_is_authentication_failed(
    rsps: responses.RequestsMock, mc: Mailchimp
) -> None:
    add_problem(rsps, "GET", f"{HOST}/", 401, "API Key Invalid", "Your API key may be invalid")
    with pytest.raises(AuthenticationFailed, match="API Key Invalid") as err:
        mc.check()
    assert len(rsps.calls) == 1  # fatal: not retried
    assert KEY not in str(err.value)


def test_discover_pages_lists_and_reads_tags_and_merge_fields(
    rsps: responses.RequestsMock,
) -> None:
    mc = Mailchimp(KEY, sleep=lambda _s: None, limiter=RateLimiter(0, 10), page_size=2)
    page1 = [{"id": "l0", "name": "L0", "stats": {"member_count": 5}}, {"id": "l1", "name": "L1"}]
    rsps.get(f"{HOST}/lists", json={"lists": page1, "total_items": 3})
    rsps.get(f"{HOST}/lists", json={"lists": [{"id": "last", "name": "Last"}], "total_items": 3})
    rsps.get(
        f"{HOST}/lists/last/segments",
        json={"segments": [{"id": 7, "name": "VIP", "member_count": 3}], "total_items": 1},
    )
    rsps.get(
        f"{HOST}/lists/last/merge-fields",
        json={
            "merge_fields": [{"tag": "FNAME", "name": "First", "type": "text", "required": True}],
            "total_items": 1,
        },
    )
    for lid in ("l0", "l1"):
        rsps.get(f"{HOST}/lists/{lid}/segments", json={"segments": [], "total_items": 0})
        rsps.get(f"{HOST}/lists/{lid}/merge-fields", json={"merge_fields": [], "total_items": 0})
    found = mc.discover()
    assert [(a.id, a.member_count) for a in found.lists] == [
        ("l0", 5),
        ("l1", None),
        ("last", None),
    ]
    assert [(t.id, t.name, t.list_id, t.member_count) for t in found.tags] == [
        ("7", "VIP", "last", 3)
    ]
    assert [(f.tag, f.required, f.list_id) for f in found.merge_fields] == [("FNAME", True, "last")]
    lists = [query_of(c) for c in rsps.calls if url_of(c) == f"{HOST}/lists"]
    assert [(p["offset"], p["count"]) for p in lists] == [("0", "2"), ("2", "2")]
    segment_query = next(query_of(c) for c in rsps.calls if "/segments" in url_of(c))
    assert segment_query["type"] == "static"


# --- tags -------------------------------------------------------------------------------------
def test_ensure_tag_finds_the_static_segment_once(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    assert mc.ensure_tag(Destination(LIST, "vip")) == SEG  # names match case-insensitively
    assert mc.ensure_tag(Destination(LIST, "vip")) == SEG
    assert len(ready.calls) == 2  # list + segments, then cached


def test_ensure_tag_creates_a_missing_tag(rsps: responses.RequestsMock, mc: Mailchimp) -> None:
    rsps.get(f"{HOST}/lists/{LIST}", json={"id": LIST, "double_optin": False})
    rsps.get(f"{HOST}/lists/{LIST}/segments", json={"segments": [], "total_items": 0})
    rsps.post(f"{HOST}/lists/{LIST}/segments", json={"id": 99, "name": "new tag"})
    assert mc.ensure_tag(Destination(LIST, "new tag")) == "99"
    assert bodies(rsps, "POST", "/segments") == [{"name": "new tag", "static_segment": []}]


GONE = 'A Static Segment with an id of "4242" does not exist for this list.'


def test_a_tag_deleted_in_mailchimp_is_recreated_and_the_batch_retried_once(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    mc.ensure_tag(DEST)  # cached by an earlier run of this process
    ready.post(
        f"{HOST}/lists/{LIST}", json=batch_answer({"new_members": [{"email_address": "a@x.io"}]})
    )
    add_problem(ready, "POST", f"{HOST}/lists/{LIST}/segments/{SEG}", 400, "Invalid Resource", GONE)
    ready.get(f"{HOST}/lists/{LIST}/segments", json={"segments": [], "total_items": 0})
    ready.post(f"{HOST}/lists/{LIST}/segments", json={"id": 4343, "name": "vip"})
    ready.post(f"{HOST}/lists/{LIST}", json=batch_answer({"errors": [], "error_count": 0}))
    ready.post(
        f"{HOST}/lists/{LIST}/segments/4343",
        json=segment_answer({"members_added": [{"email_address": "a@x.io"}]}),
    )
    (out,) = mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])
    assert out.status is OutcomeStatus.APPLIED
    assert bodies(ready, "POST", "/segments") == [{"name": "vip", "static_segment": []}]
    assert mc.ensure_tag(DEST) == "4343"


def test_a_segment_still_gone_after_recreating_the_tag_is_raised(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    url = f"{HOST}/lists/{LIST}/segments/{SEG}/members"
    add_problem(ready, "GET", url, 404, "Resource Not Found")
    with pytest.raises(NotFound):
        list(mc.read_members(DEST))
    assert len([c for c in ready.calls if url_of(c) == url]) == 2  # retried once, not more


def test_a_bad_request_that_is_not_about_the_segment_is_not_retried(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    add_problem(ready, "POST", f"{HOST}/lists/{LIST}", 400, "Invalid Resource", "members: bad")
    with pytest.raises(RefusedRequest):
        mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])
    assert len(bodies(ready, "POST", f"/lists/{LIST}")) == 1


def test_unknown_audience_is_not_found_naming_it(
    rsps: responses.RequestsMock, mc: Mailchimp
) -> None:
    add_problem(rsps, "GET", f"{HOST}/lists/{LIST}", 404, "Resource Not Found")
    with pytest.raises(NotFound, match=f"audience '{LIST}' not found"):
        mc.ensure_tag(DEST)


# --- adds -------------------------------------------------------------------------------------
def test_add_creates_new_members_and_tags_existing_ones_without_touching_status(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    ready.post(
        f"{HOST}/lists/{LIST}",
        json={
            "updated_members": [],
            "new_members": [{"email_address": "new@x.io"}, {"email_address": "quiet@x.io"}],
            "errors": [
                {
                    "email_address": "old@x.io",
                    "error": "old@x.io is already a list member",
                    "error_code": "ERROR_CONTACT_EXISTS",
                }
            ],
            "error_count": 1,
        },
    )
    ready.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json={
            "members_removed": [],
            "errors": [],
            "members_added": [{"email_address": e} for e in ("new@x.io", "quiet@x.io", "old@x.io")],
            "total_added": 3,
            "error_count": 0,
        },
    )
    changes = [
        change(ChangeKind.ADD, "new@x.io"),
        change(ChangeKind.ADD, "quiet@x.io", consent=False),
        change(ChangeKind.ADD, "Old@X.io"),
    ]
    outcomes = mc.apply_batch(DEST, changes)
    assert [o.change for o in outcomes] == changes
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    (batch,) = bodies(ready, "POST", f"/lists/{LIST}")
    assert batch["update_existing"] is False
    statuses = {m["email_address"]: m["status"] for m in batch["members"]}
    assert statuses == {
        "new@x.io": "subscribed",
        "quiet@x.io": "transactional",
        "Old@X.io": "subscribed",
    }
    assert batch["members"][0]["merge_fields"] == {"FNAME": "Ann", "LNAME": "Lee"}
    query = next(query_of(c) for c in ready.calls if c.request.method == "POST")
    assert query == {"skip_merge_validation": "true"}
    # the existing member was only tagged: no call that could set a status reached it
    assert not [c for c in ready.calls if c.request.method in ("PUT", "PATCH")]
    (tag,) = bodies(ready, "POST", f"/segments/{SEG}")
    assert tag == {"members_to_add": ["new@x.io", "quiet@x.io", "Old@X.io"]}


def test_double_optin_audience_takes_pending(rsps: responses.RequestsMock, mc: Mailchimp) -> None:
    rsps.get(f"{HOST}/lists/{LIST}", json={"id": LIST, "double_optin": True})
    rsps.get(f"{HOST}/lists/{LIST}/segments", json={"segments": [{"id": SEG, "name": "vip"}]})
    rsps.post(
        f"{HOST}/lists/{LIST}", json=batch_answer({"new_members": [{"email_address": "a@x.io"}]})
    )
    rsps.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json=segment_answer({"members_added": [{"email_address": "a@x.io"}]}),
    )
    mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])
    assert bodies(rsps, "POST", f"/lists/{LIST}")[0]["members"][0]["status"] == "pending"


def test_per_member_refusals_are_rejected_outcomes_not_run_failures(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    ready.post(
        f"{HOST}/lists/{LIST}",
        json={
            "updated_members": [],
            "new_members": [{"email_address": "ok@x.io"}],
            "errors": [
                {
                    "email_address": "fake@x.io",
                    "error_code": "ERROR_GENERIC",
                    "error": "fake@x.io looks fake or invalid, please enter a real email address.",
                },
                {
                    "email_address": "gone@x.io",
                    "error_code": "ERROR_GENERIC",
                    "error": "gone@x.io is in a compliance state due to unsubscribe, bounce, or "
                    "compliance review and cannot be subscribed.",
                },
                {
                    "email_address": "bad@x.io",
                    "error_code": "ERROR_GENERIC",
                    "error": "Invalid",
                    "field": "merge_fields.BDAY",
                    "field_message": "bad date",
                },
            ],
        },
    )
    ready.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json=segment_answer({"members_added": [{"email_address": "ok@x.io"}]}),
    )
    emails = ["ok@x.io", "fake@x.io", "gone@x.io", "bad@x.io"]
    outcomes = {
        o.email: o for o in mc.apply_batch(DEST, [change(ChangeKind.ADD, e) for e in emails])
    }
    assert outcomes["ok@x.io"].status is OutcomeStatus.APPLIED
    for email, words in (
        ("fake@x.io", "looks fake"),
        ("gone@x.io", "compliance state"),
        ("bad@x.io", "merge_fields.BDAY: bad date"),
    ):
        out = outcomes[email]
        assert (out.status, out.retryable) == (OutcomeStatus.REJECTED, False)
        assert words in (out.reason or "")
    # refused addresses are not sent on to the tag call
    assert bodies(ready, "POST", f"/segments/{SEG}") == [{"members_to_add": ["ok@x.io"]}]


def test_an_add_the_tag_call_does_not_answer_for_is_read_back(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    ready.post(
        f"{HOST}/lists/{LIST}",
        json={
            "new_members": [],
            "updated_members": [],
            "errors": [
                {"email_address": e, "error_code": "ERROR_CONTACT_EXISTS", "error": "exists"}
                for e in ("tagged@x.io", "untagged@x.io", "dup@x.io", "no@x.io")
            ],
        },
    )
    ready.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json={
            "members_removed": [],
            "members_added": [],
            "errors": [
                {"email_addresses": ["dup@x.io"], "error": "Email address already in segment"},
                {"email_addresses": ["no@x.io"], "error": "Segment refused the address"},
            ],
        },
    )
    ready.get(
        f"{HOST}/lists/{LIST}/members/{subscriber_hash('tagged@x.io')}",
        json={"email_address": "tagged@x.io", "tags": [{"id": int(SEG), "name": "VIP"}]},
    )
    ready.get(
        f"{HOST}/lists/{LIST}/members/{subscriber_hash('untagged@x.io')}",
        json={"email_address": "untagged@x.io", "tags": []},
    )
    emails = ["tagged@x.io", "untagged@x.io", "dup@x.io", "no@x.io"]
    out = {o.email: o for o in mc.apply_batch(DEST, [change(ChangeKind.ADD, e) for e in emails])}
    assert out["tagged@x.io"].status is OutcomeStatus.APPLIED
    assert (out["untagged@x.io"].status, out["untagged@x.io"].retryable) == (
        OutcomeStatus.REJECTED,
        True,
    )
    assert out["dup@x.io"].status is OutcomeStatus.APPLIED
    assert (out["no@x.io"].status, out["no@x.io"].reason) == (
        OutcomeStatus.REJECTED,
        "Segment refused the address",
    )


def test_duplicates_in_a_batch_are_sent_once_and_each_gets_an_outcome(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    ready.post(
        f"{HOST}/lists/{LIST}", json=batch_answer({"new_members": [{"email_address": "a@x.io"}]})
    )
    ready.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json=segment_answer({"members_added": [{"email_address": "a@x.io"}]}),
    )
    changes = [change(ChangeKind.ADD, "a@x.io"), change(ChangeKind.ADD, "A@x.io")]
    outcomes = mc.apply_batch(DEST, changes)
    assert len(outcomes) == 2 and all(o.status is OutcomeStatus.APPLIED for o in outcomes)
    assert len(bodies(ready, "POST", f"/lists/{LIST}")[0]["members"]) == 1


def test_a_batch_over_500_is_refused(mc: Mailchimp) -> None:
    with pytest.raises(ValueError, match="500"):
        mc.apply_batch(DEST, [change(ChangeKind.ADD, f"{i}@x.io") for i in range(501)])


# --- updates ----------------------------------------------------------------------------------
def test_updates_are_one_batch_subscribe_without_status(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    ok, gone, bad = "ok@x.io", "gone@x.io", "bad@x.io"
    ready.post(
        f"{HOST}/lists/{LIST}",
        json=batch_answer(
            {
                "updated_members": [{"email_address": ok}],
                "errors": [
                    {"email_address": gone, "error": "A status is required.", "field": "status"},
                    {
                        "email_address": bad,
                        "error": "Your merge fields were invalid.",
                        "field": "BIRTHDAY",
                        "field_message": "Please provide a valid date",
                    },
                ],
            }
        ),
    )
    changes = [change(ChangeKind.UPDATE, e, first=None) for e in (ok, gone, bad)]
    out = {o.email: o for o in mc.apply_batch(DEST, changes)}
    assert out[ok].status is OutcomeStatus.APPLIED
    assert (out[gone].status, out[gone].retryable) == (OutcomeStatus.REJECTED, False)
    assert "not in the audience" in (out[gone].reason or "")
    assert "valid date" in (out[bad].reason or "")
    (body,) = bodies(ready, "POST", f"/lists/{LIST}")
    assert body["update_existing"] is True
    for entry in body["members"]:
        assert "status" not in entry  # never a status
        assert entry["merge_fields"] == {"FNAME": "", "LNAME": "Lee"}
    assert len(ready.calls) == 2 + 1  # setup + one batch call for the three


def test_mapped_fields_are_formatted_for_their_merge_field_type(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    ready.get(
        f"{HOST}/lists/{LIST}/merge-fields",
        json={
            "merge_fields": [
                {"tag": "LTV", "name": "Spent", "type": "number"},
                {"tag": "FIRST", "name": "First order", "type": "date",
                 "options": {"date_format": "DD/MM/YYYY"}},
                {"tag": "NOTE", "name": "Note", "type": "text"},
            ],
            "total_items": 3,
        },
    )  # fmt: skip
    ready.post(f"{HOST}/lists/{LIST}", json=batch_answer({"updated_members": []}))
    values = {"LTV": "120.5", "FIRST": "2026-03-01", "note": "x" * 300}
    who = Member("a@x.io", "1", "Ann", "Lee", merge_fields=values)
    mc.apply_batch(DEST, [Change(ChangeKind.UPDATE, who)])
    (body,) = bodies(ready, "POST", f"/lists/{LIST}")
    sent = body["members"][0]["merge_fields"]
    assert sent["LTV"] == "120.5" and sent["FIRST"] == "01/03/2026"
    assert sent["NOTE"] == "x" * 255


def test_a_mapped_field_the_audience_lacks_is_bad_configuration_naming_it(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    ready.get(f"{HOST}/lists/{LIST}/merge-fields", json={"merge_fields": [], "total_items": 0})
    who = Member("a@x.io", "1", merge_fields={"TIER": "gold"})
    with pytest.raises(BadConfiguration, match=r"TIER.*--create-fields"):
        mc.apply_batch(DEST, [Change(ChangeKind.UPDATE, who)])


# --- removes ----------------------------------------------------------------------------------
def test_remove_untags_and_leaves_the_contact(ready: responses.RequestsMock, mc: Mailchimp) -> None:
    ready.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json={
            "members_added": [],
            "members_removed": [{"email_address": "a@x.io"}],
            "total_removed": 1,
            "errors": [
                {
                    "email_addresses": ["b@x.io"],
                    "error": "Email address is not a member of this segment",
                },
                {"email_addresses": ["c@x.io"], "error": "Something went wrong"},
            ],
        },
    )
    emails = ["a@x.io", "b@x.io", "c@x.io", "absent@x.io"]
    out = {o.email: o for o in mc.apply_batch(DEST, [change(ChangeKind.REMOVE, e) for e in emails])}
    assert [out[e].status for e in ("a@x.io", "b@x.io", "absent@x.io")] == [
        OutcomeStatus.APPLIED
    ] * 3
    assert (out["c@x.io"].status, out["c@x.io"].retryable) == (OutcomeStatus.REJECTED, True)
    assert bodies(ready, "POST", f"/segments/{SEG}") == [{"members_to_remove": emails}]
    assert [c.request.method for c in ready.calls] == ["GET", "GET", "POST"]


def test_remove_with_unsubscribe_never_creates_a_member(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    ready.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json={
            "members_added": [],
            "members_removed": [{"email_address": "a@x.io"}, {"email_address": "d@x.io"}],
            "errors": [
                {"email_addresses": ["c@x.io"], "error": "c@x.io is not a member of this list"}
            ],
        },
    )
    ready.post(
        f"{HOST}/lists/{LIST}",
        json={
            "new_members": [],
            "updated_members": [{"email_address": "a@x.io"}],
            "errors": [
                {
                    "email_address": "d@x.io",
                    "error": "d@x.io was permanently deleted",
                    "error_code": "ERROR_GENERIC",
                }
            ],
        },
    )
    # b@x.io: neither untagged nor refused (not in the segment, maybe not in the audience)
    add_problem(
        ready,
        "PATCH",
        f"{HOST}/lists/{LIST}/members/{subscriber_hash('b@x.io')}",
        404,
        "Resource Not Found",
    )
    dest = Destination(LIST, "vip", OnLeave.UNSUBSCRIBE)
    emails = ("a@x.io", "b@x.io", "c@x.io", "d@x.io")
    out = {o.email: o for o in mc.apply_batch(dest, [change(ChangeKind.REMOVE, e) for e in emails])}
    assert [out[e].status for e in emails[:3]] == [OutcomeStatus.APPLIED] * 3
    assert out["d@x.io"].status is OutcomeStatus.REJECTED
    assert "permanently deleted" in (out["d@x.io"].reason or "")
    # only members the segment call untagged (so they exist) go to the batch subscribe
    assert bodies(ready, "POST", f"/lists/{LIST}") == [
        {
            "update_existing": True,
            "members": [
                {"email_address": "a@x.io", "status": "unsubscribed"},
                {"email_address": "d@x.io", "status": "unsubscribed"},
            ],
        }
    ]
    assert bodies(ready, "PATCH", subscriber_hash("b@x.io")) == [{"status": "unsubscribed"}]
    assert not [c for c in ready.calls if subscriber_hash("c@x.io") in url_of(c)]


def test_remove_with_archive_deletes_one_by_one_never_permanently(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    ready.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json=segment_answer({"members_removed": [{"email_address": "a@x.io"}]}),
    )
    ready.delete(f"{HOST}/lists/{LIST}/members/{subscriber_hash('a@x.io')}", status=204)
    add_problem(
        ready,
        "DELETE",
        f"{HOST}/lists/{LIST}/members/{subscriber_hash('b@x.io')}",
        404,
        "Resource Not Found",
    )
    dest = Destination(LIST, "vip", OnLeave.ARCHIVE)
    outcomes = mc.apply_batch(dest, [change(ChangeKind.REMOVE, e) for e in ("a@x.io", "b@x.io")])
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED] * 2
    deletes = [url_of(c) for c in ready.calls if c.request.method == "DELETE"]
    assert len(deletes) == 2
    assert not [c for c in ready.calls if "delete-permanent" in url_of(c)]


def test_read_members_pages_the_segment_including_every_status(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    url = f"{HOST}/lists/{LIST}/segments/{SEG}/members"
    ready.get(
        url,
        json={
            "members": [{"email_address": f"U{i}@x.io"} for i in range(1000)],
            "total_items": 1001,
        },
    )
    ready.get(url, json={"members": [{"email_address": "last@x.io"}], "total_items": 1001})
    emails = list(mc.read_members(DEST))
    assert len(emails) == 1001 and emails[0] == "u0@x.io" and emails[-1] == "last@x.io"
    params = [query_of(c) for c in ready.calls if url_of(c) == url]
    assert [(p["offset"], p["count"]) for p in params] == [("0", "1000"), ("1000", "1000")]
    assert all(
        p[f"include_{s}"] == "true"
        for p in params
        for s in ("cleaned", "transactional", "unsubscribed")
    )


# --- retries and whole-call errors --------------------------------------------------------------
def _one_add(rsps: responses.RequestsMock) -> None:
    rsps.post(
        f"{HOST}/lists/{LIST}/segments/{SEG}",
        json=segment_answer({"members_added": [{"email_address": "a@x.io"}]}),
    )


@pytest.mark.parametrize(
    ("status", "title"),
    [(429, "Too Many Requests"), (500, "Internal Server Error"), (503, "Service Unavailable")],
)
def test_a_retryable_failure_then_success(
    ready: responses.RequestsMock, mc: Mailchimp, status: int, title: str
) -> None:
    add_problem(ready, "POST", f"{HOST}/lists/{LIST}", status, title)
    ready.post(
        f"{HOST}/lists/{LIST}", json=batch_answer({"new_members": [{"email_address": "a@x.io"}]})
    )
    _one_add(ready)
    (out,) = mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])
    assert out.status is OutcomeStatus.APPLIED
    assert mc.stats.retries == 1
    assert mc.stats.rate_limited == (1 if status == 429 else 0)
    assert len(bodies(ready, "POST", f"/lists/{LIST}")) == 2


def test_a_long_retry_after_is_not_waited_for(ready: responses.RequestsMock) -> None:
    sleeps: list[float] = []
    mc = Mailchimp(
        KEY, sleep=sleeps.append, retry=RETRY, limiter=RateLimiter(0, 10, sleep=sleeps.append)
    )
    ready.add(
        "POST", f"{HOST}/lists/{LIST}", status=429, headers={"Retry-After": "900"},
        json=problem(429, "Too Many Requests"), content_type="application/problem+json",
    )  # fmt: skip
    with pytest.raises(RateLimited) as info:
        mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])
    assert info.value.beyond_budget and info.value.retry_after == 900.0
    assert info.value.resume_at is not None and "Too Many Requests" in str(info.value)
    assert sum(sleeps) == 0.0 and (mc.stats.calls, mc.stats.retries) == (3, 0)


def test_a_bare_403_under_load_is_retried(ready: responses.RequestsMock, mc: Mailchimp) -> None:
    ready.post(f"{HOST}/lists/{LIST}", status=403, body="")
    ready.post(
        f"{HOST}/lists/{LIST}", json=batch_answer({"new_members": [{"email_address": "a@x.io"}]})
    )
    _one_add(ready)
    (out,) = mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])
    assert out.status is OutcomeStatus.APPLIED and mc.stats.rate_limited == 1


def test_500_forever_ends_as_transient_after_the_retry_budget(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    add_problem(ready, "POST", f"{HOST}/lists/{LIST}", 500, "Internal Server Error")
    with pytest.raises(TransientError, match="Internal Server Error"):
        mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])
    assert len(bodies(ready, "POST", f"/lists/{LIST}")) == RETRY.attempts


def test_a_timeout_is_transient(ready: responses.RequestsMock, mc: Mailchimp) -> None:
    ready.post(f"{HOST}/lists/{LIST}", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TransientError, match="timed out"):
        mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])
    assert mc.stats.calls == 2 + RETRY.attempts


def test_a_dropped_connection_then_success(ready: responses.RequestsMock, mc: Mailchimp) -> None:
    ready.post(f"{HOST}/lists/{LIST}", body=requests.exceptions.ConnectionError("reset by peer"))
    ready.post(
        f"{HOST}/lists/{LIST}", json=batch_answer({"new_members": [{"email_address": "a@x.io"}]})
    )
    _one_add(ready)
    assert mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])[0].status is (
        OutcomeStatus.APPLIED
    )


def test_a_400_on_the_batch_is_a_refused_request(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    add_problem(ready, "POST", f"{HOST}/lists/{LIST}", 400, "Invalid Resource", "bad body")
    with pytest.raises(RefusedRequest, match="Invalid Resource: bad body"):
        mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])


def test_an_error_without_a_body_is_not_taken_for_success(
    ready: responses.RequestsMock, mc: Mailchimp
) -> None:
    # the SDK returns the raw response when the body is empty, even for an error
    ready.post(f"{HOST}/lists/{LIST}", status=502, body="")
    with pytest.raises(TransientError):
        mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])


def test_secrets_are_masked_in_errors(ready: responses.RequestsMock, mc: Mailchimp) -> None:
    add_problem(
        ready,
        "POST",
        f"{HOST}/lists/{LIST}",
        400,
        "Invalid Resource",
        f"key {KEY} is not allowed here",
    )
    with pytest.raises(RefusedRequest) as err:
        mc.apply_batch(DEST, [change(ChangeKind.ADD, "a@x.io")])
    assert KEY not in str(err.value) and KEY not in (err.value.body or "")
    assert "***" in str(err.value)


# --- the SDK error table -----------------------------------------------------------------------
PROBLEM = json.dumps(problem(400, "x"))


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (400, json.dumps(problem(400, "Invalid Resource")), RefusedRequest),
        (400, json.dumps(problem(400, "Member In Compliance State")), MemberRejected),
        (400, json.dumps(problem(400, "Forgotten Email Not Subscribed")), MemberRejected),
        (400, json.dumps(problem(400, "Member Exists")), MemberRejected),
        (401, json.dumps(problem(401, "API Key Invalid")), AuthenticationFailed),
        (403, json.dumps(problem(403, "Forbidden")), AuthenticationFailed),
        (403, "", RateLimited),
        (403, "<html>busy</html>", RateLimited),
        (404, {"title": "Resource Not Found", "status": 404}, NotFound),
        (405, PROBLEM, RefusedRequest),
        (414, PROBLEM, RefusedRequest),
        (422, PROBLEM, RefusedRequest),
        (429, json.dumps(problem(429, "Too Many Requests")), RateLimited),
        (500, PROBLEM, TransientError),
        (502, "<html>bad gateway</html>", TransientError),
        (503, "", TransientError),
        (504, "", TransientError),
    ],
)
def test_api_client_error_mapping(status: int, text: Any, expected: type) -> None:
    mapped = translate(ApiClientError(text=text, status_code=status))
    assert type(mapped) is expected
    assert mapped is not None and mapped.status == status and mapped.provider == "mailchimp"


def test_every_error_status_is_mapped_by_what_a_retry_means() -> None:
    for status in range(400, 600):
        for body in ("", json.dumps(problem(status, "Some Title"))):
            err = error_of(status, {}, body)
            retryable = status == 429 or status >= 500 or (status == 403 and not body)
            assert isinstance(err, RetryableError) is retryable, (status, body, err)
            if not retryable:
                assert isinstance(err, FatalError | MemberRejected), (status, err)
            assert not isinstance(err, BadConfiguration), (status, err)  # nothing to configure


@pytest.mark.parametrize("status", [429, 503])
def test_error_of_reads_retry_after_like_every_provider(status: int) -> None:
    headers = requests.structures.CaseInsensitiveDict({"retry-after": "6"})
    err = error_of(status, headers, json.dumps(problem(status, "Slow Down")))
    assert isinstance(err, RetryableError) and err.retry_after == 6.0 and err.status == status


@pytest.mark.parametrize(
    "cause",
    [
        requests.exceptions.ConnectTimeout("t"),
        requests.exceptions.ReadTimeout("t"),
        requests.exceptions.ConnectionError("reset"),
        requests.exceptions.ChunkedEncodingError("x"),
    ],
)
def test_connection_errors_wrapped_by_the_sdk_are_transient(cause: Exception) -> None:
    assert isinstance(translate(ApiClientError(cause)), TransientError)
    assert isinstance(translate(cause), TransientError)


def test_errors_that_are_not_the_providers_pass_through() -> None:
    assert translate(ApiClientError(ValueError("bug"))) is None
    assert translate(KeyError("x")) is None


def test_result_turns_every_sdk_answer_into_a_dict() -> None:
    ok = requests.Response()
    ok.status_code, ok._content = 204, b""
    assert result(ok) == {}
    assert result('{"a": 1}') == {"a": 1}
    assert result({"a": 1}) == {"a": 1}
    bad = requests.Response()
    bad.status_code, bad._content = 500, b""
    with pytest.raises(ApiClientError):
        result(bad)


def test_list_exists_asks_for_the_audience_and_a_404_is_no(
    rsps: responses.RequestsMock, mc: Mailchimp
) -> None:
    rsps.get(f"{HOST}/lists/{LIST}", json={"id": LIST, "name": "Shop"})
    add_problem(rsps, "GET", f"{HOST}/lists/nope", 404, "Resource Not Found")
    assert mc.list_exists(LIST) is True and mc.list_exists("nope") is False
    assert len(rsps.calls) == 2
