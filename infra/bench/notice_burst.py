"""Notice burst: 20 notices to one service, with apprise's throttle and without it.

A local HTTP server on 127.0.0.1 plays an ntfy server (ntfy keeps apprise's default throttle of
``NotifyBase.request_rate_per_sec`` = 5.5 s; the JSON/Form webhooks have none).

* with throttle: one ``apprise.Apprise`` object holding the URL, ``notify()`` called N times —
  the obvious use, where every send after the first waits until 5.5 s have passed since the last;
* without: ``notifications.channels.send_notice`` — a fresh plugin instance per notice with its
  throttle switched off — once as a single call with N URLs (sent concurrently), and once as N
  calls one after the other (how the outbox dispatcher calls it, one intent at a time).

    .venv/bin/python infra/bench/notice_burst.py [--notices 20]

Takes about (N - 1) × 5.5 s for the throttled half. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TITLE = "Zorgtafel ZT-BENCH-0001"
BODY = "Do 12 maart 10:00, zaal 2. Reageer via https://zt.example/r/bench"


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # socketserver's default of 5 drops concurrent connects (1 s SYN retry)

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.count = 0
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: CountingServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.count += 1
        answer = b'{"id":"bench","event":"message"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=20)
    n = parser.parse_args().notices

    import apprise

    from notifications.channels import send_notice

    server = CountingServer()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"ntfy://127.0.0.1:{server.server_address[1]}/zt-bench"

    def expect(received_before: int, label: str) -> None:
        got = server.count - received_before
        if got != n:
            raise SystemExit(f"{label}: the server received {got} notices, not {n}")

    # Warm-up: apprise loads its plugins on first use; keep that out of both timings.
    assert send_notice([url], title=TITLE, body=BODY)[0].ok
    before = server.count

    print(f"with throttle: one apprise.Apprise object, {n} x notify() ...", flush=True)
    plain = apprise.Apprise(servers=url)
    start = time.perf_counter()
    for _ in range(n):
        if not plain.notify(body=BODY, title=TITLE):
            raise SystemExit("plain apprise send failed")
    with_throttle = time.perf_counter() - start
    expect(before, "with throttle")
    print(f"  {with_throttle:.2f} s", flush=True)

    before = server.count
    start = time.perf_counter()
    results = send_notice([url] * n, title=TITLE, body=BODY)
    without = time.perf_counter() - start
    if not all(r.ok for r in results):
        raise SystemExit("send_notice failed")
    expect(before, "without (one call)")
    print(f"without: send_notice with {n} URLs in one call: {without:.3f} s", flush=True)

    before = server.count
    start = time.perf_counter()
    for _ in range(n):
        if not send_notice([url], title=TITLE, body=BODY)[0].ok:
            raise SystemExit("send_notice failed")
    sequential = time.perf_counter() - start
    expect(before, "without (sequential)")
    print(f"without: {n} send_notice calls one after the other: {sequential:.3f} s", flush=True)

    server.shutdown()
    server.server_close()
    print(
        json.dumps(
            {
                "notices": n,
                "seconds_with_throttle": round(with_throttle, 3),
                "seconds_without": round(without, 3),
                "seconds_without_sequential": round(sequential, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
