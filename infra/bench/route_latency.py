"""Route latency: from the registration POST to the last invitation in the SMTP sink.

Starts its own stack (Prefect server, served deployments, API under uvicorn, SMTP sink) on a
temporary SQLite database, registers 20 cases one after the other, and times each until the last
of its invitations has arrived. Beside it, a bare Prefect flow with the same number of tasks
(the last one sending one mail) on the same server and the same serving process: the ratio of
the two is what zorgtafel adds to Prefect's own overhead.

    .venv/bin/python infra/bench/route_latency.py [--n 20]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


class TimedSink:
    """SMTP handler that notes when each message arrives (monotonic clock of this process)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        now = time.perf_counter()
        msg = email.message_from_bytes(envelope.original_content)  # type: ignore[attr-defined]
        subject = str(email.header.make_header(email.header.decode_header(msg["Subject"] or "")))
        with self.cond:
            self.arrivals.append((now, subject))
            self.cond.notify_all()
        return "250 OK"

    def wait(self, needle: str, count: int, timeout: float = 60) -> float:
        deadline = time.perf_counter() + timeout
        with self.cond:
            while True:
                hits = [t for t, s in self.arrivals if needle in s]
                if len(hits) >= count:
                    return max(hits)
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError(f"{needle}: {len(hits)}/{count} messages after {timeout}s")
                self.cond.wait(left)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def serve() -> None:
    from prefect import serve as prefect_serve

    from flows.deployments import deployments
    from infra.bench.bare_flow import bare_flow

    prefect_serve(*deployments(), bare_flow.to_deployment(name="bare-flow"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    from aiosmtpd.controller import Controller

    from infra.processes import free_port, prefect_env, spawn, start_prefect_server, stop, wait_http

    tmp = Path(tempfile.mkdtemp(prefix="zt-bench-"))
    prefect_port, smtp_port, api_port = free_port(), free_port(), free_port()
    env = {
        **prefect_env(tmp / "prefect", prefect_port),
        "ZT_DATABASE_URL": f"sqlite:///{tmp / 'zorgtafel.db'}",
        "ZT_SMTP_HOST": "127.0.0.1",
        "ZT_SMTP_PORT": str(smtp_port),
        "ZT_VAR_DIR": str(tmp / "var"),
    }
    os.environ.update(env)  # before Prefect is imported: it reads its settings once

    from tests.factories import registration
    from zorgtafel.db.migrate import upgrade
    from zorgtafel.db.session import unit_of_work
    from zorgtafel.seed import seed_demo

    upgrade(env["ZT_DATABASE_URL"])
    with unit_of_work() as session:
        seed_demo(session)
    sink = TimedSink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    procs = []
    try:
        procs.append(start_prefect_server(env, prefect_port, tmp / "prefect.log"))
        procs.append(spawn([sys.executable, __file__, "--serve"], env, tmp / "serve.log"))
        api = spawn([sys.executable, "-m", "infra.cli", "api", "--port", str(api_port)], env, tmp / "api.log")
        procs.append(api)
        api_url = f"http://127.0.0.1:{api_port}"
        wait_http(f"{api_url}/api/health", proc=api)
        import httpx

        def route_once() -> float:
            t0 = time.perf_counter()
            r = httpx.post(f"{api_url}/api/v1/registrations", json=registration(), timeout=30)
            r.raise_for_status()
            return sink.wait(r.json()["reference"], 5) - t0

        def bare_once(i: int) -> float:
            t0 = time.perf_counter()
            asyncio.run(_trigger_bare(f"bare-{i:04d}"))
            return sink.wait(f"bare-{i:04d}", 1) - t0

        _wait_deployments()
        for i in range(2):  # warm-up: first-run imports, connection pools
            route_once()
            bare_once(9000 + i)
        route, bare = [], []
        for i in range(args.n):  # interleaved, so both see the same machine state
            route.append(route_once())
            bare.append(bare_once(i))
            print(f"{i + 1:3d}  route {route[-1]:6.3f} s   bare {bare[-1]:6.3f} s", flush=True)
    finally:
        for proc in reversed(procs):
            stop(proc)
        controller.stop()
    result = {
        "registrations": args.n,
        "route_p50_s": round(statistics.median(route), 3),
        "route_p95_s": round(pct(route, 95), 3),
        "bare_p50_s": round(statistics.median(bare), 3),
        "bare_p95_s": round(pct(bare, 95), 3),
        "ratio_p50": round(statistics.median(route) / statistics.median(bare), 3),
        "ratio_p95": round(pct(route, 95) / pct(bare, 95), 3),
        "runner_poll_frequency_s": int(os.environ["PREFECT_RUNNER_POLL_FREQUENCY"]),
        "database": "sqlite",
    }
    print(json.dumps(result))


async def _trigger_bare(tag: str) -> None:
    from prefect.deployments import arun_deployment

    await arun_deployment("bare-flow/bare-flow", parameters={"tag": tag}, timeout=0, as_subflow=False)


def _wait_deployments(timeout: float = 60) -> None:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            try:
                client.read_deployment_by_name("bare-flow/bare-flow")
                client.read_deployment_by_name("crisis-route/crisis-route")
                return
            except Exception:
                time.sleep(0.3)
    raise TimeoutError("deployments not served")


if __name__ == "__main__":
    main()
