"""What every handler reads from ``request.app.state.web``: ``web(request)``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from starlette.requests import HTTPConnection

from syncer.db import make_engine
from syncer.settings import Settings
from syncer.web.auth import Users
from syncer.web.segment_files import SegmentFiles

if TYPE_CHECKING:
    from syncer.schedule import SyncScheduler
    from syncer.web.jobs import Jobs


@dataclass
class WebContext:
    """Settings and environment (as the CLI reads them), the users, the background runs, and
    the worker's scheduler when one runs in this process (``/healthz`` reports its heartbeat)."""

    settings: Settings
    env: Mapping[str, str]
    users: Users
    jobs: Jobs
    scheduler: SyncScheduler | None = None
    as_of: datetime | None = None  # segments evaluated as of this moment (``--as-of``), not now

    def now(self) -> datetime:
        """The moment segments are evaluated at: ``as_of`` when given, else the current time
        (runs, schedules and STALE marks always use the current time)."""
        return self.as_of if self.as_of is not None else datetime.now(UTC)

    @cached_property
    def segment_files(self) -> SegmentFiles:
        """The folder's segment files, each parsed once while unchanged (the builder's drafts
        are checked against them on every edit)."""
        return SegmentFiles()

    @cached_property
    def commerce(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def state(self) -> Engine:
        url = self.settings.effective_state_url
        return self.commerce if url == self.settings.database_url else make_engine(url)

    def close(self) -> None:
        for name in ("commerce", "state"):
            engine = self.__dict__.pop(name, None)
            if engine is not None:
                engine.dispose()


def web(conn: HTTPConnection) -> WebContext:
    context: WebContext = conn.app.state.web
    return context
