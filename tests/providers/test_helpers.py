"""The helpers every adapter shares: paging, the tag-id cache, the one chunker, id references,
custom-field ids, credentials -> HttpClient."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from providers.accounts import http_client, require, whole_number
from providers.base import Connection, Limits, Member, Provider
from providers.batching import chunks
from providers.errors import BadConfiguration, NotFound, UnexpectedAnswer
from providers.fields import FieldIds
from providers.paging import Page, at_key, by_offset, by_page_number
from providers.refs import make_ref, parse_ref
from providers.shapes import Shape
from providers.tags import TagIds


class Item(Shape):
    id: int


def test_chunks_cuts_lazily_into_lists_of_size_and_a_short_last():
    seen: list[int] = []

    def source():
        for i in range(7):
            seen.append(i)
            yield i

    it = chunks(source(), 3)
    assert next(it) == [0, 1, 2] and seen == [0, 1, 2]  # nothing read ahead
    assert list(it) == [[3, 4, 5], [6]]
    assert list(chunks([], 3)) == []


def test_by_offset_stops_at_total_short_page_or_empty_page():
    data = list(range(5))
    asked: list[int] = []

    def fetch(offset: int, *, size: int = 2, total: int | None = None) -> Page[int]:
        asked.append(offset)
        return Page(data[offset : offset + size], total=total)

    assert list(by_offset(lambda o: fetch(o, total=5))) == data
    assert asked == [0, 2, 4]  # the third page reaches the total: no fourth call
    asked.clear()
    assert list(by_offset(fetch, size=2)) == data
    assert asked == [0, 2, 4]  # the short third page ends it
    asked.clear()
    assert list(by_offset(lambda o: fetch(o, size=5))) == data
    assert asked == [0, 5]  # without a total or a size, the empty page ends it


def test_by_page_number_follows_until_no_next_page():
    pages = {1: Page([1, 2], more=True), 2: Page([3], more=False)}
    asked: list[int] = []

    def fetch(number: int) -> Page[int]:
        asked.append(number)
        return pages[number]

    assert list(by_page_number(fetch)) == [1, 2, 3]
    assert asked == [1, 2]
    assert list(by_page_number(lambda n: Page([], more=True))) == []  # an empty page ends it


def test_at_key_names_a_missing_or_malformed_listing():
    assert at_key({"items": [{"id": 1}]}, "items", list[Item], provider="p", what="GET /x") == [
        Item(id=1)
    ]
    with pytest.raises(UnexpectedAnswer, match=r"GET /x.*items: Field required"):
        at_key({}, "items", list[Item], provider="p", what="GET /x")
    with pytest.raises(UnexpectedAnswer, match=r"GET /x.*items\.0\.id"):
        at_key({"items": [{"id": "x"}]}, "items", list[Item], provider="p", what="GET /x")


def test_tag_ids_finds_once_and_retries_once_on_a_tag_deleted_by_hand():
    found: list[str] = []
    ids = iter(["1", "2", "3"])

    def find(name: str) -> str:
        found.append(name)
        return next(ids)

    forgotten: list[str] = []
    tags = TagIds(find, on_forget=forgotten.append)
    assert tags.get("vip") == tags.get("vip") == "1" and found == ["vip"]

    calls: list[str] = []

    def call(tag_id: str) -> str:
        calls.append(tag_id)
        if tag_id == "1":
            raise NotFound("tag gone", provider="p")
        return f"done with {tag_id}"

    assert tags.with_tag("vip", call) == "done with 2"
    assert calls == ["1", "2"] and forgotten == ["vip"] and tags.get("vip") == "2"


def test_tag_ids_raises_a_second_failure_and_other_errors_untouched():
    tags = TagIds(lambda name: "7")

    def gone(tag_id: str) -> str:
        raise NotFound("tag gone", provider="p")

    with pytest.raises(NotFound):
        tags.with_tag("vip", gone)

    def refused(tag_id: str) -> str:
        raise BadConfiguration("something else", provider="p")

    finds: list[str] = []
    tags = TagIds(lambda name: finds.append(name) or "7")
    with pytest.raises(BadConfiguration):
        tags.with_tag("vip", refused)
    assert finds == ["vip"]  # not a "gone" error: no second lookup
    picky = TagIds(lambda name: "7")
    with pytest.raises(NotFound):  # only what ``gone`` accepts is recovered
        picky.with_tag("vip", gone, gone=lambda err: isinstance(err, BadConfiguration))


def test_tag_ids_keeps_an_id_another_batch_already_replaced():
    tags = TagIds(lambda name: "1")
    tags.get("vip")
    tags.ids["vip"] = "9"  # found again meanwhile (another batch recovered first)
    assert not tags.forget("vip", "1") and tags.get("vip") == "9"
    assert tags.forget("vip", "9") and "vip" not in tags.ids


def test_refs_round_trip_and_skip_empty_parts():
    assert make_ref(c="12", ct=None) == "c=12"
    assert make_ref(c=None) is None
    assert parse_ref("c=12;ct=34") == {"c": "12", "ct": "34"}
    assert parse_ref(None) == {} and parse_ref("c=;x") == {}


def test_field_ids_read_once_and_name_an_unknown_key():
    reads: list[int] = []

    def read() -> list[tuple[str, str | None]]:
        reads.append(1)
        return [("5", "COLOR"), ("6", None)]

    fields = FieldIds(read, provider="p", known_as="a custom field id or name")
    plain = Member("a@example.com", "1")
    assert fields.values(plain) == {} and reads == []  # nothing to map: no read
    member = Member("a@example.com", "1", merge_fields={"color": "red", "6": "x"})
    assert fields.values(member) == {"5": "red", "6": "x"}
    assert fields.values(member) == {"5": "red", "6": "x"} and reads == [1]
    bad = Member("a@example.com", "1", merge_fields={"size": "L"})
    with pytest.raises(BadConfiguration, match=r"'size' is not a custom field id or name"):
        fields.values(bad)


class Fake(Provider):
    name = "fake"
    credential_keys = ("api_url", "api_token")
    limits = Limits(batch_size=10, requests_per_second=1, max_concurrency=2)
    check = discover = ensure_tag = apply_batch = read_members = None  # type: ignore[assignment]


def test_require_names_every_missing_key_never_a_value():
    require(Fake, {"api_url": "https://x", "api_token": "s3cret"}, "hint")
    with pytest.raises(BadConfiguration, match=r"credentials need api_url, api_token \(hint\)"):
        require(Fake, {"api_token": ""}, "hint")


def test_http_client_is_the_provider_account(monkeypatch: pytest.MonkeyPatch):
    sleep: Callable[[float], None] = lambda _s: None  # noqa: E731
    http = http_client(Fake, "https://x/api/", {"Api-Token": "s3cret"}, Connection(sleep=sleep))
    assert (http.provider, http.base_url, http.headers["Api-Token"]) == (
        "fake",
        "https://x/api",
        "s3cret",
    )
    assert "s3cret" in http.secrets and http.sleep is sleep


@pytest.mark.parametrize("value", ["0", "x", "-1", "2.5"])
def test_whole_number_refuses_what_is_not_one(value: str):
    with pytest.raises(
        BadConfiguration, match=rf"concurrency must be a whole number >= 1, not '{value}'"
    ):
        whole_number(Fake, {"concurrency": value}, "concurrency", 2)


def test_whole_number_defaults_when_absent():
    assert whole_number(Fake, {}, "concurrency", 2) == 2
    assert whole_number(Fake, {"concurrency": "3"}, "concurrency", 2) == 3
