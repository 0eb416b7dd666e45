"""The Sendlane emulator over real HTTP: auth, paging, queued list adds seen only after reads,
validation bodies, tags, list leave, unsubscribe, the minute quota."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulators import EMULATORS, EmulatorServer
from emulators.sendlane import SendlaneEmulator

TOKEN = "demo-token"


class Clock:
    """Time that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Api:
    """Raw requests against ``/v2`` of one running emulator."""

    def __init__(self, emu: SendlaneEmulator, url: str) -> None:
        self.emu = emu
        self.root = url + "/v2"
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
        )

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, self.root + path, timeout=5, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        resp = self.call(method, path, **kw)
        assert resp.status_code == status, resp.text
        return resp.json()

    def tag(self, name: str) -> int:
        return int(self.ok("POST", "/tags", json={"name": name})["data"]["id"])

    def add(self, contacts: list[dict[str, Any]], list_id: int = 1) -> requests.Response:
        return self.call("POST", f"/lists/{list_id}/contacts", json={"contacts": contacts})

    def carriers(self, tag_id: int) -> list[str]:
        return [c["email"] for c in self.ok("GET", f"/tags/{tag_id}/contacts")["data"]]


def running(emu: SendlaneEmulator) -> Iterator[Api]:
    with EmulatorServer(emu) as server:
        api = Api(emu, server.url)
        yield api
        api.session.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(clock: Clock) -> Iterator[Api]:
    yield from running(SendlaneEmulator(enforce_rate_limits=False, clock=clock))


def test_registered_under_its_provider_name() -> None:
    assert EMULATORS["sendlane"] is SendlaneEmulator


