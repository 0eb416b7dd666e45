"""A shop of its own design mapped by source.yaml gives the same members as the native schema,
on every backend; absent tables give one-line errors; no file keeps the native schema."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.dialects.mysql import mariadb

from syncer.errors import ConfigError, SegmentError
from syncer.sample.shop import generate
from syncer.segments.compiler import members_query
from syncer.segments.loader import SegmentSet, load_segments, parse_segment
from syncer.source.active import using
from syncer.source.check import check_source
from syncer.source.load import load_source, source_from
from syncer.source.model import parse_source
from syncer.source.tables import Source, native_source
from tests.source import shopcopy

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "segments"


def members(engine: Engine, source: Source, name: str, segments: SegmentSet) -> set[str]:
    with using(source), engine.connect() as conn:
        query = members_query(segments[name], segments, as_of=AS_OF)
        return {str(r.email).strip().lower() for r in conn.execute(query)}


def mapped(data: dict[str, object]) -> Source:
    return source_from(parse_source(data, where="source.yaml"), "source.yaml")


def member_ids(engine: Engine, source: Source, rules: dict[str, object]) -> list[int]:
    """The customer ids of a one-segment file with ``rules`` over ``source``, in order."""
    seg = parse_segment({"name": "s", "rules": rules}, source="t")
    with using(source), engine.connect() as conn:
        rows = conn.execute(members_query(seg, {"s": seg}, as_of=AS_OF))
        return sorted(r.customer_id for r in rows)


@pytest.fixture
def shop(engine: Engine) -> Engine:
    generate(engine, customers=300, seed=7, as_of=AS_OF)
    return engine


def test_every_example_segment_same_members_over_the_mapped_copy(shop: Engine) -> None:
    shopcopy.copy_shop(shop)
    segments = load_segments(EXAMPLES)
    source = mapped(shopcopy.mapping())
    sizes = {}
    for name in segments:
        native = members(shop, native_source(), name, segments)
        assert members(shop, source, name, segments) == native, name
        sizes[name] = len(native)
    assert sum(sizes.values()) > 0 and len(sizes) == len(segments)


def test_orders_found_by_folded_email(shop: Engine) -> None:
    """identity: email: orders carry only an email (any case, spaces), yet count."""
    shopcopy.copy_shop(shop, by_email=True)
    segments = load_segments(EXAMPLES)
    source = mapped(shopcopy.mapping(by_email=True))
    compared = 0
    for name, seg in segments.items():
        if any(source.missing(c.field) for c in _conditions(seg, segments)):
            continue
        native = members(shop, native_source(), name, segments)
        assert members(shop, source, name, segments) == native, name
        compared += 1
    assert compared >= 5


def _conditions(seg, segments):  # type: ignore[no-untyped-def]
    from syncer.segments.model import Condition, Group, Not, SegmentRef

    stack = [seg.rules]
    while stack:
        node = stack.pop()
        if isinstance(node, Condition):
            yield node
        elif isinstance(node, Group):
            stack.extend(node.rules)
        elif isinstance(node, Not):
            stack.append(node.rule)
        elif isinstance(node, SegmentRef):
            stack.append(segments[node.segment].rules)


def test_a_guest_and_an_account_with_one_email_are_one_person(engine: Engine) -> None:
    """Accounts plus guest order emails, grouped by folded email: a model for customers."""
    shopcopy.meta.create_all(engine)
    placed = datetime(2026, 2, 1, 10, 0)
    with engine.begin() as conn:
        conn.execute(
            insert(shopcopy.CLIENTS),
            [{"client_no": 1, "mail": "Ann@Example.com", "signed_up": placed, "newsletter": "no"}],
        )
        conn.execute(
            insert(shopcopy.PURCHASES),
            [
                {
                    "purchase_no": n,
                    "client_no": 1 if n == 1 else None,
                    "buyer_mail": mail,
                    "placed": placed,
                    "amount": 10,
                    "refunded": 0,
                    "state": "done",
                }
                for n, mail in (
                    (1, "ann@example.com"),
                    (2, " ANN@example.com"),
                    (3, "bob@example.com"),
                )
            ],
        )
    data = shopcopy.mapping(by_email=True)
    unmapped = dict.fromkeys(("zip", "country", "status", "quality", "loyalty_card"))
    data["tables"]["customers"] = {  # type: ignore[index]
        "model": GUESTS_AND_ACCOUNTS,
        "columns": {**unmapped, "accepts_marketing": {"true_values": ["yes"]}},
    }
    source = mapped(data)
    seg = parse_segment(
        {"name": "s", "rules": {"field": "orders", "op": "ge", "value": 2}}, source="t"
    )
    with using(source), engine.connect() as conn:
        rows = conn.execute(members_query(seg, {"s": seg}, as_of=AS_OF)).all()
    assert [(r.customer_id, r.email.lower()) for r in rows] == [(1, "ann@example.com")]
    seg = parse_segment(
        {"name": "s", "rules": {"field": "orders", "op": "eq", "value": 1}}, source="t"
    )
    with using(source), engine.connect() as conn:
        rows = conn.execute(members_query(seg, {"s": seg}, as_of=AS_OF)).all()
    assert [(r.customer_id, r.email) for r in rows] == [(-3, "bob@example.com")]


# accounts, then guests: one row per folded email; accounts keep their id, guests -first order
GUESTS_AND_ACCOUNTS = """
SELECT COALESCE(MAX(account), -MIN(guest_order)) AS id, MIN(mail) AS email,
       MIN(signed_up) AS created_at, MAX(newsletter) AS accepts_marketing,
       NULL AS first_name, NULL AS last_name
