""" "At least N days since the last order / visit": on PostgreSQL over the native schema an EXISTS
and a NOT EXISTS through the (customer_id, time) index instead of grouping every customer's
rows (``predicates._days_probes``); the same members on every database, at the bound too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.dialects import mysql, postgresql, sqlite

from syncer.schema import CUSTOMERS, VISITS, create_commerce_schema
from syncer.segments.compiler import members_query
from syncer.segments.loader import parse_segment
from syncer.segments.model import Segment

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
QUIET_SINCE = AS_OF - timedelta(days=60)  # "more than 59 days": no visit after this moment
# customer -> visit times (customer 5 never visited)
VISITS_AT: dict[int, list[datetime]] = {
    1: [QUIET_SINCE],  # the last visit exactly at the bound: 60 days
    2: [QUIET_SINCE + timedelta(seconds=1)],  # one second later: 59 days
    3: [QUIET_SINCE - timedelta(days=30), AS_OF + timedelta(days=1)],  # a visit after as-of
    4: [QUIET_SINCE - timedelta(days=90), AS_OF - timedelta(days=1)],  # a recent one too
    5: [],
}


def _segment(rule: dict[str, Any]) -> Segment:
    return parse_segment({"name": "s", "rules": rule}, source="test")


def _members(engine: Engine, rule: dict[str, Any]) -> set[int]:
    with engine.connect() as conn:
        return {r.customer_id for r in conn.execute(members_query(_segment(rule), {}, as_of=AS_OF))}


QUIET = {"field": "days_since_last_visit", "op": "gt", "value": 59}


def test_quiet_customers_are_the_same_on_every_database(engine: Engine) -> None:
    create_commerce_schema(engine)
    created = AS_OF - timedelta(days=400)
    with engine.begin() as conn:
        for cid in VISITS_AT:
            conn.execute(
                insert(CUSTOMERS), {"id": cid, "email": f"c{cid}@x.test", "created_at": created}
            )
        rows = [
            {"customer_id": c, "at": at, "device": "mobile"}
            for c, ts in VISITS_AT.items()
            for at in ts
        ]
        conn.execute(insert(VISITS), rows)
    assert _members(engine, QUIET) == {1, 3}
    # the complement: customers who never visited are in it
    assert _members(engine, {"not": QUIET}) == {2, 4, 5}
    between = {"field": "days_since_last_visit", "op": "between", "value": [30, 60]}
    assert _members(engine, between) == {1, 2}


def _pg(rule: dict[str, Any]) -> str:
    return str(members_query(_segment(rule), {}, as_of=AS_OF).compile(dialect=postgresql.dialect()))


def test_postgresql_probes_the_index_instead_of_grouping() -> None:
    pg = _pg(QUIET)
    assert "GROUP BY" not in pg
    assert "NOT (EXISTS (SELECT 1 \nFROM visits \nWHERE visits.customer_id = customers.id" in pg
    query = members_query(_segment(QUIET), {}, as_of=AS_OF)
    for dialect in (sqlite.dialect(), mysql.dialect()):
        assert "GROUP BY visits.customer_id" in str(query.compile(dialect=dialect))


@pytest.mark.parametrize(
    "rule",
    [
        {"field": "days_since_last_visit", "op": "between", "value": [14, 60]},
        {"field": "days_since_last_visit", "op": "lt", "value": 30},
        {"field": "days_since_last_order", "op": "ne", "value": 7},
    ],
)
def test_other_ranges_stay_grouped_on_postgresql(rule: dict[str, Any]) -> None:
    assert "GROUP BY" in _pg(rule)