@pytest.mark.parametrize("auth", [None, "Bearer wrong", TOKEN])
def test_anything_but_the_bearer_token_answers_401(api: Api, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    resp = requests.get(api.root + "/lists", headers=headers, timeout=5)
    assert resp.status_code == 401 and resp.json() == {"message": "Unauthenticated."}


def test_the_401_can_be_an_html_page(clock: Clock) -> None:
    for api in running(SendlaneEmulator(html_401=True, clock=clock)):
        resp = requests.get(api.root + "/lists", timeout=5)
        assert resp.status_code == 401
        assert resp.headers["Content-Type"].startswith("text/html") and "<html>" in resp.text


def test_listings_page_with_limit_and_page_until_links_next_is_null(api: Api) -> None:
    with api.emu.lock:
        for n in range(25):
            api.emu.account.tag_named(f"t{n}")
    seen: list[str] = []
    page = 1
    while True:
        body = api.ok("GET", "/tags", params={"limit": 10, "page": page})
        seen += [t["name"] for t in body["data"]]
        assert body["meta"]["total"] == 25 and body["meta"]["per_page"] == 10
        if body["links"]["next"] is None:
            break
        assert body["links"]["next"].endswith(f"page={page + 1}")
        page += 1
    assert seen == [f"t{n}" for n in range(25)] and page == 3
    assert len(api.ok("GET", "/tags", params={"limit": 1000})["data"]) == 25
    lists = api.ok("GET", "/lists")
    assert [(x["id"], x["name"]) for x in lists["data"]] == [(1, "Demo list")]
    assert lists["meta"]["per_page"] == 10  # the documented default
    fields = api.ok("GET", "/custom-fields")["data"]
    assert [(f["id"], f["name"]) for f in fields] == [("1", "loyalty_tier")]


def test_create_tag_validates_name_and_refuses_a_duplicate(api: Api) -> None:
    api.tag("VIP")
    dup = api.call("POST", "/tags", json={"name": "vip"})
    assert dup.status_code == 422
    assert dup.json() == {
        "message": "The given data was invalid.",
        "errors": {"name": ["The name has already been taken."]},
    }
    missing = api.call("POST", "/tags", json={})
    assert missing.status_code == 422 and "name" in missing.json()["errors"]


def test_list_add_is_queued_and_seen_on_the_next_read(api: Api) -> None:
    vip = api.tag("vip")
    resp = api.add(
        [
            {
                "email": "a@example.com",
                "first_name": "Ann",
                "email_consent": True,
                "tag_ids": [vip],
                "custom_fields": [{"id": 1, "value": "gold"}],
            },
            {
                "email": "b@example.com",
                "tag_ids": [vip],
                "custom_fields": [{"key": "loyalty_tier", "value": "silver"}],
            },
        ]
    )
    assert resp.status_code == 202
    assert resp.json() == {"data": {"message": "Successfully handled request"}}
    assert api.emu.state()["contacts"] == {} and api.emu.state()["queued"] == 2
    assert api.carriers(vip) == ["a@example.com", "b@example.com"]
    contacts = api.emu.state()["contacts"]
    assert contacts["a@example.com"]["subscribed"] is True
    assert contacts["b@example.com"]["subscribed"] is False  # no consent sent
    assert contacts["a@example.com"]["fields"] == {"loyalty_tier": "gold"}
    assert contacts["b@example.com"]["fields"] == {"loyalty_tier": "silver"}
    assert contacts["a@example.com"]["lists"] == [1]


def test_list_add_can_stay_invisible_for_several_reads_and_a_delay(clock: Clock) -> None:
    emu = SendlaneEmulator(enforce_rate_limits=False, add_reads=3, add_delay=10, clock=clock)
    for api in running(emu):
        vip = api.tag("vip")
        assert api.add([{"email": "a@example.com", "tag_ids": [vip]}]).status_code == 202
        assert api.carriers(vip) == [] and api.carriers(vip) == []
        assert api.carriers(vip) == []  # third read, but the delay has not passed
        clock.now += 10
        assert api.carriers(vip) == ["a@example.com"]


def test_list_add_validation_is_keyed_by_contact_and_refuses_the_whole_call(api: Api) -> None:
    api.emu.faults.reject = {"bad@example.com": "invalid"}
    resp = api.add(
        [
            {"email": "ok@example.com"},
            {"email": "nope"},
            {"email": "bad@example.com"},
            {"email": "x@example.com", "tag_ids": [77], "first_name": ""},
            {"first_name": "No email"},
        ]
    )
    assert resp.status_code == 422
    body = resp.json()
    assert body["message"] == "The given data was invalid."
    assert set(body["errors"]) == {
        "contacts.1.email",
        "contacts.2.email",
        "contacts.3.tag_ids.0",
        "contacts.3.first_name",
        "contacts.4.email",
    }
    api.ok("GET", "/lists")
    assert api.emu.state()["contacts"] == {} and api.emu.state()["queued"] == 0


def test_batch_size_is_a_setting_and_an_unknown_list_is_404(clock: Clock) -> None:
    for api in running(SendlaneEmulator(enforce_rate_limits=False, max_batch=3, clock=clock)):
        rows = [{"email": f"m{i}@example.com"} for i in range(4)]
        over = api.add(rows)
        assert over.status_code == 422 and "contacts" in over.json()["errors"]
        assert api.add(rows[:3]).status_code == 202
        unknown = api.add(rows[:1], list_id=99)
        assert unknown.status_code == 404 and set(unknown.json()) == {"message", "errors"}


def test_a_compliance_rejection_is_accepted_and_silently_dropped(api: Api) -> None:
    api.emu.faults.reject = {"gone@example.com": "compliance"}
    vip = api.tag("vip")
    assert (
        api.add(
            [
                {"email": "gone@example.com", "tag_ids": [vip]},
                {"email": "ok@example.com", "tag_ids": [vip]},
            ]
        ).status_code
        == 202
    )
    assert api.carriers(vip) == ["ok@example.com"]
    assert api.emu.state()["dropped"] == {"gone@example.com": "compliance"}


def test_search_tag_untag_and_leave_keep_the_contact(api: Api) -> None:
    vip = api.tag("vip")
    api.add([{"email": "a@example.com", "tag_ids": [vip], "email_consent": True}])
    found = api.ok("GET", "/contacts/search", params={"email": "A@example.com"})["data"]
    cid = found["id"]
    assert found["tags"] == [{"id": vip, "name": "vip"}] and found["lists"][0]["id"] == 1
    assert api.ok("GET", "/contacts/search", json={"email": "a@example.com"})["data"]["id"] == cid
    assert api.call("GET", "/contacts/search", params={"email": "z@example.com"}).status_code == 404

    assert api.ok("DELETE", f"/contacts/{cid}/tags/{vip}", 202)["data"]["message"]
    assert api.carriers(vip) == []
    assert api.ok("DELETE", f"/contacts/{cid}/tags/{vip}", 202)  # already gone: still accepted
    other = api.tag("other")
    tagged = api.ok("POST", f"/contacts/{cid}/tags", json={"tag_ids": [vip, other]})["data"]
    assert sorted(t["id"] for t in tagged) == sorted([vip, other])
    bad = api.call("POST", f"/contacts/{cid}/tags", json={"tag_ids": [999]})
    assert bad.status_code == 422 and "tag_ids.0" in bad.json()["errors"]

    api.ok("DELETE", f"/lists/1/contacts/{cid}", 202)
    assert api.ok("GET", "/lists/1/contacts")["data"] == []
    assert api.ok("GET", f"/contacts/{cid}")["data"]["email"] == "a@example.com"
    assert api.call("DELETE", f"/contacts/4242/tags/{vip}").status_code == 404


def test_unsubscribe_is_account_wide_and_a_consenting_add_resubscribes_by_default(api: Api) -> None:
    api.add([{"email": "a@example.com", "email_consent": True}])
    cid = api.ok("GET", "/contacts/search", params={"email": "a@example.com"})["data"]["id"]
    msg = api.ok("POST", f"/contacts/{cid}/unsubscribe")["data"]["message"]
    assert msg == "Contact unsubscribed successfully"
    assert [c["id"] for c in api.ok("GET", "/lists/1/unsubscribed")["data"]] == [cid]
    assert [c["id"] for c in api.ok("GET", "/contacts/unsubscribed")["data"]] == [cid]
    api.add([{"email": "a@example.com", "email_consent": True}])
    api.ok("GET", "/lists")
    assert api.emu.state()["contacts"]["a@example.com"]["unsubscribed_from"] == []


def test_unsubscribes_can_be_kept_by_setting(clock: Clock) -> None:
    emu = SendlaneEmulator(enforce_rate_limits=False, add_resubscribes=False, clock=clock)
    cid = emu.seed_contact("a@example.com", unsubscribed_from=["1"])
    for api in running(emu):
        vip = api.tag("vip")
        api.add([{"email": "a@example.com", "email_consent": True, "tag_ids": [vip]}])
        assert api.carriers(vip) == ["a@example.com"]
        state = api.emu.state()["contacts"]["a@example.com"]
        assert (state["id"], state["unsubscribed_from"], state["lists"]) == (cid, [1], [])


def test_custom_fields_on_a_contact(api: Api) -> None:
    cid = api.emu.seed_contact("a@example.com", lists=["1"])
    body = {"custom_fields": [{"id": 1, "value": "gold"}]}
    data = api.ok("POST", f"/contacts/{cid}/custom-fields", json=body)["data"]
    assert data == [{"id": "1", "name": "loyalty_tier", "value": "gold"}]
    bad = api.call("POST", f"/contacts/{cid}/custom-fields", json={"custom_fields": [{"id": 9}]})
    assert bad.status_code == 422 and "custom_fields.0.id" in bad.json()["errors"]


def test_the_documented_quota_is_240_requests_a_minute() -> None:
    assert SendlaneEmulator().per_minute.limit == 240
    assert SendlaneEmulator().per_minute.rate == pytest.approx(4.0)


def test_over_the_minute_quota_answers_429_without_retry_after(clock: Clock) -> None:
    # a quota of 6 a minute behaves as 240 does, in 7 requests instead of 241
    for api in running(SendlaneEmulator(requests_per_minute=6, clock=clock)):
        for _ in range(6):
            assert api.call("GET", "/lists").status_code == 200
        over = api.call("GET", "/lists")
        assert over.status_code == 429 and "Retry-After" not in over.headers
        assert set(over.json()) == {"message", "errors"}
        clock.now += 10  # a tenth of the minute: one request's worth of the quota
        assert api.call("GET", "/lists").status_code == 200
        assert api.call("GET", "/lists").status_code == 429


def test_injected_faults_answer_in_the_provider_shape(api: Api) -> None:
    api.emu.faults.update({"rate_limit_next": 1, "error_next": 1})
    limited = api.call("GET", "/lists")
    assert limited.status_code == 429 and "Retry-After" not in limited.headers
    failed = api.call("GET", "/lists")
    assert failed.status_code == 500 and set(failed.json()) == {"message", "errors"}
    assert api.call("GET", "/nothing").status_code == 404


def test_reset_returns_to_the_seeded_start(api: Api) -> None:
    api.tag("vip")
    api.add([{"email": "a@example.com"}])
    api.emu.reset_all()
    state = api.emu.state()
    assert state["contacts"] == {} and state["tags"] == {} and state["queued"] == 0


def test_connection_names_the_api_root_and_demo_token(api: Api) -> None:
    info = api.emu.connection("http://127.0.0.1:1")
    assert info["base_url"] == "http://127.0.0.1:1/v2" and info["api_token"] == TOKEN
