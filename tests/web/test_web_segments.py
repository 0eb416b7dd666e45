"""The segment pages over HTTP: list, builder with live count, save, copy, delete, templates,
preview, one customer, insights, suggestions; their errors and who may do what."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event, insert
from starlette.testclient import TestClient

from syncer.cli.main import main
from syncer.db import make_engine
from syncer.schema import Order, Product
from syncer.segments.loader import load_segment_file
from syncer.settings import Settings
from syncer.source.active import using
from syncer.source.tables import Source, native_source
from syncer.web.app import create_app
from syncer.web.auth import Users
from syncer.web.segment_queries import PREVIEW_LIMIT
from tests.sync.fakes import Shop
from tests.web.conftest import login


@pytest.fixture
def shop(app_settings: Settings) -> Iterator[Shop]:
    engine = make_engine(app_settings.database_url)
    shop = Shop(engine)
    shop.add(30)  # Gold, consenting
    shop.add(5, start=100, consent=False)  # Gold, no consent
    shop.add(10, start=200, card="Silver")
    with engine.begin() as conn:
        conn.execute(
            insert(Order.__table__),  # type: ignore[attr-defined]
            [
                {"customer_id": 1, "placed_at": datetime(2026, 1, 5, tzinfo=UTC),
                 "total_cents": 4999},
                {"customer_id": 1, "placed_at": datetime(2026, 2, 5, tzinfo=UTC),
                 "total_cents": 1001},
            ],
        )  # fmt: skip
        conn.execute(
            insert(Product.__table__),  # type: ignore[attr-defined]
            [{"name": "House Blend", "sku": "HB-1", "vendor": "Roastery"},
             {"name": "Espresso 100%", "sku": "ES-1", "vendor": "Roastery"}],
        )  # fmt: skip
    yield shop
    engine.dispose()


def draft(token: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": token, "name": "Draft", "original": "", **fields}


GOLD_OR_SILVER = {
    "k:rules": "all",
    "k:rules.all[0]": "any",
    "k:rules.all[0].any[0]": "cond", "f:rules.all[0].any[0]": "loyalty_card",
    "o:rules.all[0].any[0]": "eq", "v:rules.all[0].any[0]": "Gold",
    "k:rules.all[0].any[1]": "cond", "f:rules.all[0].any[1]": "loyalty_card",
    "o:rules.all[0].any[1]": "eq", "v:rules.all[0].any[1]": "Silver",
    "k:rules.all[1]": "not",
    "k:rules.all[1].not": "cond", "f:rules.all[1].not": "consent",
    "o:rules.all[1].not": "eq", "v:rules.all[1].not": "false",
}  # fmt: skip


def test_the_list_searches_and_filters_by_tag(editor: tuple[TestClient, str], config: Path) -> None:
    (config / "segments" / "lapsed.yaml").write_text(
        "name: Lapsed\ndescription: gone quiet\ntags: [winback]\n"
        "rules: {all: [{field: orders, op: ge, value: 1}]}\n"
    )
    client, _ = editor
    page = client.get("/segments")
    assert page.status_code == 200
    assert "VIP" in page.text and "Lapsed" in page.text
    found = client.get("/segments?q=quiet").text
    assert "Lapsed" in found and ">VIP<" not in found
    tagged = client.get("/segments?tag=winback").text
    assert "Lapsed" in tagged and ">VIP<" not in tagged
    unknown = client.get("/segments?tag=nope")
    assert unknown.status_code == 400 and "nope" in unknown.text


def test_live_count_of_nested_groups_and_a_negation(
    editor: tuple[TestClient, str], shop: Shop
) -> None:
    client, token = editor
    answer = client.post("/segments/draft", data=draft(token, **GOLD_OR_SILVER))
    assert answer.status_code == 200, answer.text
    # 30 Gold + 10 Silver consent; the 5 without consent are left out by the `not`
    assert 'id="live-count">40<' in answer.text
    assert "of which <strong>40</strong> have marketing consent" in answer.text
    assert 'id="small-warning"' in answer.text  # 40 < 50
    assert 'hx-post="/segments/funnel"' in answer.text  # loaded after the count
    funnel = client.post("/segments/funnel", data=draft(token, **GOLD_OR_SILVER)).text
    assert 'id="funnel"' in funnel and "rules.all[1].not" in funnel
    row = funnel[funnel.index("rules.all[0].any[1]") :]
    assert re.search(r"<td>10</td>\s*<td>45</td>", row)  # Silver alone; Gold or Silver
    assert 'id="sentence"' in answer.text


def test_a_bad_value_shows_the_clis_message_at_its_condition(
    editor: tuple[TestClient, str], shop: Shop
) -> None:
    client, token = editor
    bad = {**GOLD_OR_SILVER, "f:rules.all[0].any[1]": "orders", "o:rules.all[0].any[1]": "gt",
           "v:rules.all[0].any[1]": "many"}  # fmt: skip
    answer = client.post("/segments/draft", data=draft(token, **bad))
    text = html.unescape(answer.text)
    assert "rules.all[0].any[1]" in text and "orders needs a whole number" in text
    node = text.index('id="node-rules-all_0-any_1"')
    assert "bad" in text[node - 40 : node] and 'role="alert"' in text[node:]
    assert 'id="live-count"' not in text


def test_builder_actions_add_reorder_and_remove(editor: tuple[TestClient, str], shop: Shop) -> None:
    client, token = editor
    added = client.post(
        "/segments/draft", data=draft(token, action="add:rules.all[0]:not", **GOLD_OR_SILVER)
    ).text
    assert 'name="k:rules.all[0].any[2]" value="not"' in added
    moved = client.post(
        "/segments/draft", data=draft(token, action="down:rules.all[0]", **GOLD_OR_SILVER)
    ).text
    assert 'name="k:rules.all[0]" value="not"' in moved
    assert 'name="k:rules.all[1]" value="any"' in moved
    removed = client.post(
        "/segments/draft", data=draft(token, action="remove:rules.all[1]", **GOLD_OR_SILVER)
    ).text
    assert "k:rules.all[1]" not in removed and 'id="live-count">45<' in removed


def test_save_writes_valid_yaml_keeping_comments(
    editor: tuple[TestClient, str], shop: Shop, config: Path
) -> None:
    client, token = editor
    answer = client.post(
        "/segments/save", data=draft(token, name="VIP", original="VIP", **GOLD_OR_SILVER)
    )
    assert answer.status_code == 303, answer.text
    text = (config / "segments" / "vip.yaml").read_text()
    assert text.startswith("# Gold card holders (this comment stays)")
    rules = yaml.safe_load(text)["rules"]
    assert rules["all"][1] == {"not": {"field": "consent", "op": "eq", "value": False}}
    new = client.post("/segments/save", data=draft(token, name="Gold or silver", **GOLD_OR_SILVER))
    assert new.status_code == 303
    assert yaml.safe_load((config / "segments" / "gold-or-silver.yaml").read_text())["name"] == (
        "Gold or silver"
    )
    again = client.post("/segments/save", data=draft(token, name="Gold or silver"))
    assert again.status_code == 400 and "nothing was overwritten" in again.text


def test_save_refuses_a_bad_rule_and_writes_nothing(
    editor: tuple[TestClient, str], config: Path
) -> None:
    client, token = editor
    before = (config / "segments" / "vip.yaml").read_text()
    bad = {"k:rules": "cond", "f:rules": "orders", "o:rules": "gt", "v:rules": "x"}
    answer = client.post("/segments/save", data=draft(token, name="VIP", original="VIP", **bad))
    assert answer.status_code == 400
    assert "orders needs a whole number" in html.unescape(answer.text)
    assert (config / "segments" / "vip.yaml").read_text() == before


@pytest.mark.parametrize("name", ["../../escape", "a/b", "x\ny: 1", "..\\up"])
def test_names_that_traverse_or_inject_yaml_are_refused(
    editor: tuple[TestClient, str], config: Path, name: str
) -> None:
    client, token = editor
    answer = client.post("/segments/save", data=draft(token, name=name, **GOLD_OR_SILVER))
    assert answer.status_code == 400 and "is not allowed" in html.unescape(answer.text)
    assert sorted(p.name for p in (config / "segments").iterdir()) == ["vip.yaml"]
    assert not list(config.parent.rglob("escape*"))
    unknown = client.post("/segments/save", data=draft(token, name="x", original="../vip"))
    assert unknown.status_code == 400 and "no segment named '../vip'" in html.unescape(unknown.text)


def test_copy_delete_and_new_from_template(editor: tuple[TestClient, str], config: Path) -> None:
    client, token = editor
    copied = client.post(
        "/segments/copy", data={"csrf_token": token, "name": "VIP", "new": "VIP 2"}
    )
    assert copied.status_code == 303
    assert (config / "segments" / "vip-2.yaml").read_text().startswith("# Gold card holders")
    gone = client.post("/segments/delete", data={"csrf_token": token, "name": "VIP 2"})
    assert gone.status_code == 303 and not (config / "segments" / "vip-2.yaml").exists()
    made = client.post(
        "/segments/from-template",
        data={"csrf_token": token, "template": "time-to-reorder", "name": "Beans again",
              "p:product": "House Blend"},
    )  # fmt: skip
    assert made.status_code == 303, made.text
    assert (config / "segments" / "beans-again.yaml").exists()


def test_a_viewer_counts_but_cannot_save_or_delete(
    client: TestClient, config: Path, shop: Shop
) -> None:
    token = login(client, "viewer")
    counted = client.post("/segments/draft", data=draft(token, **GOLD_OR_SILVER))
    assert counted.status_code == 200 and 'id="live-count">40<' in counted.text
    assert 'id="save"' not in counted.text
    before = (config / "segments" / "vip.yaml").read_text()
    saved = client.post("/segments/save", data=draft(token, name="VIP", original="VIP"))
    deleted = client.post("/segments/delete", data={"csrf_token": token, "name": "VIP"})
    assert saved.status_code == deleted.status_code == 403
    assert (config / "segments" / "vip.yaml").read_text() == before


def test_save_and_delete_need_the_csrf_token(editor: tuple[TestClient, str], config: Path) -> None:
    client, _ = editor
    for path, data in (
        ("/segments/save", draft("wrong", name="VIP", original="VIP")),
        ("/segments/delete", {"csrf_token": "wrong", "name": "VIP"}),
    ):
        assert client.post(path, data=data).status_code == 403
    assert (config / "segments" / "vip.yaml").exists()


def test_preview_and_one_customer(editor: tuple[TestClient, str], shop: Shop) -> None:
    client, _ = editor
    preview = client.get("/segments/preview?name=VIP")
    assert preview.status_code == 200
    assert "c1@example.com" in preview.text and "c200@example.com" not in preview.text
    row = preview.text[preview.text.index("c1@example.com") :]
    assert "<td>2</td><td>60.00</td>" in row  # orders, spend
    one = client.get("/segments/customer?id=1")
    assert one.status_code == 200
    assert "c1@example.com" in one.text and ">VIP</a>" in one.text
    silver = client.get("/segments/customer?id=200")
    assert ">VIP</a>" not in silver.text
    assert client.get("/segments/customer?id=999").status_code == 404
    assert client.get("/segments/preview?name=Nope").status_code == 400


def test_insights_charts_and_the_mapping_message(
    editor: tuple[TestClient, str], shop: Shop
) -> None:
    client, _ = editor
    page = client.get("/segments/insights?name=VIP")
    assert page.status_code == 200, page.text
    assert 'id="summary"' in page.text and "35" in page.text
    assert 'class="bar"' in page.text
    native = native_source().tables
    mapped = Source(
        tables={**native, "customers": native["customers"].alias("shop")},
        origin="config/source.yaml",
    )
    with using(mapped):
        page = client.get("/segments/insights?name=VIP")
    assert "read Syncer&#39;s own tables" in page.text and 'role="alert"' in page.text


def test_insights_say_when_they_are_estimated_and_link_to_every_member(
    editor: tuple[TestClient, str], shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncer.web.pages import segments as page

    client, _ = editor
    assert 'id="sampled"' not in client.get("/segments/insights?name=VIP").text  # 35 < 2,000
    monkeypatch.setattr(page, "SAMPLE", 10)
    sampled = client.get("/segments/insights?name=VIP").text
    assert 'id="sampled"' in sampled and "sample of 10 of the 35 members" in sampled
    assert "/segments/insights?name=VIP&amp;exact=1" in sampled
    exact = client.get("/segments/insights?name=VIP&exact=1").text
    assert 'id="sampled"' not in exact and "<strong>35</strong> members" in exact


def test_suggestions_come_from_the_database_with_like_escaped(
    editor: tuple[TestClient, str], shop: Shop
) -> None:
    client, _ = editor
    found = client.get("/segments/suggest?field=purchased_product&q=blend").text
    assert '<option value="House Blend">' in found
    percent = client.get("/segments/suggest?field=purchased_product&q=%25").text
    assert "Espresso 100%" in percent and "House Blend" not in percent
    assert "option" not in client.get("/segments/suggest?field=orders&q=a").text


def test_insights_draw_the_size_after_each_run(
    editor: tuple[TestClient, str], shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncer.state.history import AudiencePoint
    from syncer.web.pages import segments as page

    points = [
        AudiencePoint(datetime(2026, 3, d, tzinfo=UTC), outcome, n)
        for d, outcome, n in ((1, "ok", 30), (2, "failed", 30), (3, "ok", 35))
    ]
    monkeypatch.setattr(page, "current_revision", lambda _engine: "head")
    monkeypatch.setattr(page, "audience_history", lambda *_a, **_k: {"p/l/vip": points})
    text = editor[0].get("/segments/insights?name=VIP").text
    assert text.count("<rect") == 3 and "p/l/vip" in text
    assert "2026-03-03 00:00:00: 35 (ok)" in text and 'fill="#d9534f"' in text


def test_the_field_picker_hides_what_the_mapping_cannot_give(
    editor: tuple[TestClient, str], shop: Shop
) -> None:
    client, _ = editor
    assert 'value="visits"' in client.get("/segments/new").text
    mapped = Source(tables=native_source().tables, absent={"visits": "the shop has no visits"})
    with using(mapped):
        page = client.get("/segments/new").text
    assert 'value="visits"' not in page and 'value="orders"' in page


def test_a_bad_name_while_drafting_keeps_the_builder(
    editor: tuple[TestClient, str], shop: Shop
) -> None:
    client, token = editor
    answer = client.post(
        "/segments/draft", data=draft(token, **{**GOLD_OR_SILVER, "name": "a/b"}),
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert answer.status_code == 200
    assert '<form id="builder"' in answer.text and "is not allowed" in html.unescape(answer.text)
    assert 'name="k:rules.all[1].not"' in answer.text  # the draft is still there


@pytest.mark.parametrize("text", ["NO", "yes", "off", "1:20", "0x1F", "null", "2026-01-05"])
def test_a_text_value_yaml_would_read_as_another_type_stays_text(
    editor: tuple[TestClient, str],
    shop: Shop,
    config: Path,
    app_settings: Settings,
    capsys: pytest.CaptureFixture[str],
    text: str,
) -> None:
    client, token = editor
    shop.set(1, loyalty_card=text)
    shop.set(2, loyalty_card=text)
    form = {"k:rules": "cond", "f:rules": "loyalty_card", "o:rules": "eq", "v:rules": text}
    live = client.post("/segments/draft", data=draft(token, name="Odd cards", **form))
    assert 'id="live-count">2<' in live.text, live.text
    saved = client.post("/segments/save", data=draft(token, name="Odd cards", **form))
    assert saved.status_code == 303, saved.text
    file = config / "segments" / "odd-cards.yaml"
    assert yaml.safe_load(file.read_text())["rules"]["value"] == text
    assert load_segment_file(file).name == "Odd cards"
    capsys.readouterr()
    args = ["--database-url", app_settings.database_url, "--config-dir", str(config)]
    assert main([*args, "segments", "count", "Odd cards", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 2  # the saved file counts the same


def test_the_live_count_sees_a_segment_file_changed_on_disk(
    editor: tuple[TestClient, str], shop: Shop, config: Path
) -> None:
    client, token = editor
    form = draft(token, name="In VIP", **{"k:rules": "in_segment", "s:rules": "VIP"})
    assert 'id="live-count">35<' in client.post("/segments/draft", data=form).text
    vip = config / "segments" / "vip.yaml"
    vip.write_text(vip.read_text().replace("value: Gold", "value: Silver"))  # as git or the CLI
    assert 'id="live-count">10<' in client.post("/segments/draft", data=form).text
    (config / "segments" / "more.yaml").write_text("name: More\nrules: {in_segment: In VIP}\n")
    (config / "segments" / "broken.yaml").write_text("name: [\n")
    answer = client.post("/segments/draft", data=form).text
    assert 'id="live-count">10<' in answer  # a broken file does not stop the draft's count
    vip.unlink()
    gone = html.unescape(client.post("/segments/draft", data=form).text)
    assert "VIP" in gone and "live-count" not in gone


def test_preview_is_limited_in_sql_not_in_memory(
    editor: tuple[TestClient, str], shop: Shop
) -> None:
    client, _ = editor
    shop.add(40, start=1000)  # 75 Gold members: more than a preview shows
    statements: list[str] = []
    engine = client.app.state.web.commerce  # type: ignore[attr-defined]

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        answer = client.get("/segments/preview?name=VIP")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert answer.status_code == 200
    assert answer.text.count("@example.com</td>") == PREVIEW_LIMIT
    members = [s for s in statements if "loyalty_card" in s]
    assert members and all("LIMIT" in s.upper() for s in members), members


def test_a_draft_the_folder_check_refuses_shows_no_count(
    editor: tuple[TestClient, str], shop: Shop, config: Path
) -> None:
    client, token = editor
    (config / "segments" / "other.yaml").write_text(
        "name: Other\nrules: {field: orders, op: ge, value: 2}\n"
    )
    form = {"k:rules": "cond", "f:rules": "orders", "o:rules": "ge", "v:rules": "0"}
    renamed = draft(token, name="VIP", **form) | {"original": "Other"}  # Other renamed VIP
    answer = html.unescape(client.post("/segments/draft", data=renamed).text)
    assert "duplicate segment name 'VIP'" in answer  # it compiles; the folder's check refuses it
    assert 'id="live-count"' not in answer
    fine = client.post("/segments/draft", data=renamed | {"name": "Any order"}).text
    assert 'id="live-count">45<' in fine


@pytest.mark.parametrize(("as_of", "two_orders"), [(None, 1), (datetime(2026, 1, 20), 0)])
def test_served_as_of_a_date_the_builder_counts_as_of_it(
    app_settings: Settings,
    users: Users,
    shop: Shop,
    as_of: datetime | None,
    two_orders: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``syncer web --as-of``: the live count, like ``segments count --as-of``, ignores what
    happened after that moment (customer 1's second order is on 2026-02-05)."""
    env = {"SYNCER_WEB_SECRET_KEY": "k"}
    app = create_app(app_settings, env, users=users, as_of=as_of)
    with TestClient(app, follow_redirects=False) as client:
        token = login(client)
        rule = {"k:rules": "all", "k:rules.all[0]": "cond", "f:rules.all[0]": "orders",
                "o:rules.all[0]": "ge", "v:rules.all[0]": "2"}  # fmt: skip
        answer = client.post("/segments/draft", data=draft(token, **rule))
    assert f'id="live-count">{two_orders}<' in answer.text, answer.text[-2000:]
    config = str(app_settings.config_dir)
    (app_settings.config_dir / "segments" / "two.yaml").write_text(
        "name: Two orders\nrules: {all: [{field: orders, op: ge, value: 2}]}\n"
    )
    at = [] if as_of is None else ["--as-of", f"{as_of:%Y-%m-%d}"]
    args = ["--database-url", app_settings.database_url, "--config-dir", config, "segments",
            "count", "Two orders", *at, "--json"]  # fmt: skip
    capsys.readouterr()
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["count"] == two_orders  # the CLI agrees


