"""Local receivers the alert tests deliver to: an HTTP server in a thread that records each
request (and can be told to answer 500), a free port nobody listens on, and an SMTP server
(aiosmtpd) that records each message and the login it was given."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.sync.conftest import fake, shop

__all__ = ["fake", "shop"]

TOKEN_PATH = "/services/T0001/B0002/s3cr3tT0ken"


@dataclass
class Receiver:
    url: str
    requests: list[tuple[str, Any]] = field(default_factory=list)  # (path, parsed JSON body)
    status: int = 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append((self.path, json.loads(body or b"null")))
            self.send_response(state.status)
            self.end_headers()
            self.wfile.write(b"ok" if state.status < 400 else b"server error")

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}{TOKEN_PATH}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def down_url() -> str:
    """A webhook URL whose port nobody listens on (connection refused)."""
    return f"http://127.0.0.1:{free_port()}{TOKEN_PATH}"


@dataclass
class Mailbox:
    port: int
    messages: list[tuple[str, list[str], str]] = field(default_factory=list)  # from, to, data
    logins: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            data = envelope.content.decode("utf-8", "replace")
            box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), data))
            return "250 OK"

    def authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str, auth: Any):
        if isinstance(auth, LoginPassword):
            box.logins.append((auth.login.decode(), auth.password.decode()))
            return AuthResult(success=auth.password == b"smtp-pa55", handled=False)
        return AuthResult(success=False, handled=False)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=box.port,
        authenticator=authenticate,
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN"],  # PLAIN only: one exchange per attempt
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
