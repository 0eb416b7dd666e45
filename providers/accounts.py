"""From a profile's credentials to a provider's account access, and the answers it gets.

require(cls, credentials, hint)   BadConfiguration naming every missing key of
                                  ``cls.credential_keys`` (never a value), ``hint`` saying
                                  where to find them
whole_number(cls, options, key, default)
                                  an option that must be a whole number >= 1
http_client(cls, root, headers, via, ...)
                                  the ``HttpClient`` of one account of ``cls``: its name, its
                                  limits (or the account's own), the session and sleep of
                                  ``via`` (``Connection``), its error classifier
answer(http, shape, method, path, **kw)
                                  ``http.json``, its answer checked against ``shape``
                                  (UnexpectedAnswer naming the call and the field if not)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from providers.base import Connection, Limits, Provider
from providers.errors import BadConfiguration
from providers.http import Classifier, HttpClient
from providers.shapes import parse

if TYPE_CHECKING:
    pass

T = TypeVar("T")


def require(cls: type[Provider], credentials: Mapping[str, str], hint: str) -> None:
    missing = [k for k in cls.credential_keys if not credentials.get(k)]
    if missing:
        raise BadConfiguration(f"credentials need {', '.join(missing)} ({hint})", provider=cls.name)


def whole_number(cls: type[Provider], options: Mapping[str, str], key: str, default: int) -> int:
    value = str(options.get(key) or default)
    if not value.isdigit() or int(value) < 1:
        raise BadConfiguration(
            f"{key} must be a whole number >= 1, not {value!r}", provider=cls.name
        )
    return int(value)


def http_client(
    cls: type[Provider],
    root: str,
    headers: Mapping[str, str],
    via: Connection,
    *,
    classify: Classifier | None = None,
    limits: Limits | None = None,
) -> HttpClient:
    return HttpClient(
        cls.name,
        root.rstrip("/"),
        headers={**headers, "Accept": "application/json"},
        limits=limits or cls.limits,
        session=via.session,
        sleep=via.sleep,
        classify=classify,
    )


def answer(http: HttpClient, shape: type[T], method: str, path: str, **kw: Any) -> T:
    body = http.json(method, path, **kw)
    return parse(shape, body, provider=http.provider, what=f"{method} {path}")
