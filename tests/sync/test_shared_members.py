"""A segment evaluated once for several destinations: the copy selects what the query and each
destination's ``require`` select, in the state database, whether it is the commerce one or not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from syncer.db import make_engine
from syncer.segments.columns import require
from syncer.sync.shared_members import materialise
from tests.sync.fakes import Shop, members

AS_OF = datetime(2025, 6, 1, tzinfo=UTC)


def rows(engine: Engine, query: object) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(query))  # type: ignore[call-overload]


@pytest.mark.parametrize("apart", [False, True], ids=["same-database", "state-apart"])
def test_the_copy_selects_each_destinations_members_and_left_out(
    shop: Shop, engine: Engine, tmp_path: Path, apart: bool
) -> None:
    shop.add(30)
    shop.add(5, start=100, card="Silver")
    for i in (2, 5, 9):
        shop.set(i, zip=None if i != 9 else "   ")
    for i in range(1, 31, 2):
        shop.set(i, country="DE")
    state = make_engine(f"sqlite:///{tmp_path / 'state.db'}") if apart else engine
    query = members("Gold")
    needs = [(), ("zip",), ("zip", "country")]
    shared = materialise(
        engine, state, query, requires=needs, as_of=AS_OF, same_db=not apart, page_size=7
    )
    try:
        for names in needs:
            want, want_left = require(query, names, AS_OF)
            got, got_left = shared.members(names)
            assert rows(state, got) == rows(engine, want), names
            if want_left is None:
                assert got_left is None
            else:
                with engine.connect() as a, state.connect() as b:
                    assert b.execute(got_left).scalar() == a.execute(want_left).scalar() > 0
        with state.connect() as conn:
            assert conn.execute(select(func.count()).select_from(shared.table)).scalar() == 30
    finally:
        shared.drop()
        if apart:
            state.dispose()
