"""A real HTTP server on 127.0.0.1 that plays an agency's calendar server: it serves whatever the
test sets (status, body, delay, redirect) and records the paths asked for."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")


@dataclass
class FeedServer:
    port: int
    status: int = 200
    body: bytes = b""
    content_type: str = "text/calendar; charset=utf-8"
    delay: float = 0.0
    location: str | None = None
    requests: list[str] = field(default_factory=list)
    # per path: (status, body), taking precedence over status/body
    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def url(self, path: str = "/agenda/private-s3cr3tt0ken/basic.ics") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if state.delay:
                time.sleep(state.delay)
            status, body = state.routes.get(self.path, (state.status, state.body))
            self.send_response(status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Type", state.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def local_day(days_from_today: int) -> datetime:
    """Midnight (Brussels) of a day relative to today."""
    today = datetime.now(BRUSSELS).date() + timedelta(days=days_from_today)
    return datetime(today.year, today.month, today.day, tzinfo=BRUSSELS)


def ics_time(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def events_feed(*spans: tuple[datetime, datetime]) -> bytes:
    """An event feed (as Google or Outlook publish it) with one busy event per span."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Agentschap//Agenda//NL", "METHOD:PUBLISH"]
    for i, (start, end) in enumerate(spans):
        lines += [
            "BEGIN:VEVENT",
            f"UID:busy-{i}@agentschap.example",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART:{ics_time(start)}",
            f"DTEND:{ics_time(end)}",
            "SUMMARY:Huisbezoek",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
