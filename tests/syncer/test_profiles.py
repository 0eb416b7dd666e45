from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from syncer.cli.main import main
from syncer.errors import ConfigError
from syncer.profiles import load_profiles

GOOD = """
profiles:
  ac:
    provider: activecampaign
    credentials:
      api_url: ${AC_URL}
      api_token: ${AC_TOKEN}
  ac-default:
    provider: activecampaign
    credentials:
      api_url: ${AC_URL_2:-https://demo.api-us1.com}
      api_token: ${AC_TOKEN}
    base_url: ${AC_BASE:-}
"""
ENV = {"AC_URL": "https://shop.api-us1.com", "AC_TOKEN": "tok-secret-123"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(text)
    return path


def test_references_resolve_from_the_environment_with_defaults(tmp_path: Path) -> None:
    profiles = load_profiles(write(tmp_path, GOOD), ENV)
    assert profiles["ac"].credentials["api_token"] == "tok-secret-123"
    assert profiles["ac-default"].credentials["api_url"] == "https://demo.api-us1.com"
    assert profiles["ac-default"].base_url is None  # empty default = provider default
    assert "tok-secret-123" not in repr(profiles["ac"])
    assert profiles["ac"].describe()["credentials"]["api_token"] == "${AC_TOKEN}"


def test_options_are_plain_settings_passed_with_the_credentials(tmp_path: Path) -> None:
    text = GOOD + "    options: {batch_size: 200}\n"
    profile = load_profiles(write(tmp_path, text), ENV)["ac-default"]
    assert profile.options == {"batch_size": "200"}
    assert profile.build().limits.batch_size == 200
    clash = GOOD + "    options: {api_token: x}\n"
    with pytest.raises(ConfigError, match="api_token given both as credential and option"):
        load_profiles(write(tmp_path, clash), ENV)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        (GOOD, {"AC_URL": "x"}, "profiles.ac.credentials.api_token: environment variable AC_TOKEN"),
        (
            "profiles:\n  p:\n    provider: activecampaign\n    credentials:\n"
            "      api_url: https://x\n      api_token: ${T}\n",
            {"T": "t"},
            "profiles.p.credentials.api_url: credentials must be ${VAR} references",
        ),
        (
            "profiles:\n  p:\n    provider: mailchimpz\n    credentials: {}\n",
            {},
            "profiles.p.provider: Value error, unknown provider 'mailchimpz'",
        ),
        (
            "profiles:\n  p:\n    provider: activecampaign\n"
            "    credentials:\n      api_token: ${T}\n",
            {"T": "t"},
            "activecampaign needs credentials api_url",
        ),
        ("profiles: [1, 2]\n", {}, "expected a top-level `profiles:` mapping"),
        ("profiles:\n  p: {provider: x\n", {}, "not valid YAML (line"),
        (
            "profiles:\n  p:\n    provider: activecampaign\n    credentials: {}\n    colour: red\n",
            {},
            "profiles.p.colour: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_profiles_name_the_key_to_fix(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_profiles(write(tmp_path, text), env)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


BASE_URL_PROFILE = (
    "profiles:\n  p:\n    provider: activecampaign\n    credentials:\n"
    "      api_url: ${AC_URL}\n      api_token: ${AC_TOKEN}\n    base_url: ${BASE}\n"
)


@pytest.mark.parametrize(
    "base_url",
    ["127.0.0.1:8080/api/3", "ftp://host/api/3", "https://", "http:///api/3", "https://h:0x/", " "],
)
def test_base_url_must_be_an_http_url_with_a_host(tmp_path: Path, base_url: str) -> None:
    env = {**ENV, "BASE": base_url}
    with pytest.raises(ConfigError) as info:
        load_profiles(write(tmp_path, BASE_URL_PROFILE), env)
    text = str(info.value)
    assert "profiles.p.base_url: must be an http(s) URL with a host" in text
    assert "https://host/path" in text and "\n" not in text


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8301/api/3", "https://x.example/v2/"])
def test_good_base_urls_are_kept(tmp_path: Path, base_url: str) -> None:
    env = {**ENV, "BASE": base_url}
    assert load_profiles(write(tmp_path, BASE_URL_PROFILE), env)["p"].base_url == base_url


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_profiles(write(tmp_path, GOOD), {})
    assert "profiles.ac." in str(info.value) and "profiles.ac-default." in str(info.value)


def test_missing_file_says_where(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"profiles\.yaml: file not found"):
        load_profiles(tmp_path / "profiles.yaml", {})


def cli(tmp_path: Path, *args: str) -> list[str]:
    return ["--config-dir", str(tmp_path), "profiles", *args]


def test_cli_list_shows_references_never_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, GOOD)
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    assert main(cli(tmp_path, "list", "--json")) == 0
    out = capsys.readouterr().out
    assert "tok-secret-123" not in out
    assert json.loads(out)[0]["credentials"] == {"api_url": "${AC_URL}", "api_token": "${AC_TOKEN}"}


@responses.activate
def test_cli_check_ok_and_refused_token_is_one_masked_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, GOOD)
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    url = "https://shop.api-us1.com/api/3/users/me"
    responses.get(url, json={"user": {"id": "1", "email": "owner@shop.test"}})
    assert main(cli(tmp_path, "check", "ac")) == 0
    assert "owner@shop.test" in capsys.readouterr().out
    responses.replace(
        responses.GET, url, status=403, json={"message": "No Result found for tok-secret-123"}
    )
    assert main(cli(tmp_path, "check", "ac")) == 1
    err = capsys.readouterr().err
    assert "profile 'ac'" in err and "credentials check failed" in err
    assert "tok-secret-123" not in err and "***" in err


def test_cli_unknown_profile_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, GOOD)
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    assert main(cli(tmp_path, "check", "nope")) == 2
    assert "unknown profile 'nope' (known: ac, ac-default)" in capsys.readouterr().err


SENDLANE = """
profiles:
  sl:
    provider: sendlane
    credentials:
      api_token: ${SL_TOKEN}
"""


def test_sendlane_batches_in_flight_is_an_option_defaulting_to_two(tmp_path: Path) -> None:
    default = load_profiles(write(tmp_path, SENDLANE), {"SL_TOKEN": "t-default"})["sl"].build()
    assert default.limits.max_concurrency == 2
    text = SENDLANE + "    options: {concurrency: 3, batch_size: 50}\n"
    built = load_profiles(write(tmp_path, text), {"SL_TOKEN": "t-three"})["sl"].build()
    assert (built.limits.max_concurrency, built.limits.batch_size) == (3, 50)
    assert built.http.limiter.max_concurrency == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["0", "5", "x"])
def test_sendlane_concurrency_outside_1_to_its_rate_is_refused(tmp_path: Path, value: str) -> None:
    text = SENDLANE + f"    options: {{concurrency: '{value}'}}\n"
    with pytest.raises(ConfigError, match=r"concurrency must be a whole number from 1 to 4"):
        load_profiles(write(tmp_path, text), {"SL_TOKEN": "t"})


def test_concurrency_is_no_option_of_the_other_providers(tmp_path: Path) -> None:
    text = GOOD + "    options: {concurrency: 2}\n"
    with pytest.raises(ConfigError, match=r"unknown option 'concurrency'.*takes: batch_size"):
        load_profiles(write(tmp_path, text), ENV)
