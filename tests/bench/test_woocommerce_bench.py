"""The WooCommerce bench's hand-written queries, at a tiny size on MariaDB, so they cannot drift
from the compiled ones: each must return exactly the compiled query's member rows (email,
names, consent), which ``bench.woocommerce.run`` checks before timing. Never asserts a time.
"""

from __future__ import annotations

from pathlib import Path

from bench import woocommerce
from bench.handwritten import QUERIES
from tests.dbs import scratch_database

SIZE = 300


def test_each_hand_written_query_returns_the_compiled_members(tmp_path: Path) -> None:
    with scratch_database("mariadb", tmp_path) as url:
        rows = woocommerce.run(url, SIZE, repeat=1)
    written = {name for name, (f, _) in QUERIES.items() if (woocommerce.WC_SQL / f).exists()}
    assert len(written) == 8
    assert {r["segment"] for r in rows} == written  # each one compared, none skipped
    # the sample shop gives the order-count segments members even at this size
    assert {r["segment"]: r["members"] for r in rows}["Loyal"] > 0
