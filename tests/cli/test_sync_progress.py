"""`syncer sync`'s progress on a terminal: the destination, its phase, members sent of the total,
API calls, retries and a Retry-After being waited on; nothing at all when not a terminal."""

from __future__ import annotations

import io
import re

from rich.console import Console

from syncer.cli.sync_progress import sync_progress
from syncer.sync.engine import RunProgress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def terminal(width: int = 80) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=width, highlight=False), out


def shown(out: io.StringIO) -> str:
    return ANSI.sub("", out.getvalue())


def test_a_terminal_shows_phase_members_sent_of_total_and_calls() -> None:
    console, out = terminal()
    with sync_progress(console, "VIP customers → shop-mailchimp/a1b2c3d4e5/vip") as tell:
        assert tell is not None
        tell(RunProgress("diff"))
        tell(RunProgress("push", 3000, 7449, calls=12, retries=1))
    text = shown(out)
    assert "VIP customers → shop-mailchimp/a1b2c3d4e5/vip" in text
    assert "diff" in text
    assert "push" in text and "3,000/7,449" in text
    assert "12 calls" in text and "1 retry" in text


def test_a_terminal_shows_a_retry_after_being_waited_on() -> None:
    console, out = terminal()
    with sync_progress(console, "VIP → shop-sendlane/9/vip") as tell:
        assert tell is not None
        tell(RunProgress("push", 100, 900, calls=3, retries=2, waiting=30.0))
    assert "waiting on Retry-After 30s" in shown(out)


def test_every_line_fits_80_columns() -> None:
    console, out = terminal(80)
    label = "A segment with a long name → shop-activecampaign/list-with-a-long-id/some-tag"
    with sync_progress(console, label) as tell:
        assert tell is not None
        tell(RunProgress("push", 123456, 654321, calls=1234, retries=56, waiting=59.0))
    lines = [line for line in shown(out).replace("\r", "\n").splitlines() if line.strip()]
    assert lines and max(len(line) for line in lines) <= 80
    assert any("waiting on Retry-After 59s" in line for line in lines)


def test_not_a_terminal_shows_nothing() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=80)
    with sync_progress(console, "VIP → d") as tell:
        assert tell is None
    assert out.getvalue() == ""
