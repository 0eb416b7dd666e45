"""The admin driven as a person would, in headless Chromium: log in; the dashboard; add a
profile pointing at the Mailchimp emulator; check it; discover its lists; attach a destination
to a segment; a dry run and a resync with live progress; the run in the history, and the
members on the emulator (read through its own API)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from providers.base import Destination
from syncer.db import make_engine
from syncer.profiles import load_profiles
from syncer.sample.emulated import ACCOUNTS, LocalProviders
from syncer.settings import Settings
from syncer.web.app import create_app
from syncer.web.auth import Users, hash_password
from tests.sync.fakes import Shop
from tests.web.browser import chromium, screenshot, serving

pytestmark = pytest.mark.slow
PASSWORD = "browser-test-pass"
SEGMENT = """\
# Gold card holders: the comment stays when a destination is attached.
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
            yield {"base": base, "config": config, "shop": shop, "env": env,
                   "emulator_url": fleet.api_url("mailchimp")}  # fmt: skip
    engine.dispose()


def wait(driver: Any, css: str, seconds: float = 30) -> Any:
    return WebDriverWait(driver, seconds).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def test_profile_discover_attach_dry_run_resync_in_the_browser(admin: dict[str, Any]) -> None:
    base = admin["base"]
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
        assert "${WEB_MAILCHIMP_KEY}" in text and admin["env"]["WEB_MAILCHIMP_KEY"] not in text

        # check the credentials, discover the lists, attach a destination from what it returned
        card.find_element(By.CSS_SELECTOR, "button.check").click()
        assert "ok" in wait(driver, ".check-ok").text
        card.find_element(By.CSS_SELECTOR, "button.discover").click()
        lists = wait(driver, "table.lists")
        assert ACCOUNTS["mailchimp"].list_id in lists.text
        form = driver.find_element(By.CSS_SELECTOR, "form.attach")
        Select(form.find_element(By.NAME, "segment")).select_by_visible_text("VIP")
        Select(form.find_element(By.NAME, "list")).select_by_value(ACCOUNTS["mailchimp"].list_id)
        form.find_element(By.NAME, "new_tag").send_keys("vip")
        screenshot(driver, "profiles")
        form.find_element(By.CSS_SELECTOR, "button.attach-button").click()
        assert "web-mailchimp/demo-list/vip" in wait(driver, ".attached").text
        segment_file = (admin["config"] / "segments" / "vip.yaml").read_text()
        assert segment_file.startswith("# Gold card holders: the comment stays")
        assert "profile: web-mailchimp" in segment_file

        # a dry run: counts and a sample of addresses, nothing sent
        driver.get(base + "/runs")
        key = "web-mailchimp/demo-list/vip"
        driver.find_element(
            By.CSS_SELECTOR, f'button[data-mode="dry-run"][data-destination="{key}"]'
        ).click()
        done = wait(driver, '.job[data-mode="dry-run"][data-done="true"] .job-result')
        assert "dry-run" in done.text and "+30" in done.text
        assert "c1@example.com" in driver.find_element(By.CSS_SELECTOR, ".sample").text
        tagged = _tagged(admin)
        assert tagged == set()

        # the resync: progress polled until it is over, then the history and the emulator
        driver.find_element(
            By.CSS_SELECTOR, f'button[data-mode="resync"][data-destination="{key}"]'
        ).click()
        running = wait(driver, '.job[data-mode="resync"]')
        assert running.text  # the progress partial, polled until the run is over
        done = wait(driver, '.job[data-mode="resync"][data-done="true"] .job-result')
        assert "ok" in done.text and "+30" in done.text
        driver.get(base + "/runs")
        history = wait(driver, "#history")
        assert "VIP → web-mailchimp/demo-list/vip" in history.text and " ok " in f" {history.text} "
        screenshot(driver, "runs")
        assert _tagged(admin) == admin["shop"].desired_emails()

        driver.get(base + "/")
        row = wait(driver, "#destinations")
        assert "VIP → web-mailchimp/demo-list/vip" in row.text and "ok" in row.text
        screenshot(driver, "dashboard")


def _tagged(admin: dict[str, Any]) -> set[str]:
    profile = load_profiles(admin["config"] / "profiles.yaml", admin["env"])["web-mailchimp"]
    members = profile.build().read_members(Destination(ACCOUNTS["mailchimp"].list_id, "vip"))
    return {m.lower() for m in members}
