"""config/alerts.yaml: absent or commented = no alerts; secrets only as ${VAR}; one line per
problem naming the file and key; nothing secret in any line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from syncer.alerts.config import load_alerts
from syncer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SECRET_URL = "https://hooks.slack.com/services/T0001/B0002/s3cr3tT0ken"
ENV = {"SLACK_URL": SECRET_URL, "SMTP_PASSWORD": "smtp-pa55", "SMTP_USER": "bot"}

GOOD = """\
channels:
  team-slack: {type: slack, url: "${SLACK_URL}"}
  mail:
    type: email
    host: 127.0.0.1
    port: 2525
    starttls: false
    user: ${SMTP_USER}
    password: ${SMTP_PASSWORD}
    from: syncer@example.com
    to: [ops@example.com]
rules:
  - {events: [failed, partial, stale, recovered], channels: [team-slack, mail]}
  - {events: [rejections_spike, failed], channels: [mail], segments: [VIP]}
repeat_after: 30m
rejections_threshold: 5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_absent_file_and_the_shipped_commented_example_mean_no_alerts(tmp_path: Path) -> None:
    assert load_alerts(tmp_path / "alerts.yaml", ENV) is None
    shipped = ROOT / "config" / "alerts.yaml"
    assert shipped.exists()
    assert load_alerts(shipped, {}) is None


def test_shipped_example_uncommented_loads(tmp_path: Path) -> None:
    text = (ROOT / "config" / "alerts.yaml").read_text()
    example = "\n".join(line[2:] for line in text.split("lines below):\n")[1].splitlines())
    env = {k: "https://example.com/x" for k in ("SYNCER_ALERT_WEBHOOK_URL", "SLACK_WEBHOOK_URL")}
    env.update(SMTP_USER="u", SMTP_PASSWORD="p")
    config = load_alerts(write(tmp_path, example), env)
    assert config is not None and set(config.channels) == {"ops-webhook", "team-slack", "oncall"}


def test_rules_route_events_to_channels(tmp_path: Path) -> None:
    config = load_alerts(write(tmp_path, GOOD), ENV)
    assert config is not None
    assert config.repeat_after == timedelta(minutes=30) and config.rejections_threshold == 5
    assert [c.name for c in config.route("failed", "VIP")] == ["team-slack", "mail"]
    assert [c.name for c in config.route("rejections_spike", "Other")] == []
    assert [c.name for c in config.route("rejections_spike", "VIP")] == ["mail"]
    mail = config.channels["mail"]
    assert (mail.host, mail.port, mail.user, mail.password) == (
        "127.0.0.1",
        2525,
        "bot",
        "smtp-pa55",
    )


def test_channel_shows_and_masks_without_its_token(tmp_path: Path) -> None:
    config = load_alerts(write(tmp_path, GOOD), ENV)
    assert config is not None
    slack = config.channels["team-slack"]
    assert slack.label == "team-slack (slack https://hooks.slack.com/***)"
    assert "s3cr3t" not in repr(slack) and "pa55" not in repr(config.channels["mail"])
    masked = slack.mask(f"failed for url: {SECRET_URL} (path /services/T0001/B0002/s3cr3tT0ken)")
    assert "s3cr3tT0ken" not in masked and "T0001" not in masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace('"${SLACK_URL}"', SECRET_URL), "channels.team-slack.url: must be a ${VAR}"),
        (GOOD.replace("${SMTP_PASSWORD}", "hunter2"), "channels.mail.password: must be a ${VAR}"),
        (GOOD.replace("${SLACK_URL}", "${UNSET_ALERT_VAR}"), "UNSET_ALERT_VAR is not set"),
        (
            GOOD.replace("channels: [mail]", "channels: [pager]"),
            "rules[1].channels: unknown channel 'pager'",
        ),
        (GOOD.replace("stale, recovered", "stale, exploded"), "rules.0.events.3"),
        (GOOD.replace("30m", "soon"), "repeat_after: 'soon' is not a duration"),
        (GOOD.replace("type: slack", "type: pager"), "channels.team-slack"),
        ("channels: [", "not valid YAML"),
    ],
)
def test_bad_files_are_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_alerts(write(tmp_path, text), ENV)
    line = str(caught.value)
    assert expected in line and "alerts.yaml" in line
    assert "\n" not in line and "s3cr3t" not in line and "hunter2" not in line


def test_a_url_that_is_not_http_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_alerts(write(tmp_path, GOOD), {**ENV, "SLACK_URL": "ftp://x/s3cr3tT0ken"})
    assert "must be an http(s) URL" in str(caught.value) and "s3cr3t" not in str(caught.value)
