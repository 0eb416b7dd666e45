"""A destination's mapped ``fields`` end to end: validate --online (--create-fields), the values
arriving at the provider (read back from its emulator), a value change sent as an update that
leaves the subscription alone, and a value the provider refuses recorded as a rejection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from syncer.sample.emulated import LocalProviders
from tests.e2e.conftest import FAST, Workspace

pytestmark = pytest.mark.slow

MAILCHIMP_SEGMENT = """\
name: VIP
rules:
  all:
    - {{field: loyalty_card, op: eq, value: Gold}}
destinations:
  - profile: demo-mailchimp
    list: "{list_id}"
    tag: vip
    fields:
      FNAME: first_name
      CARD: loyalty_card
      SINCE: created
      CID: customer_id
      ZIPN: zip
"""


ACTIVECAMPAIGN_SEGMENT = """\
name: VIP
rules:
  all:
    - {{field: loyalty_card, op: eq, value: Gold}}
destinations:
  - profile: demo-activecampaign
    list: "{list_id}"
    tag: vip
    fields:
      LOYALTY_TIER: loyalty_card
      Signup date: created
      "3": zip
"""
# ActiveCampaign's custom fields: by personalization tag, by title, by id; two are dates.
AC_FIELDS = {"1": "Loyalty tier", "2": "Signup date", "3": "Renewal"}
AC_TYPES = {"2": "date", "3": "date"}
SENDLANE_SEGMENT = """\
name: VIP
rules:
  all:
    - {{field: loyalty_card, op: eq, value: Gold}}
destinations:
  - profile: demo-sendlane
    list: "{list_id}"
    tag: vip
    fields:
      loyalty_tier: loyalty_card
      "2": zip
      signup: created
