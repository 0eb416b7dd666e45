"""Provider profiles: ``config/profiles.yaml`` (an admin's file; secrets stay in the environment).

    profiles:
      shop-mailchimp:
        provider: mailchimp                 # mailchimp | activecampaign | sendlane
        credentials:
          api_key: ${MAILCHIMP_API_KEY}     # always a ${VAR} reference, never the secret itself
        base_url: ${MAILCHIMP_URL:-}        # optional: another API root (an emulator's)
        options: {}                         # optional: provider settings that are not secret,
                                            # plain values: `batch_size` (1 to the provider's
                                            # maximum: Mailchimp 500, ActiveCampaign 250,
                                            # Sendlane 100); Sendlane's `concurrency` (batches
                                            # in flight, 1 to 4, default 2)

``${VAR}`` must be set; ``${VAR:-default}`` falls back to ``default`` (empty allowed). A literal
credential in the file is refused, so a key never lands in version control. Problems are
reported all at once, one line each, naming the key to fix. ``check_destinations`` checks the
segments' destinations against the profiles (a known profile, an ``on_leave`` its provider can do).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from providers.base import OnLeave, Provider
from providers.errors import AuthenticationFailed, ProviderError
from providers.registry import PROVIDERS, provider_class
from syncer.errors import ConfigError, SyncerError

if TYPE_CHECKING:
    import requests

    from syncer.segments.model import Segment

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class _ProfileFile(BaseModel):
    """One entry as written in the file (before ``${VAR}`` expansion)."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    credentials: dict[str, str]
    base_url: str | None = None
    options: dict[str, str | int | float | bool] = {}

    @field_validator("provider")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PROVIDERS:
            raise ValueError(f"unknown provider {value!r}; use one of: {', '.join(PROVIDERS)}")
        return value


@dataclass(frozen=True)
class Profile:
    """A provider account: which provider, its credentials (resolved), an optional API root."""

    name: str
    provider: str
    credentials: Mapping[str, str] = field(repr=False)
    references: Mapping[str, str]  # credential key -> the ${VAR} text it came from
    base_url: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    source: Path | None = None

    def build(
        self,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Provider:
        """The provider for this account; ConfigError (naming the profile) if it refuses."""
        try:
            cls = provider_class(self.provider)
            provider = cls.from_credentials(
                {**self.options, **self.credentials},
                base_url=self.base_url,
                session=session,
                sleep=sleep,
            )
        except ProviderError as err:
            raise ConfigError(err.message, where=self.where) from err
        size = int(self.options.get("batch_size") or provider.limits.batch_size)
        if size != provider.limits.batch_size:
            provider.limits = replace(provider.limits, batch_size=size)
        return provider

    @property
    def where(self) -> str:
        return f"{self.source or 'profiles.yaml'}: profiles.{self.name}"

    def describe(self) -> dict[str, Any]:
        """What ``syncer profiles list`` shows: references, never values."""
        return {
            "name": self.name,
            "provider": self.provider,
            "base_url": self.base_url,
            "credentials": dict(self.references),
            "options": dict(self.options),
        }


class ProviderFailed(SyncerError):
    """A provider call failed while checking or discovering a profile (exit 1)."""


def provider_failed(profile: Profile, what: str, err: ProviderError) -> ProviderFailed:
    """The one line ``syncer profiles check / discover`` (and the web admin) say."""
    hint = (
        " Check the credentials' environment variables."
        if isinstance(err, AuthenticationFailed)
        else ""
    )
    return ProviderFailed(
        f"profile {profile.name!r} ({profile.provider}): {what} failed: {err}.{hint}"
    )


def expand(text: str, env: Mapping[str, str], where: str) -> str:
    """``text`` with each ``${VAR}`` / ``${VAR:-default}`` replaced from ``env``."""

    def one(match: re.Match[str]) -> str:
        var, default = match.group(1), match.group(2)
        if var in env:
            return env[var]
        if default is not None:
            return default
        raise ConfigError(
            f"environment variable {var} is not set", where=where, hint=f"export {var}=..."
        )

    return REFERENCE.sub(one, text)


def load_profiles(
    path: Path,
    env: Mapping[str, str],
    *,
    resolve: bool = True,
    only: Collection[str] | None = None,
) -> dict[str, Profile]:
    """Every profile of ``path``; one ConfigError listing every problem (one per line).
    ``resolve=False`` checks the file without reading the environment (credentials stay
    ``${VAR}`` text): what ``segments validate`` needs to check destinations. ``only``: just
    these profiles (the others are not read, so an unset variable of a profile the command does
    not use stops nothing)."""
    if not path.exists():
        raise ConfigError(
            "file not found",
            where=str(path),
            hint="create it (see README: Profiles) or point --config-dir at the folder holding it.",
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"not valid YAML{line}", where=str(path)) from err
    entries = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ConfigError(
            "expected a top-level `profiles:` mapping of name -> {provider, credentials}",
            where=str(path),
        )
    problems: list[str] = []
    profiles: dict[str, Profile] = {}
    for name, raw in entries.items():
        if only is not None and str(name) not in only:
            continue
        where = f"{path}: profiles.{name}"
        try:
            profiles[str(name)] = _profile(str(name), raw, env, path, where, resolve)
        except ConfigError as err:
            problems.append(str(err))
    if problems:
        raise ConfigError("; ".join(problems))
    return profiles


def profile_named(path: Path, env: Mapping[str, str], name: str) -> Profile:
    """Profile ``name`` of ``path``, only its credentials resolved (an unset variable of another
    profile does not matter); ConfigError listing the known ones."""
    profiles = load_profiles(path, env, resolve=False)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"unknown profile {name!r} (known: {known})", where=str(path))
    return load_profiles(path, env, only={name})[name]


