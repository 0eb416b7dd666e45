"""The bench's EXPLAIN of a query whose IN list is a bound parameter (the report explains each
miss with it): every value bound, on every database the bench measures."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import column, create_engine, select, table

from bench.evaluation import explain
from tests.dbs import scratch_database


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_explain_binds_each_value_of_an_in_list(backend: str, tmp_path: Path) -> None:
    customers = table("customers", column("id"), column("country"))
    query = select(customers.c.id).where(
        customers.c.country.in_(["DE", "FR", "NL"]), customers.c.id > 3
    )
    with scratch_database(backend, tmp_path) as url:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE customers (id INTEGER, country VARCHAR(2))")
                plan = explain(conn, query)
        finally:
            engine.dispose()
    assert plan, "no plan"
    if backend == "postgresql":  # the plan shows the values it was given
        assert "DE" in " ".join(plan) and "NL" in " ".join(plan), plan
