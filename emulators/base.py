"""The emulator framework: a stateful, in-process HTTP stand-in for one provider's API.

An emulator is a class whose methods, decorated with ``Emulator.route(method, pattern)``, answer
requests. ``EmulatorServer`` puts one on a ``ThreadingHTTPServer`` (stdlib only) so the real
adapters, with their real HTTP clients, talk to it in tests, benchmarks and demos.

Order of work in ``Emulator.dispatch`` for one request:

1. ``/__emulator/...`` admin routes (no auth, not counted, no faults):
   ``GET|POST|DELETE /__emulator/faults`` (read / update some fields / reset the faults),
   ``GET /__emulator/stats`` (calls per route, total, peak requests in flight, and per account
   (a hash of its credentials) peak requests in flight, peak requests per second and requests
   beyond the provider's rate quota: ``emulators.traffic``),
   ``POST /__emulator/reset`` (state, counters and faults back to the start),
   ``GET /__emulator/state`` (the emulator's JSON view of its state).
2. The concurrency cap: beyond ``max_concurrency`` requests in flight the provider's "too many"
   answer (``too_many_reply``).
3. ``faults.latency`` is slept (outside the lock, so concurrent calls overlap as they would).
4. The route is matched and counted in ``calls`` under the handler's name (``"unmatched"`` if no
   route matches), whatever the answer turns out to be.
5. ``authorize``: the provider's auth failure, if any.
6. Faults, in this order: ``drop_next`` (the connection is closed without an answer, raised as
   ``DropConnection``), ``rate_limit_next``, ``error_next``, ``bad_body_next`` (200 with
   ``bad_body``: an HTML page unless set to other text), ``rate_limit_every``.
7. The handler runs holding ``self.lock`` (so handlers need no locking of their own); a path no
   route matches answers 404, a known path with another method 405, both in the provider's shape.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs, urlsplit

from emulators.quota import Quota
from emulators.traffic import AccountTraffic

ADMIN_PREFIX = "/__emulator/"
BAD_BODY = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Proxy</body></html>"
UNMATCHED = "unmatched"
# Request headers that carry an account's credentials: what tells accounts apart in the stats.
CREDENTIAL_HEADERS = ("authorization", "api-token", "x-api-key")

Handler = Callable[[Any, "Request"], "Reply"]
H = TypeVar("H", bound=Handler)


class Headers(Mapping[str, str]):
    """Request headers, looked up case-insensitively."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = {k.lower(): v for k, v in (items or {}).items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Request:
    """One HTTP request as a handler sees it."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=Headers)
    body: Any = None  # parsed JSON, or None (empty or not JSON: see ``raw``)
    raw: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # named groups of the matched route

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name: str, default: int) -> int:
        """Query parameter ``name`` as an int (``default`` when absent); ValueError if not one."""
        value = self.arg(name)
        return default if value is None or value == "" else int(value)


@dataclass
class Reply:
    """One HTTP answer. ``body`` is JSON-encoded unless it is bytes or str; None means empty."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Faults:
    """Failures to inject; mutable in-process or over HTTP (``POST /__emulator/faults``)."""

    rate_limit_next: int = 0  # the next N calls answer 429 (the provider's own 429 body)
    retry_after: float | None = None  # Retry-After on those 429s (None = no header)
    rate_limit_every: int = 0  # every Nth call answers 429 (a "429 storm")
    error_next: int = 0  # the next N calls answer ``error_status``
    error_status: int = 500
    drop_next: int = 0  # the next N calls: the connection is closed without an answer
    bad_body_next: int = 0  # the next N calls answer 200 with ``bad_body``
    bad_body: str = BAD_BODY  # "<" first: sent as text/html, else as application/json
    latency: float = 0.0  # seconds added to every call
    reject: dict[str, str] = field(default_factory=dict)  # lower-cased email -> rejection kind

    def update(self, values: Mapping[str, Any]) -> None:
        """Set the given fields; ValueError naming the field when one is unknown or mistyped."""
        known = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(known))}")
            if key == "reject":
                if not isinstance(value, dict):
                    raise ValueError("fault 'reject' must be an object of email -> kind")
                self.reject = {str(k).lower(): str(v) for k, v in value.items()}
            elif key == "retry_after":
                self.retry_after = None if value is None else _number(key, value)
            elif key == "bad_body":
                if not isinstance(value, str):
                    raise ValueError(f"fault 'bad_body' must be a string, got {value!r}")
                self.bad_body = value
            elif key in ("latency",):
                self.latency = _number(key, value)
            else:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"fault {key!r} must be an integer, got {value!r}")
                setattr(self, key, value)

    def clear(self) -> None:
        """Back to no faults at all."""
        for f in fields(self):
            setattr(self, f.name, Faults.__dataclass_fields__[f.name].default)
        self.reject = {}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"fault {key!r} must be a non-negative number, got {value!r}")
    return float(value)


