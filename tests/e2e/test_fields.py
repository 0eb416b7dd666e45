"""A destination's mapped ``fields`` end to end: validate --online (--create-fields), the values
arriving at the provider (read back from its emulator), a value change sent as an update that
leaves the subscription alone, and a value the provider refuses recorded as a rejection."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Workspace

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


@pytest.fixture(params=["mailchimp"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _merge_fields(workspace: Workspace, email: str) -> dict[str, Any]:
    audience = workspace.emulator.audiences[workspace.list_id]
    member = audience.member(email)
    assert member is not None, email
    return dict(member.merge_fields)


def test_mapped_fields_reach_mailchimp_and_changes_are_updates(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = workspace.shop
    shop.add(4)
    for i, zip_code in ((1, "1000"), (2, "not a number"), (3, "3000"), (4, "4000")):
        shop.set(i, zip=zip_code)
    path = workspace.config / "segments" / "vip.yaml"
    path.write_text(MAILCHIMP_SEGMENT.format(list_id=workspace.list_id))
    workspace.provider_client().create_field(workspace.list_id, "ZIPN", "number")

    code, out = workspace.run(capsys, "segments", "validate", str(path), "--online")
    assert code == 2  # CARD, SINCE and CID do not exist yet
    code, out = workspace.run(
        capsys, "segments", "validate", str(path), "--online", "--create-fields"
    )
    assert code == 0, workspace.last_err
    made = {
        f["field"]: (f["provider_type"], f["created"]) for f in out["destinations"][0]["fields"]
    }
    assert made["CARD"] == ("text", True) and made["SINCE"] == ("date", True)
    assert made["CID"] == ("number", True) and made["ZIPN"] == ("number", False)

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