"""
SL_FIELDS = {"1": "loyalty_tier", "2": "points", "3": "signup"}
SL_TYPES = {"2": "number", "3": "date"}


@pytest.fixture(params=["mailchimp", "activecampaign", "sendlane"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fleet(provider: str) -> Iterator[LocalProviders]:
    options = dict(FAST.get(provider, {}))
    if provider == "activecampaign":
        options.update(fields=AC_FIELDS, field_types=AC_TYPES)
    if provider == "sendlane":
        options.update(custom_fields=SL_FIELDS, field_types=SL_TYPES)
    with LocalProviders([provider], options={provider: options}) as running:
        yield running


def _merge_fields(workspace: Workspace, email: str) -> dict[str, Any]:
    audience = workspace.emulator.audiences[workspace.list_id]
    member = audience.member(email)
    assert member is not None, email
    return dict(member.merge_fields)


def test_mapped_fields_reach_mailchimp_and_changes_are_updates(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    if workspace.provider != "mailchimp":
        pytest.skip("Mailchimp only (the other providers have their own test below)")
    shop = workspace.shop
    shop.add(4)
    for i, zip_code in ((1, "1000"), (2, "not a number"), (3, "3000"), (4, "4000")):
        shop.set(i, zip=zip_code)
    path = workspace.config / "segments" / "vip.yaml"
    path.write_text(MAILCHIMP_SEGMENT.format(list_id=workspace.list_id))
    workspace.provider_client().create_field(workspace.list_id, "ZIPN", "number")

    code, out = workspace.run(capsys, "segments", "validate", str(path), "--online")
    assert code == 2  # CARD, SINCE and CID do not exist yet
    assert "fields.CARD" in workspace.last_err and "--create-fields" in workspace.last_err
    code, results = workspace.run(capsys, "sync", "VIP", "--dry-run")
    assert (code, results[0]["outcome"]) == (1, "failed")
    assert "'CARD' does not exist" in results[0]["error"]
    code, out = workspace.run(
        capsys, "segments", "validate", str(path), "--online", "--create-fields"
    )
    assert code == 0, workspace.last_err
    made = {
        f["field"]: (f["provider_type"], f["created"]) for f in out["destinations"][0]["fields"]
    }
    assert made["CARD"] == ("text", True) and made["SINCE"] == ("date", True)
    assert made["CID"] == ("number", True) and made["ZIPN"] == ("number", False)

    code, rows = workspace.run(capsys, "segments", "preview", "VIP")
    assert code == 0, workspace.last_err
    assert {k: rows[0][k] for k in ("FNAME", "CARD", "SINCE", "CID", "ZIPN")} == {
        "FNAME": "F1", "CARD": "Gold", "SINCE": "2025-01-01", "CID": "1", "ZIPN": "1000"
    }  # fmt: skip

    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert (results[0]["adds"], results[0]["rejections"]) == (3, 1)
    first = _merge_fields(workspace, "c1@example.com")
    assert (first["CARD"], first["SINCE"], first["CID"], first["ZIPN"]) == (
        "Gold", "01/01/2025", "1", "1000"
    )  # fmt: skip
    _, runs = workspace.run(capsys, "runs", "--rejections")
    (refused,) = runs["rejections"]
    assert refused["email"] == "c2@example.com" and "number" in refused["reason"]

    statuses = {
        m.email: m.status for m in workspace.emulator.audiences[workspace.list_id].members.values()
    }
    shop.set(3, zip="3999")
    shop.set(4, first_name="Renamed")
    code, results = workspace.run(capsys, "sync", "VIP", "--dry-run")
    assert code == 0 and results[0]["updates"] == 2
    assert results[0]["changed"] == [
        {"email": "c3@example.com", "old": {"ZIPN": "3000"}, "new": {"ZIPN": "3999"}},
        {"email": "c4@example.com", "old": {"FNAME": "F4"}, "new": {"FNAME": "Renamed"}},
    ]
    calls = workspace.emulator.total_calls
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert (results[0]["updates"], results[0]["adds"]) == (2, 0)
    assert _merge_fields(workspace, "c3@example.com")["ZIPN"] == "3999"
    assert _merge_fields(workspace, "c4@example.com")["FNAME"] == "Renamed"
    # one batch subscribe for both updates (and the merge fields read once by this process)
    assert workspace.emulator.total_calls - calls <= 1 + 3
    after = {
        m.email: m.status for m in workspace.emulator.audiences[workspace.list_id].members.values()
    }
    assert after == statuses  # an update never touches a subscription


def _ac_fields(workspace: Workspace, email: str) -> dict[str, str]:
    emu = workspace.emulator
    return dict(emu.contacts[emu.by_email[email]].fields)


def test_mapped_custom_fields_reach_activecampaign_in_bulk(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    if workspace.provider != "activecampaign":
        pytest.skip("ActiveCampaign only")
    shop = workspace.shop
    shop.add(12)
    for i in range(1, 13):
        shop.set(i, zip=f"2026-02-{i:02d}")
    shop.set(5, zip="soon")  # not a date: ActiveCampaign refuses it
    path = workspace.config / "segments" / "vip.yaml"
    path.write_text(ACTIVECAMPAIGN_SEGMENT.format(list_id=workspace.list_id))
    code, out = workspace.run(capsys, "segments", "validate", str(path), "--online")
    assert code == 0, workspace.last_err
    types = {f["field"]: f["provider_type"] for f in out["destinations"][0]["fields"]}
    assert types == {"LOYALTY_TIER": "text", "Signup date": "date", "3": "date"}

    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert (results[0]["adds"], results[0]["rejections"]) == (11, 1)
    assert _ac_fields(workspace, "c1@example.com") == {
        "1": "Gold", "2": "2025-01-01", "3": "2026-02-01"
    }  # fmt: skip
    _, runs = workspace.run(capsys, "runs", "--rejections")
    (refused,) = runs["rejections"]
    assert refused["email"] == "c5@example.com" and "valid date" in refused["reason"]

    for i in range(1, 13):
        shop.set(i, zip=f"2027-03-{i:02d}")  # every member's value changes: updates in bulk
    singles = workspace.emulator.calls.get("sync_contact", 0)
    imports = workspace.emulator.calls.get("bulk_import", 0)
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert results[0]["updates"] == 11 and results[0]["adds"] == 1  # c5 is accepted now
    assert _ac_fields(workspace, "c7@example.com")["3"] == "2027-03-07"
    # one bulk import for the 12, none one at a time
    assert workspace.emulator.calls.get("bulk_import", 0) - imports == 1
    assert workspace.emulator.calls.get("sync_contact", 0) == singles


def _sl_fields(workspace: Workspace, email: str) -> dict[int, str]:
    account = workspace.emulator.account
    return dict(account.contacts[account.by_email[email]].fields)


def test_mapped_custom_fields_reach_sendlane(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    if workspace.provider != "sendlane":
        pytest.skip("Sendlane only")
    shop = workspace.shop
    shop.add(6)
    for i in range(1, 7):
        shop.set(i, zip=str(100 * i))
    shop.set(4, zip="many")  # not a number: Sendlane refuses it
    path = workspace.config / "segments" / "vip.yaml"
    path.write_text(SENDLANE_SEGMENT.format(list_id=workspace.list_id))
    code, out = workspace.run(capsys, "segments", "validate", str(path), "--online")
    assert code == 0, workspace.last_err
    types = {f["field"]: f["provider_type"] for f in out["destinations"][0]["fields"]}
    assert types == {"loyalty_tier": "text", "2": "number", "signup": "date"}

    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert results[0]["rejections"] == 1
    assert _sl_fields(workspace, "c1@example.com") == {1: "Gold", 2: "100", 3: "2025-01-01"}
    _, runs = workspace.run(capsys, "runs", "--rejections")
    (refused,) = runs["rejections"]
    assert refused["email"] == "c4@example.com" and "number" in refused["reason"]

    shop.set(2, zip="250")
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert results[0]["updates"] == 1
    assert _sl_fields(workspace, "c2@example.com")[2] == "250"
