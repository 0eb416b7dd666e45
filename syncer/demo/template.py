"""The demo's segment made from a template: the same call as ``syncer segments new``, into a
copy of the demo's config (``var/demo-template-config``), then counted like the example segments.

    config, copy = Path("var/demo-config"), Path("var/demo-template-config")
    made = segment_from_template(engine, config, copy, as_of)
    made.name, made.segments[made.name]     # the segment, among the config's others

``TEMPLATE_SEGMENT`` is its name; ``syncer --config-dir var/demo-template-config ...`` reaches
it from the command line after ``make demo``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from syncer.segments.compiler import count_query
from syncer.segments.create import new_from_template
from syncer.segments.describe import describe
from syncer.segments.loader import SegmentSet, load_segments

TEMPLATE = "time-to-reorder"
TEMPLATE_VALUES = {"product": "Espresso Beans", "days": "45"}
TEMPLATE_SEGMENT = "Espresso Beans, time to re-order"


@dataclass(frozen=True)
class TemplateSegment:
    name: str
    template: str
    values: dict[str, str]
    path: Path
    config_dir: Path
    segments: SegmentSet  # the config copy's segments, this one included
    count: int
    sentence: str


def segment_from_template(
    engine: Engine, config_dir: Path, workdir: Path, as_of: datetime
) -> TemplateSegment:
    """``TEMPLATE_SEGMENT`` made from ``TEMPLATE`` in a fresh copy of ``config_dir`` at
    ``workdir`` (replaced on every run), and its count as of ``as_of``."""
    if workdir.resolve() != config_dir.resolve():  # the demo's own config: made in place
        if workdir.exists():
            shutil.rmtree(workdir)
        shutil.copytree(config_dir / "segments", workdir / "segments")
        if (config_dir / "profiles.yaml").is_file():
            shutil.copy2(config_dir / "profiles.yaml", workdir / "profiles.yaml")
    created = new_from_template(workdir / "segments", TEMPLATE_SEGMENT, TEMPLATE, TEMPLATE_VALUES)
    segments = load_segments(workdir / "segments")
    segment = segments[TEMPLATE_SEGMENT]
    with engine.connect() as conn:
        count = int(conn.execute(count_query(segment, segments, as_of=as_of)).scalar_one())
    return TemplateSegment(
        TEMPLATE_SEGMENT, TEMPLATE, dict(TEMPLATE_VALUES), created.path, workdir, segments, count,
        describe(segment),
    )  # fmt: skip
