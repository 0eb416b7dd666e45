"""Who may use the admin: users, their roles and password hashes.

One admin (role ``editor``) from ``SYNCER_WEB_PASSWORD_HASH`` (made by ``syncer web
hash-password``), and/or several users from the YAML file named by ``SYNCER_WEB_USERS_FILE``:

    users:
      maria: {password_hash: "scrypt$16384$8$1$...", role: editor}
      tom:   {password_hash: "scrypt$16384$8$1$...", role: viewer}   # sees, changes nothing

Hashes are scrypt (Python's hashlib) with a random salt; passwords are never stored or logged.
``LoginRequired`` sends every request without a session to ``/login`` (but ``/login``,
``/healthz`` and ``/static/``), and refuses (403) any state-changing request of a viewer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import yaml
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from syncer.errors import ConfigError

PASSWORD_HASH_VAR = "SYNCER_WEB_PASSWORD_HASH"
USERS_FILE_VAR = "SYNCER_WEB_USERS_FILE"
ADMIN = "admin"
ROLES = ("viewer", "editor")
# POSTs that change nothing, viewers may send them: a draft rule counted by the segment
# builder, and its funnel
READ_ONLY_POSTS = ("/segments/draft", "/segments/funnel")
SESSION_USER = "user"
PUBLIC = ("/login", "/healthz", "/static/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# scrypt cost: about 50 ms and 16 MiB a check on a small machine.
N, R, P = 2**14, 8, 1


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_edit(self) -> bool:
        return self.role == "editor"


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$SALT$HASH`` (base64) of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P)
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def _parse(hashed: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = hashed.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        return n, r, p, base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5])
    except ValueError:
        return None


def verify_password(password: str, hashed: str) -> bool:
    parsed = _parse(hashed)
    if parsed is None:
        return False
    n, r, p, salt, digest = parsed
    try:
        given = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**26)
    except ValueError:
        return False
    return hmac.compare_digest(given, digest)


_DUMMY = hash_password(secrets.token_hex(8))  # checked for unknown names: same time taken


class Users:
    """The users who may log in: name -> (password hash, role)."""

    def __init__(self, entries: Mapping[str, tuple[str, str]]) -> None:
        self._entries = dict(entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def role(self, name: str) -> str | None:
        entry = self._entries.get(name)
        return entry[1] if entry else None

    def authenticate(self, name: str, password: str) -> User | None:
        entry = self._entries.get(name)
        ok = verify_password(password, entry[0] if entry else _DUMMY)
        return User(name, entry[1]) if ok and entry else None


def load_users(env: Mapping[str, str]) -> Users:
    """The users from the environment; ConfigError (exit 2) naming the variable or file when
    none is configured or an entry is malformed (a hash is never echoed)."""
    entries: dict[str, tuple[str, str]] = {}
    file = env.get(USERS_FILE_VAR)
    if file:
        entries.update(_users_file(Path(file)))
    admin_hash = env.get(PASSWORD_HASH_VAR)
    if admin_hash:
        if _parse(admin_hash) is None:
            raise ConfigError(
                "is not a password hash",
                where=PASSWORD_HASH_VAR,
                hint="make one with `syncer web hash-password` and export it in single quotes.",
            )
        entries.setdefault(ADMIN, (admin_hash, "editor"))
    if not entries:
        raise ConfigError(
            f"no user may log in: set {PASSWORD_HASH_VAR} (made by `syncer web hash-password`) "
            f"or {USERS_FILE_VAR} (a YAML file of users with roles viewer / editor)"
        )
    return Users(entries)


def _users_file(path: Path) -> dict[str, tuple[str, str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        reason = getattr(err, "strerror", None) or "not valid YAML"
        raise ConfigError(f"cannot read the users file: {reason}", where=str(path)) from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict) or not users:
        raise ConfigError(
            "expected `users:` mapping name -> {password_hash, role}", where=str(path)
        )
    out: dict[str, tuple[str, str]] = {}
    for name, entry in users.items():
        where = f"{path}: users.{name}"
        if not isinstance(entry, dict) or _parse(str(entry.get("password_hash", ""))) is None:
            raise ConfigError(
                "password_hash is missing or not a hash",
                where=where,
                hint="make one with `syncer web hash-password`.",
            )
        role = entry.get("role", "viewer")
        if role not in ROLES:
            raise ConfigError(f"role must be one of {', '.join(ROLES)}, not {role!r}", where=where)
        out[str(name)] = (str(entry["password_hash"]), str(role))
    return out


def current_user(conn: HTTPConnection) -> User | None:
    """The logged-in user of this request (None without a session, or if the user was removed
    from the configuration since)."""
    name = conn.session.get(SESSION_USER)
    users: Users = conn.app.state.web.users
    role = users.role(name) if isinstance(name, str) else None
    return User(name, role) if name and role else None


def is_public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


class LoginRequired:
    """ASGI middleware (inside the session middleware): no user -> 303 to ``/login?next=...``;
    a viewer's state-changing request -> 403. Public paths pass."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        user = current_user(conn)
        if user is None:
            target = "/login"
            if scope["method"] in SAFE_METHODS and scope["path"] != "/":
                target += "?next=" + quote(scope["path"], safe="/")
            response = RedirectResponse(target, status_code=303)
            if "hx-request" in conn.headers:  # htmx: reload the whole page at the login form
                response.headers["HX-Redirect"] = target
            await response(scope, receive, send)
            return
        changes = scope["path"] not in ("/logout", *READ_ONLY_POSTS)
        if scope["method"] not in SAFE_METHODS and changes and not user.can_edit:
            await PlainTextResponse(
                f"{user.name} is a viewer: viewers cannot change anything", status_code=403
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)


def secret_key(env: Mapping[str, str]) -> str | None:
    """The session-signing key from ``SYNCER_WEB_SECRET_KEY`` (None if unset)."""
    return env.get("SYNCER_WEB_SECRET_KEY") or None


def random_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()
