"""`make demo` shows one segment made from a template (the call `syncer segments new` makes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syncer.demo.run import main
from syncer.demo.template import TEMPLATE_SEGMENT
from syncer.segments.loader import load_segments

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_demo_makes_a_segment_from_a_template_and_counts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--customers", "300", "--database", str(tmp_path / "demo.db"), "--no-sync"]
    assert main([*args, "--config-dir", str(CONFIG)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    found = re.search(
        rf"from a template: {re.escape(TEMPLATE_SEGMENT)} .*?: ([\d,]+) customers", out
    )
    assert found, out[-800:]
    assert int(found.group(1).replace(",", "")) > 0
    copy = tmp_path / "demo-template-config" / "segments"  # beside the database, apart from CONFIG
    assert (
        load_segments(copy)[TEMPLATE_SEGMENT].source
        == copy / "espresso-beans-time-to-re-order.yaml"
    )
    assert not (CONFIG / "segments" / "espresso-beans-time-to-re-order.yaml").exists()
    assert main([*args, "--config-dir", str(CONFIG)]) == 0  # a second run starts afresh
