"""`syncer import shopify`: one-line errors (exit 2), skipped rows listed (exit 1), --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncer.cli.main import main

CUSTOMERS = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Tags\n'1,A,B,a@x.io,yes,\n"
)
ORDERS = (
    "Name,Email,Financial Status,Created at,Total,Discount Code,Refunded Amount,Cancelled at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku\n"
    + "".join(
        f"#{n},a@x.io,paid,2026-01-0{1 + n % 9} 10:00:00 +0000,{'x' if n % 2 else '5.00'},"
        ",,,1,Mug,5.00,M\n"
        for n in range(1, 50)
    )
)


def files(tmp_path: Path, customers: str = CUSTOMERS) -> list[str]:
    (tmp_path / "c.csv").write_text(customers, encoding="utf-8")
    (tmp_path / "o.csv").write_text(ORDERS, encoding="utf-8")
    return ["--customers", str(tmp_path / "c.csv"), "--orders", str(tmp_path / "o.csv")]


def run(tmp_path: Path, *args: str) -> int:
    return main(["--database-url", f"sqlite:///{tmp_path / 'shop.db'}", "import", "shopify", *args])


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_missing_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = files(tmp_path)
    args[1] = str(tmp_path / "nope.csv")
    assert run(tmp_path, *args) == 2
    assert "nope.csv: no such file" in one_line(capsys.readouterr().err)


def test_not_utf8_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = files(tmp_path)
    (tmp_path / "c.csv").write_bytes(CUSTOMERS.replace("A,B", "Andr\xe9,B").encode("latin-1"))
    assert run(tmp_path, *args) == 2
    assert "c.csv: line 2: not UTF-8 text" in one_line(capsys.readouterr().err)


def test_not_an_export_names_missing_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, *files(tmp_path, "email,name\n")) == 2
    line = one_line(capsys.readouterr().err)
    assert (
        "not a Shopify customers export: missing columns Accepts Email Marketing, First Name"
        in line.replace("\n", "")
    )


def test_bad_rows_listed_first_20_in_text_all_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = files(tmp_path)
    assert run(tmp_path, *args) == 1
    err = capsys.readouterr().err
    assert "o.csv:2: order #1: Total 'x' is not an amount" in err
    assert (
        sum(x.startswith("skipped ") for x in err.splitlines()) == 20
        and "and 5 more skipped rows" in err
    )
    assert run(tmp_path, *args, "--json") == 1
    out = json.loads(capsys.readouterr().out)
    assert len(out["bad_rows"]) == 25
    orders = out["files"][1]
    assert (orders["rows"], orders["new"], orders["unchanged"], orders["skipped"]) == (
        49,
        0,
        24,
        25,
    )
