"""Baseline: the first sync of "Product on sale" done the naive way, against Syncer's.

The naive script is what one would write without Syncer: load every customer, order, order
line and product into Python, filter there (has orders, never bought the burr grinder in an
order that was not cancelled), then for each consenting member one ``PUT`` of the member
(add-or-update) and one ``POST .../tags`` (a PUT cannot tag) with plain ``requests``, one at a
time. Its member set is checked against the compiled query's before anything is compared.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import text

from bench.data import Database, prepare
from bench.evaluation import MismatchError, example_segments
from bench.runner import Job, sync_once
from syncer.db import make_engine
from syncer.sample.emulated import ACCOUNTS, LocalProviders
from syncer.segments.compiler import members_query

SEGMENT = "Product on sale"
SKU = "EQP-GRN-BUR"
PROVIDER = "mailchimp"


def naive_members(url: str) -> list[dict[str, Any]]:
    """Every table loaded whole, the segment computed in Python."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            customers = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM customers"))]
            orders = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM orders"))]
            lines = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM order_lines"))]
            products = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM products"))]
    finally:
        engine.dispose()
    grinder = {p["id"] for p in products if p["sku"] == SKU}
    status = {o["id"]: o["status"] for o in orders}
    owner = {o["id"]: o["customer_id"] for o in orders}
    buyers = {o["customer_id"] for o in orders}
    bought = {
        owner[line["order_id"]]
        for line in lines
        if line["product_id"] in grinder and status[line["order_id"]] != "cancelled"
    }
    return [c for c in customers if c["id"] in buyers and c["id"] not in bought]


def naive_sync(url: str, api_url: str, tag: str) -> tuple[int, int]:
    """(members sent, calls made): one PUT and one tag POST per consenting member."""
    account = ACCOUNTS[PROVIDER]
    auth = ("anystring", account.credentials["api_key"])
    members = [m for m in naive_members(url) if m["accepts_marketing"]]
    session = requests.Session()
    calls = 0
    for m in members:
        email = m["email"]
        member_url = f"{api_url}/lists/{account.list_id}/members/"
        member_url += hashlib.md5(email.lower().encode()).hexdigest()  # the API's member id
        body = {
            "email_address": email,
            "status_if_new": "subscribed",
            "merge_fields": {"FNAME": m["first_name"] or "", "LNAME": m["last_name"] or ""},
        }
        session.put(member_url, json=body, auth=auth, timeout=30).raise_for_status()
        tags = {"tags": [{"name": tag, "status": "active"}]}
        session.post(member_url + "/tags", json=tags, auth=auth, timeout=30).raise_for_status()
        calls += 2
    session.close()
    return len(members), calls


def check_same_members(url: str, as_of: datetime) -> int:
    segments = example_segments()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = members_query(segments[SEGMENT], segments, as_of=as_of)
            compiled = {row.customer_id for row in conn.execute(query)}
    finally:
        engine.dispose()
    naive = {m["id"] for m in naive_members(url)}
    if naive != compiled:
        raise MismatchError(f"baseline: the naive filter differs from segment {SEGMENT!r}")
    return len(naive)


def run(db: Database, size: int, as_of: datetime) -> dict[str, Any]:
    n = min(size, 10_000)
    url = prepare(db, n)
    check_same_members(url, as_of)
    with LocalProviders([PROVIDER]) as fleet, db.scratch_state("baseline") as state:
        api_url = fleet.api_url(PROVIDER)
        started = time.perf_counter()
        members, naive_calls = naive_sync(url, api_url, "bench-naive")
        naive_seconds = time.perf_counter() - started
        job = Job(url, state, PROVIDER, api_url, SEGMENT, "bench-syncer", as_of=as_of.isoformat())
        ours = sync_once(job)
    return {
        "customers": n,
        "segment": SEGMENT,
        "members": members,
        "naive_seconds": round(naive_seconds, 3),
        "naive_calls": naive_calls,
        "syncer_seconds": ours["seconds"],
        "syncer_calls": ours["api_calls"],
        "syncer_adds": ours["adds"],
        "time_ratio": round(naive_seconds / ours["seconds"], 1) if ours["seconds"] else 0.0,
        "calls_ratio": round(naive_calls / ours["api_calls"], 1) if ours["api_calls"] else 0.0,
    }
