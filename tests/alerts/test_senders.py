"""Each channel type against a local receiver: the webhook's JSON payload, Slack's text, email
over SMTP with login; a receiver that is down or answers 500 is one masked line."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from syncer.alerts.config import Channel
from syncer.alerts.events import run_event
from syncer.alerts.send import DeliveryFailed, deliver
from syncer.state.runs import RunResult
from tests.alerts.conftest import TOKEN_PATH, Mailbox, Receiver

AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def failed_run() -> RunResult:
    result = RunResult("VIP", "mc/L1/vip", outcome="failed", run_id=7, trigger="schedule")
    result.started_at, result.finished_at = AT, AT
    result.adds, result.pending, result.api_calls = 3, 40, 2
    result.error = "mailchimp: POST /lists/L1/members: HTTP 503"
    return result


EVENT = run_event("failed", failed_run(), AT, since=AT)


def test_webhook_posts_the_documented_payload(receiver: Receiver) -> None:
    deliver(Channel("hook", "webhook", url=receiver.url), EVENT)
    ((path, body),) = receiver.requests
    assert path == TOKEN_PATH
    assert body["event"] == "failed" and body["segment"] == "VIP"
    assert body["destination"] == "mc/L1/vip" and body["at"] == "2026-11-27T10:00:00+00:00"
    assert body["run"]["id"] == 7 and body["run"]["pending"] == 40
    assert body["run"]["error"] == "mailchimp: POST /lists/L1/members: HTTP 503"
    assert body["summary"].startswith("syncer: VIP → mc/L1/vip failed (run 7): mailchimp")
    assert set(body) == {
        "event", "segment", "destination", "summary", "at", "since", "suppressed", "detail",
        "host", "run",
    }  # fmt: skip


def test_slack_posts_text(receiver: Receiver) -> None:
    deliver(Channel("slack", "slack", url=receiver.url), EVENT)
    ((_path, body),) = receiver.requests
    assert body == {"text": EVENT.summary}


@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_receiver_down_is_one_line_without_the_token(down_url: str, kind: str) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        deliver(Channel("hook", kind, url=down_url, timeout=2), EVENT)
    line = str(caught.value)
    assert line.startswith("cannot connect: [Errno") and "refused" in line
    assert "s3cr3t" not in line and "\n" not in line


def test_receiver_answering_500_is_one_line(receiver: Receiver) -> None:
    receiver.status = 500
    with pytest.raises(DeliveryFailed, match="answered HTTP 500: server error"):
        deliver(Channel("hook", "webhook", url=receiver.url), EVENT)


def mail_channel(mailbox: Mailbox, password: str = "smtp-pa55") -> Channel:
    return Channel(
        "mail", "email", host="127.0.0.1", port=mailbox.port, starttls=False, user="bot",
        password=password, sender="syncer@example.com", to=("ops@example.com", "b@example.com"),
    )  # fmt: skip


def test_email_is_sent_over_smtp_with_login(smtp_server: Mailbox) -> None:
    deliver(mail_channel(smtp_server), EVENT)
    ((sender, to, data),) = smtp_server.messages
    assert sender == "syncer@example.com" and to == ["ops@example.com", "b@example.com"]
    message = email.message_from_string(data, policy=email.policy.default)
    assert message["Subject"] == "[syncer] failed: VIP → mc/L1/vip"
    body = message.get_content()  # type: ignore[attr-defined]
    assert "run.pending: 40" in body and EVENT.summary in body
    assert smtp_server.logins == [("bot", "smtp-pa55")]


def test_email_login_refused_is_one_line_without_the_password(smtp_server: Mailbox) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        deliver(mail_channel(smtp_server, password="wrong-pa55word"), EVENT)
    line = str(caught.value)
    assert "SMTPAuthenticationError" in line and "wrong-pa55word" not in line


def test_email_server_down_is_one_line() -> None:
    from tests.alerts.conftest import free_port

    channel = Channel("mail", "email", host="127.0.0.1", port=free_port(), to=("a@example.com",))
    with pytest.raises(DeliveryFailed, match="ConnectionRefusedError"):
        deliver(channel, EVENT)
