"""What an alert says: one event about one destination, as a one-line summary, a JSON payload
(the generic webhook's body; schema in docs/alerts.md) and an email.

    {"event": "failed", "segment": "VIP customers", "destination": "shop-mailchimp/a1b2/vip",
     "summary": "...one line...", "at": "2026-11-27T10:00:00+00:00", "since": "...",
     "suppressed": 0, "detail": null, "host": "worker-1",
     "run": {"id": 12, "outcome": "failed", "trigger": "schedule", "adds": 0, ...} | null}
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from syncer.state.runs import RunResult

RUN_KEYS = (
    "run_id", "outcome", "trigger", "adds", "updates", "removes", "rejections", "pending",
    "api_calls", "retries", "error",
)  # fmt: skip


@dataclass(frozen=True)
class Event:
    kind: str  # failed | partial | stale | rejections_spike | recovered | test
    segment: str
    destination: str
    at: datetime
    summary: str
    run: dict[str, Any] | None = None
    detail: str | None = None
    since: datetime | None = None  # when the condition began (recovered: how long it lasted)
    suppressed: int = 0  # events of this condition not alerted since the previous alert
    host: str = field(default_factory=socket.gethostname)

    @property
    def subject(self) -> str:
        if self.kind == "test":
            return "[syncer] test alert"
        return f"[syncer] {self.kind}: {self.segment} → {self.destination}"

    def payload(self) -> dict[str, Any]:
        """The generic webhook's JSON body (docs/alerts.md)."""
        return {
            "event": self.kind,
            "segment": self.segment,
            "destination": self.destination,
            "summary": self.summary,
            "at": self.at.isoformat(timespec="seconds"),
            "since": self.since.isoformat(timespec="seconds") if self.since else None,
            "suppressed": self.suppressed,
            "detail": self.detail,
            "host": self.host,
            "run": self.run,
        }

    def text(self) -> str:
        """The summary and the details, one per line (the email's body)."""
        lines = [self.summary, ""]
        for key, value in self.payload().items():
            if key in ("summary", "run") or value is None:
                continue
            lines.append(f"{key}: {value}")
        for key, value in (self.run or {}).items():
            if value is not None:
                lines.append(f"run.{key}: {value}")
        return "\n".join(lines) + "\n"

    def email(self, sender: str, to: tuple[str, ...]) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = sender
        msg["To"] = ", ".join(to)
        msg.set_content(self.text())
        return msg


def run_facts(result: RunResult) -> dict[str, Any]:
    facts = {k: getattr(result, k) for k in RUN_KEYS}
    facts["id"] = facts.pop("run_id")
    facts["seconds"] = round(result.seconds, 3)
    return facts


def run_event(
    kind: str, result: RunResult, at: datetime, *, since: datetime | None = None,
    suppressed: int = 0, threshold: int = 0,
) -> Event:  # fmt: skip
    """The event ``kind`` about the run ``result``, with its one-line summary."""
    where = f"{result.segment} → {result.destination}"
    run = f"run {result.run_id}" if result.run_id is not None else "a run"
    if kind == "failed":
        summary = f"syncer: {where} failed ({run}): {result.error or 'no error recorded'}"
    elif kind == "partial":
        summary = (
            f"syncer: {where} partial ({run}, {result.pending} change(s) pending): "
            f"{result.error or 'some changes were not settled'}"
        )
    elif kind == "rejections_spike":
        summary = (
            f"syncer: {where}: {run} had {result.rejections} member(s) refused by the provider "
            f"(threshold {threshold}); see `syncer runs --rejections`"
        )
    else:  # recovered
        began = f" (failing since {since:%Y-%m-%d %H:%M} UTC)" if since else ""
        summary = f"syncer: {where} recovered: {run} ok{began}"
    if suppressed:
        summary += f" [{suppressed} similar event(s) not alerted since the last alert]"
    return Event(
        kind, result.segment, result.destination, at, summary, run=run_facts(result),
        since=since, suppressed=suppressed,
    )  # fmt: skip


def stale_event(
    segment: str, destination: str, reason: str, at: datetime, *, since: datetime | None,
    suppressed: int = 0,
) -> Event:  # fmt: skip
    summary = f"syncer: {segment} → {destination} is STALE: {reason}"
    if suppressed:
        summary += f" [{suppressed} similar event(s) not alerted since the last alert]"
    return Event(
        "stale", segment, destination, at, summary, detail=reason, since=since,
        suppressed=suppressed,
    )  # fmt: skip


def trial_event(channel: str, at: datetime) -> Event:
    summary = (
        f"syncer: test alert to channel {channel!r} from {socket.gethostname()}; "
        "if you can read this, the channel works"
    )
    return Event("test", "", "", at, summary)
