"""The ActiveCampaign emulator over real HTTP: auth, paging, contacts, list status, contact tags,
the asynchronous bulk import, the two quotas and the error bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulators import EMULATORS, EmulatorServer
from emulators.activecampaign import ActiveCampaignEmulator

TOKEN = "demo-token"


class Clock:
    """Time that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Api:
    """Raw requests against ``/api/3`` of one running emulator."""

    def __init__(self, emu: ActiveCampaignEmulator, url: str) -> None:
        self.emu = emu
        self.root = url + "/api/3"
        self.session = requests.Session()
        self.session.headers["Api-Token"] = TOKEN

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, self.root + path, timeout=5, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        resp = self.call(method, path, **kw)
        assert resp.status_code == status, resp.text
        return resp.json()

    def sync(self, email: str, **contact: Any) -> str:
        body = self.call("POST", "/contact/sync", json={"contact": {"email": email, **contact}})
        assert body.status_code in (200, 201), body.text
        return str(body.json()["contact"]["id"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


def running(emu: ActiveCampaignEmulator) -> Iterator[Api]:
    with EmulatorServer(emu) as server:
        api = Api(emu, server.url)
        yield api
        api.session.close()


@pytest.fixture
def api(clock: Clock) -> Iterator[Api]:
    yield from running(ActiveCampaignEmulator(enforce_rate_limits=False, clock=clock))


def test_registered_under_its_provider_name() -> None:
    assert EMULATORS["activecampaign"] is ActiveCampaignEmulator


@pytest.mark.parametrize("headers", [{}, {"Api-Token": "wrong"}])
def test_a_missing_or_wrong_token_is_refused_with_403(api: Api, headers: dict[str, str]) -> None:
    resp = requests.get(api.root + "/users/me", headers=headers, timeout=5)
    assert resp.status_code == 403
    assert resp.json()["errors"][0]["title"] == "Forbidden"
    assert TOKEN not in resp.text


def test_users_me_and_seeded_lists_and_fields(api: Api) -> None:
    assert api.ok("GET", "/users/me")["user"]["email"] == "admin@example.com"
    lists = api.ok("GET", "/lists")
    assert [(x["id"], x["name"]) for x in lists["lists"]] == [("1", "Demo list")]
    assert lists["meta"]["total"] == "1"
    fields = api.ok("GET", "/fields")["fields"]
    assert [(f["id"], f["perstag"]) for f in fields] == [("1", "LOYALTY_TIER")]


def test_paging_caps_limit_at_100_and_reports_the_total(clock: Clock) -> None:
    emu = ActiveCampaignEmulator(enforce_rate_limits=False, clock=clock)
    for n in range(130):
        emu.seed_contact(f"p{n}@example.com")
    for api in running(emu):
        first = api.ok("GET", "/contacts", params={"limit": 500})
        assert len(first["contacts"]) == 100 and first["meta"]["total"] == "130"
        rest = api.ok("GET", "/contacts", params={"limit": 100, "offset": 100})
        assert [c["email"] for c in rest["contacts"]] == [
            f"p{n}@example.com" for n in range(100, 130)
        ]
        assert api.call("GET", "/contacts", params={"limit": "x"}).status_code == 400


def test_tags_are_created_searched_and_not_duplicated(api: Api) -> None:
    body = {"tag": {"tag": "VIP buyers", "tagType": "contact", "description": "d"}}
    created = api.ok("POST", "/tags", 201, json=body)["tag"]
    assert created["tag"] == "VIP buyers" and created["tagType"] == "contact"
    api.ok("POST", "/tags", 201, json={"tag": {"tag": "Newsletter", "tagType": "contact"}})
    found = api.ok("GET", "/tags", params={"search": "vip"})
    assert [t["id"] for t in found["tags"]] == [created["id"]] and found["meta"]["total"] == "1"
    dup = api.call("POST", "/tags", json=body)
    assert dup.status_code == 422 and dup.json()["errors"][0]["code"] == "duplicate"
    missing = api.call("POST", "/tags", json={"tag": {"tagType": "contact"}})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["source"]["pointer"] == "/data/attributes/tag"


def test_contact_sync_creates_then_updates_and_leaves_lists_and_tags_alone(api: Api) -> None:
    first = api.call(
        "POST", "/contact/sync", json={"contact": {"email": "Ann@Example.com", "firstName": "Ann"}}
    )
    assert first.status_code == 201
    cid = first.json()["contact"]["id"]
    again = api.call(
        "POST",
        "/contact/sync",
        json={
            "contact": {
                "email": "ann@example.com",
                "lastName": "Lee",
                "fieldValues": [{"field": "1", "value": "gold"}],
            }
        },
    )
    assert again.status_code == 200 and again.json()["contact"]["id"] == cid
    state = api.emu.state()["contacts"]["ann@example.com"]
    assert (state["first_name"], state["last_name"], state["fields"]) == (
        "Ann",
        "Lee",
        {"1": "gold"},
    )
    assert state["lists"] == {} and state["tags"] == []


@pytest.mark.parametrize("email", ["not-an-email", "x@nodomain", "rejected@example.com"])
def test_contact_sync_answers_422_for_a_bad_or_rejected_email(api: Api, email: str) -> None:
    api.emu.faults.reject = {"rejected@example.com": "invalid"}
    resp = api.call("POST", "/contact/sync", json={"contact": {"email": email}})
    assert resp.status_code == 422
    err = resp.json()["errors"][0]
    assert err["code"] == "email_invalid" and err["source"]["pointer"] == "/data/attributes/email"
    assert api.emu.state()["contacts"] == {}


def test_contact_sync_refuses_an_unknown_custom_field(api: Api) -> None:
    body = {"contact": {"email": "a@example.com", "fieldValues": [{"field": "99", "value": "v"}]}}
    resp = api.call("POST", "/contact/sync", json=body)
    assert resp.status_code == 422 and "99" in resp.json()["errors"][0]["detail"]


def test_contacts_filter_by_email_ids_and_tag(api: Api) -> None:
    a = api.emu.seed_contact("a@example.com", tags=["vip"])
    b = api.emu.seed_contact("b@example.com")
    c = api.emu.seed_contact("c@example.com", tags=["vip"])
    by_email = api.ok("GET", "/contacts", params={"email": "A@EXAMPLE.COM"})["contacts"]
    assert [x["id"] for x in by_email] == [a]
    by_ids = api.ok("GET", "/contacts", params={"ids[]": [b, c]})["contacts"]
    assert sorted(x["id"] for x in by_ids) == sorted([b, c])
    vip = api.ok("GET", "/tags", params={"search": "vip"})["tags"][0]["id"]
    tagged = api.ok("GET", "/contacts", params={"tagid": vip})
    assert [x["email"] for x in tagged["contacts"]] == ["a@example.com", "c@example.com"]
    assert tagged["meta"]["total"] == "2"


def test_list_status_subscribe_unsubscribe_and_resubscribe_as_the_real_api(api: Api) -> None:
    cid = api.sync("a@example.com")
    assert api.ok("GET", f"/contacts/{cid}/contactLists")["contactLists"] == []

    def status(value: int) -> Any:
        body = {"contactList": {"list": "1", "contact": cid, "status": value}}
        return api.ok("POST", "/contactLists", json=body)["contactList"]["status"]

    assert status(1) == 1
    assert status(2) == 2
    listed = api.ok("GET", f"/contacts/{cid}/contactLists")["contactLists"]
    assert [(x["list"], x["status"]) for x in listed] == [("1", "2")]
    assert status(1) == 1  # not protected: the adapter must never send this for an unsubscribe
    assert api.emu.state()["contacts"]["a@example.com"]["lists"] == {"1": 1}


def test_list_status_errors(api: Api) -> None:
    cid = api.sync("a@example.com")
    bad = api.call(
        "POST", "/contactLists", json={"contactList": {"list": "1", "contact": cid, "status": 3}}
    )
    assert bad.status_code == 422
    unknown = api.call(
        "POST", "/contactLists", json={"contactList": {"list": "1", "contact": "999", "status": 1}}
    )
    assert unknown.status_code == 404 and "999" in unknown.json()["message"]
    no_list = api.call(
        "POST", "/contactLists", json={"contactList": {"list": "7", "contact": cid, "status": 1}}
    )
    assert no_list.status_code == 404
    gone = api.call("GET", "/contacts/999/contactLists")
    assert gone.json() == {"message": "No Result found for Subscriber with id 999"}


def test_contact_tags_add_list_and_remove_by_association_id(api: Api) -> None:
    cid = api.sync("a@example.com")
    tid = api.ok("POST", "/tags", 201, json={"tag": {"tag": "vip", "tagType": "contact"}})["tag"][
        "id"
    ]
    body = {"contactTag": {"contact": cid, "tag": tid}}
    assoc = api.ok("POST", "/contactTags", 201, json=body)["contactTag"]
    assert (assoc["contact"], assoc["tag"]) == (cid, tid) and assoc["id"] != tid
    assert api.ok("POST", "/contactTags", 201, json=body)["contactTag"]["id"] == assoc["id"]
    listed = api.ok("GET", f"/contacts/{cid}/contactTags")["contactTags"]
    assert [(x["id"], x["tag"]) for x in listed] == [(assoc["id"], tid)]

    assert api.ok("DELETE", f"/contactTags/{assoc['id']}") == {}
    again = api.call("DELETE", f"/contactTags/{assoc['id']}")
    assert again.status_code == 404
    assert again.json() == {"message": f"No Result found for SubscriberTag with id {assoc['id']}"}
    assert api.ok("GET", f"/contacts/{cid}/contactTags")["contactTags"] == []
    assert "a@example.com" in api.emu.state()["contacts"]  # the contact stays


def test_contact_tag_errors(api: Api) -> None:
    cid = api.sync("a@example.com")
    missing = api.call("POST", "/contactTags", json={"contactTag": {"contact": cid}})
    assert missing.status_code == 422
    assert missing.json()["errors"][0] == {
        "status": 422,
        "title": "Missing attribute",
        "source": {"pointer": "/data/attributes/tag"},
    }
    unknown = api.call("POST", "/contactTags", json={"contactTag": {"contact": "404", "tag": "1"}})
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["detail"] == "Contact not found"


def test_unknown_routes_answer_404_in_the_message_shape(api: Api) -> None:
    resp = api.call("GET", "/nothing-here")
    assert resp.status_code == 404 and "message" in resp.json()


# -- bulk import ------------------------------------------------------------------------------


def rows(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"email": f"m{i}@example.com", **extra} for i in range(n)]


def test_bulk_import_over_250_contacts_is_refused(api: Api) -> None:
    resp = api.call("POST", "/import/bulk_import", json={"contacts": rows(251)})
    assert resp.status_code == 400
    body = resp.json()
    assert body["success"] == 0 and "250" in body["failureReasons"][0]
    assert (
        api.ok("POST", "/import/bulk_import", json={"contacts": rows(250)})["queued_contacts"]
        == 250
    )


def test_a_bad_contact_refuses_the_whole_payload(api: Api) -> None:
    payload = rows(5)
    payload[2]["email"] = "broken"
    payload[4]["subscribe"] = [{"listid": "42"}]
    resp = api.call("POST", "/import/bulk_import", json={"contacts": payload})
    assert resp.status_code == 400
    body = resp.json()
    assert body["success"] == 0 and "not queued" in body["message"]
    assert [r["contact"] for r in body["failureReasons"]] == [2, 4]
    assert api.emu.state()["imports"] == {} and api.emu.state()["contacts"] == {}


def test_import_is_queued_then_completes_after_the_configured_polls(clock: Clock) -> None:
    emu = ActiveCampaignEmulator(enforce_rate_limits=False, import_polls=3, clock=clock)
    old = emu.seed_contact("m1@example.com", lists={"1": 2}, tags=["kept"])
    emu.faults.reject = {"m2@example.com": "invalid"}
    for api in running(emu):
        payload = rows(4, tags=["vip"], subscribe=[{"listid": "1"}])
        queued = api.ok("POST", "/import/bulk_import", json={"contacts": payload})
        assert (queued["Success"], queued["queued_contacts"]) == (1, 4)
        batch = queued["batchId"]
        for _ in range(2):
            info = api.ok("GET", "/import/info", params={"batchId": batch})
            assert info == {"status": "queued", "success": [], "failure": []}
            assert "m0@example.com" not in emu.state()["contacts"]
        info = api.ok("GET", "/import/info", params={"batchId": batch})
        assert info["status"] == "completed" and info["failure"] == ["m2@example.com"]
        assert old in info["success"] and len(info["success"]) == 3
        contacts = emu.state()["contacts"]
        assert "m2@example.com" not in contacts
        assert contacts["m0@example.com"]["lists"] == {"1": 1}
        assert contacts["m1@example.com"]["lists"] == {"1": 2}  # never re-subscribed
        assert contacts["m1@example.com"]["tags"] == ["kept", "vip"]  # tags only added
        assert contacts["m3@example.com"]["tags"] == ["vip"]
        ids = api.ok("GET", "/contacts", params={"ids[]": info["success"], "limit": 100})
        assert sorted(c["email"] for c in ids["contacts"]) == [
            "m0@example.com",
            "m1@example.com",
            "m3@example.com",
        ]


def test_import_completes_after_a_delay_without_polls(clock: Clock) -> None:
    emu = ActiveCampaignEmulator(
        enforce_rate_limits=False, import_polls=0, import_delay=30, clock=clock
    )
    for api in running(emu):
        api.ok("POST", "/import/bulk_import", json={"contacts": rows(2, tags=["vip"])})
        assert api.ok("GET", "/contacts")["contacts"] == []
        clock.now += 30
        assert api.ok("GET", "/contacts")["meta"]["total"] == "2"


def test_import_info_errors(api: Api) -> None:
    missing = api.call("GET", "/import/info")
    assert missing.status_code == 400
    assert missing.json() == {"success": 0, "message": "'batchId' is a required field."}
    assert api.call("GET", "/import/info", params={"batchId": "nope"}).status_code == 404


# -- quotas and faults ------------------------------------------------------------------------


def test_more_than_5_requests_a_second_get_429_with_retry_after(clock: Clock) -> None:
    for api in running(ActiveCampaignEmulator(clock=clock)):
        for _ in range(5):
            api.ok("GET", "/users/me")
        over = api.call("GET", "/users/me")
        assert over.status_code == 429
        assert int(over.headers["Retry-After"]) >= 1 and "message" in over.json()
        clock.now += 0.2  # one call's worth of quota back: exactly one more is admitted
        api.ok("GET", "/users/me")
        assert api.call("GET", "/users/me").status_code == 429
        clock.now += 1
        for _ in range(5):
            api.ok("GET", "/users/me")


def test_more_than_the_imports_a_minute_are_refused_with_400(clock: Clock) -> None:
    emu = ActiveCampaignEmulator(requests_per_second=1000, imports_per_minute=2, clock=clock)
    for api in running(emu):
        for _ in range(2):
            api.ok("POST", "/import/bulk_import", json={"contacts": rows(1)})
        over = api.call("POST", "/import/bulk_import", json={"contacts": rows(1)})
        assert over.status_code == 400
        assert over.json()["message"] == "Rate limit exceeded."
        assert "100 imports" in over.json()["failureReasons"][0]
        clock.now += 60
        api.ok("POST", "/import/bulk_import", json={"contacts": rows(1)})


def test_injected_429_carries_retry_after_and_500_the_message_shape(api: Api) -> None:
    api.emu.faults.update({"rate_limit_next": 1, "retry_after": 7, "error_next": 1})
    limited = api.call("GET", "/lists")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    failed = api.call("GET", "/lists")
    assert failed.status_code == 500 and "message" in failed.json()
    api.ok("GET", "/lists")


def test_reset_returns_to_the_seeded_start(api: Api) -> None:
    api.sync("a@example.com")
    api.ok("POST", "/tags", 201, json={"tag": {"tag": "x", "tagType": "contact"}})
    api.emu.reset_all()
    state = api.emu.state()
    assert state["contacts"] == {} and state["tags"] == {} and state["lists"] == {"1": "Demo list"}


def test_connection_names_the_api_root_and_demo_token(api: Api) -> None:
    info = api.emu.connection("http://127.0.0.1:1")
    assert info["base_url"] == "http://127.0.0.1:1/api/3" and info["api_token"] == TOKEN
