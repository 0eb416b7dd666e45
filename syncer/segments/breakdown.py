"""How many customers each condition and each group keeps: where a segment gets empty.

For every node of the rule tree (parents before children) two counts, both computed by the
database from the compiled rule:

* ``alone``: customers that node matches by itself;
* ``running``: for a node inside a group, customers matching it together with the siblings
  above it (AND for ``all``, OR for ``any``). The first ``all`` child whose running count falls
  to 0 is the condition that empties the group.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from syncer.segments.compiler import compile_rule
from syncer.segments.describe import clause
from syncer.segments.model import Group, Not, Rule, Segment
from syncer.source.active import active


@dataclass(frozen=True)
class NodeCount:
    path: str  # rules.all[2].any[0]
    depth: int
    text: str  # the node in plain words
    alone: int
    running: int | None  # with the siblings above it; None for the root and `not` children
    group: str | None  # "all" / "any" of the enclosing group

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _nodes(
    rule: Rule, path: str, depth: int, parent: Group | None, index: int
) -> Iterator[tuple[str, int, Rule, Group | None, int]]:
    yield path, depth, rule, parent, index
    if isinstance(rule, Group):
        for i, child in enumerate(rule.rules):
            yield from _nodes(child, f"{path}.{rule.kind}[{i}]", depth + 1, rule, i)
    elif isinstance(rule, Not):
        yield from _nodes(rule.rule, f"{path}.not", depth + 1, None, 0)


def breakdown(
    conn: Connection, segment: Segment, segments: Mapping[str, Segment], *, as_of: datetime
) -> list[NodeCount]:
    """Counts for every node of ``segment``'s rule tree, in tree order."""
    chain = (segment.name,)

    def where(rule: Rule) -> Any:
        return compile_rule(rule, segments, as_of, chain=chain, source=segment)

    def count(condition: Any) -> int:
        query = select(func.count()).select_from(active().customers).where(condition)
        return int(conn.execute(query).scalar_one())

    out: list[NodeCount] = []
    for path, depth, rule, parent, index in _nodes(segment.rules, "rules", 0, None, 0):
        alone = count(where(rule))
        running: int | None = None
        if parent is not None:
            if index == 0:
                running = alone
            else:
                parts = [where(r) for r in parent.rules[: index + 1]]
                running = count(and_(*parts) if parent.kind == "all" else or_(*parts))
        if isinstance(rule, Group):
            text = f"{rule.kind} of these {len(rule.rules)}:"
        else:
            text = clause(rule).removeprefix("(").removesuffix(")")
        out.append(NodeCount(path, depth, text, alone, running, parent.kind if parent else None))
    return out


def emptied_by(rows: list[NodeCount]) -> NodeCount | None:
    """The first ``all`` child whose running count is 0 while the one above was not."""
    previous: dict[int, int | None] = {}
    for row in rows:
        if row.group == "all" and row.running == 0 and previous.get(row.depth, 1) != 0:
            return row
        previous[row.depth] = row.running
    return None
