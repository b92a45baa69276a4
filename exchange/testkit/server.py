"""A local HTTP server on 127.0.0.1 that replays recorded exchange responses.

Tests point ccxt at it (``--api-url`` / ``make_exchange(api_url=...)``): ccxt's own request signing,
HTTP and parsing code then runs against recorded payloads, with no network. Responses are matched by
HTTP method and path (query strings and signatures ignored), optionally narrowed by query parameters or
JSON-body fields (Hyperliquid sends every request to ``POST /info`` with a ``type``).

A fault switch replaces the answers with an error status, an error body, extra headers (``Retry-After``),
a delay (for client timeouts) or a truncated body. The server writes a log file of method, path and
query-parameter *names* (never values, headers or bodies, so no key or signature reaches a file); the full
requests are kept in memory only (``requests``) for tests that check what ccxt sent.

The recorded answers per scenario are in :mod:`exchange.testkit.scenarios`; the command line
``python -m exchange.testkit --scenario binanceusdm --port 0`` serves one of them (:mod:`exchange.testkit.__main__`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Route:
    """One recorded answer: ``body`` (JSON value, or raw ``str``/``bytes``) for ``method path``."""

    method: str
    path: str
    body: Any
    status: int = 200
    query: Mapping[str, str] = field(default_factory=dict)
    json_match: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    #: answers served in turn (the n-th matching request gets ``sequence[n]``, the last one repeats;
    #: ``body`` is then unused): a moving market, e.g. a ticker whose mark changes between polls
    sequence: tuple[Any, ...] = ()

    def matches(self, method: str, path: str, query: Mapping[str, str], payload: Any) -> bool:
        if method != self.method or path.rstrip("/") != self.path.rstrip("/"):
            return False
        if any(query.get(k) != v for k, v in self.query.items()):
            return False
        if self.json_match:
            if not isinstance(payload, Mapping):
                return False
            return all(payload.get(k) == v for k, v in self.json_match.items())
        return True


@dataclass(frozen=True)
class Fault:
    """An injected failure for every request (or those whose path starts with ``path_prefix``)."""

    status: int = 500
    body: Any = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: seconds to wait before answering (longer than the client timeout: a timeout)
    delay: float = 0.0
    #: serve only the first ``truncate`` bytes of the matched recorded body (status 200)
    truncate: int | None = None
    path_prefix: str = ""


@dataclass(frozen=True)
class Request:
    """A request as received (in memory only)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


class ReplayServer:
    """Threaded replay server; a context manager. ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, routes: Sequence[Route] = (), port: int = 0, log_path: str | Path | None = None) -> None:
        self.routes: list[Route] = list(routes)
        self.fault: Fault | None = None
        self.requests: list[Request] = []
        self.unmatched: list[str] = []
        #: per route (by position in ``routes``): how many requests it has answered
        self.served: dict[int, int] = {}
        self.log_path = Path(log_path) if log_path is not None else None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                server._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def paths(self) -> list[str]:
        """``METHOD path`` of every request received, in order."""
        return [f"{r.method} {r.path}" for r in self.requests]

    def _write_log(self, line: str) -> None:
        if self.log_path is None:
            return
        with self._lock, self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            payload: Any = json.loads(raw) if raw else None
        except ValueError:
            payload = dict(parse_qsl(raw))
        method = handler.command
        with self._lock:
            self.requests.append(Request(method, parts.path, query, dict(handler.headers.items()), raw))
        index = next((i for i, r in enumerate(self.routes) if r.matches(method, parts.path, query, payload)), None)
        route = None if index is None else self.routes[index]
        answer: Any = None
        if route is not None:
            answer = route.body
            if route.sequence:
                with self._lock:
                    n = self.served.get(index or 0, 0)
                    self.served[index or 0] = n + 1
                answer = route.sequence[min(n, len(route.sequence) - 1)]
        status, body, headers = (
            (route.status, _encode(answer), dict(route.headers))
            if route
            else (404, _encode({"replay": f"no recorded response for {method} {parts.path}"}), {})
        )
        fault = self.fault
        if fault is not None and parts.path.startswith(fault.path_prefix):
            if fault.delay:
                time.sleep(fault.delay)
            if fault.truncate is not None:
                body = body[: fault.truncate]
            else:
                status, body = fault.status, _encode(fault.body)
            headers.update(fault.headers)
        names = "&".join(sorted(query))
        kind = "" if not isinstance(payload, Mapping) or "type" not in payload else f" type={payload.get('type')}"
        if route is None and (fault is None or not parts.path.startswith(fault.path_prefix)):
            with self._lock:
                self.unmatched.append(f"{method} {parts.path}{kind}")
        self._write_log(f"{method} {parts.path}{'?' + names if names else ''}{kind} -> {status}")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass
