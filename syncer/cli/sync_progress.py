"""`syncer sync`'s live status of one destination, on a terminal only:

    VIP customers → shop-mailchimp/a1b2c3d4e5/vip
      push ━━━━━━━━━━━━━        3,000/7,449  12 calls  1 retry  waiting on Retry-After 7s  0:21

It is redrawn a few times a second (the clock and a Retry-After count down between batches) and
erased when the destination is done; when stderr is not a terminal nothing is drawn at all.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from syncer.sync.engine import Progress, RunProgress


class SyncStatus:
    """The two lines of one destination's run; ``update`` is the engine's progress callback."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.at = RunProgress("starting")
        self.started = time.monotonic()
        self.wait_until = 0.0

    def update(self, progress: RunProgress) -> None:
        self.at = progress
        self.wait_until = time.monotonic() + progress.waiting if progress.waiting else 0.0

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        at, now = self.at, time.monotonic()
        cells: list[RenderableType] = [Text(f"  {at.phase}", style="bold")]
        width = len(at.phase) + 2
        if at.total:
            count = f"{at.done:,}/{at.total:,}"
            cells += [ProgressBar(total=at.total, completed=at.done, width=16), Text(count)]
            width += 18 + len(count)
        facts = [f"{at.calls} call{'s' if at.calls != 1 else ''}"]
        if at.retries:
            facts.append(f"{at.retries} retr{'ies' if at.retries != 1 else 'y'}")
        if self.wait_until > now:
            facts.append(f"waiting on Retry-After {math.ceil(self.wait_until - now)}s")
        elapsed = int(now - self.started)
        facts.append(f"{elapsed // 60}:{elapsed % 60:02d}")
        said = Text("  ".join(facts), style="dim")
        yield Text.from_markup(f"[bold]{escape(self.label)}[/bold]", overflow="fold")
        if width + 1 + len(said) <= options.max_width:
            cells.append(said)  # one line when it fits, else the facts on a line of their own
        row = Table.grid(padding=(0, 1))
        for _ in cells:
            row.add_column(no_wrap=True)
        row.add_row(*cells)
        yield row
        if said not in cells:
            yield Text("  ") + said


@contextmanager
def sync_progress(
    console: Console, label: str, *, enabled: bool = True
) -> Iterator[Progress | None]:
    """The engine's progress callback drawing ``label``'s status on ``console``, or None (and
    nothing drawn) when not ``enabled`` or the console is not a terminal."""
    if not enabled or not console.is_terminal:
        yield None
        return
    status = SyncStatus(label)
    with Live(status, console=console, transient=True, refresh_per_second=4) as live:

        def tell(progress: RunProgress) -> None:
            status.update(progress)
            live.refresh()

        yield tell


class SyncBoard:
    """The statuses of the destinations running at once (``syncer sync --concurrency N``),
    one under the other; each is drawn while its run goes (``track``) and erased when it ends."""

    def __init__(self, live: Live | None) -> None:
        self.live = live
        self._statuses: list[SyncStatus] = []
        self._lock = threading.Lock()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        with self._lock:
            statuses = list(self._statuses)
        yield from statuses

    @contextmanager
    def track(self, label: str) -> Iterator[Progress | None]:
        """The progress callback of ``label``'s run (None when nothing is drawn)."""
        live = self.live
        if live is None:
            yield None
            return
        status = SyncStatus(label)
        with self._lock:
            self._statuses.append(status)

        def tell(progress: RunProgress) -> None:
            status.update(progress)
            live.refresh()

        try:
            yield tell
        finally:
            with self._lock:
                self._statuses.remove(status)
            live.refresh()


@contextmanager
def sync_board(console: Console, *, enabled: bool = True) -> Iterator[SyncBoard]:
    """A board drawing every running destination's status on ``console``; draws nothing when
    not ``enabled`` or the console is not a terminal."""
    if not enabled or not console.is_terminal:
        yield SyncBoard(None)
        return
    board = SyncBoard(None)
    with Live(board, console=console, transient=True, refresh_per_second=4) as live:
        board.live = live
        yield board
