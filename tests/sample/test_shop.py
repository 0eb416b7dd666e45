from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from syncer.cli.main import main
from syncer.db import make_engine
from syncer.errors import ConfigError
from syncer.sample.shop import CARDS, COLLECTIONS, COUPONS, PRODUCTS, VENDORS, generate
from syncer.schema import (
    COMMERCE_TABLES,
    Customer,
    create_commerce_schema,
    drop_commerce_schema,
)

AS_OF = datetime(2026, 3, 1, 12, 0, 0)
N = 400


def naive(value: Any) -> Any:
    """Timestamps as naive UTC (SQLite and MariaDB hand them back without an offset)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every commerce row, ordered by primary key, with booleans as bools."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in COMMERCE_TABLES:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(naive(v) for v in row) for row in rows]
    return out


def regenerate(engine: Engine, seed: int, customers: int = N) -> dict[str, int]:
    drop_commerce_schema(engine)
    create_commerce_schema(engine)
    return generate(engine, customers=customers, seed=seed, as_of=AS_OF)


def test_same_seed_same_rows_and_counts_match(engine: Engine) -> None:
    counts = generate(engine, customers=N, seed=11, as_of=AS_OF)
    first = dump(engine)
    assert {name: len(rows) for name, rows in first.items()} == counts
    assert counts["customers"] == N
    again = regenerate(engine, seed=11)
    assert again == counts
    assert dump(engine) == first
    regenerate(engine, seed=12)
    other = dump(engine)
    assert other["customers"] != first["customers"]
    assert other["orders"] != first["orders"]


def test_same_rows_on_every_backend(engine: Engine, tmp_path: Path) -> None:
    generate(engine, customers=150, seed=5, as_of=AS_OF)
    reference = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        generate(reference, customers=150, seed=5, as_of=AS_OF)
        assert dump(engine) == dump(reference)
    finally:
        reference.dispose()


def _keys_and_indexes(engine: Engine) -> dict[str, tuple[list[Any], list[Any]]]:
    found = inspect(engine)
    return {
        table.name: (
            sorted(str(sorted(ix.items())) for ix in found.get_indexes(table.name)),
            sorted(str(sorted(fk.items())) for fk in found.get_foreign_keys(table.name)),
        )
        for table in COMMERCE_TABLES
    }


def test_indexes_and_foreign_keys_are_rebuilt_after_the_load(engine: Engine) -> None:
    """PostgreSQL loads with them set aside; every database ends with exactly the schema's."""
    create_commerce_schema(engine)
    expected = _keys_and_indexes(engine)
    assert any(indexes and keys for indexes, keys in expected.values())
    generate(engine, customers=40, seed=2, as_of=AS_OF)
    assert _keys_and_indexes(engine) == expected


