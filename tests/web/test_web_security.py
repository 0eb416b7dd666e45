"""Every security rule of the web admin, over HTTP (Starlette's TestClient)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient
from typer.testing import CliRunner

from syncer.cli.main import app as cli_app
from syncer.db import make_engine
from syncer.errors import ConfigError
from syncer.settings import Settings
from syncer.web.auth import READ_ONLY_POSTS, Users, is_public, load_users, verify_password
from syncer.web.pages import ROUTES
from tests.sync.fakes import Shop
from tests.web.conftest import PASSWORD, SECRET, login, make_client, token_of


@pytest.mark.parametrize("path", ["/", "/runs", "/profiles", "/profiles/new"])
def test_pages_without_login_redirect_to_the_login_form(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_a_post_without_login_is_redirected_and_changes_nothing(
    client: TestClient, config: Path
) -> None:
    token = token_of(client.get("/login").text)
    before = (config / "profiles.yaml").read_text()
    answer = client.post(
        "/profiles",
        data={"csrf_token": token, "name": "x", "provider": "mailchimp", "var_api_key": "K"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert (config / "profiles.yaml").read_text() == before


def test_a_wrong_password_is_refused(client: TestClient) -> None:
    token = token_of(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": "admin", "password": "wrong", "csrf_token": token}
    )
    assert answer.status_code == 401
    assert "Wrong user name or password" in answer.text
    assert client.get("/").status_code == 303


def test_login_redirects_only_within_the_site(client: TestClient) -> None:
    token = token_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token,
              "next": "//evil.example/"},
    )  # fmt: skip
    assert answer.headers["location"] == "/"


@pytest.mark.parametrize("given", [None, "forged"])
def test_a_state_changing_request_without_the_right_csrf_token_is_403(
    editor: tuple[TestClient, str], config: Path, given: str | None
) -> None:
    client, _token = editor
    data = {"name": "new", "provider": "mailchimp", "var_api_key": "NEW_KEY"}
    if given:
        data["csrf_token"] = given
    before = (config / "profiles.yaml").read_text()
    answer = client.post("/profiles", data=data)
    assert answer.status_code == 403
    assert (config / "profiles.yaml").read_text() == before
    assert (
        client.post("/profiles/shop-mailchimp/check", headers={"X-CSRF-Token": "x"}).status_code
        == 403
    )


def test_the_login_form_itself_needs_the_csrf_token(client: TestClient) -> None:
    answer = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert answer.status_code == 403


def test_a_viewer_sees_pages_but_cannot_post(
    app_settings: Settings, users: Users, config: Path
) -> None:
    with make_client(app_settings, users) as client:
        token = login(client, "viewer")
        assert client.get("/profiles").status_code == 200
        assert "Add a profile" not in client.get("/profiles").text
        before = (config / "profiles.yaml").read_text()
        answer = client.post(
            "/profiles",
            data={"csrf_token": token, "name": "x", "provider": "mailchimp", "var_api_key": "K"},
        )
        assert answer.status_code == 403 and "viewer" in answer.text
        assert client.post("/runs/start", data={"csrf_token": token}).status_code == 403
        assert (config / "profiles.yaml").read_text() == before


def test_session_cookie_is_signed_httponly_samesite(client: TestClient) -> None:
    token = token_of(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    value = client.cookies["syncer_session"]
    assert client.get("/").status_code == 200
    client.cookies.clear()
    client.cookies.set("syncer_session", value[:-4] + ("AAAA" if value[-4:] != "AAAA" else "BBBB"))
    assert client.get("/").status_code == 303  # a tampered cookie is no session


def test_no_secret_in_any_page(editor: tuple[TestClient, str]) -> None:
    client, _token = editor
    for path in ("/", "/runs", "/profiles", "/profiles/shop-mailchimp/edit", "/profiles/new"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert SECRET not in answer.text
    assert "SHOP_MAILCHIMP_KEY" in client.get("/profiles").text  # the NAME is shown


def test_an_error_naming_a_profile_shows_no_secret(editor: tuple[TestClient, str]) -> None:
    client, token = editor
    # The emulator is not running: the check fails, and the message names no key.
    answer = client.post("/profiles/shop-mailchimp/check", headers={"X-CSRF-Token": token})
    assert SECRET not in answer.text
    assert answer.status_code in (200, 400)


def test_saving_a_profile_keeps_comments_and_stores_only_variable_names(
    editor: tuple[TestClient, str], config: Path
) -> None:
    client, token = editor
    answer = client.post(
        "/profiles",
        data={"csrf_token": token, "name": "shop-sendlane", "provider": "sendlane",
              "var_api_token": "SENDLANE_TOKEN"},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    text = (config / "profiles.yaml").read_text()
    assert "# Provider accounts. This comment stays" in text
    assert "# the key lives in the environment" in text
    assert "api_token: ${SENDLANE_TOKEN}" in text
    assert text.index("shop-mailchimp") < text.index("shop-sendlane")


@pytest.mark.parametrize(
    ("name", "variable", "message"),
    [
        ("../../etc/passwd", "KEY", "a profile name is letters, digits"),
        ("evil\nprofiles: {}", "KEY", "a profile name is letters, digits"),
        ("ok-name", "KEY}\nbase_url: http://evil", "is not an environment variable name"),
        ("ok-name", "sk-live-literal-secret", "is not an environment variable name"),
    ],
)
def test_names_that_would_traverse_or_inject_yaml_are_refused(
    editor: tuple[TestClient, str], config: Path, name: str, variable: str, message: str
) -> None:
    client, token = editor
    before = (config / "profiles.yaml").read_text()
    answer = client.post(
        "/profiles",
        data={"csrf_token": token, "name": name, "provider": "mailchimp", "var_api_key": variable},
    )
    assert answer.status_code == 400
    assert message in answer.text
    assert (config / "profiles.yaml").read_text() == before
    assert not list(config.parent.rglob("passwd"))


def test_attaching_to_a_segment_by_a_path_is_refused(
    editor: tuple[TestClient, str], config: Path
) -> None:
    client, token = editor
    answer = client.post(
        "/profiles/shop-mailchimp/attach",
        data={"csrf_token": token, "segment": "../profiles", "list": "l1", "tag": "vip"},
    )
    assert answer.status_code == 400
    assert "unknown segment" in answer.text.lower() or "no segment" in answer.text.lower()
    assert "destinations" not in (config / "profiles.yaml").read_text()


def test_a_tag_carrying_yaml_is_stored_as_text_and_comments_kept(
    editor: tuple[TestClient, str], config: Path
) -> None:
    client, token = editor
    answer = client.post(
        "/profiles/shop-mailchimp/attach",
        data={"csrf_token": token, "segment": "VIP", "list": "l1",
              "tag": "vip\non_leave: unsubscribe"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    import yaml

    text = (config / "segments" / "vip.yaml").read_text()
    assert text.startswith("# Gold card holders (this comment stays)")
    dest = yaml.safe_load(text)["destinations"][0]
    assert dest == {"profile": "shop-mailchimp", "list": "l1", "tag": "vip\non_leave: unsubscribe"}


def test_a_segment_error_has_the_clis_message(editor: tuple[TestClient, str]) -> None:
    client, token = editor
    answer = client.post(
        "/profiles/shop-mailchimp/attach",
        data={"csrf_token": token, "segment": "VIP", "list": "l1", "tag": " "},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 400
    assert "tag is empty" in answer.text
    assert 'class="error"' in answer.text


def test_runs_start_validates_like_the_cli(editor: tuple[TestClient, str]) -> None:
    client, token = editor
    answer = client.post(
        "/runs/start",
        data={"csrf_token": token, "segment": "VIP", "destination": "x", "mode": "resync"},
    )
    assert answer.status_code == 400
    assert "segment 'VIP' has no destinations" in html.unescape(answer.text)


def test_healthz_needs_no_login_and_checks_the_databases(
    client: TestClient, tmp_path: Path, users: Users, config: Path
) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    (tmp_path / "a-file").write_text("")
    broken = Settings(database_url=f"sqlite:///{tmp_path / 'a-file' / 'x.db'}", config_dir=config)
    with make_client(broken, users) as bad:
        answer = bad.get("/healthz")
    assert answer.status_code == 503
    assert "commerce database does not answer" in answer.json()["status"]


def test_users_come_from_the_environment_or_it_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no user may log in"):
        load_users({})
    with pytest.raises(ConfigError, match="SYNCER_WEB_PASSWORD_HASH: is not a password hash"):
        load_users({"SYNCER_WEB_PASSWORD_HASH": "plain-password"})
    file = tmp_path / "users.yaml"
    file.write_text("users:\n  tom: {password_hash: 'x', role: viewer}\n")
    with pytest.raises(ConfigError, match=r"users\.tom: password_hash is missing or not a hash"):
        load_users({"SYNCER_WEB_USERS_FILE": str(file)})


def test_hash_password_prints_a_hash_that_verifies() -> None:
    result = CliRunner().invoke(cli_app, ["web", "hash-password", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    hashed = result.output.strip()
    assert "s3cret-pass" not in hashed
    assert verify_password("s3cret-pass", hashed) and not verify_password("other", hashed)
    assert load_users({"SYNCER_WEB_PASSWORD_HASH": hashed}).authenticate("admin", "s3cret-pass")


def test_web_binds_127_0_0_1_by_default_and_refuses_without_users(monkeypatch) -> None:
    import inspect

    from syncer.cli import web

    default = inspect.signature(web.serve).parameters["host"].default.default
    assert default == "127.0.0.1"
    monkeypatch.delenv("SYNCER_WEB_PASSWORD_HASH", raising=False)
    monkeypatch.delenv("SYNCER_WEB_USERS_FILE", raising=False)
    from syncer.cli.main import main

    assert main(["web", "--port", "1"]) == 2


# Every route of the admin, with what a request to it needs: a new route without an entry here
# fails test_every_route_is_covered, so no page can escape the checks below.
def _routes(method: str) -> list[str]:
    return sorted(
        {str(r.path) for r in ROUTES if isinstance(r, Route) and method in (r.methods or ())}
    )


GET_QUERIES = {
    "/": "",
    "/healthz": "",
    "/login": "",
    "/profiles": "",
    "/profiles/new": "",
    "/profiles/fields": "?provider=mailchimp",
    "/profiles/{name}/edit": "",
    "/runs": "",
    "/runs/jobs/{job_id}": "",
    "/segments": "?q=vip",
    "/segments/new": "",
    "/segments/edit": "?name=VIP",
    "/segments/preview": "?name=VIP",
    "/segments/customer": "?id=1",
    "/segments/insights": "?name=VIP",
    "/segments/suggest": "?field=purchased_product&q=a",
}
POSTS = {  # what an editor would post (the CSRF token is added by the tests)
    "/login": {"username": "admin", "password": PASSWORD},
    "/logout": {},
    "/profiles": {"name": "added", "provider": "mailchimp", "var_api_key": "ADDED_KEY"},
    "/profiles/{name}/check": {},
    "/profiles/{name}/discover": {},
    "/profiles/{name}/attach": {"segment": "VIP", "list": "l1", "new_tag": "vip"},
    "/runs/start": {"segment": "VIP", "destination": "shop-mailchimp/l1/vip", "mode": "dry-run"},
    "/segments/draft": {"name": "Draft", "original": "", "k:rules": "cond",
                        "f:rules": "orders", "o:rules": "ge", "v:rules": "1"},
    "/segments/funnel": {"name": "Draft", "original": "", "k:rules": "cond",
                         "f:rules": "orders", "o:rules": "ge", "v:rules": "1"},
    "/segments/save": {"name": "VIP", "original": "VIP", "k:rules": "cond",
                       "f:rules": "orders", "o:rules": "ge", "v:rules": "1"},
    "/segments/copy": {"name": "VIP", "new": "VIP copy"},
    "/segments/delete": {"name": "VIP"},
    "/segments/from-template": {"template": "time-to-reorder", "name": "Again",
                                "p:product": "House Blend"},
}  # fmt: skip
# POSTs that change nothing and that a viewer may send
VIEWER_POSTS = {"/logout", *READ_ONLY_POSTS}


def _url(path: str) -> str:
    return path.replace("{name}", "shop-mailchimp").replace("{job_id}", "no-such-job")


def _snapshot(config: Path) -> dict[str, str]:
    return {str(p.relative_to(config)): p.read_text() for p in config.rglob("*") if p.is_file()}


def test_every_route_is_covered() -> None:
    assert set(_routes("GET")) == set(GET_QUERIES)
    assert set(_routes("POST")) == set(POSTS)
    assert len(POSTS) >= 10 and "/segments/save" in POSTS  # the list is the app's, not empty


@pytest.mark.parametrize("path", [p for p in GET_QUERIES if not is_public(p)])
def test_every_page_without_login_redirects_to_login(client: TestClient, path: str) -> None:
    answer = client.get(_url(path) + GET_QUERIES[path])
    assert answer.status_code == 303, path
    assert answer.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", sorted(POSTS))
def test_every_post_without_the_sessions_csrf_token_is_403(
    editor: tuple[TestClient, str], config: Path, path: str
) -> None:
    client, token = editor
    before = _snapshot(config)
    for given in ({}, {"csrf_token": "forged"}, {"csrf_token": token[:-2]}):
        answer = client.post(_url(path), data={**POSTS[path], **given})
        assert answer.status_code == 403, (path, given)
    wrong_header = client.post(_url(path), data=POSTS[path], headers={"X-CSRF-Token": "x"})
    assert wrong_header.status_code == 403
    assert _snapshot(config) == before
    assert client.get("/profiles").status_code == 200  # still logged in


@pytest.mark.parametrize("path", sorted(set(POSTS) - VIEWER_POSTS - {"/login"}))
def test_a_viewer_cannot_change_anything(client: TestClient, config: Path, path: str) -> None:
    token = login(client, "viewer")
    before = _snapshot(config)
    answer = client.post(_url(path), data={**POSTS[path], "csrf_token": token})
    assert answer.status_code == 403, (path, answer.text)
    assert "viewers cannot change anything" in answer.text
    assert _snapshot(config) == before
    assert client.app.state.web.jobs.get("any") is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", sorted(VIEWER_POSTS - {"/logout"}))
def test_a_viewers_read_only_posts_change_nothing(
    client: TestClient, config: Path, path: str
) -> None:
    token = login(client, "viewer")
    before = _snapshot(config)
    answer = client.post(_url(path), data={**POSTS[path], "csrf_token": token})
    assert answer.status_code == 200, answer.text
    assert 'id="save"' not in answer.text
    assert _snapshot(config) == before


def test_no_secret_in_any_page_or_the_log(
    editor: tuple[TestClient, str], app_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client, token = editor
    engine = make_engine(app_settings.database_url)
    Shop(engine).add(3)  # customers for the segment pages
    engine.dispose()
    attached = client.post(
        "/profiles/shop-mailchimp/attach",
        data={"csrf_token": token, "segment": "VIP", "list": "l1", "new_tag": "vip"},
    )
    assert attached.status_code == 200, attached.text
    caplog.set_level("DEBUG")
    for path, query in GET_QUERIES.items():
        answer = client.get(_url(path) + query)
        assert answer.status_code in (200, 404), (path, answer.text)
        assert SECRET not in answer.text, path
        assert SECRET not in str(answer.headers), path
    pasted = {"csrf_token": token, "name": "pasted", "provider": "mailchimp", "var_api_key": SECRET}
    bad = client.post("/profiles", data=pasted)
    assert bad.status_code == 400 and "not an environment variable name" in bad.text
    assert SECRET[:12] not in bad.text  # a key pasted where its variable's NAME goes: not echoed
    assert SECRET not in caplog.text
