"""How ``syncer segments insights`` draws a segment's figures in the terminal: bars for
histograms and top lists, a sparkline (unicode blocks) for the audience over the run history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table

from syncer.segments.insights import Bucket, Insights, Ranked
from syncer.state.history import AudiencePoint

BAR_WIDTH = 30
BLOCKS = "▁▂▃▄▅▆▇█"


def bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    """``value`` as a bar of full blocks, ``width`` wide for ``largest`` (a sliver if > 0)."""
    if largest <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(value / largest * width))


def sparkline(values: Sequence[int]) -> str:
    """One block per value, from the lowest to the highest of ``values``."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return BLOCKS[len(BLOCKS) // 2] * len(values)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[round((v - low) / (high - low) * top)] for v in values)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _bars(title: str, rows: Sequence[tuple[str, int]], whole: int, unit: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, box=None)
    table.add_column(unit, justify="right" if unit else "left")
    table.add_column("members", justify="right")
    table.add_column("share", justify="right")
    table.add_column("")
    largest = max((n for _label, n in rows), default=0)
    for label, n in rows:
        table.add_row(label, f"{n:,}", _share(n, whole), f"[cyan]{bar(n, largest)}[/cyan]")
    return table


def _histogram(title: str, buckets: list[Bucket], whole: int, unit: str) -> Table:
    return _bars(title, [(b.label, b.count) for b in buckets], whole, unit)


def _ranked(title: str, items: list[Ranked], whole: int) -> Table:
    return _bars(title, [(r.name, r.members) for r in items], whole, "")


def _quantiles(values: Mapping[str, int] | None, money: bool = False) -> str:
    if values is None:
        return "-"
    shown = {k: (f"{v / 100:,.2f}" if money else f"{v:,}") for k, v in values.items()}
    return "  ".join(f"{k} {v}" for k, v in shown.items())


def show(console: Console, result: Insights, history: Mapping[str, list[AudiencePoint]]) -> None:
    """Every figure of ``result`` with its chart; ``history``: per destination, oldest first."""
    n = result.size
    console.print(
        f"[b]{result.segment}[/b]: [b]{n:,}[/b] members as of {result.as_of:%Y-%m-%d %H:%M} UTC"
    )
    if n == 0:
        console.print("no members: nothing to show (no quantiles, no top lists)")
        _history(console, history)
        return
    if result.sample is not None:
        console.print(
            f"[yellow]estimated[/yellow]: every figure but the size and the consent is from a "
            f"sample of {result.sample:,} of the {n:,} members, counts scaled up; the quantiles "
            "(min and max too) are the sample's (--exact reads them all)"
        )
    aov = result.average_order_cents
    console.print(
        f"marketing consent {result.consenting:,} ({_share(result.consenting, n)}); "
        f"buyers {result.buyers:,} ({_share(result.buyers, n)}); "
        f"spent {result.spent_cents / 100:,.2f} over {result.paid_orders:,} orders; "
        f"average order value {'-' if aov is None else f'{aov / 100:,.2f}'}"
    )
    console.print(f"spend quantiles:   {_quantiles(result.spend_quantiles, money=True)}")
    console.print(f"orders quantiles:  {_quantiles(result.orders_quantiles)}")
    console.print(f"days since last order (buyers): {_quantiles(result.recency_quantiles)}")
    for table in (
        _histogram("spend (net of refunds)", result.spend_histogram, n, "spent"),
        _histogram("orders", result.orders_histogram, n, "orders"),
        _histogram("days since the last order", result.recency_histogram, n, "days"),
        _ranked("top products (members who bought them)", result.top_products, n),
        _ranked("top collections", result.top_collections, n),
        _ranked("top vendors", result.top_vendors, n),
        _ranked("countries", result.countries, n),
    ):
        console.print()
        console.print(table)
    console.print()
    devices = Table(title="devices (visits)", title_justify="left", show_edge=False, box=None)
    for col in ("device", "members", "share", "visits", ""):
        devices.add_column(col, justify="left" if col in ("device", "") else "right")
    largest = max((d.members for d in result.devices), default=0)
    for d in result.devices:
        devices.add_row(d.device, f"{d.members:,}", _share(d.members, n), f"{d.visits:,}",
                        f"[cyan]{bar(d.members, largest)}[/cyan]")  # fmt: skip
    console.print(devices)
    console.print()
    overlap = Table(title="overlap with the other segments", title_justify="left",
                    show_edge=False, box=None)  # fmt: skip
    for col in ("segment", "also members", "share", ""):
        overlap.add_column(col, justify="left" if col in ("segment", "") else "right")
    for o in result.overlaps:
        if o.members is None:
            overlap.add_row(o.segment, "-", "-", f"[yellow]{o.note}[/yellow]")
        else:
            overlap.add_row(o.segment, f"{o.members:,}", _share(o.members, n),
                            f"[cyan]{bar(o.members, n)}[/cyan]")  # fmt: skip
    console.print(overlap)
    _history(console, history)


def _history(console: Console, history: Mapping[str, list[AudiencePoint]]) -> None:
    console.print()
    if not history:
        console.print("audience over the runs: no runs recorded for this segment")
        return
    console.print("audience on each destination after each run (adds - removes):")
    for destination, points in history.items():
        sizes = [p.audience for p in points]
        first, last = points[0].started_at, points[-1].started_at
        console.print(
            f"  {destination}  {sparkline(sizes)}  {sizes[0]:,} -> {sizes[-1]:,} "
            f"over {len(points)} run(s), {first:%Y-%m-%d} to {last:%Y-%m-%d}"
        )
