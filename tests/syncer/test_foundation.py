from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

from syncer.cli.main import main
from syncer.db import make_engine, mask_url
from syncer.errors import DatabaseError
from syncer.schema import COMMERCE_TABLES, create_commerce_schema


def test_commerce_schema_creates_every_table_and_index(engine: Engine) -> None:
    create_commerce_schema(engine)
    insp = inspect(engine)
    names = set(insp.get_table_names())
    assert {t.name for t in COMMERCE_TABLES} <= names
    order_indexes = {ix["name"] for ix in insp.get_indexes("orders")}
    assert "ix_orders_customer_placed" in order_indexes
    create_commerce_schema(engine)  # idempotent


def test_unreachable_database_is_one_line_error() -> None:
    with pytest.raises(DatabaseError) as info:
        make_engine("postgresql+psycopg://u:secret@127.0.0.1:1/nope")
    msg = str(info.value)
    assert "does not answer" in msg and "secret" not in msg and "\n" not in msg


def test_mask_url_hides_password() -> None:
    assert mask_url("mysql+pymysql://root:hunter2@db/x") == "mysql+pymysql://root:***@db/x"


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "syncer" in capsys.readouterr().out


def test_cli_unknown_option_exits_2() -> None:
    assert main(["--no-such-option"]) == 2
