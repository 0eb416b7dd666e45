"""The segment builder driven in headless Chromium: log in; build a segment with two nested
groups and a negation by clicking; the live count equals `syncer segments count` for the saved
rules; the saved file passes `syncer segments validate`; the preview opens one customer; the
insights page draws its charts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import insert

from syncer.cli.main import main
from syncer.db import make_engine
from syncer.schema import Order
from syncer.settings import Settings
from syncer.web.app import create_app
from syncer.web.auth import Users, hash_password
from tests.sync.fakes import Shop
from tests.web.browser import (
    chromium,
    click_action,
    redrawn,
    screenshot,
    select_value,
    serving,
)

pytestmark = pytest.mark.slow
PASSWORD = "builder-test-pass"


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[dict[str, Any]]:
    config = tmp_path / "config"
    (config / "segments").mkdir(parents=True)
    (config / "profiles.yaml").write_text("profiles: {}\n")
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    shop = Shop(engine)
    shop.add(30)  # Gold, consenting
    shop.add(5, start=100, consent=False)
    shop.add(10, start=200, card="Silver")
    shop.add(3, start=300, card="Silver", consent=False)
    with engine.begin() as conn:
        conn.execute(
            insert(Order.__table__),  # type: ignore[attr-defined]
            [{"customer_id": cid, "placed_at": datetime(2026, 1, 5, tzinfo=UTC),
              "total_cents": 2500} for cid in (1, 100)],
        )  # fmt: skip
    settings = Settings(database_url=url, config_dir=config)
    users = Users({"admin": (hash_password(PASSWORD), "editor")})
    app = create_app(settings, {"SYNCER_WEB_SECRET_KEY": "k"}, users=users)
    with serving(app) as base:
        yield {"base": base, "config": config, "url": url}
    engine.dispose()


def _cli(capsys: pytest.CaptureFixture[str], admin: dict[str, Any], *args: str) -> Any:
    capsys.readouterr()
    code = main(["--database-url", admin["url"], "--config-dir", str(admin["config"]), *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_build_nested_groups_and_a_negation_live_count_equals_the_cli(
    admin: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    base = admin["base"]
    with chromium() as driver:
        driver.get(base + "/segments/new")
        WebDriverWait(driver, 30).until(
            ec.presence_of_element_located((By.ID, "password"))
        ).send_keys(PASSWORD)
        driver.find_element(By.ID, "login").click()
        WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "builder")))
        assert "/segments/new" in driver.current_url

        name = driver.find_element(By.ID, "seg-name")
        redrawn(driver, lambda: name.send_keys("Silver or buyers", Keys.TAB))
        click_action(driver, "add:rules:any")  # rules.all[1]: an any group
        click_action(driver, "add:rules.all[1]:all")  # nested in it: an all group
        click_action(driver, "add:rules:not")  # rules.all[2]: a negation
        click_action(driver, "remove:rules.all[0]")  # the first condition goes; the others move up
        select_value(driver, "f-rules-all_0-any_1-all_0", "loyalty_card")
        assert (
            "needs a value"
            in driver.find_element(By.CSS_SELECTOR, "#node-rules-all_0-any_1-all_0 .error").text
        )  # the CLI's message, at its condition
        value = driver.find_element(By.ID, "v-rules-all_0-any_1-all_0")
        redrawn(driver, lambda: value.send_keys("Silver", Keys.TAB))
        select_value(driver, "f-rules-all_1-not", "consent")
        select_value(driver, "v-rules-all_1-not", "false")

        live = int(driver.find_element(By.ID, "live-count").text.replace(",", ""))
        assert live == 11  # customer 1 (bought) and the 10 consenting Silver
        assert "have marketing consent" in driver.find_element(By.ID, "consenting").text
        assert driver.find_elements(By.ID, "small-warning")
        assert driver.find_element(By.ID, "sentence").text
        funnel = WebDriverWait(driver, 30).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, "#funnel"))
        )
        assert "rules.all[1].not" in funnel.text
        driver.set_window_size(1280, 1500)  # the builder with its count and funnel
        screenshot(driver, "segment-builder")

        driver.find_element(By.ID, "save").click()
        WebDriverWait(driver, 30).until(ec.url_contains("saved=1"))
        path = admin["config"] / "segments" / "silver-or-buyers.yaml"
        rules = yaml.safe_load(path.read_text())["rules"]
        assert rules == {"all": [
            {"any": [{"field": "orders", "op": "ge", "value": 1},
                     {"all": [{"field": "loyalty_card", "op": "eq", "value": "Silver"}]}]},
            {"not": {"field": "consent", "op": "eq", "value": False}},
        ]}  # fmt: skip
        counted = _cli(capsys, admin, "segments", "count", "Silver or buyers", "--json")
        assert counted["count"] == live
        valid = _cli(capsys, admin, "segments", "validate", str(path), "--json")
        assert valid["valid"] is True

        driver.get(base + "/segments/preview?name=Silver%20or%20buyers")
        driver.find_element(By.LINK_TEXT, "1").click()
        member_of = WebDriverWait(driver, 30).until(
            ec.presence_of_element_located((By.ID, "member-of"))
        )
        assert "Silver or buyers" in member_of.text

        driver.get(base + "/segments/insights?name=Silver%20or%20buyers")
        summary = WebDriverWait(driver, 30).until(
            ec.presence_of_element_located((By.ID, "summary"))
        )
        assert summary.text.startswith("11 members")
        assert driver.find_elements(By.CSS_SELECTOR, "#countries .bar")
        screenshot(driver, "segment-insights")
        driver.set_window_size(1280, 900)
