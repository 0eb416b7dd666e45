"""``/metrics`` (Prometheus text format) and ``/healthz`` (JSON; 200 healthy, else 503) on one
small HTTP server in a daemon thread. No access log: every line the worker writes is its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from syncer.errors import ConfigError

# () -> (healthy, what to say about it)
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


def serve(
    registry: CollectorRegistry, health: HealthCheck, *, host: str, port: int
) -> ThreadingHTTPServer:
    """Start serving; the caller shuts the returned server down. ConfigError (one line) if
    ``host:port`` cannot be listened on."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            elif path == "/healthz":
                ok, body = health()
                text = json.dumps(body, default=str).encode()
                self._answer(200 if ok else 503, "application/json", text)
            else:
                self._answer(404, "text/plain; charset=utf-8", b"try /metrics or /healthz\n")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """No access lines on stderr."""

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as err:
        raise ConfigError(
            f"cannot serve metrics on {host}:{port}: {err.strerror or err}; choose a free port "
            "with --metrics-port (0 turns the metrics off)"
        ) from err
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