def _check_url(url: str, where: str) -> None:
    """ConfigError unless ``url`` is an http(s) URL with a host (the value is not echoed: it may
    come from the environment and carry a password)."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigError(
            "must be an http(s) URL with a host",
            where=where,
            hint="write it like https://host/path (an emulator: http://127.0.0.1:PORT/...), "
            "or leave base_url out for the provider's own API.",
        )


def _check_option(cls: type[Provider], key: str, value: str, where: str) -> None:
    """ConfigError unless ``key`` is an option of the provider and ``value`` fits it."""
    if key not in cls.option_keys:
        raise ConfigError(
            f"unknown option {key!r}",
            where=where,
            hint=f"{cls.name} takes: {', '.join(cls.option_keys) or 'no options'}.",
        )
    most = cls.option_max(key)
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise ConfigError(
            f"{key} must be a whole number from 1 to {most} ({cls.name}'s maximum), not {value!r}",
            where=where,
        )


def check_destinations(
    segments: Iterable[Segment], profiles: Mapping[str, Profile], profiles_file: Path
) -> None:
    """Every destination names a profile of ``profiles_file`` and asks its provider only for
    what it can do; ConfigError naming the segment file and ``destinations[i].KEY``."""
    from syncer.segments.model import CsvDestinationConfig  # typing-only import above

    for seg in segments:
        for i, dest in enumerate(seg.destinations):
            if isinstance(dest, CsvDestinationConfig):
                continue  # a file: no profile
            at = f"{seg.source or 'segment ' + repr(seg.name)}: destinations[{i}]"
            profile = profiles.get(dest.profile)
            if profile is None:
                known = ", ".join(sorted(profiles)) or "none"
                raise ConfigError(
                    f"unknown profile {dest.profile!r} (known: {known})",
                    where=f"{at}.profile",
                    hint=f"add it to {profiles_file} or fix the name.",
                )
            supported = provider_class(profile.provider).on_leave_supported
            if OnLeave(dest.on_leave) not in supported:
                raise ConfigError(
                    f"on_leave {dest.on_leave!r} is not possible on {profile.provider} "
                    f"(profile {dest.profile!r})",
                    where=f"{at}.on_leave",
                    hint=f"use {' or '.join(s.value for s in supported)}.",
                )


def _profile(
    name: str, raw: object, env: Mapping[str, str], path: Path, where: str, resolve: bool
) -> Profile:
    if not NAME.match(name):
        raise ConfigError(
            "a profile name is letters, digits, '.', '_' or '-' (max 100)", where=where
        )
    try:
        entry = _ProfileFile.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(first["msg"], where=f"{where}.{loc}" if loc else where) from None
    cls = provider_class(entry.provider)
    missing = [k for k in cls.credential_keys if k not in entry.credentials]
    if missing:
        raise ConfigError(
            f"{entry.provider} needs credentials {', '.join(missing)}",
            where=f"{where}.credentials",
            hint="give each as a ${VAR} reference.",
        )
    extra = [k for k in entry.credentials if k not in cls.credential_keys]
    if extra:
        raise ConfigError(
            f"unknown credential {extra[0]!r}",
            where=f"{where}.credentials.{extra[0]}",
            hint=f"{entry.provider} takes {', '.join(cls.credential_keys)}; remove the others.",
        )
    resolved: dict[str, str] = {}
    for key, text in entry.credentials.items():
        key_where = f"{where}.credentials.{key}"
        if not REFERENCE.fullmatch(text.strip()):
            raise ConfigError(
                "credentials must be ${VAR} references, not literal values",
                where=key_where,
                hint="move the secret to an environment variable and write ${THAT_VAR}.",
            )
        if not resolve:
            resolved[key] = text.strip()
            continue
        resolved[key] = expand(text.strip(), env, key_where)
        if not resolved[key]:
            raise ConfigError("resolves to an empty value", where=key_where)
    base_url = entry.base_url
    if base_url and resolve:
        base_url = expand(base_url, env, f"{where}.base_url")
        if base_url:
            _check_url(base_url.strip(), f"{where}.base_url")
    clash = sorted(set(entry.options) & set(entry.credentials))
    if clash:
        raise ConfigError(
            f"{', '.join(clash)} given both as credential and option", where=f"{where}.options"
        )
    options = {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in entry.options.items()
    }
    for key, value in options.items():
        _check_option(cls, key, value, f"{where}.options.{key}")
    return Profile(
        name=name,
        provider=entry.provider,
        credentials=resolved,
        references=dict(entry.credentials),
        base_url=base_url or None,
        options=options,
        source=path,
    )
