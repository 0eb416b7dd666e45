"""The shapes of ActiveCampaign's answers the adapter relies on (see ``providers.shapes``).

Listings answer ``{<key>: [...], meta: {total}}`` (``total`` a numeric string); single objects
come wrapped in their type (``{"contact": {...}}``, ``{"tag": {...}}``). An answer without what
the adapter reads is an ``UnexpectedAnswer`` naming the call and the field.
"""

from __future__ import annotations

from pydantic import Field

from providers.shapes import Email, Id, Shape


class Meta(Shape):
    total: int


class Ref(Shape):
    id: Id


class User(Shape):
    id: Id | None = None
    email: Email
    username: str = ""


class UserAnswer(Shape):
    user: User


class ListItem(Shape):
    id: Id
    name: str = ""


class TagItem(Shape):
    id: Id
    tag: str = ""
    tagType: str = "contact"


class FieldItem(Shape):
    id: Id
    title: str = ""
    type: str = ""
    isrequired: Id = "0"
    perstag: str | None = None


class TagAnswer(Shape):
    tag: Ref


class ContactAnswer(Shape):
    contact: Ref


class Contact(Shape):
    id: Id
    email: Email


class Contacts(Shape):
    contacts: list[Contact]


class Membership(Shape):
    list: Id
    status: Id | None = None


class ContactLists(Shape):
    contactLists: list[Membership]


class ContactTagAnswer(Shape):
    contactTag: Ref


class Association(Shape):
    id: Id
    tag: Id


class ContactTags(Shape):
    contactTags: list[Association]


class ImportStarted(Shape):
    batchId: str = Field(min_length=1)


class ImportStatus(Shape):
    status: str


class ImportResults(Shape):
    """``GET /import/info`` once ``status`` is completed: who was imported, who refused."""

    success: list[Id]
    failure: list[str]
