"""The web admin over a config folder of its own: one profile (its key in the environment), one
segment without destinations, a SQLite shop; clients logged in as an editor or a viewer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from syncer.settings import Settings
from syncer.web.app import create_app
from syncer.web.auth import Users, hash_password

SECRET = "sk-live-0123456789abcdef-us1"
PASSWORD = "correct horse battery"
PROFILES = """\
# Provider accounts. This comment stays when the page writes the file.
profiles:
  shop-mailchimp:
    provider: mailchimp
    credentials:
      api_key: ${SHOP_MAILCHIMP_KEY}   # the key lives in the environment
"""
SEGMENT = """\
# Gold card holders (this comment stays)
name: VIP
rules:
  all:
    - {field: loyalty_card, op: eq, value: Gold}
"""
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page has a CSRF field"
    return found.group(1)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    (folder / "segments").mkdir(parents=True)
    (folder / "profiles.yaml").write_text(PROFILES)
    (folder / "segments" / "vip.yaml").write_text(SEGMENT)
    return folder


@pytest.fixture
def app_settings(tmp_path: Path, config: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'shop.db'}", config_dir=config)


@pytest.fixture(scope="session")
def users() -> Users:
    hashed = hash_password(PASSWORD)
    return Users({"admin": (hashed, "editor"), "viewer": (hashed, "viewer")})


def make_client(settings: Settings, users: Users) -> TestClient:
    env = {"SHOP_MAILCHIMP_KEY": SECRET, "SYNCER_WEB_SECRET_KEY": "test-key"}
    return TestClient(create_app(settings, env, users=users), follow_redirects=False)


def login(client: TestClient, name: str = "admin", password: str = PASSWORD) -> str:
    """Log in; the session's CSRF token afterwards."""
    token = token_of(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text
    return token_of(client.get("/profiles").text)


@pytest.fixture
def client(app_settings: Settings, users: Users) -> Iterator[TestClient]:
    with make_client(app_settings, users) as c:
        yield c


@pytest.fixture
def editor(client: TestClient) -> tuple[TestClient, str]:
    return client, login(client)
