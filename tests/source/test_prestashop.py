"""The PrestaShop preset over real PrestaShop tables, filled from the sample shop by the
translator: every example segment whose fields the preset offers gives exactly the native
members (by email), with local times and the reviews module mapped by the admin."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from syncer.sample.platforms.prestashop import ZONE, write_prestashop
from syncer.sample.shop import generate
from syncer.source.load import source_from
from syncer.source.model import parse_source
from syncer.source.tables import Source
from tests.source.test_woocommerce import AS_OF, compare

REVIEWS_MODULE = {
    "model": "SELECT pc.id_product_comment AS id, c.email AS customer_id, "
    "pc.id_product AS product_id, pc.grade AS rating, pc.date_add AS created_at "
    "FROM {prefix}product_comment pc "
    "JOIN {prefix}customer c ON c.id_customer = pc.id_customer AND c.deleted = 0 "
    "WHERE pc.validate = 1 AND pc.deleted = 0"
}


def _source(**extra: Any) -> Source:
    data = {"preset": "prestashop", "prefix": "ps_", **extra}
    return source_from(parse_source(data, where="source.yaml"), "source.yaml")


@pytest.mark.parametrize("db_url", ["sqlite", "mariadb"], indirect=True)
def test_prestashop_preset_gives_the_native_members(engine: Engine) -> None:
    generate(engine, customers=400, seed=11, as_of=AS_OF)
    write_prestashop(engine)
    source = _source(timezone=ZONE, tables={"reviews": REVIEWS_MODULE})
    counts = compare(engine, source)
    print("prestashop", counts)
    assert len(counts) >= 8 and sum(counts.values()) > 0
    assert "Abandoned cart" in counts


def test_prestashop_reviews_absent_unless_mapped() -> None:
    assert "productcomments" in str(_source().missing("reviewed_product"))
    assert _source(tables={"reviews": REVIEWS_MODULE}).missing("reviewed_product") is None