def test_data_is_shaped_for_segments(engine: Engine) -> None:
    generate(engine, customers=N, seed=3, as_of=AS_OF)
    data = dump(engine)
    customers = data["customers"]
    orders_per = Counter(row[1] for row in data["orders"])
    counts = sorted(orders_per.get(row[0], 0) for row in customers)
    without_orders = sum(1 for c in counts if c == 0)
    assert 0.2 * N < without_orders < 0.8 * N
    assert counts[len(counts) // 2] <= 1  # most customers order at most once
    assert counts[-1] >= 8  # ... and a long tail of loyal buyers
    active = set(orders_per)
    for name in ("visits", "cart_events", "email_events", "customer_tags"):
        active |= {row[1] if name != "customer_tags" else row[0] for row in data[name]}
    assert any(row[0] not in active for row in customers)  # some customers with nothing

    statuses = Counter(row[4] for row in data["orders"])
    assert {"paid", "cancelled", "refunded", "partially_refunded"} <= set(statuses)
    assert {row[6] for row in data["orders"]} - {None} <= set(COUPONS)
    assert any(row[6] for row in data["orders"])
    assert {row[8] for row in customers} - {None} == set(CARDS)
    consent = sum(1 for row in customers if row[9]) / N
    assert 0.55 < consent < 0.85
    assert len({row[1] for row in customers}) == N  # unique emails

    times = [row[2] for row in data["orders"]] + [row[2] for row in data["visits"]]
    times += [row[3] for row in data["email_events"]] + [row[3] for row in data["cart_events"]]
    assert max(times) <= AS_OF
    assert min(times) >= AS_OF - timedelta(days=3 * 365 + 1)
    assert max(times) - min(times) > timedelta(days=2 * 365)
    assert {row[3] for row in data["visits"]} == {"desktop", "mobile", "tablet"}
    assert {row[2] for row in data["email_events"]} == {"open", "click", "conversion"}
    consenting = {row[0] for row in customers if row[9]}
    assert {row[1] for row in data["email_events"]} <= consenting


def test_abandoned_carts_exist(engine: Engine) -> None:
    generate(engine, customers=N, seed=4, as_of=AS_OF)
    data = dump(engine)
    last_order: dict[int, datetime] = {}
    for _id, customer, placed, *_rest in data["orders"]:
        last_order[customer] = max(placed, last_order.get(customer, placed))
    abandoned = [
        row
        for row in data["cart_events"]
        if row[1] not in last_order or row[3] > last_order[row[1]]
    ]
    assert abandoned
    recent = [row for row in abandoned if row[3] > AS_OF - timedelta(days=7)]
    assert recent


def test_catalogue_constants_are_in_the_database(engine: Engine) -> None:
    generate(engine, customers=10, seed=1, as_of=AS_OF)
    data = dump(engine)
    assert sorted(row[1] for row in data["products"]) == sorted(PRODUCTS)
    assert {row[3] for row in data["products"]} == set(VENDORS)
    assert sorted(row[1] for row in data["collections"]) == sorted(COLLECTIONS)
    assert 25 <= len(PRODUCTS) <= 40


def test_new_rows_get_fresh_ids_after_generation(engine: Engine) -> None:
    generate(engine, customers=20, seed=1, as_of=AS_OF)
    table = Customer.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            table.insert().values(email="new@example.com", created_at=AS_OF.replace(tzinfo=UTC))
        )
        new_id = conn.execute(select(table.c.id).where(table.c.email == "new@example.com"))
        assert new_id.scalar_one() == 21


def test_statistics_are_refreshed_for_the_planner(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        generate(engine, customers=30, seed=1, as_of=AS_OF)
        with engine.connect() as conn:
            analysed = conn.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1").scalars()
            assert {"customers", "orders", "order_lines", "visits"} <= set(analysed)
    finally:
        engine.dispose()


def test_postgresql_tables_are_vacuumed_after_the_load(engine: Engine) -> None:
    """Visibility maps set (index-only scans) and statistics there, no vacuum left for later."""
    if engine.dialect.name != "postgresql":
        pytest.skip("VACUUM after the load is PostgreSQL's")
    generate(engine, customers=60, seed=4, as_of=AS_OF)
    with engine.connect() as conn:
        for name in ("customers", "orders", "visits"):
            visible, pages = conn.execute(
                text(
                    "SELECT relallvisible, relpages FROM pg_class WHERE oid = CAST(:t AS regclass)"
                ),
                {"t": name},
            ).one()
            assert pages > 0 and visible == pages, name


def test_refuses_a_database_with_customers(engine: Engine) -> None:
    generate(engine, customers=5, seed=1, as_of=AS_OF)
    with pytest.raises(ConfigError, match="--reset"):
        generate(engine, customers=5, seed=1, as_of=AS_OF)


def test_progress_reports_every_chunk(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    calls: list[tuple[str, int, int]] = []
    try:
        generate(engine, customers=30, seed=1, as_of=AS_OF, progress=lambda *a: calls.append(a))
    finally:
        engine.dispose()
    assert calls[0] == ("customers", 0, 30)
    assert calls[-1] == ("customers", 30, 30)


def test_cli_generate_json_reset_and_errors(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--database-url", sqlite_url, "data", "generate", "--customers", "40"]
    args += ["--seed", "2", "--as-of", "2026-03-01"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"]["customers"] == 40
    assert out["as_of"] == "2026-03-01T00:00:00"

    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--reset" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1

    assert main([*args, "--reset", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["rows"] == out["rows"]
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            table = Customer.__table__  # type: ignore[attr-defined]
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 40
    finally:
        engine.dispose()


def test_cli_bad_as_of_is_one_line(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--database-url", sqlite_url, "data", "generate", "--as-of", "someday"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--as-of" in err and "YYYY-MM-DD" in err
