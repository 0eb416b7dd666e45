"""The long-running worker: runs each segment's sync on its schedule (see ``syncer schedule``)."""

from __future__ import annotations
