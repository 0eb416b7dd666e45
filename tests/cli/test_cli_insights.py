"""`syncer segments insights NAME [--as-of D] [--top N] [--json]` end to end on a sample shop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from syncer.cli.main import main
from syncer.db import make_engine
from syncer.sample.shop import generate
from syncer.state.migrate import ensure_schema
from syncer.state.runs import RunResult, finish_run, start_run
from syncer.state.store import TARGETS

AS_OF = "2026-03-01"
SEGMENTS = {
    "Repeat buyers": {"field": "orders", "op": "ge", "value": 2},
    "Consenting": {"field": "consent", "op": "eq", "value": True},
    "Nobody": {"field": "orders", "op": "gt", "value": 100000},
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A sample shop (300 customers), the segments above, and a state database with 3 runs."""
    root = tmp_path_factory.mktemp("insights")
    url, state = f"sqlite:///{root / 'shop.db'}", f"sqlite:///{root / 'state.db'}"
    engine = make_engine(url)
    generate(engine, customers=300, seed=5, as_of=datetime.fromisoformat(AS_OF))
    engine.dispose()
    folder = root / "config" / "segments"
    folder.mkdir(parents=True)
    for i, (name, rules) in enumerate(SEGMENTS.items()):
        text = yaml.safe_dump({"name": name, "rules": rules})
        (folder / f"s{i}.yaml").write_text(text, encoding="utf-8")
    states = make_engine(state)
    ensure_schema(states)
    with states.begin() as conn:
        target = conn.execute(
            TARGETS.insert().values(
                segment="Repeat buyers", destination="shop/L1/repeat",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        ).inserted_primary_key[0]  # fmt: skip
    for day, (adds, removes) in enumerate([(40, 0), (5, 2), (0, 10)], start=1):
        at = datetime(2026, 2, day, tzinfo=UTC)
        run = RunResult("Repeat buyers", "shop/L1/repeat", started_at=at, finished_at=at)
        run.run_id = start_run(states, run, target_id=target, full=False, owner="test")
        run.outcome, run.adds, run.removes = "ok", adds, removes
        finish_run(states, run)
    states.dispose()
    yield url, state, root / "config"


def run(capsys: pytest.CaptureFixture[str], shop: tuple[str, str, Path], *args: str):
    url, state, config = shop
    code = main(["--database-url", url, "--state-url", state, "--config-dir", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_every_figure_and_the_run_history(capsys, shop) -> None:
    code, out, _ = run(capsys, shop, "segments", "count", "Repeat buyers", "--as-of", AS_OF,
                       "--json")  # fmt: skip
    count = json.loads(out)["count"]
    code, out, err = run(capsys, shop, "segments", "insights", "Repeat buyers", "--as-of", AS_OF,
                         "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["size"] == count > 0
    assert sum(b["count"] for b in data["spend"]["histogram"]) == count
    assert data["orders"]["quantiles"]["min"] == 2
    assert {o["segment"] for o in data["overlaps"]} == {"Consenting", "Nobody"}
    assert [p["audience"] for p in data["history"]["shop/L1/repeat"]] == [40, 43, 33]


def test_terminal_output_draws_charts(capsys, shop) -> None:
    code, out, err = run(capsys, shop, "segments", "insights", "Repeat buyers", "--as-of", AS_OF)
    assert code == 0, err
    for title in ("spend", "orders", "days since the last order", "top products",
                  "countries", "devices", "overlap", "shop/L1/repeat"):  # fmt: skip
        assert title in out
    assert "█" in out  # bars
    assert any(ch in out for ch in "▁▂▃▄▅▆▇")  # the sparkline of the audience over runs


def test_sample_and_exact(capsys, shop) -> None:
    """--sample N under the segment's size estimates (and says so), --exact reads everyone;
    the size and the consent are the whole segment's either way."""
    args = ("segments", "insights", "Repeat buyers", "--as-of", AS_OF)
    code, out, err = run(capsys, shop, *args, "--json", "--sample", "10")
    assert code == 0, err
    sampled = json.loads(out)
    code, out, err = run(capsys, shop, *args, "--json", "--exact")
    assert code == 0, err
    exact = json.loads(out)
    assert sampled["sample"] == 10 and exact["sample"] is None
    assert (sampled["size"], sampled["consenting"]) == (exact["size"], exact["consenting"])
    assert sum(b["count"] for b in sampled["orders"]["histogram"]) == exact["size"]
    code, out, err = run(capsys, shop, *args, "--sample", "10")
    assert code == 0 and "sample of 10 of the" in out and "--exact" in out
    code, out, err = run(capsys, shop, *args)
    assert code == 0 and "sample of" not in out  # the default sample is larger than this shop
    code, out, err = run(capsys, shop, *args, "--sample", "0")
    assert code == 2 and "'--sample'" in err and "Traceback" not in err
    code, out, err = run(capsys, shop, *args, "--sample", "10", "--exact")
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "--sample and --exact" in lines[0]


def test_empty_segment_has_no_quantiles(capsys, shop) -> None:
    code, out, err = run(capsys, shop, "segments", "insights", "Nobody", "--as-of", AS_OF, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["size"] == 0 and data["spend"]["quantiles"] is None
    assert data["average_order_value"] is None and data["history"] == {}
    code, out, err = run(capsys, shop, "segments", "insights", "Nobody", "--as-of", AS_OF)
    assert code == 0 and "no members" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["No such"], "no segment named"),
        (["Nobody", "--as-of", "yesterday"], "is not a date"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, shop, args, needle) -> None:
    code, _out, err = run(capsys, shop, "segments", "insights", *args)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    assert needle in lines[0].lower()
