"""Config files read and written as round-trip YAML: comments, key order and quoting kept,
written atomically (a temporary file in the same folder, then renamed) so the CLI and the
worker never read half a file."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter

from syncer.errors import ConfigError

_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()


class _Representer(RoundTripRepresenter):
    """Quotes every new string that PyYAML (YAML 1.1, what the loaders read files with) would
    take for another type: ``NO`` (Norway) or ``on`` stay text, not booleans; ``1:20`` stays
    text, not 80. ruamel alone quotes by YAML 1.2's rules only."""

    def represent_str(self, data: str) -> ScalarNode:
        tag = _RESOLVER.resolve(yaml.ScalarNode, data, (True, False))  # type: ignore[no-untyped-call]
        node: ScalarNode = (
            self.represent_scalar(_STR, data, style="'")
            if tag != _STR
            else super().represent_str(data)
        )
        return node


_Representer.add_representer(str, _Representer.represent_str)


def _yaml() -> YAML:
    rt = YAML()  # the same layout as `syncer segments copy`
    rt.Representer = _Representer
    rt.preserve_quotes = True
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.width = 100
    return rt


def load(path: Path) -> Any:
    try:
        return _yaml().load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as err:
        raise ConfigError(f"cannot read the file: {err}", where=str(path)) from None


def dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        raise ConfigError(
            f"cannot write the file: {err.strerror or err}", where=str(path)
        ) from None
