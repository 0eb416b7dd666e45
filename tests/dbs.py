"""Test databases: SQLite always; PostgreSQL and MariaDB when their URLs are in the environment.

SYNCER_TEST_POSTGRES_URL  e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test
SYNCER_TEST_MARIADB_URL   e.g. mysql+pymysql://root@127.0.0.1:3306/test

Without the variable, those tests skip and say which variable to set. With it set, a server that
does not answer fails the test: CI must never pass by skipping. Each use gets a fresh PostgreSQL
schema or MariaDB database, dropped afterwards, so concurrent runs never share tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BACKENDS = ("sqlite", "postgresql", "mariadb")
ENV = {"postgresql": "SYNCER_TEST_POSTGRES_URL", "mariadb": "SYNCER_TEST_MARIADB_URL"}


def server_url(backend: str) -> str:
    """The server URL for ``backend``, or skip the test with the variable to set."""
    var = ENV[backend]
    url = os.environ.get(var)
    if not url:
        pytest.skip(f"{backend} tests skipped: set {var} to run them")
    return url


@contextmanager
def scratch_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database on ``backend``; removed on exit."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'commerce.db'}"
        return
    url = server_url(backend)
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f'CREATE SCHEMA "{name}"'))
            else:
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except Exception as err:  # a set URL that does not answer is a failure, never a skip
        admin.dispose()
        pytest.fail(f"{ENV[backend]}={url} is set but the server does not answer: {err}")
    try:
        if backend == "postgresql":
            scratch = make_url(url).update_query_dict({"options": f"-csearch_path={name}"})
        else:
            scratch = make_url(url).set(database=name)
        yield scratch.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