class DropConnection(Exception):
    """Raised by ``dispatch``: the server closes the connection without answering."""


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    name: str


class Emulator(ABC):
    """One provider's API: routes, state, auth and error shapes. See the module docstring."""

    name: ClassVar[str]
    max_concurrency: int | None = None  # beyond this many in flight: ``too_many_reply``
    _routes: ClassVar[list[_Route]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        routes: list[_Route] = []
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                for method, pattern in getattr(value, "_emulator_routes", ()):
                    routes.append(_Route(method, re.compile(pattern), attr))
        cls._routes = routes

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults = Faults()
        self.sleep: Callable[[float], None] = time.sleep  # how latency is waited (tests swap it)
        self.calls: Counter[str] = Counter()
        self.record = False  # when True, every routed request is kept in ``recorded``
        self.recorded: list[Request] = []
        self._seq = 0
        self._in_flight = 0
        self.peak_in_flight = 0
        self.traffic: dict[str, AccountTraffic] = {}  # per account (``account_of``)
        self._flight_lock = threading.Lock()

    @staticmethod
    def route(method: str, pattern: str) -> Callable[[H], H]:
        """Decorator: this method answers ``method`` on paths fully matching regex ``pattern``."""

        def mark(handler: H) -> H:
            existing: list[tuple[str, str]] = list(getattr(handler, "_emulator_routes", ()))
            existing.append((method.upper(), pattern))
            handler._emulator_routes = existing  # type: ignore[attr-defined]
            return handler

        return mark

    # -- what each provider supplies ------------------------------------------------------

    @abstractmethod
    def authorize(self, req: Request) -> Reply | None:
        """None when the credentials are accepted, else the provider's auth-failure reply."""

    @abstractmethod
    def error_reply(self, status: int, message: str) -> Reply:
        """An error in the provider's own body shape."""

    @abstractmethod
    def reset(self) -> None:
        """Clear the state back to the seeded start."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """A JSON view of the state (for tests and ``GET /__emulator/state``)."""

    def connection(self, url: str) -> dict[str, str]:
        """What a client needs to reach this emulator served at ``url``: its base URL and the
        demo credentials (not secrets). Default: ``url`` and the constructor's string defaults."""
        info = {"base_url": url}
        for param in inspect.signature(type(self).__init__).parameters.values():
            value = getattr(self, param.name, param.default)
            if isinstance(param.default, str) and isinstance(value, str):
                info[param.name] = value
        return info

    def rate_quota(self) -> Quota | None:
        """A fresh quota of the provider's request rate per account ("N per T"), for the
        traffic stats; None when the provider has none."""
        return None

    @staticmethod
    def account_of(req: Request) -> str:
        """The account ``req`` is made for: a short hash of its credential headers."""
        creds = [req.headers.get(h, "") for h in CREDENTIAL_HEADERS]
        if not any(creds):
            return "anonymous"
        return hashlib.sha256("\0".join(creds).encode()).hexdigest()[:12]

    def rate_limit_reply(self) -> Reply:
        """The provider's 429 (faults add Retry-After when ``faults.retry_after`` is set)."""
        return self.error_reply(429, "Too Many Requests")

    def too_many_reply(self) -> Reply:
        """The answer beyond ``max_concurrency`` requests in flight."""
        return self.rate_limit_reply()

    # -- dispatch -------------------------------------------------------------------------

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def stats(self) -> dict[str, Any]:
        with self._flight_lock:
            return {
                "calls": dict(self.calls),
                "total_calls": self.total_calls,
                "peak_in_flight": self.peak_in_flight,
                "accounts": {k: t.to_dict() for k, t in self.traffic.items()},
            }

    def dispatch(self, req: Request) -> Reply:
        """Answer one request (see the module docstring for the order of work)."""
        if req.path.startswith(ADMIN_PREFIX):
            return self._admin(req)
        account = self.account_of(req)
        with self._flight_lock:
            self._in_flight += 1
            in_flight = self._in_flight
            self.peak_in_flight = max(self.peak_in_flight, in_flight)
            traffic = self.traffic.get(account)
            if traffic is None:
                traffic = self.traffic[account] = AccountTraffic(self.rate_quota())
            traffic.started()
        try:
            if self.max_concurrency is not None and in_flight > self.max_concurrency:
                self._count(self._match(req)[0])
                return self.too_many_reply()
            latency = self.faults.latency
            if latency > 0:
                self.sleep(latency)
            return self._serve(req)
        finally:
            with self._flight_lock:
                self._in_flight -= 1
                traffic.ended()

    def _serve(self, req: Request) -> Reply:
        with self.lock:
            name, route, path_matched = self._match(req)
            seq = self._count(name)
            if self.record:
                self.recorded.append(req)
            denied = self.authorize(req)
            if denied is not None:
                return denied
            fault = self._fault(seq)
            if fault is not None:
                return fault
            if route is None:
                if path_matched:
                    return self.error_reply(405, f"Method {req.method} not allowed on {req.path}")
                return self.error_reply(404, f"The requested resource {req.path} was not found.")
            match = route.pattern.fullmatch(req.path)
            req.params = match.groupdict() if match else {}
            handler: Handler = getattr(self, route.name)
            return handler(req)  # type: ignore[call-arg]

    def _count(self, name: str) -> int:
        with self._flight_lock:
            self.calls[name] += 1
            self._seq += 1
            return self._seq

    def _match(self, req: Request) -> tuple[str, _Route | None, bool]:
        path_matched = False
        for route in self._routes:
            if route.pattern.fullmatch(req.path):
                path_matched = True
                if route.method == req.method.upper():
                    return route.name, route, True
        return UNMATCHED, None, path_matched

    def _fault(self, seq: int) -> Reply | None:
        f = self.faults
        if f.drop_next > 0:
            f.drop_next -= 1
            raise DropConnection
        if f.rate_limit_next > 0:
            f.rate_limit_next -= 1
            return self._with_retry_after(self.rate_limit_reply())
        if f.error_next > 0:
            f.error_next -= 1
            return self.error_reply(f.error_status, "Injected server error")
        if f.bad_body_next > 0:
            f.bad_body_next -= 1
            html = f.bad_body.lstrip().startswith("<")
            return Reply(200, f.bad_body, content_type="text/html" if html else "application/json")
        if f.rate_limit_every > 0 and seq % f.rate_limit_every == 0:
            return self._with_retry_after(self.rate_limit_reply())
        return None

    def _with_retry_after(self, reply: Reply) -> Reply:
        if self.faults.retry_after is not None:
            value = self.faults.retry_after
            reply.headers["Retry-After"] = str(int(value)) if value == int(value) else str(value)
        return reply

    def _admin(self, req: Request) -> Reply:
        what = req.path[len(ADMIN_PREFIX) :].strip("/")
        method = req.method.upper()
        with self.lock:
            if what == "faults" and method == "GET":
                return Reply(body=self.faults.to_dict())
            if what == "faults" and method == "POST":
                if not isinstance(req.body, dict):
                    return Reply(400, {"error": "POST /__emulator/faults takes a JSON object"})
                try:
                    self.faults.update(req.body)
                except ValueError as err:
                    return Reply(400, {"error": str(err)})
                return Reply(body=self.faults.to_dict())
            if what == "faults" and method == "DELETE":
                self.faults.clear()
                return Reply(body=self.faults.to_dict())
            if what == "stats" and method == "GET":
                return Reply(body=self.stats())
            if what == "state" and method == "GET":
                return Reply(body=self.state())
            if what == "reset" and method == "POST":
                self.reset_all()
                return Reply(body={"reset": True})
        return Reply(404, {"error": f"no admin route {method} {req.path}"})

    def reset_all(self) -> None:
        """State, call counters and faults back to the start."""
        with self.lock:
            self.reset()
            self.faults.clear()
            self.recorded.clear()
            with self._flight_lock:
                self.calls.clear()
                self._seq = 0
                self.peak_in_flight = 0
                self.traffic.clear()


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; without TCP_NODELAY, delayed ACKs add ~40 ms to
    # every answer on loopback.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator's calls are in its counters, not on stderr."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=Headers(dict(self.headers.items())),
            body=body,
            raw=raw,
        )
        try:
            reply = self.server.emulator.dispatch(req)
        except DropConnection:
            self.close_connection = True
            return
        except Exception as err:  # a handler bug: answer 500 rather than hang the client
            reply = Reply(500, {"error": f"emulator failure: {type(err).__name__}: {err}"})
        payload = reply.encoded()
        self.send_response(reply.status)
        if payload or reply.status not in (204, 304):
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        super().__init__(address, _RequestHandler)


class EmulatorServer:
    """One emulator on a ThreadingHTTPServer in a daemon thread; a context manager."""

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self._requested_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        if self._server is None:
            self._server = _Server((self.host, self._requested_port), self.emulator)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"emulator-{self.emulator.name}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
