"""One condition -> its SQL test: a built-in field's (``predicates``) or a one-value field's (a
computed built-in or a declared attribute: ``attributes``, which builds on ``predicates``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement

from syncer.segments.attributes import scalar_condition
from syncer.segments.model import Condition, as_utc
from syncer.segments.predicates import field_condition_sql, is_scalar


def condition_sql(cond: Condition, as_of: datetime, negate: bool) -> ColumnElement[bool]:
    """The test for "the customer matches ``cond``" or, with ``negate``, its exact complement."""
    if is_scalar(cond.field):
        return scalar_condition(cond, as_utc(as_of), negate)
    return field_condition_sql(cond, as_of, negate)
