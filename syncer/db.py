"""Engines for the commerce and state databases, with errors a user can act on."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.exc import DatabaseError as SADatabaseError

from syncer.errors import DatabaseError

# user:password@ after a scheme; the password runs to the last "@" before a blank.
_USERINFO = re.compile(r"(://[^:/@\s]*:)\S*(@)")
# password=..., ?token=..., &api_key=..., pwd='x y' (libpq key=value strings too), any case;
# the value ends at a delimiter, or at a quote that closes a quoted URL (which is kept).
_SECRET_PARAM = re.compile(
    r"((?:^|[?&;\s])[\w.-]*(?:pass|pwd|secret|token|key|credential)[\w.-]*\s*=\s*)"
    r"(?:'[^']*'|\"[^\"]*\"|[^&;\s#]*?(?=[&;\s#]|$|['\"](?:[\s:,)]|$)))",
    re.IGNORECASE,
)


def mask_url(url: str | URL) -> str:
    """``url`` (a URL, or any text holding URLs or ``key=value`` pairs, parsable or not) with
    every password replaced by ``***``: in the user info and in parameters such as
    ``password``, ``pwd``, ``secret``, ``token`` or ``api_key``."""
    if isinstance(url, URL):
        return _SECRET_PARAM.sub(r"\1***", url.render_as_string(hide_password=True))
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub(r"\1***\2", url))


def dialect_of(engine: Engine) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB reports ``mysql``... or ``mariadb``)."""
    name = engine.dialect.name
    return "mysql" if name in ("mysql", "mariadb") else name


def fold_case(text: str | None) -> str | None:
    """``text`` with each letter in its Unicode (simple) lower case, one letter at a time: what
    PostgreSQL's and MariaDB's ``lower()`` do, so segments match the same text everywhere.

    Unlike ``str.lower()``: capital I with dot (U+0130) becomes ``i`` (not ``i`` + a combining
    dot) and a capital sigma always becomes the small sigma U+03C3, never the final sigma U+03C2.
    """
    if text is None or text.isascii():
        return None if text is None else text.lower()
    if "\u0130" in text or "\u03a3" in text:
        return "".join("i" if ch == "\u0130" else ch.lower() for ch in text)
    return text.lower()


def utc_text(stored: object) -> str | None:
    """A time stored as ISO text (``T`` or space, with or without fractional seconds, ``Z`` or
    an offset; naive = UTC) as UTC in the one form SQLite compares as text; None if unreadable."""
    if not isinstance(stored, str):
        return None
    try:
        moment = datetime.fromisoformat(stored.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(" ", "microseconds")  # as SQLAlchemy writes and binds them


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # the segment compiler's text folding and time reading (see syncer/segments/sqlparts.py)
    create = dbapi_connection.create_function  # type: ignore[attr-defined]
    create("syncer_fold", 1, fold_case, deterministic=True)
    create("syncer_utc", 1, utc_text, deterministic=True)


def make_engine(url: str, *, check: bool = True) -> Engine:
    """An engine for ``url``; with ``check``, a database that does not answer is a DatabaseError."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as err:  # ValueError: a port that is not a number
        raise DatabaseError(
            f"database URL {mask_url(url)!r} is not a valid URL; "
            "use e.g. sqlite:///var/syncer.db or postgresql+psycopg://user@host/db"
        ) from err
    kwargs: dict[str, object] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    elif parsed.get_backend_name() in ("mysql", "mariadb"):
        kwargs["pool_pre_ping"] = True
        # PostgreSQL's default: InnoDB's REPEATABLE READ also locks the gaps between index
        # records, so transactions of different targets writing the snapshot at once deadlock
        kwargs["isolation_level"] = "READ COMMITTED"
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    try:
        engine = create_engine(parsed, **kwargs)  # type: ignore[arg-type]
    except (ArgumentError, ImportError) as err:
        raise DatabaseError(
            f"cannot use database URL {mask_url(url)!r}: {mask_url(str(err))}"
        ) from err
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if check:
        check_connection(engine)
    return engine


def check_connection(engine: Engine) -> None:
    """Raise DatabaseError (one line, masked URL) if the database does not answer."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, SADatabaseError) as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise DatabaseError(
            f"database {mask_url(engine.url)} does not answer: {mask_url(reason)}; "
            "check SYNCER_DATABASE_URL / --database-url and that the server is running"
        ) from err
