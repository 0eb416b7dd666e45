"""The admin driven as a person would, in headless Chromium, the whole way: log in; build a
segment with two nested groups and a negation by clicking; its live count equals `syncer
segments count` for the saved rules, and the saved file passes `syncer segments validate`; add
a profile pointing at the Mailchimp emulator; check it; discover its lists; attach a
destination to the new segment; a dry run and a resync with live progress; the run in the
history and on the dashboard, and the segment's members on the emulator (read through its own
API). No page shows the key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from providers.base import Destination
from syncer.cli.main import main
from syncer.db import make_engine
from syncer.profiles import load_profiles
from syncer.sample.emulated import ACCOUNTS, LocalProviders
from syncer.settings import Settings
from syncer.web.app import create_app
from syncer.web.auth import Users, hash_password
from tests.sync.fakes import Shop
from tests.web.browser import (
    chromium,
    click_action,
    screenshot,
    select_value,
    serving,
    type_value,
)

pytestmark = pytest.mark.slow
PASSWORD = "browser-test-pass"
SEGMENT = """\
# Gold card holders: another segment of the folder, listed in the attach form.
name: VIP
description: Gold card holders
rules:
  all:
    - {field: loyalty_card, op: eq, value: Gold}
schedule: "*/15 * * * *"
"""


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[dict[str, Any]]:
    config = tmp_path / "config"
    (config / "segments").mkdir(parents=True)
    (config / "profiles.yaml").write_text("# Provider accounts\nprofiles: {}\n")
    (config / "segments" / "vip.yaml").write_text(SEGMENT)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    shop = Shop(engine)
    shop.add(30)
    shop.add(5, start=100, consent=False)
    shop.add(10, start=200, card="Silver")
    with LocalProviders(["mailchimp"]) as fleet:
        env = {"WEB_MAILCHIMP_KEY": ACCOUNTS["mailchimp"].credentials["api_key"]}
        settings = Settings(database_url=url, config_dir=config)
        users = Users({"admin": (hash_password(PASSWORD), "editor")})
        app = create_app(settings, {**env, "SYNCER_WEB_SECRET_KEY": "k"}, users=users)
        with serving(app) as base:
            yield {"base": base, "config": config, "shop": shop, "env": env, "url": url,
                   "emulator_url": fleet.api_url("mailchimp")}  # fmt: skip
    engine.dispose()


def wait(driver: Any, css: str, seconds: float = 30) -> Any:
    return WebDriverWait(driver, seconds).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _cli(capsys: pytest.CaptureFixture[str], admin: dict[str, Any], *args: str) -> Any:
    capsys.readouterr()
    code = main(["--database-url", admin["url"], "--config-dir", str(admin["config"]), *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_build_a_segment_then_sync_it_to_the_emulator_in_the_browser(
    admin: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    base = admin["base"]
    key = admin["env"]["WEB_MAILCHIMP_KEY"]
    with chromium() as driver:
        # log in (the dashboard asks for it first)
        driver.get(base + "/")
        wait(driver, "#password")
        assert "/login" in driver.current_url
        screenshot(driver, "login")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login").click()
        wait(driver, "h1")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Dashboard"
        assert "No destinations yet" in driver.page_source

        # build a segment: all of (any of (Gold, all of (Silver))) and not (no consent)
        driver.get(base + "/segments/new")
        wait(driver, "#builder")
        type_value(driver, "seg-name", "Gold or silver")
        click_action(driver, "add:rules:any")  # rules.all[1]: an any group
        click_action(driver, "add:rules.all[1]:all")  # nested in it: an all group
        click_action(driver, "add:rules:not")  # rules.all[2]: a negation
        click_action(driver, "remove:rules.all[0]")  # the first condition goes; the rest move up
        select_value(driver, "f-rules-all_0-any_0", "loyalty_card")
        type_value(driver, "v-rules-all_0-any_0", "Gold")
        select_value(driver, "f-rules-all_0-any_1-all_0", "loyalty_card")
        type_value(driver, "v-rules-all_0-any_1-all_0", "Silver")
        select_value(driver, "f-rules-all_1-not", "consent")
        select_value(driver, "v-rules-all_1-not", "false")
        live = int(driver.find_element(By.ID, "live-count").text.replace(",", ""))
        driver.find_element(By.ID, "save").click()
        WebDriverWait(driver, 30).until(ec.url_contains("saved=1"))
        path = admin["config"] / "segments" / "gold-or-silver.yaml"
        assert yaml.safe_load(path.read_text())["rules"] == {"all": [
            {"any": [{"field": "loyalty_card", "op": "eq", "value": "Gold"},
                     {"all": [{"field": "loyalty_card", "op": "eq", "value": "Silver"}]}]},
            {"not": {"field": "consent", "op": "eq", "value": False}},
        ]}  # fmt: skip
        assert _cli(capsys, admin, "segments", "validate", str(path), "--json")["valid"] is True
        counted = _cli(capsys, admin, "segments", "count", "Gold or silver", "--json")
        assert counted["count"] == live == 40  # 30 Gold and 10 Silver who consent

        # add a profile pointing at the emulator: the NAME of the variable, never the key
        driver.get(base + "/profiles/new")
        driver.find_element(By.ID, "name").send_keys("web-mailchimp")
        Select(driver.find_element(By.ID, "provider")).select_by_value("mailchimp")
        wait(driver, "#var_api_key").send_keys("WEB_MAILCHIMP_KEY")
        driver.find_element(By.ID, "base_url").send_keys(admin["emulator_url"])
        screenshot(driver, "profile-form")
        driver.find_element(By.ID, "save-profile").click()
        card = wait(driver, "#profile-web-mailchimp")
        assert "WEB_MAILCHIMP_KEY" in card.text and "(set)" in card.text
        text = (admin["config"] / "profiles.yaml").read_text()
        assert "${WEB_MAILCHIMP_KEY}" in text and key not in text

        # check the credentials, discover the lists, attach a destination from what it returned
        card.find_element(By.CSS_SELECTOR, "button.check").click()
        assert "ok" in wait(driver, ".check-ok").text
        card.find_element(By.CSS_SELECTOR, "button.discover").click()
        lists = wait(driver, "table.lists")
        assert ACCOUNTS["mailchimp"].list_id in lists.text
        assert key not in driver.page_source
        form = driver.find_element(By.CSS_SELECTOR, "form.attach")
        Select(form.find_element(By.NAME, "segment")).select_by_visible_text("Gold or silver")
        Select(form.find_element(By.NAME, "list")).select_by_value(ACCOUNTS["mailchimp"].list_id)
        form.find_element(By.NAME, "new_tag").send_keys("gold-or-silver")
        screenshot(driver, "profiles")
        form.find_element(By.CSS_SELECTOR, "button.attach-button").click()
        dest = "web-mailchimp/demo-list/gold-or-silver"
        assert dest in wait(driver, ".attached").text
        assert "profile: web-mailchimp" in path.read_text()

        # a dry run: counts and a sample of addresses, nothing sent
        driver.get(base + "/runs")
        driver.find_element(
            By.CSS_SELECTOR, f'button[data-mode="dry-run"][data-destination="{dest}"]'
        ).click()
        done = wait(driver, '.job[data-mode="dry-run"][data-done="true"] .job-result')
        assert "dry-run" in done.text and "+40" in done.text
        assert "@example.com" in driver.find_element(By.CSS_SELECTOR, ".sample").text
        assert _tagged(admin, "gold-or-silver") == set()

        # the resync: progress polled until it is over, then the history and the emulator
        driver.find_element(
            By.CSS_SELECTOR, f'button[data-mode="resync"][data-destination="{dest}"]'
        ).click()
        running = wait(driver, '.job[data-mode="resync"]')
        assert running.text  # the progress partial, polled until the run is over
        done = wait(driver, '.job[data-mode="resync"][data-done="true"] .job-result')
        assert "ok" in done.text and "+40" in done.text
        driver.get(base + "/runs")
        history = wait(driver, "#history")
        assert f"Gold or silver → {dest}" in history.text
        assert " ok " in f" {history.text} " and "+40" in history.text
        assert key not in driver.page_source
        screenshot(driver, "runs")
        shop = admin["shop"]
        assert _tagged(admin, "gold-or-silver") == shop.desired_emails() | shop.desired_emails(
            "Silver"
        )

        driver.get(base + "/")
        row = wait(driver, "#destinations")
        assert f"Gold or silver → {dest}" in row.text and "ok" in row.text
        screenshot(driver, "dashboard")


def _tagged(admin: dict[str, Any], tag: str) -> set[str]:
    profile = load_profiles(admin["config"] / "profiles.yaml", admin["env"])["web-mailchimp"]
    members = profile.build().read_members(Destination(ACCOUNTS["mailchimp"].list_id, tag))
    return {m.lower() for m in members}
