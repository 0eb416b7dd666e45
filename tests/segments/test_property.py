"""Random rule trees over small random data: the SQL members equal the reference's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete

from syncer.schema import COMMERCE_TABLES, create_commerce_schema
from syncer.segments.compiler import members_query
from syncer.segments.model import Segment
from tests.segments.reference import World, evaluate
from tests.segments.worlds import AS_OFS, rules, worlds


def _reset(engine: Engine) -> None:
    create_commerce_schema(engine)
    with engine.begin() as conn:
        for table in reversed(COMMERCE_TABLES):
            conn.execute(delete(table))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    world=worlds(),
    trees=st.lists(rules, min_size=1, max_size=4),
    as_of=st.sampled_from(AS_OFS),
)
def test_sql_matches_reference(
    engine: Engine, world: World, trees: list[Any], as_of: datetime
) -> None:
    _reset(engine)
    world.insert(engine)
    with engine.connect() as conn:
        for tree in trees:
            seg = Segment(name="s", rules=tree)
            got = {row.customer_id for row in conn.execute(members_query(seg, {}, as_of=as_of))}
            assert got == evaluate(tree, world, {}, as_of), (tree, as_of)
