from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncer.demo import main


def test_demo_counts_and_describes_each_segment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "config" / "segments"
    folder.mkdir(parents=True)
    rule = {"field": "orders", "op": "ge", "value": 1}
    (folder / "buyers.yaml").write_text(yaml.safe_dump({"name": "Buyers", "rules": rule}))
    args = ["--customers", "200", "--database", str(tmp_path / "demo.db")]
    args += ["--config-dir", str(tmp_path / "config")]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Buyers" in out and "Customers who placed at least 1 order" in out
    assert "200 customers" in out
    assert main(args) == 0  # a second run replaces the data instead of failing


def test_demo_reports_a_bad_segment_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "segments"
    folder.mkdir()
    (folder / "bad.yaml").write_text("name: Bad\nrules: {field: orders, op: has}\n")
    args = ["--customers", "10", "--database", str(tmp_path / "d.db")]
    code = main([*args, "--config-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "bad.yaml" in err and len(err.strip().splitlines()) == 1
