from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncer.demo.run import main


def test_demo_counts_and_describes_each_segment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "config" / "segments"
    folder.mkdir(parents=True)
    rule = {"field": "orders", "op": "ge", "value": 1}
    (folder / "buyers.yaml").write_text(yaml.safe_dump({"name": "Buyers", "rules": rule}))
    args = ["--customers", "200", "--database", str(tmp_path / "demo.db")]
    args += ["--config-dir", str(tmp_path / "config")]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Buyers" in out and "Customers who placed at least 1 order" in out
    assert "200 customers" in out
    assert "match" in out and "with consent: pushed" in out  # both numbers, side by side
    assert main(args) == 0  # a second run replaces the data instead of failing


def test_demo_ends_with_the_insights_of_an_example_segment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "config" / "segments"
    folder.mkdir(parents=True)
    rule = {"field": "orders", "op": "ge", "value": 2}
    (folder / "vip.yaml").write_text(yaml.safe_dump({"name": "VIP customers", "rules": rule}))
    args = ["--customers", "200", "--database", str(tmp_path / "demo.db"), "--no-sync"]
    assert main([*args, "--config-dir", str(tmp_path / "config")]) == 0
    out = capsys.readouterr().out
    tail = out[out.index("insights of 'VIP customers'") :]
    assert "members as of 2026-03-01" in tail and "top products" in tail and "█" in tail


def test_demo_reports_a_bad_segment_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "segments"
    folder.mkdir()
    (folder / "bad.yaml").write_text("name: Bad\nrules: {field: orders, op: has}\n")
    args = ["--customers", "10", "--database", str(tmp_path / "d.db")]
    code = main([*args, "--config-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "bad.yaml" in err and len(err.strip().splitlines()) == 1


def test_demo_syncs_to_the_emulators_twice_and_the_second_run_sends_only_the_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from syncer.sample.emulated import profiles_yaml

    config = tmp_path / "config"
    (config / "segments").mkdir(parents=True)
    (config / "profiles.yaml").write_text(profiles_yaml(["mailchimp", "sendlane"]))
    segment = {
        "name": "Recent buyers",
        "rules": {"field": "orders", "op": "ge", "value": 1, "window": "last_30_days"},
        "destinations": [
            {"profile": "demo-mailchimp", "list": "demo-list", "tag": "recent"},
            {"profile": "demo-sendlane", "list": "1", "tag": "recent"},
        ],
    }
    (config / "segments" / "recent.yaml").write_text(yaml.safe_dump(segment))
    args = ["--customers", "300", "--database", str(tmp_path / "demo.db")]
    assert main([*args, "--config-dir", str(config)]) == 0
    out = capsys.readouterr().out
    first, second = out.split("first sync", 1)[1].split("second sync", 1)
    assert "Recent buyers → demo-mailchimp / recent" in first
    assert "Recent buyers → demo-sendlane / recent" in first
    assert "≠" not in out and "every provider now carries exactly" in out

    # the second run sends only the difference: what the first run added, plus the second
    # run's adds, less its removes, is exactly what the provider carries at the end
    def rows(text: str) -> list[list[int]]:
        cells = [
            [*r.split("│")[2:6], r.split("│")[7]]
            for r in text.splitlines()
            if "→" in r and "│" in r
        ]
        return [[int(c.strip().split()[0].replace(",", "")) for c in row] for row in cells]

    first_rows, second_rows = rows(first), rows(second)
    assert len(first_rows) == len(second_rows) == 2
    for (adds1, _u1, rem1, _c1, _tagged1), (adds2, _u2, rem2, _c2, tagged2) in zip(
        first_rows, second_rows, strict=True
    ):
        assert adds1 > 0 and rem1 == 0
        assert adds1 + adds2 - rem2 == tagged2


def test_the_demo_prints_one_command_opening_the_admin_on_its_data(tmp_path) -> None:
    import shlex

    from syncer.demo.run import DEMO_ADMIN_PASSWORD, admin_command
    from syncer.web.auth import load_users

    line = admin_command("sqlite:///var/demo.db", tmp_path / "demo-state.db", tmp_path / "cfg")
    words = shlex.split(line)
    assert words[0].startswith("SYNCER_WEB_PASSWORD_HASH=")
    users = load_users({"SYNCER_WEB_PASSWORD_HASH": words[0].split("=", 1)[1]})
    assert users.authenticate("admin", DEMO_ADMIN_PASSWORD)
    assert words[-1] == "web" and "--state-url" in words and "--config-dir" in words


def test_the_template_copy_is_not_the_demo_config_it_copies() -> None:
    from syncer.demo.config import DEMO_CONFIG
    from syncer.demo.run import parse_args, template_dir

    assert template_dir(parse_args([])).resolve() != DEMO_CONFIG.resolve()
