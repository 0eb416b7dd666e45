from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from syncer.sync.engine import SyncEngine
from tests.sync.fakes import FakeClock, FakeProvider, Shop


@pytest.fixture
def shop(engine: Engine) -> Shop:
    return Shop(engine)


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider(batch_size=3)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_engine(engine: Engine, clock: FakeClock) -> Callable[..., SyncEngine]:
    def build(provider: FakeProvider, **kw: object) -> SyncEngine:
        options: dict[str, object] = {"clock": clock, "confirm_wait": 0.0, "page_size": 4}
        options.update({"commerce": engine, "state": engine})
        options.update(kw)
        return SyncEngine(
            providers=lambda _profile: provider,
            **options,  # type: ignore[arg-type]
        )

    return build
