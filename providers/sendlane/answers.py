"""The shapes of Sendlane's answers the adapter relies on (see ``providers.shapes``).

Listings answer ``{data: [...], links: {next}, meta}`` (``links.next`` null on the last page);
single objects come as ``{data: {...}}`` (a created tag also bare). An answer without what the
adapter reads is an ``UnexpectedAnswer`` naming the call and the field.
"""

from __future__ import annotations

from typing import Any

from providers.shapes import Email, Id, Shape


class Links(Shape):
    next: str | None = None


class Page(Shape):
    data: list[dict[str, Any]]
    links: Links


class ListTotal(Shape):
    total: int | None = None


class ListsPage(Shape):
    data: list[dict[str, Any]]
    meta: ListTotal | None = None


class Ref(Shape):
    id: Id


class Named(Shape):
    id: Id
    name: str = ""


class TagItem(Named):
    audience_count: int | None = None


class FieldItem(Shape):
    id: Id | None = None
    name: str = ""
    type: str = ""


class Contact(Shape):
    id: Id
    email: Email


class Created(Shape):
    """``POST /tags``: the tag in ``data`` (or bare)."""

    data: Ref


class Found(Shape):
    """``GET /contacts/search``: the contact in ``data`` (an object, or a list of them)."""

    data: Ref | list[Ref]
