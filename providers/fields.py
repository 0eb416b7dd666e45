"""Custom-field ids for ``Member.merge_fields``, whose keys may be a field's id or its name
(ActiveCampaign: personalization tag), any case.

``FieldIds(read, ...)``: ``read()`` lists the account's fields as (id, name or None) pairs; it is
called once, when a member first has merge fields. ``values(member)`` is the member's merge
fields keyed by field id; an unknown key is BadConfiguration naming it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from providers.base import Member
from providers.errors import BadConfiguration


class FieldIds:
    def __init__(
        self, read: Callable[[], Iterable[tuple[str, str | None]]], *, provider: str, known_as: str
    ) -> None:
        self.read = read
        self.provider = provider
        self.known_as = known_as  # what a key must be, for the error: "a custom field name or id"
        self._ids: dict[str, str] | None = None  # field id / lower-cased name -> field id
        self._lock = threading.Lock()

    def ids(self) -> dict[str, str]:
        with self._lock:
            if self._ids is None:
                ids: dict[str, str] = {}
                for field_id, name in self.read():
                    ids[field_id] = field_id
                    if name:
                        ids[name.lower()] = field_id
                self._ids = ids
            return self._ids

    def values(self, member: Member) -> dict[str, str]:
        if not member.merge_fields:
            return {}
        ids = self.ids()
        out: dict[str, str] = {}
        for key, value in member.merge_fields.items():
            field_id = ids.get(key.lower())
            if field_id is None:
                raise BadConfiguration(
                    f"merge field {key!r} is not {self.known_as} (see `syncer profiles discover`)",
                    provider=self.provider,
                )
            out[field_id] = value
        return out
