"""The Sendlane adapter against recorded HTTP: every operation, every error path."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from providers.base import Change, ChangeKind, Destination, Member, OnLeave, OutcomeStatus
from providers.errors import (
    AuthenticationFailed,
    BadConfiguration,
    NotFound,
    RateLimited,
    RefusedRequest,
    TransientError,
)
from providers.sendlane import BASE_URL, Sendlane, ValidationFailed, classify
from tests.providers.conftest import Sleeps, fast_client

BASE = BASE_URL
TOKEN = "sl-token-0123456789"
DEST = Destination(list_id="3", tag="vip")
TAG_ID = "77"
NO_NEXT = {"next": None}


def make(sleeps: Sleeps, **kw: Any) -> Sendlane:
    http = fast_client(
        "sendlane",
        BASE,
        headers={"Authorization": f"Bearer {TOKEN}"},
        classify=classify,
        sleeps=sleeps,
        limits=Sendlane.limits,
    )
    sl = Sendlane(http, clock=sleeps.clock, **kw)
    sl.tags.ids["vip"] = TAG_ID  # most tests start with the tag known (ensure_tag ran)
    return sl


def change(kind: ChangeKind, n: int, *, consent: bool = True, ref: str | None = None) -> Change:
    member = Member(f"m{n}@example.com", f"c{n}", first_name=f"F{n}", consent=consent)
    return Change(kind, member, ref)


def body(call: Any) -> Any:
    return json.loads(call.request.body)


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def page(items: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    return {"data": items, "links": {"next": next_url}, "meta": {"total": len(items)}}


def no_unsubscribed(rsps: Any) -> None:
    rsps.get(f"{BASE}/lists/3/unsubscribed", json=page([]))
    rsps.get(f"{BASE}/contacts/unsubscribed", json=page([]))


@pytest.fixture
def sl(sleeps: Sleeps) -> Sendlane:
    return make(sleeps)


# --- account ---------------------------------------------------------------------------------
def test_check_sends_the_bearer_token_and_counts_lists(rsps, sl):
    rsps.get(f"{BASE}/lists", json={"data": [{"id": 3}], "links": NO_NEXT, "meta": {"total": 4}})
    info = sl.check()
    assert info.provider == "sendlane" and "4 lists" in info.detail
    headers = rsps.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"


def test_from_credentials_reads_the_batch_size_option_and_names_bad_input():
    sl = Sendlane.from_credentials({"api_token": TOKEN, "batch_size": "40"}, sleep=Sleeps())
    assert (sl.limits.batch_size, sl.http.base_url) == (40, BASE)
    assert Sendlane.from_credentials({"api_token": TOKEN}).limits.batch_size == 100
    emu = Sendlane.from_credentials({"api_token": TOKEN}, base_url="http://127.0.0.1:9/v2/")
    assert emu.http.base_url == "http://127.0.0.1:9/v2"
    with pytest.raises(BadConfiguration, match="api_token"):
        Sendlane.from_credentials({})
    with pytest.raises(BadConfiguration, match="batch_size"):
        Sendlane.from_credentials({"api_token": TOKEN, "batch_size": "lots"})


def test_401_html_page_is_authentication_failed_without_the_token(rsps):
    sl = Sendlane.from_credentials({"api_token": TOKEN}, sleep=Sleeps())
    html = f"<html><body><h1>Unauthorized</h1><p>token {TOKEN}</p></body></html>"
    rsps.get(f"{BASE}/lists", status=401, body=html, content_type="text/html")
    with pytest.raises(AuthenticationFailed, match="Unauthorized") as err:
        sl.check()
    assert TOKEN not in str(err.value) and "<h1>" not in str(err.value)
    assert len(rsps.calls) == 1


def test_discover_pages_until_links_next_is_null(rsps, sl):
    rsps.get(f"{BASE}/lists", json=page([{"id": 1, "name": "A"}], f"{BASE}/lists?page=2"))
    rsps.get(f"{BASE}/lists", json=page([{"id": 2, "name": "B"}]))
    rsps.get(f"{BASE}/tags", json=page([{"id": 77, "name": "vip", "audience_count": 5}]))
    rsps.get(f"{BASE}/custom-fields", json=page([{"id": "9", "name": "shoe", "type": "text"}]))
    found = sl.discover()
    assert [x.name for x in found.lists] == ["A", "B"]
    assert [query(c)["page"] for c in rsps.calls[:2]] == [["1"], ["2"]]
    assert query(rsps.calls[0])["limit"] == ["100"]
    assert (found.tags[0].id, found.tags[0].member_count) == ("77", 5)
    assert found.merge_fields[0].tag == "shoe"


# --- tags ------------------------------------------------------------------------------------
def test_ensure_tag_finds_by_name_on_a_later_page(rsps, sleeps):
    sl = make(sleeps)
    sl.tags.ids.clear()
    rsps.get(f"{BASE}/tags", json=page([{"id": 1, "name": "other"}], f"{BASE}/tags?page=2"))
    rsps.get(f"{BASE}/tags", json=page([{"id": 5, "name": "VIP"}]))
    assert sl.ensure_tag(DEST) == "5"
    assert sl.ensure_tag(DEST) == "5"
    assert len(rsps.calls) == 2


def test_ensure_tag_creates_a_missing_tag(rsps, sleeps):
    sl = make(sleeps)
    sl.tags.ids.clear()
    rsps.get(f"{BASE}/tags", json=page([]))
    rsps.post(f"{BASE}/tags", json={"data": {"id": 12, "name": "vip"}})
    assert sl.ensure_tag(DEST) == "12"
    assert body(rsps.calls[1]) == {"name": "vip"}


def test_a_tag_deleted_in_the_ui_is_recreated_and_the_add_retried_once(rsps, sl):
    no_unsubscribed(rsps)
    refused = {"message": "The given data was invalid.", "errors": {}}
    refused["errors"] = {"contacts.0.tag_ids.0": ["The selected contacts.0.tag_ids.0 is invalid."]}
    rsps.post(f"{BASE}/lists/3/contacts", status=422, json=refused)
    rsps.get(f"{BASE}/tags", json=page([]))
    rsps.post(f"{BASE}/tags", json={"data": {"id": 78, "name": "vip"}})
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={"data": {"message": "queued"}})
    [out] = sl.apply_batch(DEST, [change(ChangeKind.ADD, 0)])
    assert out.status == OutcomeStatus.ACCEPTED  # not rejected for a tag the UI deleted
    assert body(rsps.calls[-1])["contacts"][0]["tag_ids"] == [78]
    assert sl.tag_id("vip") == "78"


def test_a_tag_still_refused_after_recreating_it_is_raised(rsps, sl):
    rsps.get(f"{BASE}/tags/77/contacts", status=404, json={"message": "Tag 77 not found."})
    rsps.get(f"{BASE}/tags", json=page([{"id": 77, "name": "vip"}]))
    with pytest.raises(NotFound):
        sl.confirm(DEST, [change(ChangeKind.ADD, 0)])
    assert len([c for c in rsps.calls if "/tags/77/contacts" in c.request.url]) == 2


def test_read_members_reads_the_tag_contacts(rsps, sl):
    rsps.get(f"{BASE}/tags/77/contacts", json=page([{"id": 1, "email": "A@x.test"}], "next"))
    rsps.get(f"{BASE}/tags/77/contacts", json=page([{"id": 2, "email": "b@x.test"}]))
    assert list(sl.read_members(DEST)) == ["a@x.test", "b@x.test"]


# --- adds and updates ------------------------------------------------------------------------
def test_adds_are_one_list_call_and_accepted(rsps, sl):
    no_unsubscribed(rsps)
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={"data": {"message": "ok"}})
    batch = [
        change(ChangeKind.ADD, 0),
        change(ChangeKind.ADD, 1, consent=False),
        change(ChangeKind.UPDATE, 2),
    ]
    outcomes = sl.apply_batch(DEST, batch)
    assert [o.status for o in outcomes] == [OutcomeStatus.ACCEPTED] * 3
    rows = body(rsps.calls[2])["contacts"]
    assert rows[0] == {
        "email": "m0@example.com",
        "first_name": "F0",
        "email_consent": True,
        "tag_ids": [77],
    }
    assert "email_consent" not in rows[1]  # never sent false: that could unsubscribe
    assert "email_consent" not in rows[2]  # an update never touches consent


def test_unsubscribed_members_are_tagged_without_the_list_endpoint(rsps, sl):
    unsub = page([{"id": 41, "email": "M1@example.com"}])
    rsps.get(f"{BASE}/lists/3/unsubscribed", json=unsub)
    rsps.get(f"{BASE}/contacts/unsubscribed", json=page([]))
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={})
    rsps.post(f"{BASE}/contacts/41/tags", json={"data": []})
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={})
    outcomes = {
        o.email: o for o in sl.apply_batch(DEST, [change(ChangeKind.ADD, n) for n in (0, 1)])
    }
    assert (outcomes["m1@example.com"].status, outcomes["m1@example.com"].provider_ref) == (
        OutcomeStatus.APPLIED,
        "c=41",
    )
    assert [r["email"] for r in body(rsps.calls[3])["contacts"]] == ["m0@example.com"]
    assert body(rsps.calls[2]) == {"tag_ids": [77]}
    sl.apply_batch(DEST, [change(ChangeKind.ADD, 5)])  # the unsubscribed sets are cached
    assert len(rsps.calls) == 5


def test_the_unsubscribed_set_is_read_again_after_the_cache_ttl(rsps, sl, sleeps):
    no_unsubscribed(rsps)
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={})
    sl.apply_batch(DEST, [change(ChangeKind.ADD, 0)])
    sleeps(sl.cache_ttl + 1)
    no_unsubscribed(rsps)
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={})
    sl.apply_batch(DEST, [change(ChangeKind.ADD, 1)])
    assert len(rsps.calls) == 6  # both unsubscribed sets read again


def test_422_keyed_by_member_rejects_those_and_resends_the_rest(rsps, sl):
    no_unsubscribed(rsps)
    invalid = {
        "message": "The given data was invalid.",
        "errors": {"contacts.1.email": ["The contacts.1.email must be a valid email address."]},
    }
    rsps.post(f"{BASE}/lists/3/contacts", status=422, json=invalid)
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={})
    outcomes = {
        o.email: o for o in sl.apply_batch(DEST, [change(ChangeKind.ADD, n) for n in range(3)])
    }
    bad = outcomes["m1@example.com"]
    assert bad.status == OutcomeStatus.REJECTED and "valid email" in (bad.reason or "")
    assert not bad.retryable
    assert [r["email"] for r in body(rsps.calls[3])["contacts"]] == [
        "m0@example.com",
        "m2@example.com",
    ]
    assert outcomes["m0@example.com"].status == OutcomeStatus.ACCEPTED


def test_422_not_about_members_is_a_refused_request(rsps, sl):
    no_unsubscribed(rsps)
    rsps.post(
        f"{BASE}/lists/3/contacts",
        status=422,
        json={"message": "bad", "errors": {"list": ["gone"]}},
    )
    with pytest.raises(RefusedRequest, match="list: gone"):
        sl.apply_batch(DEST, [change(ChangeKind.ADD, 0)])


def test_a_list_endpoint_that_keeps_refusing_the_batch_is_a_refused_request(rsps, sl):
    no_unsubscribed(rsps)
    first = {"message": "invalid", "errors": {"contacts.0.email": ["not valid"]}}
    for _ in range(3):  # each answer names the first contact left; the batch never goes through
        rsps.post(f"{BASE}/lists/3/contacts", status=422, json=first)
    with pytest.raises(RefusedRequest, match="kept refusing the batch"):
        sl.apply_batch(DEST, [change(ChangeKind.ADD, n) for n in range(4)])


def test_merge_fields_are_sent_by_custom_field_id(rsps, sl):
    no_unsubscribed(rsps)
    rsps.get(f"{BASE}/custom-fields", json=page([{"id": "9", "name": "Shoe"}]))
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={})
    member = Member("a@x.test", "1", merge_fields={"shoe": "44"})
    sl.apply_batch(DEST, [Change(ChangeKind.UPDATE, member)])
    assert body(rsps.calls[3])["contacts"][0]["custom_fields"] == [{"id": 9, "value": "44"}]
    with pytest.raises(BadConfiguration, match="'hat'"):
        sl.field_values(Member("a@x.test", "1", merge_fields={"hat": "L"}))


# --- confirm ---------------------------------------------------------------------------------
def test_confirm_applies_members_found_carrying_the_tag(rsps, sl):
    carriers = [{"id": 10, "email": "M0@example.com"}]
    rsps.get(f"{BASE}/tags/77/contacts", json=page(carriers, "next"))
    rsps.get(f"{BASE}/tags/77/contacts", json=page([{"id": 12, "email": "m2@example.com"}]))
    pending = [change(ChangeKind.ADD, n) for n in range(3)]
    outcomes = {o.email: o for o in sl.confirm(DEST, pending)}
    assert (outcomes["m0@example.com"].status, outcomes["m0@example.com"].provider_ref) == (
        OutcomeStatus.APPLIED,
        "c=10",
    )
    assert outcomes["m1@example.com"].status == OutcomeStatus.ACCEPTED
    assert outcomes["m2@example.com"].provider_ref == "c=12"
    sl.confirm(DEST, pending[1:])  # a second chunk of the same confirm round: no second read
    assert len(rsps.calls) == 2


def test_an_add_makes_the_next_confirm_read_again(rsps, sl):
    rsps.get(f"{BASE}/tags/77/contacts", json=page([]))
    no_unsubscribed(rsps)
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={})
    rsps.get(f"{BASE}/tags/77/contacts", json=page([{"id": 10, "email": "m0@example.com"}]))
    assert sl.confirm(DEST, [change(ChangeKind.ADD, 0)])[0].status == OutcomeStatus.ACCEPTED
    sl.apply_batch(DEST, [change(ChangeKind.ADD, 0)])
    assert sl.confirm(DEST, [change(ChangeKind.ADD, 0)])[0].status == OutcomeStatus.APPLIED


# --- removes ---------------------------------------------------------------------------------
def test_remove_with_a_stored_contact_id_is_one_delete_of_the_tag(rsps, sl):
    rsps.delete(f"{BASE}/contacts/41/tags/77", status=202, json={})
    [out] = sl.apply_batch(DEST, [change(ChangeKind.REMOVE, 1, ref="c=41")])
    assert (out.status, out.provider_ref) == (OutcomeStatus.APPLIED, "c=41")
    assert len(rsps.calls) == 1


def test_remove_without_an_id_searches_by_email(rsps, sl):
    rsps.get(f"{BASE}/contacts/search", json={"data": {"id": 41, "email": "m1@example.com"}})
    rsps.delete(f"{BASE}/contacts/41/tags/77", status=202, json={})
    [out] = sl.apply_batch(DEST, [change(ChangeKind.REMOVE, 1)])
    assert (out.status, out.provider_ref) == (OutcomeStatus.APPLIED, "c=41")
    assert query(rsps.calls[0])["email"] == ["m1@example.com"]
    assert body(rsps.calls[0]) == {"email": "m1@example.com"}


def test_remove_of_an_unknown_contact_is_applied(rsps, sl):
    rsps.get(f"{BASE}/contacts/search", status=404, json={"message": "Not found", "errors": []})
    [out] = sl.apply_batch(DEST, [change(ChangeKind.REMOVE, 1)])
    assert out.status == OutcomeStatus.APPLIED and len(rsps.calls) == 1


def test_404_on_the_tag_delete_is_success(rsps, sl):
    rsps.delete(f"{BASE}/contacts/41/tags/77", status=404, json={"message": "Not found"})
    [out] = sl.apply_batch(DEST, [change(ChangeKind.REMOVE, 1, ref="c=41")])
    assert out.status == OutcomeStatus.APPLIED


@pytest.mark.parametrize(
    ("on_leave", "method", "path"),
    [
        (OnLeave.UNSUBSCRIBE, "POST", "/contacts/41/unsubscribe"),
        (OnLeave.ARCHIVE, "DELETE", "/lists/3/contacts/41"),
    ],
)
def test_on_leave_extra_call_never_deletes_the_contact(rsps, sl, on_leave, method, path):
    rsps.delete(f"{BASE}/contacts/41/tags/77", status=202, json={})
    rsps.add(method, f"{BASE}{path}", status=202, json={})
    dest = Destination("3", "vip", on_leave)
    [out] = sl.apply_batch(dest, [change(ChangeKind.REMOVE, 1, ref="c=41")])
    assert out.status == OutcomeStatus.APPLIED
    assert [(c.request.method, urlsplit(c.request.url).path) for c in rsps.calls][1] == (
        method,
        f"/v2{path}",
    )


def test_a_mixed_batch_gets_exactly_one_outcome_per_change(rsps, sl):
    no_unsubscribed(rsps)
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={})
    rsps.delete(f"{BASE}/contacts/41/tags/77", status=202, json={})
    batch = [change(ChangeKind.ADD, 0), change(ChangeKind.REMOVE, 1, ref="c=41")]
    outcomes = sl.apply_batch(DEST, batch)
    assert sorted(id(o.change) for o in outcomes) == sorted(id(c) for c in batch)


# --- errors ----------------------------------------------------------------------------------
def test_429_without_retry_after_backs_off_then_succeeds(rsps, sl, sleeps):
    rsps.get(f"{BASE}/lists", status=429, json={"message": "Too Many Attempts.", "errors": []})
    rsps.get(f"{BASE}/lists", json=page([]))
    sl.check()
    assert len(sleeps.waits) == 1 and 0 < sleeps.waits[0] <= sl.http.retry.initial
    assert (sl.stats.retries, sl.stats.rate_limited) == (1, 1)


def test_403_blocked_is_retried_like_a_rate_limit(rsps, sl):
    blocked = {"message": "Your account has been blocked after too many errors", "errors": []}
    rsps.get(f"{BASE}/lists", status=403, json=blocked)
    rsps.get(f"{BASE}/lists", json=page([]))
    sl.check()
    assert sl.stats.rate_limited == 1


def test_500_then_success(rsps, sl):
    rsps.get(f"{BASE}/lists", status=500, json={"message": "Server Error", "errors": []})
    rsps.get(f"{BASE}/lists", json=page([]))
    assert sl.check().provider == "sendlane"


def test_500_forever_is_transient_after_the_retry_budget(rsps, sl):
    rsps.get(f"{BASE}/lists", status=502, body="Bad Gateway")
    with pytest.raises(TransientError, match="Bad Gateway"):
        sl.check()
    assert len(rsps.calls) == sl.http.retry.attempts


def test_timeout_is_transient_and_retried(rsps, sl):
    rsps.get(f"{BASE}/lists", body=requests.exceptions.ReadTimeout("slow"))
    rsps.get(f"{BASE}/lists", json=page([]))
    sl.check()
    assert sl.stats.retries == 1


def test_404_on_the_list_is_not_found(rsps, sl):
    no_unsubscribed(rsps)
    rsps.post(
        f"{BASE}/lists/3/contacts", status=404, json={"message": "List not found", "errors": []}
    )
    with pytest.raises(NotFound, match="List not found"):
        sl.apply_batch(DEST, [change(ChangeKind.ADD, 0)])


def response(status: int, payload: Any, text: str | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = (text if text is not None else json.dumps(payload)).encode()
    return resp


@pytest.mark.parametrize(
    ("status", "payload", "error"),
    [
        (200, {}, None),
        (202, {}, None),
        (401, {"message": "Unauthenticated."}, AuthenticationFailed),
        (403, {"message": "This action is unauthorized."}, AuthenticationFailed),
        (403, {"message": "Blocked: too many errors"}, RateLimited),
        (404, {"message": "Not found"}, NotFound),
        (422, {"message": "invalid", "errors": {"email": ["bad"]}}, ValidationFailed),
        (429, {"message": "Too Many Attempts."}, RateLimited),
        (500, {}, TransientError),
        (503, {}, TransientError),
        (400, {"message": "bad", "errors": ["An error occurred"]}, RefusedRequest),
    ],
)
def test_status_to_error(status, payload, error):
    found = classify(response(status, payload))
    if error is None:
        assert found is None
    else:
        assert found is not None and type(found) is error
        assert (found.status, found.provider) == (status, "sendlane")


def test_error_messages_read_both_error_shapes():
    keyed = classify(response(422, {"message": "invalid", "errors": {"email": ["bad", "worse"]}}))
    assert keyed is not None and "email: bad; worse" in str(keyed)
    listed = classify(response(400, {"message": "nope", "errors": ["An error occurred"]}))
    assert listed is not None and "nope; An error occurred" in str(listed)
    html = classify(response(401, None, "<html><title>401</title><b>Unauthorized</b></html>"))
    assert html is not None and "401 Unauthorized" in str(html)


def test_two_accounts_on_the_one_base_url_do_not_share_a_rate_limit():
    one = Sendlane.from_credentials({"api_token": "account-one-token"})
    two = Sendlane.from_credentials({"api_token": "account-two-token"})
    same = Sendlane.from_credentials({"api_token": "account-one-token"})
    assert one.http.limiter is not two.http.limiter
    assert one.http.limiter is same.http.limiter


def test_an_account_wide_unsubscribe_never_gets_email_consent(rsps, sl):
    rsps.get(f"{BASE}/lists/3/unsubscribed", json=page([]))
    rsps.get(f"{BASE}/contacts/unsubscribed", json=page([{"id": 41, "email": "M0@example.com"}]))
    rsps.post(f"{BASE}/contacts/41/tags", json={"data": []})
    rsps.post(f"{BASE}/lists/3/contacts", status=202, json={"data": {"message": "queued"}})
    outcomes = {
        o.email: o for o in sl.apply_batch(DEST, [change(ChangeKind.ADD, n) for n in (0, 1)])
    }
    assert (outcomes["m0@example.com"].status, outcomes["m0@example.com"].provider_ref) == (
        OutcomeStatus.APPLIED,
        "c=41",
    )
    sent = [c for c in rsps.calls if c.request.url == f"{BASE}/lists/3/contacts"]
    assert [r["email"] for r in body(sent[0])["contacts"]] == ["m1@example.com"]


def test_list_exists_asks_for_the_list_and_a_404_is_no(rsps, sl):
    rsps.get(f"{BASE}/lists/3", json={"data": {"id": 3, "name": "Shop"}})
    rsps.get(f"{BASE}/lists/9", status=404, json={"message": "Not found"})
    assert sl.list_exists("3") is True and sl.list_exists("9") is False
    assert len(rsps.calls) == 2
