"""Edits the browser makes to the config files, checked by the CLI's own validators before a
byte is written: a profile in profiles.yaml, a destination added to a segment's file.

Names never become paths: a segment's file is the one the segments loader found for that name,
and a profile name must pass ``syncer.profiles.NAME``. Values go in as YAML scalars (ruamel
quotes what needs it), and the result is parsed back and validated, so a name or value cannot
smuggle in YAML of its own.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from providers.registry import PROVIDERS, provider_class
from syncer.errors import ConfigError
from syncer.profiles import NAME, REFERENCE, check_destinations, load_profiles
from syncer.segments.loader import load_segments
from syncer.segments.model import Segment
from syncer.segments.validate import validate_text
from syncer.settings import Settings
from syncer.web import yaml_files

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def check_env_name(key: str, var: str) -> str:
    var = var.strip()
    if not ENV_NAME.match(var):
        # the value is not repeated: it may be the secret itself, pasted in the wrong place
        raise ConfigError(
            f"credential {key}: what was given is not an environment variable name",
            hint="give the NAME of the variable holding the secret (letters, digits, _), "
            "never the secret itself.",
        )
    return var


def save_profile(
    settings: Settings,
    env: Mapping[str, str],
    name: str,
    provider: str,
    variables: Mapping[str, str],
    base_url: str = "",
) -> None:
    """Add or update profile ``name``: ``variables`` maps each credential key to the NAME of
    the environment variable holding it (written as ``${NAME}``). Options and comments of an
    existing entry are kept."""
    name = name.strip()
    if not NAME.match(name):
        raise ConfigError(
            "a profile name is letters, digits, '.', '_' or '-' (max 100)",
            where=f"{settings.profiles_file}: profiles.{name[:100]}",
        )
    if provider not in PROVIDERS:
        raise ConfigError(f"unknown provider {provider!r}; use one of: {', '.join(PROVIDERS)}")
    keys = provider_class(provider).credential_keys
    refs = {k: "${" + check_env_name(k, variables.get(k, "")) + "}" for k in keys}
    path = settings.profiles_file
    data = yaml_files.load(path) if path.exists() else None
    if not isinstance(data, CommentedMap):
        data = CommentedMap()
    entries = data.get("profiles")
    if not isinstance(entries, CommentedMap):
        entries = data["profiles"] = CommentedMap()
    entry = entries.get(name)
    if not isinstance(entry, CommentedMap):
        entry = entries[name] = CommentedMap()
    entry["provider"] = provider
    creds = entry.get("credentials")
    if not isinstance(creds, CommentedMap):
        creds = entry["credentials"] = CommentedMap()
    for key in [k for k in creds if k not in refs]:
        del creds[key]
    for key, ref in refs.items():
        old = REFERENCE.fullmatch(str(creds.get(key, "")).strip())
        if old is None or old.group(1) != ref[2:-1]:  # same variable: its default is kept
            creds[key] = ref
    if base_url.strip():
        entry["base_url"] = base_url.strip()
    else:
        entry.pop("base_url", None)
    text = yaml_files.dump(data)
    _check_profiles(text, path, env, refs.values())
    yaml_files.replace(path, text)


def _check_profiles(text: str, path: Path, env: Mapping[str, str], refs: Iterable[str]) -> None:
    """``text`` loads as profiles.yaml does (the CLI's messages, naming ``path``). Variables
    not set in this process are given a placeholder: only the shape is checked here."""
    placeholders = {r[2:-1]: "placeholder" for r in refs}
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / path.name
        candidate.write_text(text, encoding="utf-8")
        try:
            load_profiles(candidate, {**placeholders, **env})
        except ConfigError as err:
            raise ConfigError(str(err).replace(str(candidate), str(path))) from None


def attach_destination(
    settings: Settings, segment_name: str, profile: str, list_id: str, tag: str
) -> Segment:
    """Append ``{profile, list, tag}`` to the destinations of segment ``segment_name`` (its
    file as the loader found it), checked like ``syncer segments validate``."""
    segments = load_segments(settings.segments_dir)
    segment = segments.get_or_error(segment_name)
    if segment.source is None:
        raise ConfigError(f"segment {segment_name!r} has no file")
    path = Path(segment.source)
    data = yaml_files.load(path)
    if not isinstance(data, CommentedMap):
        raise ConfigError("a segment file must be a mapping with name and rules", where=str(path))
    destinations = data.get("destinations")
    if not isinstance(destinations, CommentedSeq):
        destinations = data["destinations"] = CommentedSeq()
    entry = CommentedMap()
    entry["profile"], entry["list"], entry["tag"] = profile.strip(), list_id.strip(), tag.strip()
    destinations.append(entry)
    text = yaml_files.dump(data)
    checked = validate_text(text, path, settings.segments_dir)
    profiles = load_profiles(settings.profiles_file, {}, resolve=False)
    check_destinations([checked], profiles, settings.profiles_file)
    yaml_files.replace(path, text)
    return checked
