"""The Magento 2 preset over real Magento tables, filled from the sample shop by the
translator: every example segment whose fields the preset offers gives exactly the native
members (by email)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from syncer.sample.platforms.magento import OTHER_WEBSITE, STORE, WEBSITE, write_magento2
from syncer.sample.shop import generate
from syncer.source.load import source_from
from syncer.source.model import parse_source
from syncer.source.tables import Source
from tests.source.test_woocommerce import AS_OF, compare


def _source(**options: object) -> Source:
    spec = parse_source({"preset": "magento2", "options": options}, where="source.yaml")
    return source_from(spec, "source.yaml")


@pytest.mark.parametrize("db_url", ["sqlite", "mariadb"], indirect=True)
def test_magento2_preset_gives_the_native_members(engine: Engine) -> None:
    generate(engine, customers=400, seed=11, as_of=AS_OF)
    write_magento2(engine)
    counts = compare(engine, _source(website_id=WEBSITE, store_id=STORE))
    print("magento2", counts)
    assert len(counts) >= 8 and sum(counts.values()) > 0
    assert "Abandoned cart" in counts  # carts are quotes


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_magento2_other_website_counts_only_when_picked(engine: Engine) -> None:
    generate(engine, customers=60, seed=11, as_of=AS_OF)
    write_magento2(engine)
    with pytest.raises(AssertionError):  # every website: its big order makes a VIP more
        compare(engine, _source(store_id=STORE))
    with pytest.raises(AssertionError):  # the other website alone: another shop
        compare(engine, _source(website_id=OTHER_WEBSITE, store_id=STORE))


def test_magento2_absent_tables_say_why() -> None:
    source = _source()
    assert "visits" in str(source.missing("visits"))
    assert source.missing("consent") is None
