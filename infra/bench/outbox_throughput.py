"""Outbox throughput: invitation intents from the outbox to a real SMTP server.

Plans 200 zorgtafels (1,000 invitation intents: case manager, registrant, two experts, a parent)
on a temporary database, then times one dispatcher sending them all to an aiosmtpd sink; and
times the delivery of one 5-participant invitation set on its own.

    .venv/bin/python infra/bench/outbox_throughput.py [--cases 200] [--database-url URL]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zt-outbox-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'zorgtafel.db'}"
    os.environ.update({"ZT_DATABASE_URL": url, "ZT_SECRET_KEY": "bench-secret-key-0123456789"})

    from aiosmtpd.controller import Controller

    from api.routers.registrations import to_core
    from api.schemas import RegistrationIn
    from infra.processes import free_port
    from notifications.dispatch import dispatch_pending
    from tests.factories import registration
    from zorgtafel import route
    from zorgtafel.clock import utcnow
    from zorgtafel.db.migrate import upgrade
    from zorgtafel.db.models import Expert
    from zorgtafel.db.session import unit_of_work
    from zorgtafel.registration import register_case
    from zorgtafel.seed import seed_demo
    from zorgtafel.settings import get_settings

    upgrade(url)
    with unit_of_work() as session:
        seed_demo(session, experts_per_agency=20)
    port = free_port()
    settings = get_settings().model_copy(update={"smtp_port": port})

    def plan_case() -> int:
        reg = to_core(RegistrationIn.model_validate(registration()))
        with unit_of_work() as session:
            case, _ = register_case(session, reg, now=utcnow(), settings=settings)
            ref = case.reference
        with unit_of_work() as session:
            route.screen_step(session, ref)
            # The outbox is measured, not the slot search: take the fairest pair at a fixed time
            # (three case managers could not hold 200 zorgtafels within 48 hours anyway).
            candidates = [session.get_one(Expert, i) for i in route.shortlist(session, ref)]
            first = candidates[0]
            second = next(e for e in candidates if e.agency_id != first.agency_id)
            start = utcnow() + timedelta(days=1)
            plan = route.Plan((first.id, second.id), start, start + timedelta(minutes=90))
            route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=settings)
            return route.load_case(session, ref).id

    for _ in range(args.cases):
        plan_case()
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        t0 = time.perf_counter()
        report = dispatch_pending(settings=settings, max_batches=10_000)
        bulk_s = time.perf_counter() - t0
        assert report.sent == sink.count == args.cases * 5, (report, sink.count)
        singles = []
        for _ in range(10):
            case_id = plan_case()
            t0 = time.perf_counter()
            assert dispatch_pending(case_id=case_id, settings=settings).sent == 5
            singles.append(time.perf_counter() - t0)
    finally:
        controller.stop()
    result = {
        "intents": report.sent,
        "messages_per_second": round(report.sent / bulk_s, 1),
        "bulk_seconds": round(bulk_s, 2),
        "invitation_set_of_5_ms_p50": round(statistics.median(singles) * 1000, 1),
        "invitation_set_of_5_ms_max": round(max(singles) * 1000, 1),
        "database": url.split(":", 1)[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
