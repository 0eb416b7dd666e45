"""The Mailchimp emulator over raw HTTP: auth, error documents, limits and stateful behaviour."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any

import pytest
import requests

from emulators import EMULATORS, EmulatorServer
from emulators.mailchimp import MailchimpEmulator
from tests.emulators.conftest import MailchimpClient

LIST = "/lists/demo-list"


def h(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def subscribe(
    mc: MailchimpClient, members: Sequence[dict[str, Any]], update: bool = False
) -> dict[str, Any]:
    r = mc("POST", LIST, json={"members": list(members), "update_existing": update})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def assert_problem(r: requests.Response, status: int, title: str) -> dict[str, Any]:
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == status
    assert body["title"] == title
    return body


def test_registered_under_its_name() -> None:
    assert EMULATORS["mailchimp"] is MailchimpEmulator


def test_root_and_ping_with_basic_or_bearer(mc: MailchimpClient, mc_server: EmulatorServer) -> None:
    assert mc("GET", "/ping").json() == {"health_status": "Everything's Chimpy!"}
    root = mc("GET", "/", params={"fields": "account_id,account_name"}).json()
    assert set(root) == {"account_id", "account_name"}
    bearer = requests.get(
        mc_server.url + "/3.0/ping", headers={"Authorization": "Bearer demo-us1"}, timeout=5
    )
    assert bearer.status_code == 200


def test_wrong_or_missing_key_is_401_problem(mc_server: EmulatorServer) -> None:
    wrong = MailchimpClient(mc_server, key="nope-us1")
    body = assert_problem(wrong("GET", "/lists"), 401, "API Key Invalid")
    assert "nope" not in str(body)
    missing = requests.get(mc_server.url + "/3.0/lists", timeout=5)
    assert_problem(missing, 401, "API Key Missing")


def test_unknown_list_and_path_are_404(mc: MailchimpClient) -> None:
    assert_problem(mc("GET", "/lists/nope"), 404, "Resource Not Found")
    assert_problem(mc("GET", "/nothing"), 404, "Resource Not Found")


def test_lists_paging_and_double_optin(mc: MailchimpClient) -> None:
    first = mc("GET", "/lists", params={"count": 1, "offset": 0}).json()
    second = mc("GET", "/lists", params={"count": 1, "offset": 1}).json()
    assert first["total_items"] == second["total_items"] == 2
    ids = [first["lists"][0]["id"], second["lists"][0]["id"]]
    assert sorted(ids) == ["dbl", "demo-list"]
    assert mc("GET", "/lists/dbl").json()["double_optin"] is True
    assert mc("GET", LIST).json()["double_optin"] is False
    assert_problem(mc("GET", "/lists", params={"count": 1001}), 400, "Invalid Resource")


def test_batch_subscribe_creates_with_given_status(mc: MailchimpClient, mc_emulator) -> None:
    answer = subscribe(
        mc,
        [
            {"email_address": "A@x.com", "status": "subscribed", "merge_fields": {"FNAME": "A"}},
            {"email_address": "b@x.com", "status": "transactional"},
            {"email_address": "c@x.com", "status": "pending"},
        ],
    )
    assert answer["total_created"] == 3
    assert answer["error_count"] == 0
    assert {m["email_address"] for m in answer["new_members"]} == {"A@x.com", "b@x.com", "c@x.com"}
    members = mc_emulator.state()["demo-list"]["members"]
    assert members["a@x.com"]["status"] == "subscribed"
    assert members["a@x.com"]["merge_fields"] == {"FNAME": "A"}
    assert members["b@x.com"]["status"] == "transactional"
    got = mc("GET", f"{LIST}/members/{h('a@x.com')}").json()
    assert got["id"] == h("a@x.com")
    assert got["status"] == "subscribed"


def test_batch_subscribe_existing_without_update_is_contact_exists(
    mc: MailchimpClient, mc_emulator
) -> None:
    mc_emulator.seed_member("demo-list", "old@x.com", "unsubscribed")
    answer = subscribe(mc, [{"email_address": "old@x.com", "status": "subscribed"}])
    assert answer["total_created"] == 0
    assert answer["errors"][0]["error_code"] == "ERROR_CONTACT_EXISTS"
    assert answer["errors"][0]["email_address"] == "old@x.com"
    assert mc_emulator.state()["demo-list"]["members"]["old@x.com"]["status"] == "unsubscribed"


def test_batch_subscribe_update_existing_applies_status_but_not_resubscribe(
    mc: MailchimpClient, mc_emulator
) -> None:
    mc_emulator.seed_member("demo-list", "sub@x.com", "subscribed")
    mc_emulator.seed_member("demo-list", "unsub@x.com", "unsubscribed")
    mc_emulator.seed_member("demo-list", "clean@x.com", "cleaned")
    answer = subscribe(
        mc,
        [
            {"email_address": "sub@x.com", "status": "unsubscribed"},
            {"email_address": "unsub@x.com", "status": "subscribed"},
            {"email_address": "clean@x.com", "status": "pending"},
        ],
        update=True,
    )
    assert answer["total_updated"] == 1
    assert answer["error_count"] == 2
    assert {e["email_address"] for e in answer["errors"]} == {"unsub@x.com", "clean@x.com"}
    assert all("compliance state" in e["error"] for e in answer["errors"])
    members = mc_emulator.state()["demo-list"]["members"]
    assert members["sub@x.com"]["status"] == "unsubscribed"
    assert members["unsub@x.com"]["status"] == "unsubscribed"


def test_batch_subscribe_rejects_fake_and_injected(mc: MailchimpClient, mc_emulator) -> None:
    mc_emulator.faults.reject = {"bad@x.com": "invalid", "gone@x.com": "forgotten"}
    answer = subscribe(
        mc,
        [
            {"email_address": "not-an-address", "status": "subscribed"},
            {"email_address": "bad@x.com", "status": "subscribed"},
            {"email_address": "gone@x.com", "status": "subscribed"},
            {"email_address": "ok@x.com", "status": "subscribed"},
        ],
    )
    errors = {e["email_address"]: e for e in answer["errors"]}
    assert "looks fake or invalid" in errors["not-an-address"]["error"]
    assert "looks fake or invalid" in errors["bad@x.com"]["error"]
    assert "permanently deleted" in errors["gone@x.com"]["error"]
    assert all(e["error_code"] == "ERROR_GENERIC" for e in errors.values())
    assert [m["email_address"] for m in answer["new_members"]] == ["ok@x.com"]


def test_batch_subscribe_over_500_is_refused(mc: MailchimpClient, mc_emulator) -> None:
    members = [{"email_address": f"u{i}@x.com", "status": "subscribed"} for i in range(501)]
    r = mc("POST", LIST, json={"members": members})
    assert_problem(r, 400, "Invalid Resource")
    assert mc_emulator.state()["demo-list"]["members"] == {}
    ok = subscribe(mc, members[:500])
    assert ok["total_created"] == 500


def test_batch_subscribe_bad_status_is_a_validation_error(mc: MailchimpClient) -> None:
    r = mc("POST", LIST, json={"members": [{"email_address": "a@x.com", "status": "happy"}]})
    body = assert_problem(r, 400, "Invalid Resource")
    assert body["errors"][0]["field"] == "members.item:0.status"


def test_required_merge_fields_unless_skipped() -> None:
    emu = MailchimpEmulator(required_merge_fields=["FNAME"])
    with EmulatorServer(emu) as server:
        mc = MailchimpClient(server)
        body = {"members": [{"email_address": "a@x.com", "status": "subscribed"}]}
        refused = mc("POST", LIST, json=body).json()
        assert refused["errors"][0]["field"] == "FNAME"
        fields = mc("GET", f"{LIST}/merge-fields", params={"required": "true"}).json()
        assert [f["tag"] for f in fields["merge_fields"]] == ["FNAME"]
        skipped = mc("POST", LIST, params={"skip_merge_validation": "true"}, json=body).json()
        assert skipped["total_created"] == 1


def test_put_member_upserts_with_status_if_new(mc: MailchimpClient, mc_emulator) -> None:
    body = {"email_address": "New@x.com", "status_if_new": "subscribed"}
    created = mc("PUT", f"{LIST}/members/{h('new@x.com')}", json=body)
    assert created.status_code == 200
    assert created.json()["status"] == "subscribed"
    mc_emulator.seed_member("demo-list", "u@x.com", "unsubscribed")
    again = {"email_address": "u@x.com", "status_if_new": "subscribed", "merge_fields": {"X": "1"}}
    kept = mc("PUT", f"{LIST}/members/{h('u@x.com')}", json=again).json()
    assert kept["status"] == "unsubscribed"
    assert kept["merge_fields"] == {"X": "1"}
    resub = {"email_address": "u@x.com", "status_if_new": "subscribed", "status": "subscribed"}
    r = mc("PUT", f"{LIST}/members/{h('u@x.com')}", json=resub)
    assert_problem(r, 400, "Member In Compliance State")


def test_put_member_hash_mismatch_is_member_exists(mc: MailchimpClient) -> None:
    body = {"email_address": "a@x.com", "status_if_new": "subscribed"}
    r = mc("PUT", f"{LIST}/members/{h('b@x.com')}", json=body)
    assert_problem(r, 400, "Member Exists")


def test_post_member_twice_is_member_exists(mc: MailchimpClient) -> None:
    body = {"email_address": "a@x.com", "status": "subscribed"}
    assert mc("POST", f"{LIST}/members", json=body).status_code == 200
    assert_problem(mc("POST", f"{LIST}/members", json=body), 400, "Member Exists")
    fake = {"email_address": "nonsense", "status": "subscribed"}
    r = mc("POST", f"{LIST}/members", json=fake)
    assert "looks fake or invalid" in assert_problem(r, 400, "Invalid Resource")["detail"]


def test_patch_updates_fields_and_keeps_status(mc: MailchimpClient, mc_emulator) -> None:
    mc_emulator.seed_member("demo-list", "p@x.com", "transactional", merge_fields={"FNAME": "A"})
    r = mc("PATCH", f"{LIST}/members/{h('p@x.com')}", json={"merge_fields": {"LNAME": "B"}})
    assert r.status_code == 200
    assert r.json()["status"] == "transactional"
    assert r.json()["merge_fields"] == {"FNAME": "A", "LNAME": "B"}
    missing = mc("PATCH", f"{LIST}/members/{h('nobody@x.com')}", json={"merge_fields": {}})
    assert_problem(missing, 404, "Resource Not Found")


def test_delete_archives_and_the_member_leaves_the_audience(
    mc: MailchimpClient, mc_emulator
) -> None:
    mc_emulator.seed_member("demo-list", "d@x.com", "subscribed", tags=["VIP"])
    r = mc("DELETE", f"{LIST}/members/{h('d@x.com')}")
    assert r.status_code == 204
    assert mc("GET", f"{LIST}/members/{h('d@x.com')}").json()["status"] == "archived"
    assert mc("GET", f"{LIST}/members").json()["total_items"] == 0
    assert mc_emulator.tag_members("demo-list", "VIP") == set()
    assert mc("DELETE", f"{LIST}/members/{h('d@x.com')}").status_code == 404
    back = subscribe(mc, [{"email_address": "d@x.com", "status": "subscribed"}])
    assert back["total_created"] == 1


def test_member_tags_add_and_remove(mc: MailchimpClient, mc_emulator) -> None:
    mc_emulator.seed_member("demo-list", "t@x.com")
    url = f"{LIST}/members/{h('t@x.com')}/tags"
    r = mc("POST", url, json={"tags": [{"name": "VIP", "status": "active"}]})
    assert r.status_code == 204
    assert [t["name"] for t in mc("GET", url).json()["tags"]] == ["VIP"]
    mc("POST", url, json={"tags": [{"name": "VIP", "status": "inactive"}]})
    assert mc("GET", url).json()["total_items"] == 0
    assert_problem(mc("POST", url, json={"tags": [{"name": "x"}]}), 400, "Invalid Resource")
    assert [t["name"] for t in mc("GET", f"{LIST}/tag-search", params={"name": "vi"}).json()[
        "tags"
    ]] == ["VIP"]  # fmt: skip


def test_segments_create_list_and_type_filter(mc: MailchimpClient, mc_emulator) -> None:
    mc_emulator.seed_member("demo-list", "s@x.com")
    body = {"name": "Buyers", "static_segment": ["s@x.com", "stranger@x.com"]}
    seg = mc("POST", f"{LIST}/segments", json=body).json()
    assert seg["type"] == "static"
    assert seg["member_count"] == 1
    assert_problem(mc("POST", f"{LIST}/segments", json=body), 400, "Invalid Resource")
    assert_problem(mc("POST", f"{LIST}/segments", json={"name": "N"}), 400, "Invalid Resource")
    static = mc("GET", f"{LIST}/segments", params={"type": "static"}).json()
    assert [s["name"] for s in static["segments"]] == ["Buyers"]
    saved = mc("GET", f"{LIST}/segments", params={"type": "saved"}).json()
    assert saved["total_items"] == 0
    assert mc("GET", f"{LIST}/segments/{seg['id']}").json()["name"] == "Buyers"
    assert_problem(mc("GET", f"{LIST}/segments/999"), 404, "Resource Not Found")


def test_segment_batch_add_remove(mc: MailchimpClient, mc_emulator) -> None:
    for email in ("a@x.com", "b@x.com", "c@x.com"):
        mc_emulator.seed_member("demo-list", email)
    seg = mc("POST", f"{LIST}/segments", json={"name": "T", "static_segment": []}).json()
    url = f"{LIST}/segments/{seg['id']}"
    body = {"members_to_add": ["a@x.com", "B@x.com", "out@x.com"], "members_to_remove": []}
    answer = mc("POST", url, json=body).json()
    assert answer["total_added"] == 2
    assert {m["email_address"] for m in answer["members_added"]} == {"a@x.com", "b@x.com"}
    assert answer["error_count"] == 1
    assert answer["errors"][0]["email_addresses"] == ["out@x.com"]
    assert mc_emulator.tag_members("demo-list", "T") == {"a@x.com", "b@x.com"}
    removed = mc("POST", url, json={"members_to_remove": ["a@x.com", "c@x.com"]}).json()
    assert removed["total_removed"] == 1
    assert [m["email_address"] for m in removed["members_removed"]] == ["a@x.com"]
    assert removed["error_count"] == 0
    assert mc_emulator.tag_members("demo-list", "T") == {"b@x.com"}
    assert mc_emulator.state()["demo-list"]["members"]["a@x.com"]["status"] == "subscribed"


def test_segment_batch_over_500_is_refused(mc: MailchimpClient, mc_emulator) -> None:
    seg = mc("POST", f"{LIST}/segments", json={"name": "T", "static_segment": []}).json()
    emails = [f"u{i}@x.com" for i in range(501)]
    r = mc("POST", f"{LIST}/segments/{seg['id']}", json={"members_to_remove": emails})
    assert_problem(r, 400, "Invalid Resource")
    r = mc("POST", f"{LIST}/segments/12345", json={"members_to_add": ["a@x.com"]})
    assert "does not exist" in assert_problem(r, 400, "Invalid Resource")["detail"]


def test_segment_members_paging_and_status_filters(mc: MailchimpClient, mc_emulator) -> None:
    for i in range(5):
        mc_emulator.seed_member("demo-list", f"s{i}@x.com", tags=["T"])
    mc_emulator.seed_member("demo-list", "u@x.com", "unsubscribed", tags=["T"])
    mc_emulator.seed_member("demo-list", "t@x.com", "transactional", tags=["T"])
    seg_id = mc("GET", f"{LIST}/tag-search", params={"name": "T"}).json()["tags"][0]["id"]
    url = f"{LIST}/segments/{seg_id}/members"
    default = mc("GET", url, params={"count": 1000}).json()
    assert default["total_items"] == 5
    everyone: list[str] = []
    params = {"count": 3, "include_unsubscribed": "true", "include_transactional": "true"}
    for offset in (0, 3, 6):
        fields = "members.email_address,total_items"
        page = mc("GET", url, params={**params, "offset": offset, "fields": fields}).json()
        assert page["total_items"] == 7
        assert all(set(m) == {"email_address"} for m in page["members"])
        everyone += [m["email_address"] for m in page["members"]]
    assert sorted(everyone) == sorted([f"s{i}@x.com" for i in range(5)] + ["u@x.com", "t@x.com"])


def test_members_list_filters_by_status(mc: MailchimpClient, mc_emulator) -> None:
    mc_emulator.seed_member("demo-list", "a@x.com")
    mc_emulator.seed_member("demo-list", "b@x.com", "unsubscribed")
    got = mc("GET", f"{LIST}/members", params={"status": "unsubscribed"}).json()
    assert [m["email_address"] for m in got["members"]] == ["b@x.com"]
    assert mc("GET", f"{LIST}/members").json()["total_items"] == 2


def test_injected_faults_use_the_problem_shape(mc: MailchimpClient, mc_emulator) -> None:
    mc_emulator.faults.rate_limit_next = 1
    r = mc("GET", "/ping")
    assert_problem(r, 429, "Too Many Requests")
    assert "Retry-After" not in r.headers
    mc_emulator.faults.error_next = 1
    assert_problem(mc("GET", "/ping"), 500, "Internal Server Error")
    assert mc("GET", "/ping").status_code == 200


def test_an_eleventh_request_in_flight_gets_429() -> None:
    emu = MailchimpEmulator()
    emu.faults.latency = 1.0  # every call waits in emu.sleep, which holds it until released
    waiting = threading.Semaphore(0)
    release = threading.Event()

    def hold(_seconds: float) -> None:
        waiting.release()
        release.wait(timeout=10)

    emu.sleep = hold
    with EmulatorServer(emu) as server:
        codes: list[int] = []

        def call() -> None:
            r = requests.get(server.url + "/3.0/ping", auth=("u", "demo-us1"), timeout=10)
            codes.append(r.status_code)

        threads = [threading.Thread(target=call) for _ in range(10)]
        for t in threads:
            t.start()
        for _ in range(10):
            assert waiting.acquire(timeout=10)
        eleventh = requests.get(server.url + "/3.0/ping", auth=("u", "demo-us1"), timeout=10)
        release.set()
        for t in threads:
            t.join(timeout=10)
    body = assert_problem(eleventh, 429, "Too Many Requests")
    assert "10 simultaneous connections" in str(body["detail"])
    assert codes == [200] * 10
    assert emu.peak_in_flight == 11


def test_state_and_reset(mc: MailchimpClient, mc_emulator, mc_server: EmulatorServer) -> None:
    subscribe(mc, [{"email_address": "a@x.com", "status": "subscribed"}])
    state = requests.get(mc_server.url + "/__emulator/state", timeout=5).json()
    assert "a@x.com" in state["demo-list"]["members"]
    requests.post(mc_server.url + "/__emulator/reset", timeout=5)
    assert mc_emulator.state()["demo-list"]["members"] == {}
    assert set(mc_emulator.state()) == {"demo-list", "dbl"}


@pytest.mark.parametrize("path", ["/lists/demo-list", "/lists/demo-list/segments"])
def test_non_json_body_is_a_validation_error(mc: MailchimpClient, path: str) -> None:
    r = mc("POST", path, data=b"{broken", headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "Invalid Resource")
