"""The tag-id cache every adapter keeps, with its recovery from a tag deleted by hand.

``TagIds(find)``: ``get(key)`` is the cached id, else ``find(key)`` (look the tag up, create it
when missing), once per key and process. ``with_tag(key, call)`` runs ``call(tag id)``; when it
fails with an error that says the tag is gone (``gone``, NotFound by default), the id is
forgotten (only if no other batch replaced it meanwhile), the tag found or created again and
``call`` retried once: a second failure is raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from providers.errors import NotFound

K = TypeVar("K")
T = TypeVar("T")


def not_found(err: Exception) -> bool:
    return isinstance(err, NotFound)


class TagIds(Generic[K]):
    def __init__(
        self,
        find: Callable[[K], str],
        *,
        on_forget: Callable[[K], None] | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.find = find
        self.on_forget = on_forget  # also forget what was read with the tag (Mailchimp's list)
        self.ids: dict[K, str] = {}
        self.lock = lock or threading.RLock()  # concurrent batches create a tag only once

    def get(self, key: K) -> str:
        with self.lock:
            if key not in self.ids:
                self.ids[key] = self.find(key)
            return self.ids[key]

    def forget(self, key: K, tag_id: str) -> bool:
        """Drop ``tag_id`` if it is still the cached id of ``key``; True if it was."""
        with self.lock:
            if self.ids.get(key) != tag_id:
                return False
            del self.ids[key]
            if self.on_forget:
                self.on_forget(key)
            return True

    def with_tag(
        self, key: K, call: Callable[[str], T], gone: Callable[[Exception], bool] = not_found
    ) -> T:
        tag_id = self.get(key)
        try:
            return call(tag_id)
        except Exception as err:
            if not gone(err):
                raise
            self.forget(key, tag_id)
        return call(self.get(key))
