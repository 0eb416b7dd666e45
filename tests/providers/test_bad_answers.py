"""Bad answers to successful calls, on every call an adapter relies on during a sync.

A provider (or a proxy in front of it) may answer 200 with an HTML page, JSON that does not parse,
a JSON array, an empty body, or an object of another shape. Each is an ``UnexpectedAnswer`` whose
one line names the provider, the call and what was wrong, raised before anything is settled from
the answer (the batch returns no outcome at all, so the engine keeps every change pending).

Each flow lists its calls in order: ``(method, path, good answer, wrong shapes)``. A case answers
the calls before the one under test well and that one badly; ``wrong`` None marks a call whose
answer the adapter does not read (answered well, never the one under test).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import responses

from providers.activecampaign import ActiveCampaign
from providers.base import Change, ChangeKind, Destination, Member, OnLeave, Provider
from providers.errors import FatalError, UnexpectedAnswer
from providers.http import RateLimiter, RetryPolicy
from providers.mailchimp import Mailchimp
from providers.mailchimp.answers import subscriber_hash
from providers.sendlane import BASE_URL as SL_BASE
from providers.sendlane import Sendlane
from tests.providers import test_activecampaign as ac_tests
from tests.providers import test_sendlane as sl_tests
from tests.providers.conftest import Sleeps

HTML = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Proxy</body></html>"
GENERIC: dict[str, tuple[str, str]] = {
    "html page": (HTML, "text/html"),
    "invalid json": ('{"members": [{"email_address": ', "application/json"),
    "json array": ("[]", "application/json"),
    "empty body": ("", "application/json"),
    "empty object": ("{}", "application/json"),
}


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    good: Any
    wrong: dict[str, Any] | None = None  # None: the adapter does not read this answer


@dataclass(frozen=True)
class Flow:
    provider: str
    base: str
    name: str
    steps: tuple[Step, ...]
    action: Callable[[Any], Any]
    make: Callable[[], Provider]


def ann(email: str) -> Member:
    return Member(email, email.split("@")[0], first_name="Ann", consent=True)


def add(email: str) -> Change:
    return Change(ChangeKind.ADD, ann(email))


def remove(email: str) -> Change:
    return Change(ChangeKind.REMOVE, ann(email))


# --- Mailchimp ---------------------------------------------------------------------------------
MC = "https://us21.api.mailchimp.com/3.0"
LIST, SEG = "a1b2c3", "4242"
MC_DEST = Destination(LIST, "vip")


def mailchimp() -> Mailchimp:
    key = "0123456789abcdef0123456789abcdef-us21"
    return Mailchimp(
        key, sleep=lambda _s: None, retry=RetryPolicy(attempts=3), limiter=RateLimiter(0, 10)
    )


def batch(new: list[str], errors: list[Any] | None = None) -> dict[str, Any]:
    return {
        "new_members": [{"email_address": e} for e in new],
        "updated_members": [],
        "errors": errors or [],
    }


def tagged(added: list[str] = (), removed: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "members_added": [{"email_address": e} for e in added],
        "members_removed": [{"email_address": e} for e in removed],
        "errors": [],
    }


AUDIENCE = Step(
    "GET",
    f"/lists/{LIST}",
    {"id": LIST, "name": "Shop", "double_optin": False},
    {"wrong type": {"id": LIST, "double_optin": "maybe"}},
)
SEGMENTS = Step(
    "GET",
    f"/lists/{LIST}/segments",
    {"segments": [{"id": int(SEG), "name": "vip"}], "total_items": 1},
    {
        "segment without id": {"segments": [{"name": "vip"}], "total_items": 1},
        "wrong type": {"segments": {"id": int(SEG)}, "total_items": 1},
    },
)
SUBSCRIBE = Step(
    "POST",
    f"/lists/{LIST}",
    batch(["a@x.io", "b@x.io"]),
    {
        "error without email": batch([], [{"error_code": "ERROR_GENERIC", "error": "bad"}]),
        "wrong type": {"new_members": "a@x.io", "updated_members": [], "errors": []},
        "missing errors": {"new_members": [], "updated_members": []},
    },
)
TAG_ADD = Step(
    "POST",
    f"/lists/{LIST}/segments/{SEG}",
    tagged(added=["a@x.io"]),
    {
        "member without email": {**tagged(), "members_added": [{"status": "subscribed"}]},
        "missing per-member results": {"total_added": 1, "error_count": 0},
        "wrong type": {**tagged(), "members_added": [{"email_address": 7}]},
    },
)
VERIFY = Step(
    "GET",
    f"/lists/{LIST}/members/{subscriber_hash('b@x.io')}",
    {"email_address": "b@x.io", "tags": [{"id": int(SEG), "name": "vip"}]},
    {
        "tags not a list": {"email_address": "b@x.io", "tags": "vip"},
        "tag without id": {"email_address": "b@x.io", "tags": [{"name": "vip"}]},
    },
)
MEMBERS = Step(
    "GET",
    f"/lists/{LIST}/segments/{SEG}/members",
    {"members": [{"email_address": e} for e in ("a@x.io", "b@x.io", "c@x.io")], "total_items": 3},
    {"member without email": {"members": [{"status": "subscribed"}], "total_items": 1}},
)

MAILCHIMP = [
    Flow(
        "mailchimp", MC, "add",
        (AUDIENCE, SEGMENTS, SUBSCRIBE, TAG_ADD, VERIFY),
        lambda mc: mc.apply_batch(MC_DEST, [add("a@x.io"), add("b@x.io")]),
        mailchimp,
    ),
    Flow(
        "mailchimp", MC, "add, tags read back",
        (
            AUDIENCE, SEGMENTS,
            Step("POST", f"/lists/{LIST}", batch(["a@x.io", "b@x.io", "c@x.io"])),
            Step("POST", f"/lists/{LIST}/segments/{SEG}", tagged()),
            Step(
                "GET", f"/lists/{LIST}/segments/{SEG}", {"member_count": 3},
                {"wrong type": {"member_count": "many"}},
            ),
            MEMBERS,
        ),
        lambda mc: mc.apply_batch(MC_DEST, [add(e) for e in ("a@x.io", "b@x.io", "c@x.io")]),
        mailchimp,
    ),
    Flow(
        "mailchimp", MC, "new tag",
        (
            AUDIENCE,
            Step("GET", f"/lists/{LIST}/segments", {"segments": [], "total_items": 0}),
            Step("POST", f"/lists/{LIST}/segments", {"id": 99, "name": "vip"},
                 {"no id": {"name": "vip"}}),
        ),
        lambda mc: mc.ensure_tag(MC_DEST),
        mailchimp,
    ),
    Flow(
        "mailchimp", MC, "remove and unsubscribe",
        (
            AUDIENCE, SEGMENTS,
            Step(
                "POST", f"/lists/{LIST}/segments/{SEG}", tagged(removed=["a@x.io"]),
                {
                    "missing per-member results": {"total_removed": 1},
                    "member without email": {**tagged(), "members_removed": [{"id": "x"}]},
                    "error without addresses": {**tagged(), "errors": [{"error": "no"}]},
                },
            ),
            Step(
                "POST", f"/lists/{LIST}",
                {"new_members": [], "updated_members": [{"email_address": "a@x.io"}],
                 "errors": []},
                {"missing errors": {"new_members": [], "updated_members": []}},
            ),
        ),
        lambda mc: mc.apply_batch(
            Destination(LIST, "vip", OnLeave.UNSUBSCRIBE), [remove("a@x.io")]
        ),
        mailchimp,
    ),
    Flow("mailchimp", MC, "read members", (AUDIENCE, SEGMENTS, MEMBERS),
         lambda mc: list(mc.read_members(MC_DEST)), mailchimp),
    Flow(
        "mailchimp", MC, "check",
        (Step("GET", "/", {"account_id": "x1", "account_name": "Shop"},
              {"no account id": {"account_name": "Shop"}}),),
        lambda mc: mc.check(),
        mailchimp,
    ),
    Flow(
        "mailchimp", MC, "discover",
        (Step("GET", "/lists", {"lists": [], "total_items": 0},
              {"list without id": {"lists": [{"name": "Shop"}], "total_items": 1}}),),
        lambda mc: mc.discover(),
        mailchimp,
    ),
]  # fmt: skip


# --- ActiveCampaign ----------------------------------------------------------------------------
AC = ac_tests.BASE
AC_DEST = Destination("3", "vip")


def activecampaign(**kw: Any) -> Callable[[], ActiveCampaign]:
    def make() -> ActiveCampaign:
        return ac_tests.make(Sleeps(), **kw)

    return make


def untagged() -> ActiveCampaign:
    ac = ac_tests.make(Sleeps())
    del ac.tags.ids["vip"]
    return ac


CONTACT_LISTS = Step(
    "GET",
    "/contacts/41/contactLists",
    {"contactLists": [{"list": "3", "status": "1"}]},
    {"wrong type": {"contactLists": {"list": "3"}}, "entry without list": {"contactLists": [{}]}},
)
ACTIVECAMPAIGN = [
    Flow(
        "activecampaign", AC, "new tag",
        (
            Step("GET", "/tags", {"tags": [], "meta": {"total": "0"}},
                 {"tag without id": {"tags": [{"tag": "vip"}], "meta": {"total": "1"}},
                  "missing meta": {"tags": []}}),
            Step("POST", "/tags", {"tag": {"id": "12", "tag": "vip"}},
                 {"no id": {"tag": {"tag": "vip"}}}),
        ),
        lambda ac: ac.ensure_tag(AC_DEST),
        untagged,
    ),
    Flow(
        "activecampaign", AC, "bulk add",
        (
            Step("POST", "/import/bulk_import", {"success": 1, "batchId": "B1"},
                 {"no batch id": {"success": 1}}),
            Step("GET", "/import/info",
                 {"status": "completed", "success": ["5"], "failure": []},
                 {"missing results": {"status": "completed"},
                  "wrong type": {"status": "completed", "success": "5", "failure": []}}),
            Step("GET", "/contacts", {"contacts": [{"id": "5", "email": "m0@example.com"}]},
                 {"contact without email": {"contacts": [{"id": "5"}]}}),
        ),
        lambda ac: ac.apply_batch(AC_DEST, [add("m0@example.com")]),
        activecampaign(bulk_min=1),
    ),
    Flow(
        "activecampaign", AC, "one add",
        (
            Step("POST", "/contact/sync", {"contact": {"id": "41"}},
                 {"contact without id": {"contact": {"email": "m1@example.com"}}}),
            Step("GET", "/contacts/41/contactLists", {"contactLists": []},
                 {"wrong type": {"contactLists": "3"}}),
            Step("POST", "/contactLists", {}),
            Step("POST", "/contactTags", {"contactTag": {"id": "900", "tag": "77"}},
                 {"no id": {"contactTag": {"tag": "77"}}}),
        ),
        lambda ac: ac.apply_batch(AC_DEST, [add("m1@example.com")]),
        activecampaign(),
    ),
    Flow(
        "activecampaign", AC, "remove and unsubscribe",
        (
            Step("GET", "/contacts", {"contacts": [{"id": "41", "email": "m1@example.com"}]},
                 {"contact without id": {"contacts": [{"email": "m1@example.com"}]},
                  "wrong type": {"contacts": {"id": "41"}}}),
            Step("GET", "/tags/77", {"tag": {"id": "77", "tag": "vip"}},
                 {"wrong type": {"tag": "vip"}}),
            Step("GET", "/contacts/41/contactTags", {"contactTags": [{"id": "901", "tag": "77"}]},
                 {"association without id": {"contactTags": [{"tag": "77"}]}}),
            Step("DELETE", "/contactTags/901", {}),
            CONTACT_LISTS,
            Step("POST", "/contactLists", {}),
        ),
        lambda ac: ac.apply_batch(
            Destination("3", "vip", OnLeave.UNSUBSCRIBE), [remove("m1@example.com")]
        ),
        activecampaign(),
    ),
    Flow(
        "activecampaign", AC, "check",
        (Step("GET", "/users/me", {"user": {"id": "1", "email": "a@shop.test"}},
              {"wrong type": {"user": "admin"}}),),
        lambda ac: ac.check(),
        activecampaign(),
    ),
]  # fmt: skip


# --- Sendlane ----------------------------------------------------------------------------------
SL_DEST = Destination("3", "vip")
page = sl_tests.page


def sendlane() -> Sendlane:
    return sl_tests.make(Sleeps())


def sl_untagged() -> Sendlane:
    sl = sl_tests.make(Sleeps())
    del sl.tags.ids["vip"]
    return sl


NO_EMAIL = {"contact without email": {"data": [{"id": 41}], "links": {"next": None}}}
SENDLANE = [
    Flow(
        "sendlane", SL_BASE, "new tag",
        (
            Step("GET", "/tags", page([]),
                 {"tag without id": page([{"name": "vip"}]),
                  "wrong type": {"data": {"id": 1}, "links": {"next": None}}}),
            Step("POST", "/tags", {"data": {"id": 12, "name": "vip"}},
                 {"no id": {"data": {"name": "vip"}}}),
        ),
        lambda sl: sl.ensure_tag(SL_DEST),
        sl_untagged,
    ),
    Flow(
        "sendlane", SL_BASE, "add",
        (
            Step("GET", "/lists/3/unsubscribed", page([]), NO_EMAIL),
            Step("GET", "/contacts/unsubscribed", page([]), NO_EMAIL),
            Step("POST", "/lists/3/contacts", {"data": {"message": "queued"}}),
        ),
        lambda sl: sl.apply_batch(SL_DEST, [add("m1@example.com")]),
        sendlane,
    ),
    Flow(
        "sendlane", SL_BASE, "confirm",
        (Step("GET", "/tags/77/contacts", page([{"id": 10, "email": "m1@example.com"}]),
              {**NO_EMAIL, "missing links": {"data": []}}),),
        lambda sl: sl.confirm(SL_DEST, [add("m1@example.com")]),
        sendlane,
    ),
    Flow(
        "sendlane", SL_BASE, "remove",
        (
            Step("GET", "/contacts/search", {"data": {"id": 41, "email": "m1@example.com"}},
                 {"contact without id": {"data": {"email": "m1@example.com"}},
                  "missing data": {"message": "ok"}}),
            Step("DELETE", "/contacts/41/tags/77", {}),
        ),
        lambda sl: sl.apply_batch(SL_DEST, [remove("m1@example.com")]),
        sendlane,
    ),
    Flow(
        "sendlane", SL_BASE, "check",
        (Step("GET", "/lists", page([]), {"wrong type": {"data": "none", "links": {}}}),),
        lambda sl: sl.check(),
        sendlane,
    ),
]  # fmt: skip


def cases(flows: list[Flow]) -> list[Any]:
    out = []
    for flow in flows:
        for i, step in enumerate(flow.steps):
            if step.wrong is None:
                continue
            bodies = {**GENERIC}
            bodies.update({k: (json.dumps(v), "application/json") for k, v in step.wrong.items()})
            for what, (text, ctype) in bodies.items():
                case_id = f"{flow.provider} {flow.name}: {step.method} {step.path}: {what}"
                out.append(pytest.param(flow, i, text, ctype, id=case_id))
    return out


def answer_badly(flow: Flow, at: int, text: str, ctype: str) -> UnexpectedAnswer:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for step in flow.steps[:at]:
            rsps.add(step.method, flow.base + step.path, json=step.good)
        bad = flow.steps[at]
        rsps.add(bad.method, flow.base + bad.path, body=text, status=200, content_type=ctype)
        provider = flow.make()
        with pytest.raises(UnexpectedAnswer) as info:
            flow.action(provider)
        calls = [(c.request.method, c.request.url) for c in rsps.calls]
    assert len(calls) == at + 1, calls  # nothing was asked after the bad answer
    return info.value


@pytest.mark.parametrize(("flow", "at", "text", "ctype"), cases(MAILCHIMP))
def test_mailchimp_bad_answers_are_one_line_errors(
    flow: Flow, at: int, text: str, ctype: str
) -> None:
    check(answer_badly(flow, at, text, ctype), flow, at)


@pytest.mark.parametrize(("flow", "at", "text", "ctype"), cases(ACTIVECAMPAIGN))
def test_activecampaign_bad_answers_are_one_line_errors(
    flow: Flow, at: int, text: str, ctype: str
) -> None:
    check(answer_badly(flow, at, text, ctype), flow, at)


@pytest.mark.parametrize(("flow", "at", "text", "ctype"), cases(SENDLANE))
def test_sendlane_bad_answers_are_one_line_errors(
    flow: Flow, at: int, text: str, ctype: str
) -> None:
    check(answer_badly(flow, at, text, ctype), flow, at)


def check(err: UnexpectedAnswer, flow: Flow, at: int) -> None:
    step = flow.steps[at]
    text = str(err)
    assert isinstance(err, FatalError) and not err.retryable  # the run ends failed, not retried
    assert text.startswith(f"{flow.provider}: {step.method} {step.path}: unexpected answer: "), text
    assert "\n" not in text and len(text) < 300, text
    assert "Sign in</title>" not in text or "HTML" in text


def test_the_wrong_field_is_named() -> None:
    flow = MAILCHIMP[0]
    body = json.dumps(TAG_ADD.wrong["member without email"])  # type: ignore[index]
    err = answer_badly(flow, 3, body, "application/json")
    assert "members_added.0.email_address" in str(err), err
    err = answer_badly(flow, 3, HTML, "text/html")
    assert "HTML" in str(err) and "base URL" in str(err), err


def test_good_answers_in_these_flows_settle() -> None:
    """The flows themselves work with the good answers (so each bad case fails on its own)."""
    for flow in (*MAILCHIMP, *ACTIVECAMPAIGN, *SENDLANE):
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            for step in flow.steps:
                rsps.add(step.method, flow.base + step.path, json=step.good)
            flow.action(flow.make())
