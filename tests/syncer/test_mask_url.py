"""Passwords never reach a message: in the user info, in query parameters, in raw strings."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping

import pytest
from sqlalchemy.engine import make_url

from syncer.cli.main import main
from syncer.db import mask_url
from syncer.observe.logs import JsonFormatter
from syncer.schedule import SyncScheduler

CASES = [
    ("mysql+pymysql://root:s3cret@db/x", "mysql+pymysql://root:***@db/x"),
    ("postgresql://:s3cret@db/x", "postgresql://:***@db/x"),
    ("postgresql://u:p@ss/w0rd@db/x", "postgresql://u:***@db/x"),
    ("postgresql+psycopg://u@h/db?password=s3cret", "postgresql+psycopg://u@h/db?password=***"),
    ("postgresql://u@h/db?sslmode=require&PASSWORD=s3cret", "postgresql://u@h/db?sslmode=require&PASSWORD=***"),
    ("mysql://u@h/db?pwd=s3cret&charset=utf8mb4", "mysql://u@h/db?pwd=***&charset=utf8mb4"),
    ("mysql://u@h/db?passwd=s3cret", "mysql://u@h/db?passwd=***"),
    ("mysql://u@h/db?pass=s3cret", "mysql://u@h/db?pass=***"),
    ("x://h/db?Secret=s3cret;token=s3cret", "x://h/db?Secret=***;token=***"),
    ("x://h/db?api_key=s3cret&apiKey=s3cret&access_token=s3cret", "x://h/db?api_key=***&apiKey=***&access_token=***"),
    ("x://h/db?key=s3cret#frag", "x://h/db?key=***#frag"),
    ("sqlite:///var/syncer.db?password=s3cret", "sqlite:///var/syncer.db?password=***"),
    # raw strings SQLAlchemy cannot parse, and text holding a URL
    ("postgresql://u:s3cret@h:notaport/db", "postgresql://u:***@h:notaport/db"),
    ("host=h user=u password=s3cret dbname=x", "host=h user=u password=*** dbname=x"),
    ("host=h password='s3 cret' dbname=x", "host=h password=*** dbname=x"),
    ("url 'mysql://u@h/x?password=s3cret': refused", "url 'mysql://u@h/x?password=***': refused"),
    ("url 'mysql://u@h/x?password=s3:cr,et' refused", "url 'mysql://u@h/x?password=***' refused"),
    # nothing secret: unchanged
    ("postgresql+psycopg://u@h:5432/db?sslmode=require", "postgresql+psycopg://u@h:5432/db?sslmode=require"),
    ("password authentication failed for user u", "password authentication failed for user u"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "masked"), CASES)
def test_mask_url_masks_every_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert "s3" not in mask_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:s3cret@h/db?password=s3cret",
        "mysql+pymysql://u@h/db?charset=utf8mb4&Pwd=s3cret",
    ],
)
def test_mask_url_of_a_parsed_url(url: str) -> None:
    masked = mask_url(make_url(url))
    assert "s3cret" not in masked and "***" in masked and "@h/db" in masked


UNREACHABLE = [
    "postgresql+psycopg://u@127.0.0.1:1/nope?password=s3cret",
    "mysql+pymysql://root@127.0.0.1:1/nope?password=s3cret",
    "postgresql+psycopg://u:s3cret@127.0.0.1:notaport/nope",
]
COMMANDS = [["db", "current"], ["db", "upgrade"], ["runs"], ["data", "generate", "-n", "1"]]


@pytest.mark.parametrize("url", UNREACHABLE)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_unreachable_database_with_a_password_prints_one_line_without_it(
    url: str, command: list[str], as_json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--database-url", url, *command, *(["--json"] if as_json else [])])
    out, err = capsys.readouterr()
    assert code == 2
    assert "s3cret" not in out + err
    assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "***" in err


def test_a_crashed_scheduled_run_logs_no_password(caplog: pytest.LogCaptureFixture) -> None:
    def crash(name: str, stop: threading.Event) -> Iterator[Mapping[str, object]]:
        raise RuntimeError("cannot reach postgresql://u:s3cret@h/db?token=s3cret")

    sched = SyncScheduler(lambda: {}, crash, [])
    with caplog.at_level(logging.INFO, logger="syncer.schedule"):
        sched._run("VIP")
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert json.loads(lines[0])["event"] == "run_crashed"
    text = "\n".join(lines)
    assert "s3cret" not in text and "postgresql://u:***@h/db" in text
