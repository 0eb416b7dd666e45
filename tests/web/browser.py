"""Headless Chromium for the browser tests: Debian's ``chromium`` and ``chromium-driver``
(``make browser`` installs them). Without them the tests skip, saying so, except in CI
(``CI=true``), where a missing browser is a failure."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("SYNCER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SYNCER_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,900",
)  # fmt: skip
# Screenshots of the pages go here when set (`make screenshots`: docs/web/).
SCREENSHOTS = os.environ.get("SYNCER_WEB_SCREENSHOTS")


def require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if not missing:
        return
    message = f"no browser: {', '.join(missing)} missing (`make browser` installs them)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Any]:
    """A Selenium driver of headless Chromium with a fresh profile folder."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="syncer-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on 127.0.0.1; its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the admin server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def screenshot(driver: Any, name: str) -> None:
    """Save the page as ``SCREENSHOTS/name.png`` when screenshots are asked for."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENSHOTS) / f"{name}.png"))


def redrawn(driver: Any, act: Callable[[], Any]) -> None:
    """Do ``act`` in the segment builder and wait until htmx has swapped in the builder the
    server drew."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.ID, "builder")
    act()
    WebDriverWait(driver, 30).until(ec.staleness_of(old))
    WebDriverWait(driver, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#builder #results"))
    )


def click_action(driver: Any, action: str) -> None:
    """Press the builder's button of ``action`` (``add:rules:any``, ``remove:rules.all[0]``)."""
    from selenium.webdriver.common.by import By

    button = driver.find_element(By.CSS_SELECTOR, f'button[value="{action}"]')
    redrawn(driver, button.click)


def select_value(driver: Any, element_id: str, value: str) -> None:
    """Choose ``value`` in the builder's select ``element_id``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    element = driver.find_element(By.ID, element_id)
    redrawn(driver, lambda: Select(element).select_by_value(value))


def type_value(driver: Any, element_id: str, text: str) -> None:
    """Type ``text`` in the builder's input ``element_id`` and leave it (the draft is posted)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    element = driver.find_element(By.ID, element_id)
    redrawn(driver, lambda: element.send_keys(text, Keys.TAB))
