"""Provider answers checked at the boundary: an adapter settles nothing from an answer that is not
the one the call documents.

    decode(text, ...)     a success body as a JSON object ({} for an empty body), else
                          UnexpectedAnswer (an HTML page, JSON that does not parse, an array)
    parse(shape, data, ...)
                          ``data`` validated as ``shape`` (a ``Shape`` model, ``list[...]`` of
                          them, any type pydantic validates), else UnexpectedAnswer naming the
                          first field that is missing or of the wrong type
    Shape                 base of the answer models: unknown fields are ignored, the fields an
                          adapter relies on are required
    Id, Email             an id (number or string, as providers send either) and a non-empty text

Each provider's models sit next to its adapter (``mailchimp/answers.py``,
``activecampaign/answers.py``, ``sendlane/answers.py``).
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from functools import cache
from typing import Annotated, Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from providers.errors import UnexpectedAnswer

T = TypeVar("T")
Id = int | str
Email = Annotated[str, Field(min_length=1)]
EXCERPT = 60  # characters of a body quoted in an error


class Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def excerpt(text: str) -> str:
    """The start of ``text`` on one line, quoted."""
    flat = " ".join(text.split())
    return repr(flat[:EXCERPT] + ("..." if len(flat) > EXCERPT else ""))


def decode(text: str, *, provider: str, what: str, status: int | None = None) -> dict[str, Any]:
    """A success body as a JSON object; ``{}`` when it is empty."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        if text.lstrip().startswith("<"):
            problem = f"an HTML page, not JSON ({excerpt(text)}); is the base URL right?"
        else:
            problem = f"not JSON ({excerpt(text)})"
        raise UnexpectedAnswer(what, problem, provider=provider, status=status) from None
    return object_of(data, provider=provider, what=what, status=status)


def object_of(data: Any, *, provider: str, what: str, status: int | None = None) -> dict[str, Any]:
    """``data`` (decoded JSON) if it is an object, else UnexpectedAnswer saying what it is."""
    if isinstance(data, dict):
        return data
    kinds = {list: "a JSON array", str: "a JSON string", bool: "a JSON boolean"}
    problem = (
        f"{kinds.get(type(data), 'JSON null' if data is None else 'a JSON number')}, not an object"
    )
    raise UnexpectedAnswer(what, problem, provider=provider, status=status)


@cache
def _adapter(shape: Hashable) -> TypeAdapter[Any]:
    return TypeAdapter(cast(Any, shape))


def parse(shape: type[T], data: Any, *, provider: str, what: str, at: str = "") -> T:
    """``data`` as ``shape``; ``at`` prefixes the field path in the error (a listing's key)."""
    try:
        return _adapter(cast(Hashable, shape)).validate_python(data)  # type: ignore[no-any-return]
    except ValidationError as err:
        raise UnexpectedAnswer(what, _problem(err, at), provider=provider) from None


def _problem(err: ValidationError, at: str) -> str:
    first = err.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in (at, *first["loc"]) if p != "")
    more = err.error_count() - 1
    text = f"{where or 'the answer'}: {first['msg']}"
    return text + (f" (and {more} more)" if more else "")
