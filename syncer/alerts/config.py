"""``config/alerts.yaml``: where alerts go and when (absent or all comments: no alerts).

    channels:
      ops-webhook: {type: webhook, url: "${SYNCER_ALERT_WEBHOOK_URL}"}
      team-slack:  {type: slack, url: "${SLACK_WEBHOOK_URL}"}
      oncall-mail:
        type: email
        host: smtp.example.com
        port: 587
        starttls: true
        user: ${SMTP_USER}
        password: ${SMTP_PASSWORD}
        from: syncer@example.com
        to: [ops@example.com]
    rules:
      - {events: [failed, partial, stale, recovered], channels: [team-slack, oncall-mail]}
      - {events: [rejections_spike], channels: [ops-webhook], segments: [VIP customers]}
    repeat_after: 6h             # one alert per condition per destination in this time
    rejections_threshold: 50     # a run refusing this many members is a rejections spike

``url`` and ``password`` are always ``${VAR}`` references (a webhook URL carries its token), read
from the environment like the profiles' credentials (``syncer.profiles.expand``); any other
value may use them too. Nothing secret is ever shown: a channel reads as its type and host
(``slack https://hooks.slack.com/***``) and ``Channel.mask`` scrubs every error line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from syncer.db import mask_url
from syncer.errors import ConfigError
from syncer.profiles import NAME, REFERENCE, expand

EVENTS = ("failed", "partial", "stale", "rejections_spike", "recovered")
Event = Literal["failed", "partial", "stale", "rejections_spike", "recovered"]
DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Webhook(_Strict):
    type: Literal["webhook", "slack"]
    url: str
    timeout: float = Field(10.0, gt=0, le=120)


class _Email(_Strict):
    type: Literal["email"]
    host: str
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    user: str | None = None
    password: str | None = None
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    timeout: float = Field(10.0, gt=0, le=120)


class _Rule(_Strict):
    events: list[Event] = Field(min_length=1)
    channels: list[str] = Field(min_length=1)
    segments: list[str] = []  # empty: every segment


class _File(_Strict):
    channels: dict[str, Annotated[_Webhook | _Email, Field(discriminator="type")]]
    rules: list[_Rule]
    repeat_after: str | int = "6h"
    rejections_threshold: int = Field(50, ge=1)


@dataclass(frozen=True)
class Channel:
    """One place alerts go, its secrets resolved (never in ``repr``, never printed)."""

    name: str
    type: str  # webhook | slack | email
    url: str = field(default="", repr=False)
    host: str = ""
    port: int = 0
    starttls: bool = False
    user: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    sender: str = ""
    to: tuple[str, ...] = ()
    timeout: float = 10.0

    @property
    def endpoint(self) -> str:
        """Where it goes, with nothing secret: ``https://hooks.slack.com/***``, ``smtp://host:587``."""
        if self.type == "email":
            return f"smtp://{self.host}:{self.port}"
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/***"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.type} {self.endpoint})"

    def mask(self, text: str) -> str:
        """``text`` with this channel's secrets (the URL, its path and query, the password)
        replaced by ``***``, and any other URL's password masked."""
        parts = urlsplit(self.url) if self.url else None
        secrets = [self.url, self.password]
        if parts is not None:
            secrets += [parts.path + (f"?{parts.query}" if parts.query else ""), parts.path]
        for secret in sorted((s for s in secrets if s and s != "/"), key=len, reverse=True):
            text = text.replace(secret, "/***" if secret.startswith("/") else "***")
        return mask_url(text)


@dataclass(frozen=True)
class Rule:
    events: tuple[str, ...]
    channels: tuple[str, ...]
    segments: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertsConfig:
    channels: Mapping[str, Channel]
    rules: tuple[Rule, ...]
    repeat_after: timedelta = timedelta(hours=6)
    rejections_threshold: int = 50
    source: Path | None = None

    def route(self, event: str, segment: str | None) -> list[Channel]:
        """The channels an ``event`` of ``segment`` goes to (each once, in rule order)."""
        names: list[str] = []
        for rule in self.rules:
            if event not in rule.events:
                continue
            if rule.segments and segment not in rule.segments:
                continue
            names += [n for n in rule.channels if n not in names]
        return [self.channels[n] for n in names]


def parse_duration(value: str | int, where: str) -> timedelta:
    """``90``, ``90s``, ``30m``, ``6h``, ``1d``."""
    match = DURATION.match(str(value))
    if match is None:
        raise ConfigError(
            f"{value!r} is not a duration", where=where, hint="write e.g. 30m, 6h or 1d."
        )
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def load_alerts(path: Path, env: Mapping[str, str]) -> AlertsConfig | None:
    """The alerts of ``path``; None if the file does not exist (no alerts). One ConfigError
    naming the file and key for anything wrong."""
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"not valid YAML{line}", where=str(path)) from err
    if data is None:  # empty, or only the shipped commented example
        return None
    if not isinstance(data, dict):
        raise ConfigError(
            "expected a mapping with `channels:` and `rules:`",
            where=str(path),
            hint="see the commented example in config/alerts.yaml or README: Alerts.",
        )
    try:
        entry = _File.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(first["msg"], where=f"{path}: {loc}" if loc else str(path)) from None
    channels = {
        name: _channel(name, raw, env, f"{path}: channels.{name}")
        for name, raw in entry.channels.items()
    }
    rules: list[Rule] = []
    for i, rule in enumerate(entry.rules):
        for name in rule.channels:
            if name not in channels:
                known = ", ".join(sorted(channels)) or "none"
                raise ConfigError(
                    f"unknown channel {name!r} (known: {known})",
                    where=f"{path}: rules[{i}].channels",
                    hint="define it under `channels:` or fix the name.",
                )
        rules.append(Rule(tuple(rule.events), tuple(rule.channels), tuple(rule.segments)))
    return AlertsConfig(
        channels=channels,
        rules=tuple(rules),
        repeat_after=parse_duration(entry.repeat_after, f"{path}: repeat_after"),
        rejections_threshold=entry.rejections_threshold,
        source=path,
    )


def _channel(name: str, raw: _Webhook | _Email, env: Mapping[str, str], where: str) -> Channel:
    if not NAME.match(name):
        raise ConfigError(
            "a channel name is letters, digits, '.', '_' or '-' (max 100)", where=where
        )
    if isinstance(raw, _Webhook):
        url = _secret(raw.url, env, f"{where}.url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "must be an http(s) URL with a host",  # the value is not echoed: it is secret
                where=f"{where}.url",
                hint="set the variable to the full webhook URL, e.g. https://hooks.slack.com/...",
            )
        return Channel(name, raw.type, url=url, timeout=raw.timeout)
    password = _secret(raw.password, env, f"{where}.password") if raw.password else ""
    return Channel(
        name,
        "email",
        host=expand(raw.host, env, f"{where}.host"),
        port=raw.port,
        starttls=raw.starttls,
        user=expand(raw.user, env, f"{where}.user") if raw.user else "",
        password=password,
        sender=expand(raw.sender, env, f"{where}.from"),
        to=tuple(expand(t, env, f"{where}.to") for t in raw.to),
        timeout=raw.timeout,
    )


def _secret(text: str, env: Mapping[str, str], where: str) -> str:
    if not REFERENCE.fullmatch(text.strip()):
        raise ConfigError(
            "must be a ${VAR} reference, not a literal value",
            where=where,
            hint="move it to an environment variable and write ${THAT_VAR}.",
        )
    value = expand(text.strip(), env, where)
    if not value:
        raise ConfigError("resolves to an empty value", where=where)
    return value
