"""ActiveCampaign's asynchronous bulk importer, for ``ActiveCampaignEmulator``.

``POST /import/bulk_import`` validates the whole payload (one bad contact refuses all of it),
queues it and answers a ``batchId``; ``GET /import/info?batchId=`` reports it. A queued import is
applied once it has been polled ``polls`` times and ``delay`` seconds have passed. What each rule
rests on is in the emulator's module docstring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulators.activecampaign_model import ImportingAccount, field_value_problem
from emulators.base import Reply
from emulators.quota import Clock, Quota

IMPORT_MAX = 250
EMAIL = re.compile(r"^[^@\s'\"]+@[^@\s]+\.[A-Za-z]{2,}$")
NOT_QUEUED = (
    "JSON payload did not pass validation. Please fix failure Reasons and retry. "
    "The import was not queued for processing."
)
TOO_MANY = (
    "Up to 100 imports may be requested per minute.Please batch contacts into larger "
    "requests, or retry this request in a minute."
)


@dataclass
class Import:
    id: str
    rows: list[dict[str, Any]]
    queued_at: float
    size: int = 0
    polls: int = 0
    done: bool = False
    success: list[str] = field(default_factory=list)
    failure: list[str] = field(default_factory=list)


def _refused(reasons: list[Any], message: str = NOT_QUEUED) -> Reply:
    return Reply(400, {"success": 0, "message": message, "failureReasons": reasons})


class ImportBook:
    """The queued and finished imports of one emulated account. Called under the emulator's lock."""

    def __init__(
        self,
        emulator: ImportingAccount,
        per_minute: int,
        polls: int,
        delay: float,
        clock: Clock,
    ) -> None:
        self.emu = emulator
        self.polls = polls
        self.delay = delay
        self.clock = clock
        self.window = Quota(per_minute, 60.0, clock)
        self.batches: dict[str, Import] = {}

    def clear(self) -> None:
        self.batches.clear()
        self.window.clear()

    def view(self) -> dict[str, Any]:
        return {
            b.id: {
                "status": "completed" if b.done else "queued",
                "contacts": b.size,
                "success": list(b.success),
                "failure": list(b.failure),
            }
            for b in self.batches.values()
        }

    # -- the two endpoints ----------------------------------------------------------------
    def submit(self, body: Any) -> Reply:
        if self.emu.enforce_rate_limits and self.window.admit() is not None:
            return _refused([TOO_MANY], "Rate limit exceeded.")
        rows = body.get("contacts") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not rows:
            return _refused(["'contacts' is a required field and must be a non-empty array."])
        if len(rows) > IMPORT_MAX:
            return _refused(
                [
                    f"Up to {IMPORT_MAX} contacts may be included in a single request; "
                    f"this one has {len(rows)}."
                ]
            )
        reasons = [
            {"contact": index, "failureReason": why}
            for index, row in enumerate(rows)
            if (why := self._problem(row)) is not None
        ]
        if reasons:
            return _refused(reasons)
        batch = Import(self.emu.new_batch_id(), [dict(r) for r in rows], self.clock(), len(rows))
        self.batches[batch.id] = batch
        body = {
            "Success": 1,
            "queued_contacts": len(rows),
            "batchId": batch.id,
            "message": "Contact import queued",
        }
        return Reply(200, body)

    def info(self, batch_id: str | None) -> Reply:
        if not batch_id:
            return Reply(400, {"success": 0, "message": "'batchId' is a required field."})
        batch = self.batches.get(batch_id)
        if batch is None:
            return Reply(404, {"message": f"No Result found for Import with id {batch_id}"})
        batch.polls += 1
        self.tick()
        if not batch.done:
            return Reply(body={"status": "queued", "success": [], "failure": []})
        return Reply(
            body={
                "status": "completed",
                "success": list(batch.success),
                "failure": list(batch.failure),
            }
        )

    # -- validation and processing --------------------------------------------------------
    def _problem(self, row: Any) -> str | None:
        """Why this contact refuses the payload, or None."""
        if not isinstance(row, dict):
            return "Contact must be an object"
        if not EMAIL.match(str(row.get("email") or "").strip()):
            return "Field 'email' incorrect format"
        tags = row.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            return "Field 'tags' must be an array of tag names"
        for item in row.get("fields") or []:
            field_id = item.get("id") if isinstance(item, dict) else item
            if not isinstance(item, dict) or str(field_id) not in self.emu.fields:
                return f"Custom field {field_id!r} does not exist"
            if "value" not in item:
                return f"Custom field {item['id']} needs a value"
            kind = self.emu.field_types.get(str(field_id), "text")
            why = field_value_problem(kind, str(item["value"]))
            if why is not None:
                return f"Custom field {field_id}: {why}"
        for key in ("subscribe", "unsubscribe"):
            for item in row.get(key) or []:
                list_id = str(item.get("listid")) if isinstance(item, dict) else None
                if list_id not in self.emu.lists:
                    return f"Field '{key}': list {list_id!r} does not exist"
        return None

    def tick(self) -> None:
        """Apply every queued import whose polls and delay are done, oldest first."""
        now = self.clock()
        for batch in self.batches.values():
            if not batch.done and batch.polls >= self.polls and now - batch.queued_at >= self.delay:
                self._apply(batch)

    def _apply(self, batch: Import) -> None:
        emu = self.emu
        for row in batch.rows:
            email = str(row["email"]).strip()
            if email.lower() in emu.faults.reject:
                batch.failure.append(email)
                continue
            fields = {str(f["id"]): str(f["value"]) for f in row.get("fields") or []}
            contact, _ = emu.upsert(
                email,
                first_name=row.get("first_name"),
                last_name=row.get("last_name"),
                phone=row.get("phone"),
                fields=fields,
            )
            for name in row.get("tags") or []:  # add-only: tags are never removed here
                emu.associate(contact.id, emu.tag_named(name.strip()))
            for item in row.get("subscribe") or []:
                key = (contact.id, str(item["listid"]))
                if emu.statuses.get(key) != 2:  # never re-subscribes an unsubscribe
                    emu.statuses[key] = 1
            for item in row.get("unsubscribe") or []:
                emu.statuses[(contact.id, str(item["listid"]))] = 2
            if contact.id not in batch.success:
                batch.success.append(contact.id)
        batch.done = True
        batch.rows = []
