"""A real local HTTP proxy in front of a FHIR server that injects faults and can check a token.

    with FaultProxy("http://127.0.0.1:8190", faults=["503", "429", "drop", "drop-after"], every=3) as proxy:
        push(..., server=proxy.url + "/fhir")

Every ``every``-th request (counting from the first) gets the next fault of ``faults``, in turn:

- ``503``: answered 503 with an OperationOutcome, not forwarded;
- ``429``: answered 429 with ``Retry-After: 1``, not forwarded;
- ``drop``: the request is read and the socket closed without an answer, not forwarded;
- ``drop-after``: the request is forwarded (the server applies it) and then the socket is closed
  without an answer, so the client sees an error for a write that happened.

With ``token`` set, every request without ``Authorization: Bearer <token>`` gets 401 (this check
happens before fault injection and is not counted as a fault). ``max_faults`` stops injecting
after that many faults. ``log`` records
(method, path, fault or status) for each request, never the headers.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length", "host"}


def _outcome(code: str, text: str) -> bytes:
    return json.dumps({"resourceType": "OperationOutcome",
                       "issue": [{"severity": "error", "code": code, "diagnostics": text}]}).encode()


class FaultProxy:
    def __init__(self, upstream: str, faults: list[str] | tuple[str, ...] = (), every: int = 0,
                 token: str | None = None, max_faults: int | None = None, methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE")):
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.faults = list(faults)
        self.every = every
        self.token = token
        self.methods = methods
        self.max_faults = max_faults
        self.faults_injected = 0
        self.log: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._fault_cycle = itertools.cycle(self.faults) if self.faults else None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FaultProxy":
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- decisions

    def next_fault(self, method: str) -> str | None:
        with self._lock:
            if not self._fault_cycle or self.every <= 0 or method not in self.methods:
                return None
            if self.max_faults is not None and self.faults_injected >= self.max_faults:
                return None
            n = next(self._counter)
            if n % self.every:
                return None
            self.faults_injected += 1
            return next(self._fault_cycle)

    def record(self, method: str, path: str, what: str) -> None:
        with self._lock:
            self.log.append((method, path, what))

    def count(self, what: str) -> int:
        with self._lock:
            return sum(1 for entry in self.log if entry[2] == what)

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=600)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet; the owner keeps its own log
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self) -> None:
        owner = self.owner
        body = self._body()
        method = self.command
        if owner.token is not None and self.headers.get("Authorization") != f"Bearer {owner.token}":
            owner.record(method, self.path, "401")
            self._answer(401, _outcome("login", "a valid bearer token is required"),
                         {"WWW-Authenticate": 'Bearer realm="faultproxy"'})
            return
        fault = owner.next_fault(method)
        if fault == "503":
            owner.record(method, self.path, fault)
            self._answer(503, _outcome("transient", "faultproxy: service unavailable"))
            return
        if fault == "429":
            owner.record(method, self.path, fault)
            self._answer(429, _outcome("throttled", "faultproxy: too many requests"), {"Retry-After": "1"})
            return
        if fault == "drop":
            owner.record(method, self.path, fault)
            self._drop()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        status, response_headers, response_body = owner.forward(method, self.path, headers, body)
        if fault == "drop-after":
            owner.record(method, self.path, fault)
            self._drop()
            return
        owner.record(method, self.path, str(status))
        skip = HOP_BY_HOP | {"content-type", "date", "server"}  # send_response writes its own Date/Server
        self._answer(status, response_body, {k: v for k, v in response_headers if k.lower() not in skip})

    do_GET = do_POST = do_PUT = do_DELETE = _handle
