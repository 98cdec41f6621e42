"""A real HTTP peer on 127.0.0.1 that records what apprise sends it.

Every path answers 200 with an ntfy-like JSON body unless ``peer.status[path]`` says otherwise;
``/slow…`` paths hold the answer until the test ends (or 10 s), to provoke a client timeout."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Peer:
    port: int
    received: list[Received] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"


def _handler(peer: Peer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            with peer.lock:
                peer.received.append(
                    Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            if path.startswith("/slow"):
                peer.release.wait(10)
            status = peer.status.get(path, 200)
            answer = peer.bodies.get(path, b'{"id":"zt1","event":"message"}')
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:  # the client gave up (timeout test)
                pass

        do_PUT = do_POST

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # socketserver's default of 5 drops concurrent connects


@pytest.fixture
def peer() -> Iterator[Peer]:
    server = _Server(("127.0.0.1", 0), _handler(Peer(port=0)))
    peer = Peer(port=server.server_address[1])
    server.RequestHandlerClass = _handler(peer)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="channels-peer", daemon=True
    )
    thread.start()
    try:
        yield peer
    finally:
        peer.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
