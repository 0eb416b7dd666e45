"""The WooCommerce HPOS preset on MariaDB: each example segment the preset offers, compiled
over the preset, against a hand-written query on the WooCommerce tables
(``bench/sql/woocommerce/<segment>.sql``) returning the same members: the same rows of email,
names and consent, which the sync reads (``_profile.sql`` reads them for the members each file
selects). The preset's consent is the ``newsletter_optin`` meta the sample shop writes.

``python -m bench.woocommerce [--size N] [--repeat R]`` with ``SYNCER_BENCH_MARIADB_URL`` (or
``SYNCER_TEST_MARIADB_URL``) set: the sample shop of N customers and its WooCommerce tables
are written there once (a marker table records seed and size; the same pair reuses them),
then both queries run, checked equal, and are timed; prints the ratios (target: TARGET).
Without a URL it prints that it skipped. ``python -m bench`` runs it too when a URL is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Executable,
    Integer,
    MetaData,
    Table,
    TextClause,
    inspect,
    select,
    text,
)

from bench.data import AS_OF, SEED
from bench.evaluation import example_segments
from bench.handwritten import QUERIES, SQL_DIR, _typed
from syncer.db import make_engine
from syncer.errors import SyncerError
from syncer.sample.platforms.woocommerce import tables, write_woocommerce_hpos
from syncer.sample.shop import generate
from syncer.schema import create_commerce_schema, drop_commerce_schema
from syncer.segments.compiler import members_query
from syncer.source.active import using
from syncer.source.load import source_from
from syncer.source.model import parse_source
from syncer.source.tables import Source

URL_VARS = ("SYNCER_BENCH_MARIADB_URL", "SYNCER_TEST_MARIADB_URL")
PREFIX = "wp_"
TARGET = 1.5  # compiled over the preset / hand-written on the WooCommerce tables
WC_SQL = SQL_DIR / "woocommerce"
CONSENT = "newsletter_optin"  # the usermeta key of the sample shop's marketing consent

_META = MetaData()
MARKER = Table(
    "bench_woocommerce_marker",
    _META,
    Column("seed", Integer, nullable=False),
    Column("customers", Integer, nullable=False),
)


def url() -> str | None:
    return next((os.environ[v] for v in URL_VARS if os.environ.get(v)), None)


def preset() -> Source:
    spec = parse_source(
        {"preset": "woocommerce-hpos", "prefix": PREFIX, "options": {"consent_meta_key": CONSENT}},
        where="bench",
    )
    return source_from(spec, "bench")


def handwritten(name: str, as_of: datetime) -> TextClause | None:
    """The hand-written WooCommerce query for segment ``name`` (None if there is none)."""
    if name not in QUERIES:
        return None
    filename, params = QUERIES[name]
    path = WC_SQL / filename
    if not path.exists():
        return None
    profile = (WC_SQL / "_profile.sql").read_text()
    clause = text(profile.replace("{members}", path.read_text().strip()))
    now = as_of.astimezone(UTC).replace(tzinfo=None)
    values = {k: v for k, v in params(now).items() if k in clause._bindparams}
    return clause.bindparams(*(_typed(k, v) for k, v in values.items()))


def prepare(engine: Engine, size: int) -> None:
    """The sample shop of ``size`` customers and its WooCommerce tables, once per size."""
    with engine.connect() as conn:
        if inspect(conn).has_table(MARKER.name):
            row = conn.execute(select(MARKER)).first()
            if row is not None and (row.seed, row.customers) == (SEED, size):
                return
    print(f"writing {size:,} customers and their WooCommerce tables ...", flush=True)
    tables(PREFIX).drop_all(engine)
    _META.drop_all(engine)
    drop_commerce_schema(engine)
    create_commerce_schema(engine)
    generate(engine, customers=size, seed=SEED, as_of=AS_OF)
    write_woocommerce_hpos(engine, prefix=PREFIX)
    # the planner's statistics of the freshly written tables (the native ones are analysed by
    # generate()): without them MariaDB may plan a query against the empty tables' figures and
    # scan every order item's meta per order (the hand-written Cross sell ran for minutes at
    # 10,000 customers instead of 2 s)
    analyze(engine, tables(PREFIX).sorted_tables)
    _META.create_all(engine)
    with engine.begin() as conn:
        conn.execute(MARKER.insert(), {"seed": SEED, "customers": size})


def analyze(engine: Engine, written: list[Table]) -> None:
    """ANALYZE TABLE over ``written``, as the sample writer does after its own load."""
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ANALYZE TABLE {', '.join(quote(t.name) for t in written)}").all()


Member = tuple[str, str | None, str | None, bool]


def _members(conn: Connection, query: Executable) -> set[Member]:
    """(folded email, first name, last name, consent) of every row ``query`` returns."""
    return {
        (str(r.email).strip().lower(), r.first_name, r.last_name, bool(r.accepts_marketing))
        for r in conn.execute(query)
    }


def _timed(conn: Connection, query: Executable) -> float:
    started = time.perf_counter()
    for _row in conn.execute(query):
        pass
    return time.perf_counter() - started


def run(db_url: str, size: int, *, repeat: int = 3) -> list[dict[str, Any]]:
    """One entry per segment the preset offers: members, both medians (ms), their ratio."""
    engine = make_engine(db_url)
    source = preset()
    segments = example_segments()
    rows: list[dict[str, Any]] = []
    try:
        prepare(engine, size)
        with using(source), engine.connect() as conn:
            for name, seg in segments.items():
                hand = handwritten(name, AS_OF)
                if hand is None:
                    continue
                compiled = members_query(seg, segments, as_of=AS_OF)
                got, want = _members(conn, compiled), _members(conn, hand)
                if got != want:
                    raise SyncerError(
                        f"segment {name!r}: bench/sql/woocommerce differs from the compiled "
                        f"query ({len(got - want)} only compiled, {len(want - got)} only "
                        "hand-written)"
                    )
                c_times, h_times = [], []
                for _ in range(repeat):
                    c_times.append(_timed(conn, compiled))
                    h_times.append(_timed(conn, hand))
                c_med, h_med = statistics.median(c_times), statistics.median(h_times)
                rows.append(
                    {
                        "segment": name,
                        "members": len(got),
                        "compiled_ms": round(c_med * 1000, 1),
                        "handwritten_ms": round(h_med * 1000, 1),
                        "ratio": round(c_med / h_med if h_med > 0 else 1.0, 2),
                    }
                )
    finally:
        engine.dispose()
    return rows


def show(size: int, rows: list[dict[str, Any]]) -> None:
    print(f"WooCommerce HPOS preset on MariaDB, {size:,} customers (target <= {TARGET}x)")
    print(f"{'segment':<28}{'members':>9}{'compiled ms':>13}{'hand ms':>10}{'ratio':>8}")
    for r in rows:
        flag = "" if r["ratio"] <= TARGET else "  over target"
        print(
            f"{r['segment']:<28}{r['members']:>9}{r['compiled_ms']:>13}"
            f"{r['handwritten_ms']:>10}{r['ratio']:>8}{flag}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.woocommerce", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000, help="customers (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query (median)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    db_url = url()
    if db_url is None:
        print(f"woocommerce bench skipped: set {URL_VARS[0]} (a MariaDB URL)")
        return 0
    try:
        show(args.size, run(db_url, args.size, repeat=args.repeat))
    except SyncerError as err:
        print(f"error: {err}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
