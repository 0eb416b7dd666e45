"""The sample shop written as Shopify exports by the translator, imported into a fresh database:
every example segment whose fields the exports carry has exactly the sample shop's members (by
email), on SQLite, PostgreSQL and MariaDB. Segments that need data no export has are listed as
not comparable, with the reason in their test id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from syncer.db import make_engine
from syncer.imports.shopify import NOT_IN_EXPORTS, import_shopify
from syncer.sample.platforms.shopify import write_exports
from syncer.sample.shop import generate
from syncer.segments.compiler import members_query, walk
from syncer.segments.loader import SegmentSet, load_segments
from syncer.segments.model import Condition, Segment, SegmentRef
from tests.dbs import BACKENDS, scratch_database

# One worker runs the whole module (`make test`: --dist loadgroup), so the sample shop and its
# import into each database are made once, not again wherever a test lands.
pytestmark = pytest.mark.xdist_group("shopify-equivalence")
AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SEGMENTS = load_segments(Path(__file__).parents[2] / "config" / "segments")


def fields_of(segment: Segment, segments: SegmentSet) -> set[str]:
    out: set[str] = set()
    for _path, node in walk(segment.rules, "rules"):
        if isinstance(node, Condition):
            out.add(node.field)
        elif isinstance(node, SegmentRef):
            out |= fields_of(segments[node.segment], segments)
    return out


def cases() -> list[object]:
    out: list[object] = []
    for name, segment in SEGMENTS.items():
        missing = sorted(fields_of(segment, SEGMENTS) & set(NOT_IN_EXPORTS))
        if missing:
            reason = f"not comparable: {missing[0]}: {NOT_IN_EXPORTS[missing[0]]}"
            out.append(pytest.param(name, id=f"{name} [{reason}]",
                                    marks=pytest.mark.skip(reason=reason)))  # fmt: skip
        else:
            out.append(pytest.param(name, id=name))
    return out


def emails(engine: Engine, name: str) -> set[str]:
    with engine.connect() as conn:
        query = members_query(SEGMENTS[name], SEGMENTS, as_of=AS_OF)
        return {r.email for r in conn.execute(query)}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("shop")
    engine = make_engine(f"sqlite:///{folder / 'sample.db'}")
    generate(engine, customers=1500, seed=7, as_of=AS_OF)
    return engine, write_exports(engine, folder / "exports")


@pytest.fixture(scope="module", params=BACKENDS)
def imported(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    shop: tuple[Engine, dict[str, Path]],
) -> Iterator[Engine]:
    """The exports imported once per database (the tests only read it)."""
    _sample, files = shop
    with scratch_database(request.param, tmp_path_factory.mktemp("imported")) as url:
        engine = make_engine(url)
        try:
            report = import_shopify(engine, customers=files["customers"], orders=files["orders"],
                                    products=files["products"])  # fmt: skip
            assert report.bad_rows == []
            yield engine
        finally:
            engine.dispose()


@pytest.mark.parametrize("name", cases())
def test_segment_has_the_sample_shops_members(
    name: str, imported: Engine, shop: tuple[Engine, dict[str, Path]]
) -> None:
    expected = emails(shop[0], name)
    assert expected, f"{name} has no members in the sample shop: the comparison proves nothing"
    assert emails(imported, name) == expected


def test_comparable_segments_exist() -> None:
    comparable = [
        n for n, s in SEGMENTS.items() if not fields_of(s, SEGMENTS) & set(NOT_IN_EXPORTS)
    ]
    assert len(comparable) >= 6