def test_min_quantity_survives_an_edit_in_the_builder(
    editor: tuple[TestClient, str], shop: Shop, config: Path
) -> None:
    """A purchase condition's ``min_quantity`` is shown in the builder and written back on save
    (the form once held only field, operator, value and window: an edit dropped it)."""
    (config / "segments" / "beans.yaml").write_text(
        "name: Beans\nrules:\n  all:\n"
        "    - {field: purchased_product, op: has, value: House Blend, min_quantity: 3}\n"
    )
    client, token = editor
    page = html.unescape(client.get("/segments/edit?name=Beans").text)
    found = re.search(r'name="q:rules\.all\[0\]"[^>]*value="([^"]*)"', page, re.S)
    assert found is not None and found.group(1) == "3", "the builder shows min_quantity"
    form = {
        "k:rules": "all",
        "k:rules.all[0]": "cond", "f:rules.all[0]": "purchased_product",
        "pf:rules.all[0]": "purchased_product",
        "o:rules.all[0]": "has", "v:rules.all[0]": "House Blend", "q:rules.all[0]": "3",
    }  # fmt: skip
    saved = client.post("/segments/save", data=draft(token, name="Beans", original="Beans", **form))
    assert saved.status_code == 303, saved.text
    rules = yaml.safe_load((config / "segments" / "beans.yaml").read_text())["rules"]
    assert rules["all"][0]["min_quantity"] == 3
    bad = client.post("/segments/draft", data=draft(token, **{**form, "q:rules.all[0]": "0"}))
    assert "whole number from 1" in html.unescape(bad.text)
