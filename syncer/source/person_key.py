"""The person key of a source keyed by email, as each database compares it best.

    person_key(func.lower(func.trim(orders_model.c.billing_email)))

Everywhere but MariaDB and MySQL it is the folded email itself. On MariaDB (and MySQL) it is
the SHA-256 digest of the email's utf8mb4 bytes, ``UNHEX(SHA2(CONVERT(email USING utf8mb4),
256))``: 32 bytes where the email is a ``VARCHAR(320)`` of up to 1,280 bytes. MariaDB holds a
grouping's keys (``GROUP BY customer_id``) and a materialized set (``person IN (...)``) in
temporary tables of fixed-width rows: with the email as the key, the grouping of every order by
person outgrew memory and was written to disk (VIP customers over the WooCommerce preset at
100,000 customers: 1.5 s, with the digest 0.8 s; docs/source.md "Speed on MariaDB"). The digest
compares the folded email's characters exactly, as the native schema and Python do, where the
email compared under the column's case- and accent-insensitive collation; two different emails
sharing a SHA-256 digest is not a case that arises.

Every side of a comparison with ``Source.person`` goes through it: the ``person`` of the
customers model, the ``customer_id`` of every other table, an attribute's ``select:``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.functions import FunctionElement


class person_key(FunctionElement[Any]):
    """``person_key(email)``: the email, or its SHA-256 digest on MariaDB and MySQL."""

    name = "person_key"
    inherit_cache = True


def _inner(element: person_key, compiler: SQLCompiler, **kw: Any) -> str:
    (email,) = element.clauses
    if not isinstance(email, ColumnClause | FunctionElement):  # an operator: keep it together
        email = email.self_group(against=operators.comma_op)
    return str(compiler.process(email, **kw))


@compiles(person_key)
def _as_is(element: person_key, compiler: SQLCompiler, **kw: Any) -> str:
    return _inner(element, compiler, **kw)


@compiles(person_key, "mysql")
@compiles(person_key, "mariadb")
def _digest(element: person_key, compiler: SQLCompiler, **kw: Any) -> str:
    # the digest of the email's utf8mb4 bytes: a column in another character set (an older
    # latin1 table) gives the same digest for the same characters
    return f"UNHEX(SHA2(CONVERT({_inner(element, compiler, **kw)} USING utf8mb4), 256))"


__all__ = ["person_key"]
