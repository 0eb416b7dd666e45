"""The ActiveCampaign adapter against recorded HTTP: every operation, every error path."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from providers.activecampaign import ActiveCampaign, ImportRefused, classify
from providers.base import Change, ChangeKind, Destination, Member, OnLeave, OutcomeStatus
from providers.errors import (
    AuthenticationFailed,
    BadConfiguration,
    MemberRejected,
    NotFound,
    RateLimited,
    RefusedRequest,
    TransientError,
    Unsupported,
)
from tests.providers.conftest import Sleeps, fast_client

ROOT = "https://shop.api-us1.com"
BASE = f"{ROOT}/api/3"
TOKEN = "ac-token-0123456789"
DEST = Destination(list_id="3", tag="vip")
TAG_ID = "77"


def make(sleeps: Sleeps, **kw: Any) -> ActiveCampaign:
    http = fast_client(
        "activecampaign",
        BASE,
        headers={"Api-Token": TOKEN},
        classify=classify,
        sleeps=sleeps,
        limits=ActiveCampaign.limits,
    )
    ac = ActiveCampaign(http, sleep=sleeps, poll_interval=2.5, **kw)
    ac.tags.ids["vip"] = TAG_ID  # most tests start with the tag known (ensure_tag ran)
    return ac


def change(kind: ChangeKind, n: int, *, consent: bool = True, ref: str | None = None) -> Change:
    member = Member(f"m{n}@example.com", f"c{n}", first_name=f"F{n}", consent=consent)
    return Change(kind, member, ref)


def adds(count: int, **kw: Any) -> list[Change]:
    return [change(ChangeKind.ADD, n, **kw) for n in range(count)]


def body(call: Any) -> Any:
    return json.loads(call.request.body)


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@pytest.fixture
def ac(sleeps: Sleeps) -> ActiveCampaign:
    return make(sleeps)


# --- account ---------------------------------------------------------------------------------
def test_check_names_the_user_and_sends_the_token(rsps, ac):
    rsps.get(f"{BASE}/users/me", json={"user": {"id": "1", "email": "admin@shop.test"}})
    info = ac.check()
    assert (info.provider, info.account) == ("activecampaign", "admin@shop.test")
    assert rsps.calls[0].request.headers["Api-Token"] == TOKEN


def test_from_credentials_builds_the_api_root_and_names_missing_keys(rsps):
    ac = ActiveCampaign.from_credentials(
        {"api_url": ROOT + "/", "api_token": TOKEN}, sleep=Sleeps()
    )
    assert ac.http.base_url == BASE
    emu = ActiveCampaign.from_credentials(
        {"api_url": ROOT, "api_token": TOKEN}, base_url="http://127.0.0.1:9/api/3", sleep=Sleeps()
    )
    assert emu.http.base_url == "http://127.0.0.1:9/api/3"
    with pytest.raises(BadConfiguration, match="api_token") as err:
        ActiveCampaign.from_credentials({"api_url": ROOT})
    assert "api_url," not in str(err.value)
    with pytest.raises(BadConfiguration, match="api_url must be the account URL"):
        ActiveCampaign.from_credentials({"api_url": "shop", "api_token": TOKEN})


def test_bad_token_is_authentication_failed_without_the_token(rsps):
    ac = ActiveCampaign.from_credentials({"api_url": ROOT, "api_token": TOKEN}, sleep=Sleeps())
    rsps.get(f"{BASE}/users/me", status=403, json={"message": f"No access for {TOKEN}"})
    with pytest.raises(AuthenticationFailed) as err:
        ac.check()
    assert TOKEN not in str(err.value)
    assert len(rsps.calls) == 1  # fatal: never retried


def test_discover_pages_with_limit_and_offset(rsps, ac):
    lists = [{"id": str(i), "name": f"L{i}"} for i in range(150)]
    rsps.get(f"{BASE}/lists", json={"lists": lists[:100], "meta": {"total": "150"}})
    rsps.get(f"{BASE}/lists", json={"lists": lists[100:], "meta": {"total": "150"}})
    tags = [
        {"id": "1", "tag": "vip", "tagType": "contact"},
        {"id": "2", "tag": "t", "tagType": "template"},
    ]
    rsps.get(f"{BASE}/tags", json={"tags": tags, "meta": {"total": "2"}})
    fields = [
        {"id": "5", "title": "Birthday", "type": "date", "perstag": "BDAY", "isrequired": "1"}
    ]
    rsps.get(f"{BASE}/fields", json={"fields": fields, "meta": {"total": "1"}})
    found = ac.discover()
    assert [x.id for x in found.lists] == [str(i) for i in range(150)]
    assert [query(c)["offset"] for c in rsps.calls[:2]] == [["0"], ["100"]]
    assert all(query(c)["limit"] == ["100"] for c in rsps.calls)
    assert [t.name for t in found.tags] == ["vip"]  # template tags are not contact tags
    assert (found.merge_fields[0].tag, found.merge_fields[0].required) == ("BDAY", True)


# --- tags ------------------------------------------------------------------------------------
def test_ensure_tag_finds_the_exact_name_among_contains_matches(rsps, sleeps):
    ac = make(sleeps)
    ac.tags.ids.clear()
    found = [{"id": "8", "tag": "vip-old"}, {"id": "9", "tag": "VIP"}]
    rsps.get(f"{BASE}/tags", json={"tags": found, "meta": {"total": "2"}})
    assert ac.ensure_tag(DEST) == "9"
    assert query(rsps.calls[0])["search"] == ["vip"]
    assert ac.ensure_tag(DEST) == "9"  # cached: no second call
    assert len(rsps.calls) == 1


def test_ensure_tag_creates_a_missing_contact_tag(rsps, sleeps):
    ac = make(sleeps)
    ac.tags.ids.clear()
    rsps.get(f"{BASE}/tags", json={"tags": [{"id": "8", "tag": "vip-old"}], "meta": {"total": "1"}})
    rsps.post(f"{BASE}/tags", status=201, json={"tag": {"id": "12", "tag": "vip"}})
    assert ac.ensure_tag(DEST) == "12"
    sent = body(rsps.calls[1])["tag"]
    assert (sent["tag"], sent["tagType"]) == ("vip", "contact")


def test_archive_is_unsupported(ac):
    dest = Destination("3", "vip", OnLeave.ARCHIVE)
    with pytest.raises(Unsupported):
        ac.ensure_tag(dest)
    with pytest.raises(Unsupported):
        ac.apply_batch(dest, [change(ChangeKind.REMOVE, 1)])


def tag_alive(rsps, tag_id: str = TAG_ID) -> None:
    rsps.get(f"{BASE}/tags/{tag_id}", json={"tag": {"id": tag_id, "tag": "vip"}})


def tag_gone(rsps, tag_id: str = TAG_ID) -> None:
    rsps.get(f"{BASE}/tags/{tag_id}", status=404, json={"message": "No Result found for Tag"})


def test_read_members_lists_contacts_by_tag(rsps, ac):
    tag_alive(rsps)
    contacts = [{"id": "1", "email": "A@x.test"}, {"id": "2", "email": "b@x.test"}]
    rsps.get(f"{BASE}/contacts", json={"contacts": contacts, "meta": {"total": "2"}})
    assert list(ac.read_members(DEST)) == ["a@x.test", "b@x.test"]
    assert query(rsps.calls[1])["tagid"] == [TAG_ID]


def test_tag_deleted_in_the_ui_is_recreated_and_the_tagging_retried_once(rsps, ac):
    one_member(rsps, [{"list": "3", "status": "1"}])
    gone = {"errors": [{"status": 404, "title": "Not Found", "detail": "Tag not found"}]}
    rsps.post(f"{BASE}/contactTags", status=404, json=gone)
    rsps.get(f"{BASE}/tags", json={"tags": [], "meta": {"total": "0"}})
    rsps.post(f"{BASE}/tags", status=201, json={"tag": {"id": "78", "tag": "vip"}})
    rsps.post(f"{BASE}/contactTags", status=201, json={"contactTag": {"id": "902", "tag": "78"}})
    [out] = ac.apply_batch(DEST, [change(ChangeKind.ADD, 1)])
    assert (out.status, out.provider_ref) == (OutcomeStatus.APPLIED, "c=41;ct=902")
    assert body(rsps.calls[-1]) == {"contactTag": {"contact": "41", "tag": "78"}}
    assert ac.tag_id("vip") == "78"  # the next batch uses the new id


def test_tag_still_not_found_after_recreating_it_is_raised(rsps, ac):
    tag_gone(rsps)
    rsps.get(f"{BASE}/tags", json={"tags": [{"id": "78", "tag": "vip"}], "meta": {"total": "1"}})
    tag_gone(rsps, "78")
    with pytest.raises(NotFound):
        list(ac.read_members(DEST))
    assert len(rsps.calls) == 3


def test_removes_check_the_cached_tag_once_a_batch_and_use_a_recreated_one(rsps, ac):
    # the tag was deleted in the UI, then the bulk importer created "vip" again by name
    tag_gone(rsps)
    rsps.get(f"{BASE}/tags", json={"tags": [{"id": "78", "tag": "vip"}], "meta": {"total": "1"}})
    tag_alive(rsps, "78")
    for n in (41, 42):
        tags = [{"id": f"9{n}", "tag": "78"}]
        rsps.get(f"{BASE}/contacts/{n}/contactTags", json={"contactTags": tags})
        rsps.delete(f"{BASE}/contactTags/9{n}", json={})
    removes = [change(ChangeKind.REMOVE, n, ref=f"c={n}") for n in (41, 42)]
    outcomes = ac.apply_batch(DEST, removes)
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    deleted = [c.request.url for c in rsps.calls if c.request.method == "DELETE"]
    assert deleted == [f"{BASE}/contactTags/941", f"{BASE}/contactTags/942"]
    assert len([c for c in rsps.calls if "/tags" in c.request.url]) == 3  # once a batch


# --- bulk path -------------------------------------------------------------------------------
def bulk_ok(rsps, success: list[str], failure: list[str], emails: dict[str, str]) -> None:
    rsps.post(f"{BASE}/import/bulk_import", json={"success": 1, "batchId": "B1"})
    info = {"status": "completed", "success": success, "failure": failure}
    rsps.get(f"{BASE}/import/info", json=info)
    contacts = [{"id": i, "email": e} for e, i in emails.items()]
    if success:  # ids are mapped back to emails only when there are some
        rsps.get(f"{BASE}/contacts", json={"contacts": contacts})


def test_bulk_import_sends_one_call_and_maps_ids_and_failures(rsps, ac):
    batch = [*adds(11), change(ChangeKind.ADD, 11, consent=False)]
    ids = {f"m{n}@example.com": str(100 + n) for n in range(12) if n != 4}
    bulk_ok(rsps, list(ids.values()), ["M4@example.com"], ids)
    outcomes = ac.apply_batch(DEST, batch)
    assert len(outcomes) == len(batch)
    by_email = {o.email: o for o in outcomes}
    assert by_email["m4@example.com"].status == OutcomeStatus.REJECTED
    assert not by_email["m4@example.com"].retryable
    assert by_email["m0@example.com"].status == OutcomeStatus.APPLIED
    assert by_email["m0@example.com"].provider_ref == "c=100"
    rows = body(rsps.calls[0])["contacts"]
    assert rows[0] == {
        "email": "m0@example.com",
        "first_name": "F0",
        "tags": ["vip"],
        "subscribe": [{"listid": "3"}],
    }
    assert "subscribe" not in rows[11]  # no consent: created and tagged, never subscribed
    assert query(rsps.calls[1])["batchId"] == ["B1"]
    assert sorted(query(rsps.calls[2])["ids[]"]) == sorted(ids.values())


def all_ok(rsps, count: int) -> None:
    """A completed import that reports every one of ``m0..m{count-1}`` as a success."""
    ids = {f"m{n}@example.com": str(100 + n) for n in range(count)}
    bulk_ok(rsps, list(ids.values()), [], ids)


def test_bulk_member_in_neither_success_nor_failure_is_not_marked_synced(rsps, ac):
    ids = {f"m{n}@example.com": str(100 + n) for n in range(10) if n not in (3, 7)}
    bulk_ok(rsps, list(ids.values()), ["m7@example.com"], ids)
    outcomes = {o.email: o for o in ac.apply_batch(DEST, adds(10))}
    silent = outcomes["m3@example.com"]
    assert silent.status == OutcomeStatus.REJECTED and silent.retryable
    assert "neither success nor failure" in (silent.reason or "")
    assert outcomes["m7@example.com"].status == OutcomeStatus.REJECTED
    assert not outcomes["m7@example.com"].retryable
    applied = {e for e, o in outcomes.items() if o.status == OutcomeStatus.APPLIED}
    assert applied == set(ids)
    assert len(rsps.calls) == 3  # no per-member calls: the retry happens on a later run


def test_bulk_updates_carry_no_tag_and_no_subscription(rsps, ac):
    batch = [change(ChangeKind.UPDATE, n) for n in range(10)]
    all_ok(rsps, 10)
    outcomes = ac.apply_batch(DEST, batch)
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert all(set(r) == {"email", "first_name"} for r in body(rsps.calls[0])["contacts"])


def test_bulk_polls_until_completed_with_the_injected_sleep(rsps, ac, sleeps):
    rsps.post(f"{BASE}/import/bulk_import", json={"batchId": "B1"})
    rsps.get(f"{BASE}/import/info", json={"status": "running"})
    rsps.get(f"{BASE}/import/info", json={"status": "running"})
    ids = {f"m{n}@example.com": str(n) for n in range(10)}
    done = {"status": "completed", "success": list(ids.values()), "failure": []}
    rsps.get(f"{BASE}/import/info", json=done)
    rsps.get(f"{BASE}/contacts", json={"contacts": [{"id": i, "email": e} for e, i in ids.items()]})
    outcomes = ac.apply_batch(DEST, adds(10))
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert sleeps.waits == [2.5, 2.5]


def test_import_still_running_is_accepted_then_confirmed(rsps, sleeps):
    ac = make(sleeps, poll_attempts=2)
    rsps.post(f"{BASE}/import/bulk_import", json={"batchId": "B9"})
    rsps.get(f"{BASE}/import/info", json={"status": "running"})
    rsps.get(f"{BASE}/import/info", json={"status": "running"})
    outcomes = ac.apply_batch(DEST, adds(10))
    assert {(o.status, o.provider_ref) for o in outcomes} == {(OutcomeStatus.ACCEPTED, "b=B9")}
    later = [Change(ChangeKind.ADD, o.change.member, o.provider_ref) for o in outcomes]
    rsps.get(
        f"{BASE}/import/info",
        json={"status": "completed", "success": ["5"], "failure": ["m1@example.com"]},
    )
    rsps.get(f"{BASE}/contacts", json={"contacts": [{"id": "5", "email": "m0@example.com"}]})
    settled = {o.email: o for o in ac.confirm(DEST, later)}
    assert len(settled) == 10
    assert (settled["m0@example.com"].status, settled["m0@example.com"].provider_ref) == (
        OutcomeStatus.APPLIED,
        "c=5",
    )
    assert settled["m1@example.com"].status == OutcomeStatus.REJECTED
    assert query(rsps.calls[-2])["batchId"] == ["B9"]


def test_bulk_400_naming_contacts_sends_those_one_by_one(rsps, ac):
    refused = {
        "success": 0,
        "message": "JSON payload did not pass validation.",
        "failureReasons": [{"contact": 2, "failureReason": "Field 'email' incorrect format"}],
    }
    rsps.post(f"{BASE}/import/bulk_import", status=400, json=refused)
    ids = {f"m{n}@example.com": str(100 + n) for n in range(12) if n != 2}
    bulk_ok(rsps, list(ids.values()), [], ids)
    invalid = {
        "errors": [{"title": "Contact Email Address is not valid.", "code": "email_invalid"}]
    }
    rsps.post(f"{BASE}/contact/sync", status=422, json=invalid)
    outcomes = {o.email: o for o in ac.apply_batch(DEST, adds(12))}
    assert len(outcomes) == 12
    bad = outcomes["m2@example.com"]
    assert bad.status == OutcomeStatus.REJECTED and "not valid" in (bad.reason or "")
    resent = [r["email"] for r in body(rsps.calls[1])["contacts"]]
    assert "m2@example.com" not in resent and len(resent) == 11
    assert all(o.status == OutcomeStatus.APPLIED for e, o in outcomes.items() if e != bad.email)


def test_importer_rate_limit_400_waits_a_minute_then_succeeds(rsps, ac, sleeps):
    limited = {
        "success": 0,
        "message": "Rate limit exceeded.",
        "failureReasons": ["Up to 100 imports may be requested per minute."],
    }
    rsps.post(f"{BASE}/import/bulk_import", status=400, json=limited)
    all_ok(rsps, 10)
    outcomes = ac.apply_batch(DEST, adds(10))
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert sleeps.waits == [60.0]
    assert ac.stats.rate_limited == 1


def test_bulk_400_without_member_reasons_is_a_refused_request(rsps, ac):
    rsps.post(f"{BASE}/import/bulk_import", status=400, json={"message": "contacts is required"})
    with pytest.raises(RefusedRequest, match="contacts is required"):
        ac.apply_batch(DEST, adds(10))


def test_merge_fields_are_sent_by_field_id(rsps, sleeps):
    ac = make(sleeps)
    rsps.get(
        f"{BASE}/fields", json={"fields": [{"id": "5", "perstag": "BDAY"}], "meta": {"total": "1"}}
    )
    bulk_ok(rsps, [], [], {})
    member = Member("a@x.test", "1", merge_fields={"bday": "2001-02-03"})
    ac.apply_batch(DEST, [Change(ChangeKind.UPDATE, member)] * 10)
    assert body(rsps.calls[1])["contacts"][0]["fields"] == [{"id": 5, "value": "2001-02-03"}]
    with pytest.raises(BadConfiguration, match="'shoe'"):
        ac.field_values(Member("a@x.test", "1", merge_fields={"shoe": "44"}))


# --- one-member path -------------------------------------------------------------------------
def one_member(rsps, lists: list[dict[str, str]]) -> None:
    rsps.post(f"{BASE}/contact/sync", status=201, json={"contact": {"id": "41"}})
    rsps.get(f"{BASE}/contacts/41/contactLists", json={"contactLists": lists})


def test_one_member_add_subscribes_a_new_list_member_and_stores_the_association(rsps, ac):
    one_member(rsps, [])
    rsps.post(f"{BASE}/contactLists", json={})
    rsps.post(f"{BASE}/contactTags", status=201, json={"contactTag": {"id": "900", "tag": TAG_ID}})
    [out] = ac.apply_batch(DEST, [change(ChangeKind.ADD, 1)])
    assert (out.status, out.provider_ref) == (OutcomeStatus.APPLIED, "c=41;ct=900")
    assert body(rsps.calls[0]) == {"contact": {"email": "m1@example.com", "firstName": "F1"}}
    assert body(rsps.calls[2]) == {"contactList": {"list": "3", "contact": "41", "status": 1}}
    assert body(rsps.calls[3]) == {"contactTag": {"contact": "41", "tag": TAG_ID}}


@pytest.mark.parametrize("status", ["2", "1", "0"])
def test_one_member_add_never_overwrites_an_existing_list_status(rsps, ac, status):
    one_member(rsps, [{"list": "3", "status": status}])
    rsps.post(f"{BASE}/contactTags", status=201, json={"contactTag": {"id": "900"}})
    [out] = ac.apply_batch(DEST, [change(ChangeKind.ADD, 1)])
    assert out.status == OutcomeStatus.APPLIED
    assert not [
        c for c in rsps.calls if c.request.method == "POST" and "contactLists" in c.request.url
    ]


def test_one_member_without_consent_is_tagged_but_not_listed(rsps, ac):
    rsps.post(f"{BASE}/contact/sync", json={"contact": {"id": "41"}})
    rsps.post(f"{BASE}/contactTags", status=201, json={"contactTag": {"id": "900"}})
    [out] = ac.apply_batch(DEST, [change(ChangeKind.ADD, 1, consent=False)])
    assert out.status == OutcomeStatus.APPLIED and len(rsps.calls) == 2


def test_one_member_update_is_one_call_and_keeps_the_stored_ref(rsps, ac):
    rsps.post(f"{BASE}/contact/sync", json={"contact": {"id": "41"}})
    [out] = ac.apply_batch(DEST, [change(ChangeKind.UPDATE, 1, ref="c=41;ct=900")])
    assert (out.status, out.provider_ref) == (OutcomeStatus.APPLIED, "c=41;ct=900")


def test_one_member_422_is_a_rejection_with_the_reason(rsps, ac):
    invalid = {
        "errors": [{"title": "Email is not valid", "source": {"pointer": "/data/attributes/email"}}]
    }
    rsps.post(f"{BASE}/contact/sync", status=422, json=invalid)
    [out] = ac.apply_batch(DEST, [change(ChangeKind.ADD, 1)])
    assert out.status == OutcomeStatus.REJECTED and not out.retryable
    assert "Email is not valid" in (out.reason or "") and "/data/attributes/email" in (
        out.reason or ""
    )


def test_already_tagged_contact_reuses_the_existing_association(rsps, ac):
    one_member(rsps, [{"list": "3", "status": "1"}])
    rsps.post(f"{BASE}/contactTags", status=422, json={"errors": [{"title": "Duplicate entry"}]})
    rsps.get(
        f"{BASE}/contacts/41/contactTags", json={"contactTags": [{"id": "901", "tag": TAG_ID}]}
    )
    [out] = ac.apply_batch(DEST, [change(ChangeKind.ADD, 1)])
    assert (out.status, out.provider_ref) == (OutcomeStatus.APPLIED, "c=41;ct=901")


# --- removes ---------------------------------------------------------------------------------
def test_remove_with_a_stored_association_is_one_delete_of_that_association(rsps, ac):
    rsps.delete(f"{BASE}/contactTags/900", json={})
    [out] = ac.apply_batch(DEST, [change(ChangeKind.REMOVE, 1, ref="c=41;ct=900")])
    assert (out.status, out.provider_ref) == (OutcomeStatus.APPLIED, "c=41")
    assert len(rsps.calls) == 1  # never /tags/77: the tag itself stays


def test_remove_with_a_contact_id_looks_up_the_association_of_this_tag(rsps, ac):
    tags = [{"id": "900", "tag": "12"}, {"id": "901", "tag": TAG_ID}]
    rsps.get(f"{BASE}/contacts/41/contactTags", json={"contactTags": tags})
    rsps.delete(f"{BASE}/contactTags/901", json={})
    tag_alive(rsps)
    [out] = ac.apply_batch(DEST, [change(ChangeKind.REMOVE, 1, ref="c=41")])
    assert out.status == OutcomeStatus.APPLIED and len(rsps.calls) == 3


def test_remove_with_unknown_ids_finds_the_contact_by_email(rsps, ac):
    rsps.get(f"{BASE}/contacts", json={"contacts": [{"id": "41", "email": "m1@example.com"}]})
    rsps.get(
        f"{BASE}/contacts/41/contactTags", json={"contactTags": [{"id": "901", "tag": TAG_ID}]}
    )
    rsps.delete(f"{BASE}/contactTags/901", json={})
    tag_alive(rsps)
    [out] = ac.apply_batch(DEST, [change(ChangeKind.REMOVE, 1)])
    assert (out.status, out.provider_ref) == (OutcomeStatus.APPLIED, "c=41")
    assert query(rsps.calls[0])["email"] == ["m1@example.com"]


def test_remove_of_an_absent_contact_is_applied_without_deleting(rsps, ac):
    rsps.get(f"{BASE}/contacts", json={"contacts": [], "meta": {"total": "0"}})
    [out] = ac.apply_batch(DEST, [change(ChangeKind.REMOVE, 1)])
    assert out.status == OutcomeStatus.APPLIED and len(rsps.calls) == 1


def test_404_on_delete_is_success(rsps, ac):
    rsps.delete(
        f"{BASE}/contactTags/900",
        status=404,
        json={"message": "No Result found for SubscriberTag with id 900"},
    )
    rsps.get(f"{BASE}/contacts/41/contactTags", json={"contactTags": []})
    tag_alive(rsps)
    [out] = ac.apply_batch(DEST, [change(ChangeKind.REMOVE, 1, ref="c=41;ct=900")])
    assert out.status == OutcomeStatus.APPLIED


def test_on_leave_unsubscribe_sets_list_status_2(rsps, ac):
    rsps.delete(f"{BASE}/contactTags/900", json={})
    rsps.get(
        f"{BASE}/contacts/41/contactLists", json={"contactLists": [{"list": "3", "status": "1"}]}
    )
    rsps.post(f"{BASE}/contactLists", json={})
    dest = Destination("3", "vip", OnLeave.UNSUBSCRIBE)
    [out] = ac.apply_batch(dest, [change(ChangeKind.REMOVE, 1, ref="c=41;ct=900")])
    assert out.status == OutcomeStatus.APPLIED
    assert body(rsps.calls[2]) == {"contactList": {"list": "3", "contact": "41", "status": 2}}


@pytest.mark.parametrize(
    "lists", [[], [{"list": "9", "status": "1"}], [{"list": "3", "status": "2"}]]
)
def test_on_leave_unsubscribe_never_adds_a_contact_to_the_list(rsps, ac, lists):
    rsps.delete(f"{BASE}/contactTags/900", json={})
    rsps.get(f"{BASE}/contacts/41/contactLists", json={"contactLists": lists})
    dest = Destination("3", "vip", OnLeave.UNSUBSCRIBE)
    [out] = ac.apply_batch(dest, [change(ChangeKind.REMOVE, 1, ref="c=41;ct=900")])
    assert out.status == OutcomeStatus.APPLIED  # nothing to unsubscribe
    assert not [c for c in rsps.calls if c.request.method == "POST"]


def test_unsubscribe_skips_a_contact_that_is_gone(rsps, ac):
    rsps.get(f"{BASE}/contacts/41/contactTags", status=404, json={"message": "No Result found"})
    tag_alive(rsps)
    dest = Destination("3", "vip", OnLeave.UNSUBSCRIBE)
    [out] = ac.apply_batch(dest, [change(ChangeKind.REMOVE, 1, ref="c=41")])
    assert out.status == OutcomeStatus.APPLIED and len(rsps.calls) == 2
    assert not [c for c in rsps.calls if c.request.method == "POST"]


def test_a_mixed_batch_gets_exactly_one_outcome_per_change(rsps, ac):
    bulk_ok(rsps, [], [], {})
    rsps.delete(f"{BASE}/contactTags/900", json={})
    batch = [*adds(10), change(ChangeKind.REMOVE, 99, ref="c=1;ct=900")]
    outcomes = ac.apply_batch(DEST, batch)
    assert sorted(id(o.change) for o in outcomes) == sorted(id(c) for c in batch)


# --- errors ----------------------------------------------------------------------------------
def test_429_waits_the_retry_after_then_succeeds(rsps, ac, sleeps):
    rsps.get(
        f"{BASE}/users/me", status=429, headers={"Retry-After": "7"}, json={"message": "slow down"}
    )
    rsps.get(f"{BASE}/users/me", json={"user": {"email": "a@x.test"}})
    assert ac.check().account == "a@x.test"
    assert sleeps.waits == [7.0]
    assert (ac.stats.calls, ac.stats.retries, ac.stats.rate_limited) == (2, 1, 1)


def test_500_then_success(rsps, ac):
    rsps.get(f"{BASE}/users/me", status=500, body="oops")
    rsps.get(f"{BASE}/users/me", json={"user": {"email": "a@x.test"}})
    assert ac.check().account == "a@x.test"


def test_500_forever_is_transient_after_the_retry_budget(rsps, ac, sleeps):
    rsps.get(f"{BASE}/users/me", status=503, json={"message": "Service Unavailable"})
    with pytest.raises(TransientError):
        ac.check()
    assert len(rsps.calls) == ac.http.retry.attempts
    assert len(sleeps) == ac.http.retry.attempts - 1


def test_timeout_is_transient_and_retried(rsps, ac):
    rsps.get(f"{BASE}/users/me", body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.get(f"{BASE}/users/me", json={"user": {"email": "a@x.test"}})
    assert ac.check().account == "a@x.test"
    rsps.get(f"{BASE}/users/me", body=requests.exceptions.ConnectTimeout("no route"))
    with pytest.raises(TransientError, match="timed out"):
        ac.check()


def test_404_on_a_list_read_is_not_found(rsps, ac):
    rsps.get(f"{BASE}/lists", status=404, json={"message": "No Result found"})
    with pytest.raises(NotFound, match="No Result found"):
        ac.discover()


def response(status: int, payload: Any, headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(payload).encode()
    resp.headers.update(headers or {})
    return resp


@pytest.mark.parametrize(
    ("status", "payload", "error"),
    [
        (200, {}, None),
        (401, {"message": "unauthorized"}, AuthenticationFailed),
        (403, {"errors": [{"status": 403, "title": "Forbidden"}]}, AuthenticationFailed),
        (404, {"message": "No Result found"}, NotFound),
        (422, {"errors": [{"title": "Missing attribute"}]}, MemberRejected),
        (429, {"message": "slow"}, RateLimited),
        (500, {}, TransientError),
        (503, {}, TransientError),
        (400, {"message": "bad"}, RefusedRequest),
        (400, {"message": "Rate limit exceeded.", "failureReasons": ["100 a minute"]}, RateLimited),
        (400, {"failureReasons": [{"contact": 0, "failureReason": "x"}]}, ImportRefused),
    ],
)
def test_status_to_error(status, payload, error):
    found = classify(response(status, payload))
    if error is None:
        assert found is None
    else:
        assert found is not None and type(found) is error
        assert found.status == status and found.provider == "activecampaign"


def test_retry_after_and_refused_indexes_are_read():
    limited = classify(response(429, {}, {"Retry-After": "3"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 3.0
    refused = classify(
        response(400, {"failureReasons": [{"contact": 230, "failureReason": "bad"}]})
    )
    assert isinstance(refused, ImportRefused) and refused.contacts == {230: "bad"}
    assert isinstance(refused, RefusedRequest) and not isinstance(refused, BadConfiguration)


def test_list_exists_asks_for_the_list_and_a_404_is_no(rsps, ac):
    rsps.get(f"{BASE}/lists/1", json={"list": {"id": "1", "name": "Shop"}})
    rsps.get(f"{BASE}/lists/9", status=404, json={"message": "No Result found for List with id 9"})
    assert ac.list_exists("1") is True and ac.list_exists("9") is False
    assert len(rsps.calls) == 2
