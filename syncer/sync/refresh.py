"""Bring pending changes up to date before an earlier run's outbox is sent again.

An outbox row holds the member as they were when it was written. When a run ended early (a
crash, a kill, a provider outage), the shop may have changed before the next run resends it: the
customer withdrew consent, left the segment, or changed their name or address. Sending the old
row would subscribe someone who no longer consents, or add someone who left. So, page by page,
each pending add/update is compared with the segment's current row for that customer:

- no longer in the segment (or no consent, with ``without_consent: skip``): the row becomes a
  remove of the address it carried (the earlier run may have added it before it stopped; removing
  an address the provider does not have is harmless);
- another address: that row becomes a remove of the old address, and an add of the new one is
  written;
- other names or consent: the row takes the current values.

Removes are left as they are. Only customers with pending rows are read, a page at a time.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select

from providers.batching import chunks
from syncer.state.rows import Planned, dump_values, fold
from syncer.state.store import StateStore
from syncer.sync.diff import Desired
from syncer.sync.members import current_members


def refresh_pending(
    store: StateStore,
    commerce: Engine,
    target_id: int,
    query: Select[Any],
    *,
    without_consent: str,
    now: datetime,
) -> Counter[str]:
    """Rewrite stale pending adds/updates of ``target_id``; returns what changed, by kind."""
    counts: Counter[str] = Counter()
    for rows in chunks(store.outbox(target_id, ("add", "update")), store.page_size):
        ids = [r.customer_id for r in rows if r.customer_id is not None]
        current: dict[int, Desired] = {
            d.customer_id: d for d in current_members(commerce, query, ids)
        }
        to_remove: list[int] = []
        fresh: list[dict[str, Any]] = []
        adds: list[Planned] = []
        for row in rows:
            d = current.get(row.customer_id) if row.customer_id is not None else None
            if d is not None and not d.consent and without_consent == "skip":
                d = None
            if d is None:
                to_remove.append(row.id)
            elif fold(d.email) != fold(row.email):
                to_remove.append(row.id)
                adds.append(Planned("add", d.customer_id, d.email, d.fields_hash, d.first_name,
                                    d.last_name, d.consent, fields=d.fields))  # fmt: skip
            elif (d.email, d.first_name, d.last_name, d.consent, d.fields_hash) != (
                row.email,
                row.first_name,
                row.last_name,
                row.consent,
                row.fields_hash,
            ):
                fresh.append({"oid": row.id, "email": d.email, "first_name": d.first_name,
                              "last_name": d.last_name, "consent": d.consent,
                              "fields_hash": d.fields_hash,
                              "field_values": dump_values(d.fields)})  # fmt: skip
        store.rewrite_pending(to_remove, fresh)
        if adds:
            store.write_plan(target_id, adds, now)
        counts.update(removed=len(to_remove), refreshed=len(fresh), readded=len(adds))
    return counts