FROM (
  SELECT client_no AS account, NULL AS guest_order, LOWER(TRIM(mail)) AS mail, signed_up,
         newsletter FROM {prefix}clients
  UNION ALL
  SELECT NULL, purchase_no, LOWER(TRIM(buyer_mail)), placed, 'no' FROM {prefix}purchases
  WHERE client_no IS NULL
) people GROUP BY mail
"""


def test_a_field_of_an_absent_table_is_a_one_line_error() -> None:
    data = shopcopy.mapping()
    data["tables"]["visits"] = "absent"  # type: ignore[index]
    source = mapped(data)
    seg = parse_segment(
        {
            "name": "busy",
            "rules": {
                "all": [
                    {"field": "orders", "op": "ge", "value": 1},
                    {"field": "visits", "op": "gt", "value": 3},
                ]
            },
        },
        source="busy.yaml",
    )
    with using(source), pytest.raises(SegmentError) as err:
        members_query(seg, {"busy": seg}, as_of=AS_OF)
    message = str(err.value)
    assert "\n" not in message
    assert "segment 'busy'" in message and "field 'visits'" in message
    assert "visits table" in message and "absent" in message
    assert source.missing("orders") is None
    assert source.missing("preferred_device") is not None


def test_an_unmapped_table_or_unknown_column_is_a_config_error(tmp_path: Path) -> None:
    data = shopcopy.mapping()
    del data["tables"]["visits"]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"visits is not mapped.*visits: absent"):
        mapped(data)
    data = shopcopy.mapping()
    data["tables"]["orders"]["columns"]["placed"] = "x"  # type: ignore[index]
    with pytest.raises(ConfigError, match="'placed' is no column of orders"):
        mapped(data)
    (tmp_path / "source.yaml").write_text(yaml.safe_dump({"prefix": "wp-"}))
    with pytest.raises(ConfigError, match="prefix 'wp-' may hold only"):
        load_source(tmp_path)


def test_no_mapping_file_is_the_native_schema_and_its_sql(tmp_path: Path) -> None:
    source = load_source(tmp_path)
    assert source.tables == native_source().tables
    segments = load_segments(EXAMPLES)
    for name in list(segments)[:6]:
        query = members_query(segments[name], segments, as_of=AS_OF)
        for dialect in (sqlite.dialect(), postgresql.dialect(), mysql.dialect()):
            text = str(query.compile(dialect=dialect))
            assert "FROM customers" in text and "_model" not in text, name


def test_model_sql_values_are_bound_not_spliced() -> None:
    data = shopcopy.mapping()
    data["tables"]["orders"]["columns"]["status"]["values"] = {"it's done": "paid"}  # type: ignore[index]
    source = mapped(data)
    seg = parse_segment(
        {"name": "s", "rules": {"field": "orders", "op": "ge", "value": 1}}, source="t"
    )
    with using(source):
        text = str(members_query(seg, {"s": seg}, as_of=AS_OF).compile(dialect=sqlite.dialect()))
    assert "it's done" not in text and "sh_purchases" in text


def test_normalized_email_is_the_key_as_is_and_has_none_keeps_people_without_one(
    engine: Engine,
) -> None:
    """``normalized: true``: the model's email is the person key unchanged (no folding on top,
    so MariaDB can index it); "has no orders" over an email-keyed source is exact for a person
    without an email too (``person IN (...)``'s negation)."""
    shopcopy.meta.create_all(engine)
    placed = datetime(2026, 2, 1, 10, 0)
    with engine.begin() as conn:
        conn.execute(
            insert(shopcopy.CLIENTS),
            [
                {"client_no": 1, "mail": "Ann@Example.com", "signed_up": placed},
                {"client_no": 2, "mail": None, "signed_up": placed},
                {"client_no": 3, "mail": "cy@example.com", "signed_up": placed},
            ],
        )
        conn.execute(
            insert(shopcopy.PURCHASES),
            [
                {"purchase_no": n, "client_no": c, "buyer_mail": mail, "placed": placed}
                | {"amount": 10, "refunded": 0, "state": "done"}
                for n, c, mail in ((1, 1, " ANN@example.com"), (2, None, "bob@example.com"))
            ],
        )
    data = shopcopy.mapping(by_email=True)
    unmapped = dict.fromkeys(("zip", "country", "status", "quality", "loyalty_card"))
    data["tables"]["customers"] = {  # type: ignore[index]
        "model": GUESTS_AND_ACCOUNTS,
        "columns": {
            **unmapped,
            "email": {"normalized": True},
            "accepts_marketing": {"true_values": ["yes"]},
        },
    }
    source = mapped(data)
    person_sql = str(select(source.customers.c.person).compile(dialect=sqlite.dialect()))
    assert "customers_model.email AS person" in person_sql
    assert member_ids(engine, source, {"field": "orders", "op": "eq", "value": 0}) == [2, 3]
    assert member_ids(engine, source, {"field": "orders", "op": "ge", "value": 1}) == [-2, 1]


def test_an_accented_email_is_another_person_on_every_database(engine: Engine) -> None:
    """The person key compares the folded email's characters exactly, as the native schema and
    Python do: "josé@" is not "jose@" even where the column's collation ignores accents
    (MariaDB's default, where the key is the email's digest: ``syncer/source/person_key.py``)."""
    shopcopy.meta.create_all(engine)
    placed = datetime(2026, 2, 1, 10, 0)
    with engine.begin() as conn:
        conn.execute(
            insert(shopcopy.CLIENTS),
            [
                {"client_no": 1, "mail": "jose@example.com", "signed_up": placed},
                {"client_no": 2, "mail": "josé@example.com", "signed_up": placed},
            ],
        )
        conn.execute(
            insert(shopcopy.PURCHASES),
            [
                {"purchase_no": n, "client_no": None, "buyer_mail": " JOSé@Example.com"}
                | {"placed": placed, "amount": 10, "refunded": 0, "state": "done"}
                for n in (1, 2)
            ],
        )
    source = mapped(shopcopy.mapping(by_email=True))
    assert member_ids(engine, source, {"field": "orders", "op": "ge", "value": 2}) == [2]


@pytest.mark.parametrize(
    ("dialect", "digest"),
    [
        (mysql.dialect(), True),
        (mariadb.MariaDBDialect(), True),
        (postgresql.dialect(), False),
        (sqlite.dialect(), False),
    ],
)
def test_the_person_key_is_a_digest_on_mariadb_only(dialect: Any, digest: bool) -> None:
    """Both sides of every comparison with the person: the customers' key and every other
    table's ``customer_id`` (MariaDB groups and looks up 32 bytes, not a 1,280-byte email)."""
    source = mapped(shopcopy.mapping(by_email=True))
    sql = str(
        select(source.customers.c.person, source.table("orders").c.customer_id).compile(
            dialect=dialect
        )
    )
    assert (sql.count("UNHEX(SHA2(CONVERT(") == 2) is digest, sql
    assert sql.count("lower(trim(") == 2, sql


def test_source_check_samples_show_the_person_as_the_folded_email(shop: Engine) -> None:
    """The samples show what the mapping reads: the person key and the other tables'
    customer_id as the folded email on every database, not the digest MariaDB compares."""
    shopcopy.copy_shop(shop, by_email=True)
    spec = parse_source(shopcopy.mapping(by_email=True), where="source.yaml")
    source = source_from(spec, "source.yaml")
    with shop.connect() as conn:
        report = check_source(conn, spec, source)
    assert report.problems == []
    keys = [r["person"] for r in report.tables["customers"]["sample"]]
    keys += [r["customer_id"] for r in report.tables["orders"]["sample"]]
    assert keys and all(isinstance(k, str) and "@" in k and k == k.strip().lower() for k in keys)
