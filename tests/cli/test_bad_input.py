"""Bad input of every kind ends as ONE line naming the file and place, exit code 2, no traceback.

Segment files go through `syncer segments validate` (and the commands that load the config
folder), profiles through `syncer profiles list`, the rest through the command that takes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncer.cli.main import main
from syncer.db import make_engine
from syncer.sample.shop import generate

AS_OF = "2026-03-01"
OK_RULE = {"field": "orders", "op": "ge", "value": 0}

PROFILES = """
profiles:
  mc:
    provider: mailchimp
    credentials:
      api_key: ${BAD_INPUT_MC_KEY:-demo-us1}
  ac:
    provider: activecampaign
    credentials:
      api_url: ${BAD_INPUT_AC_URL:-https://demo.api-us1.com}
      api_token: ${BAD_INPUT_AC_TOKEN:-demo-token}
  sl:
    provider: sendlane
    credentials:
      api_token: ${BAD_INPUT_SL_TOKEN:-demo-token}
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A small sample database and a config folder (profiles and one good segment)."""
    root = tmp_path_factory.mktemp("bad-input")
    url = f"sqlite:///{root / 'shop.db'}"
    engine = make_engine(url)
    generate(engine, customers=30, seed=5, as_of=datetime.fromisoformat(AS_OF))
    engine.dispose()
    config = root / "config"
    (config / "segments").mkdir(parents=True)
    (config / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    rule = {"field": "orders", "op": "ge", "value": 1, "window": "last_30_days"}
    good = {"name": "Good", "rules": rule}
    (config / "segments" / "good.yaml").write_text(yaml.safe_dump(good), encoding="utf-8")
    yield url, config


def run(capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], *args: str) -> tuple[int, str]:
    url, config = shop
    code = main(["--database-url", url, "--config-dir", str(config), *args])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def condition(cond: dict[str, Any], **top: Any) -> str:
    """A segment whose second rule is ``cond`` (so its path is ``rules.all[1]``)."""
    return yaml.safe_dump({"name": "Bad", "rules": {"all": [OK_RULE, cond]}, **top}, width=10**9)


def nested(depth: int, kind: str) -> str:
    """``depth`` groups (``all``) or ``not``s around one condition, as flow YAML."""
    rule = "{field: orders, op: ge, value: 0}"
    for _ in range(depth):
        rule = f"{{all: [{rule}]}}" if kind == "all" else f"{{not: {rule}}}"
    return f"name: Deep\nrules: {rule}\n"


def destinations(*dests: dict[str, Any]) -> str:
    return yaml.safe_dump({"name": "Bad", "rules": OK_RULE, "destinations": list(dests)})


AT = "rules.all[1]"
SEGMENT_FILES: list[tuple[str, str, list[str]]] = [
    ("window_on_created_gt",
     condition({"field": "created", "op": "gt", "value": "2020-01-01", "window": "last_30_days"}),
     [AT, "window", "within"]),
    ("count_beyond_64_bits",
     "name: Bad\nrules: {all: [{field: orders, op: ge, value: 0}, "
     "{field: orders, op: gt, value: 99999999999999999999}]}\n",
     [AT, "99999999999999999999", "at most 1,000,000,000,000,000"]),
    ("days_too_many",
     condition({"field": "days_since_last_order", "op": "gt", "value": 10**9}),
     [AT, "at most 36,500"]),
    ("money_1e400",
     "name: Bad\nrules: {all: [{field: orders, op: ge, value: 0}, "
     "{field: total_spent, op: gt, value: 1e400}]}\n",
     [AT, "1e400", "at most 10,000,000,000,000"]),
    ("money_1e30", condition({"field": "total_spent", "op": "lt", "value": "1e30"}),
     [AT, "at most 10,000,000,000,000"]),
    ("money_between_too_large",
     condition({"field": "total_spent", "op": "between", "value": [1, 10**20]}),
     [AT, "at most 10,000,000,000,000"]),
    ("window_million_days",
     condition({"field": "orders", "op": "gt", "value": 1, "window": "last_1000000_days"}),
     [AT, "at most 36,500 days"]),
    ("window_100000_months",
     condition({"field": "visits", "op": "gt", "value": 1, "window": {"last_months": 100000}}),
     [AT, "at most 1,200 months"]),
    ("window_between_year_1",
     "name: Bad\nrules: {all: [{field: orders, op: ge, value: 0}, {field: orders, op: gt, "
     "value: 1, window: {between: [0001-01-01, 2020-01-01]}}]}\n",
     [AT, "0001-01-01", "1000-01-01"]),
    ("date_year_9999",
     "name: Bad\nrules: {all: [{field: orders, op: ge, value: 0}, "
     "{field: created, op: gt, value: 9999-12-31}]}\n",
     [AT, "9999-12-31", "9998-12-31"]),
    ("impossible_date",
     "name: Bad\nrules: {all: [{field: orders, op: ge, value: 0}, "
     "{field: created, op: gt, value: 2020-02-30}]}\n",
     ["line 2", "2020-02-30", "day is out of range"]),
    ("nested_40_groups", nested(40, "all"), ["rules.all[0].all[0]", "deeper than 32"]),
    ("nested_500_groups", nested(500, "all"), ["deeper than 32"]),
    ("nested_5000_nots", nested(5000, "not"), ["deeper than 32"]),
    ("string_20_kb", condition({"field": "loyalty_card", "op": "eq", "value": "x" * 20_000}),
     [AT, "20,000 characters", "at most 10,000"]),
    ("string_1_mb", condition({"field": "loyalty_card", "op": "eq", "value": "x" * 1_000_000}),
     ["1,000,", "bytes", "at most 1,000,000"]),
    ("nul_byte", condition({"field": "purchased_product", "op": "has", "value": "Beans\0"}),
     [AT, "NUL"]),
    ("nul_byte_in_list", condition({"field": "country", "op": "in", "value": ["DE", "F\0R"]}),
     [AT, "NUL"]),
    ("empty_text", condition({"field": "zip", "op": "eq", "value": ""}), [AT, "zip is empty"]),
    ("empty_tag", destinations({"profile": "mc", "list": "L1", "tag": ""}),
     ["destinations[0].tag", "is empty"]),
    ("blank_list", destinations({"profile": "mc", "list": " ", "tag": "t"}),
     ["destinations[0].list", "is empty"]),
    ("same_tag_twice_in_one_segment",
     destinations({"profile": "mc", "list": "L1", "tag": "vip"},
                  {"profile": "mc", "list": "L1", "tag": "VIP"}),
     ["destinations[1].tag", "'VIP'", "destinations[0]"]),
    ("unknown_profile", destinations({"profile": "nope", "list": "L1", "tag": "t"}),
     ["destinations[0].profile", "unknown profile 'nope'", "profiles.yaml"]),
    ("archive_on_activecampaign",
     destinations({"profile": "mc", "list": "L1", "tag": "t"},
                  {"profile": "ac", "list": "1", "tag": "t", "on_leave": "archive"}),
     ["destinations[1].on_leave", "activecampaign", "archive", "untag"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stem", "text", "needles"), SEGMENT_FILES, ids=[c[0] for c in SEGMENT_FILES]
)
def test_bad_segment_file_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
    shop: tuple[str, Path],
    tmp_path: Path,
    stem: str,
    text: str,
    needles: list[str],
) -> None:
    path = tmp_path / f"{stem}.yaml"
    path.write_text(text, encoding="utf-8")
    code, err = run(capsys, shop, "segments", "validate", str(path))
    line = one_line(err)
    assert code == 2, line
    assert str(path) in line
    message = line.replace(str(path), "FILE")  # the test's folder name holds the words too
    for needle in needles:
        assert needle in message


def test_a_segment_file_over_1_mb_is_refused_with_its_size(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("name: Huge\nrules: {field: orders, op: ge, value: 0}\n" + "#" * 10_000_000)
    code, err = run(capsys, shop, "segments", "validate", str(path))
    line = one_line(err)
    assert code == 2 and str(path) in line
    assert "10,000,052 bytes" in line and "at most 1,000,000" in line


def test_a_bad_file_in_the_folder_fails_count_too(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    """Values that once passed validation and broke the query now stop every command."""
    config = tmp_path / "config"
    (config / "segments").mkdir(parents=True)
    (config / "profiles.yaml").write_text(PROFILES)
    path = config / "segments" / "big.yaml"
    path.write_text(
        "name: Big\nrules: {all: [{field: orders, op: ge, value: 0}, "
        "{field: orders, op: gt, value: 99999999999999999999}]}\n"
    )
    args = ["--database-url", shop[0], "--config-dir", str(config), "segments", "count", "Big"]
    code = main(args)
    line = one_line(capsys.readouterr().err)
    assert code == 2 and str(path) in line and AT in line


def profile(provider: str, credentials: str, extra: str = "") -> str:
    return f"profiles:\n  p:\n    provider: {provider}\n    credentials:\n{credentials}{extra}"


MC = "      api_key: ${BAD_INPUT_MC_KEY:-demo-us1}\n"
AC = (
    "      api_url: ${BAD_INPUT_AC_URL:-https://demo.api-us1.com}\n"
    "      api_token: ${BAD_INPUT_AC_TOKEN:-tok}\n"
)
SL = "      api_token: ${BAD_INPUT_SL_TOKEN:-tok}\n"
PROFILE_FILES: list[tuple[str, str, list[str]]] = [
    ("extra_credential", profile("mailchimp", MC + "      api_token: ${X:-y}\n"),
     ["profiles.p.credentials.api_token", "unknown credential", "api_key"]),
    ("batch_size_negative", profile("sendlane", SL, "    options: {batch_size: -1}\n"),
     ["profiles.p.options.batch_size", "-1", "1 to 100"]),
    ("batch_size_above_mailchimp", profile("mailchimp", MC, "    options: {batch_size: 501}\n"),
     ["profiles.p.options.batch_size", "501", "1 to 500"]),
    ("batch_size_above_activecampaign",
     profile("activecampaign", AC, "    options: {batch_size: 251}\n"),
     ["profiles.p.options.batch_size", "1 to 250"]),
    ("batch_size_above_sendlane", profile("sendlane", SL, "    options: {batch_size: 101}\n"),
     ["profiles.p.options.batch_size", "1 to 100"]),
    ("batch_size_not_a_number", profile("sendlane", SL, "    options: {batch_size: lots}\n"),
     ["profiles.p.options.batch_size", "'lots'"]),
    ("unknown_option", profile("activecampaign", AC, "    options: {bulk_minimum: 3}\n"),
     ["profiles.p.options.bulk_minimum", "unknown option", "batch_size"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stem", "text", "needles"), PROFILE_FILES, ids=[c[0] for c in PROFILE_FILES]
)
def test_bad_profile_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stem: str,
    text: str,
    needles: list[str],
) -> None:
    (tmp_path / "profiles.yaml").write_text(text, encoding="utf-8")
    code = main(["--config-dir", str(tmp_path), "profiles", "list"])
    line = one_line(capsys.readouterr().err)
    assert code == 2, line
    assert str(tmp_path / "profiles.yaml") in line
    message = line.replace(str(tmp_path / "profiles.yaml"), "FILE")
    for needle in needles:
        assert needle in message


def test_sync_refuses_a_destination_the_provider_cannot_serve(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    config = tmp_path / "config"
    (config / "segments").mkdir(parents=True)
    (config / "profiles.yaml").write_text(PROFILES)
    path = config / "segments" / "ac.yaml"
    path.write_text(destinations({"profile": "ac", "list": "1", "tag": "t", "on_leave": "archive"}))
    code = main(["--database-url", shop[0], "--config-dir", str(config), "sync", "Bad"])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and str(path) in line and "destinations[0].on_leave" in line


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["segments", "count", "Good", "--as-of", ""], ["--as-of", "is empty"]),
        (["segments", "count", "Good", "--as-of", "0001-01-05"], ["--as-of", "1000-01-01"]),
        (["sync", "Good", "--as-of", ""], ["--as-of", "is empty"]),
        (["runs", "--segment", "Nope"], ["no segment named 'Nope'", "'Good'"]),
    ],
    ids=["as_of_empty", "as_of_year_1", "sync_as_of_empty", "runs_unknown_segment"],
)
def test_bad_option_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], args: list[str], needles: list[str]
) -> None:
    code, err = run(capsys, shop, *args)
    line = one_line(err)
    assert code == 2, line
    for needle in needles:
        assert needle in line


@pytest.mark.parametrize("where", ["directory", "under_a_file"])
def test_export_to_a_place_that_cannot_hold_a_file(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path, where: str
) -> None:
    (tmp_path / "plain.txt").write_text("x")
    target = tmp_path if where == "directory" else tmp_path / "plain.txt" / "out.csv"
    code, err = run(capsys, shop, "segments", "export", "Good", "--csv", str(target))
    line = one_line(err)
    assert code == 2, line
    assert str(target) in line and "--csv" in line
    assert (tmp_path / "plain.txt").read_text() == "x"


def test_runs_of_an_unknown_segment_with_state_tables(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    assert run(capsys, shop, "--state-url", state, "db", "upgrade")[0] == 0
    code, err = run(capsys, shop, "--state-url", state, "runs", "--segment", "Goood")
    line = one_line(err)
    assert code == 2 and "no segment named 'Goood'" in line and "did you mean 'Good'" in line
    code, err = run(capsys, shop, "--state-url", state, "runs", "--segment", "Good")
    assert code == 0 and err == ""


def test_a_long_chain_of_in_segment_is_refused_at_the_cap(
    capsys: pytest.CaptureFixture[str], shop: tuple[str, Path], tmp_path: Path
) -> None:
    """1,500 segments each naming the next: once a RecursionError, now the nesting cap."""
    folder = tmp_path / "segments"
    folder.mkdir()
    last = 1499
    for i in range(last + 1):
        rule = f"in_segment: S{i + 1}" if i < last else "field: orders, op: ge, value: 0"
        (folder / f"s{i:04d}.yaml").write_text(f"name: S{i}\nrules: {{not: {{{rule}}}}}\n")
    first = folder / "s0000.yaml"
    for args in (["segments", "validate", str(first)], ["segments", "count", "S0"]):
        code = main(["--database-url", shop[0], "--config-dir", str(tmp_path), *args])
        line = one_line(capsys.readouterr().err)
        assert code == 2 and str(first) in line and "segment 'S0'" in line
        assert "deeper than 32 levels" in line and "in_segment S0 -> ... -> S16" in line
