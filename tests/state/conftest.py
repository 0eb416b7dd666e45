"""The engine's fixtures (tests/sync/conftest.py): some state tests fill the tables by syncing."""

from tests.sync.conftest import clock, fake, make_engine, shop

__all__ = ["clock", "fake", "make_engine", "shop"]
