from __future__ import annotations

from pathlib import Path

import pytest

from syncer.errors import ConfigError
from syncer.segments.loader import parse_segment


def test_a_message_and_its_hint_read_as_two_clauses() -> None:
    assert str(ConfigError("file not found", where="x.yaml", hint="create it")) == (
        "x.yaml: file not found; create it"
    )
    # a message that already ends its clause keeps its own punctuation
    assert str(ConfigError("--csv a is a folder;", hint="give a file")) == (
        "--csv a is a folder; give a file"
    )


def test_a_rule_error_does_not_run_two_sentences_together(tmp_path: Path) -> None:
    rule = {"field": "created", "op": "within"}
    with pytest.raises(ConfigError) as info:
        parse_segment({"name": "S", "rules": rule}, source="s.yaml")
    assert "needs a window; add e.g." in str(info.value)
