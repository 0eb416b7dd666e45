"""Delivering one event to one channel: the generic webhook (the event's JSON payload), a
Slack-compatible incoming webhook (``{"text": summary}``) or email over SMTP (``smtplib``,
STARTTLS and login when configured). ``deliver`` raises ``DeliveryFailed`` with one masked line
(no URL token, no password) for anything that went wrong."""

from __future__ import annotations

import smtplib
import ssl

import requests

from syncer.alerts.config import Channel
from syncer.alerts.events import Event


class DeliveryFailed(Exception):
    """One line, already masked."""


def deliver(channel: Channel, event: Event, session: requests.Session | None = None) -> None:
    try:
        if channel.type == "email":
            _email(channel, event)
        else:
            body = event.payload() if channel.type == "webhook" else {"text": event.summary}
            _post(channel, body, session or requests.Session())
    except DeliveryFailed:
        raise
    except (requests.RequestException, smtplib.SMTPException, OSError) as err:
        raise DeliveryFailed(channel.mask(_reason(err))) from None


def _post(channel: Channel, body: object, session: requests.Session) -> None:
    try:
        answer = session.post(channel.url, json=body, timeout=channel.timeout)
    except requests.Timeout:
        raise DeliveryFailed(f"no answer within {channel.timeout:g}s") from None
    except requests.ConnectionError as err:
        raise DeliveryFailed(f"cannot connect: {_errno(str(err))}") from None
    if not 200 <= answer.status_code < 300:
        text = " ".join(answer.text.split())[:200]
        raise DeliveryFailed(channel.mask(f"answered HTTP {answer.status_code}: {text}".strip()))


def _email(channel: Channel, event: Event) -> None:
    with smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout) as smtp:
        if channel.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if channel.user:
            smtp.login(channel.user, channel.password)
        smtp.send_message(event.email(channel.sender, channel.to))


def _errno(text: str) -> str:
    """The useful end of a connection error (``[Errno 111] Connection refused``)."""
    at = text.find("[Errno")
    if at < 0:
        return "connection failed"
    return text[at:].split("'")[0].split(")")[0].strip()


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return f"{type(err).__name__}: {text}"[:300]
