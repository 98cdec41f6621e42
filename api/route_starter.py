"""Starts the crisis route of stored cases through the Prefect deployment, and keeps trying.

A registration is committed first and its route started after, so a Prefect outage never loses
a case: the case waits with ``route_started_at`` empty, and a sweep starts it once Prefect answers.
The idempotency key per case makes Prefect hand back the existing run when an earlier attempt
did create it after all (say the answer was lost), so no case ever gets two routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from prefect.deployments import arun_deployment
from starlette.concurrency import run_in_threadpool

from flows.scheduling import resume_waiting_run, sync_evaluation_runs
from zorgtafel import route
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import Settings

log = logging.getLogger("zorgtafel.route_starter")


DISPATCH = "__dispatch__"


def route_idempotency_key(reference: str) -> str:
    return f"crisis-route:{reference}"


def watch_idempotency_key(reference: str, answer: str) -> str:
    """One watch run per answer (``answer``: something unique to it, e.g. a digest of the link)."""
    return f"zorgtafel-watch:{reference}:{answer}"


class RouteStarter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def kick(self, reference: str) -> None:
        """Ask for the route of this case to be started soon (non-blocking, from any thread)."""
        self._put(reference)

    def kick_dispatch(self) -> None:
        """Ask the outbox dispatcher to run now rather than at its next scheduled run."""
        self._put(DISPATCH)

    def kick_plan(self, reference: str, *, resume: tuple[str, dict[str, Any]] | None) -> None:
        """After a decision through the API: hand it to the run waiting for it in Prefect (if
        any), and schedule or cancel evaluation runs to match the plan."""
        self._put(("plan", reference, resume))

    def kick_watch(self, reference: str, *, key: str | None = None) -> None:
        """Run the zorgtafel-watch for this case now (after a decline, or for a coordinator);
        ``key`` makes a repeated kick for the same answer start one run. The scheduled watch is
        the safety net when Prefect cannot be reached now."""
        self._put(("watch", reference, key))

    def _put(self, item: Any) -> None:
        # Sync endpoints run in a thread pool: hand over to the event loop thread-safely.
        assert self._loop is not None, "RouteStarter used outside its context"
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def __aenter__(self) -> RouteStarter:
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(self._worker()), asyncio.create_task(self._sweeper())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def _worker(self) -> None:
        while True:
            item = await self._queue.get()
            if item == DISPATCH:
                await self.dispatch_now()
            elif isinstance(item, tuple) and item[0] == "watch":
                await self.start_watch(item[1], item[2])
            elif isinstance(item, tuple):
                await self.sync_plan(item[1], item[2])
            else:
                await self.start(item)

    async def sync_plan(self, reference: str, resume: tuple[str, dict[str, Any]] | None) -> None:
        # Best effort: the flows themselves sync when they run, so nothing is lost if Prefect
        # is away now.
        try:
            if resume is not None:
                await asyncio.wait_for(resume_waiting_run(*resume), self.settings.route_start_timeout_seconds)
            await asyncio.wait_for(
                sync_evaluation_runs(reference), 4 * self.settings.route_start_timeout_seconds
            )
        except Exception as exc:
            log.warning("plan of %s not synced with Prefect now: %s", reference, type(exc).__name__)

    async def start_watch(self, reference: str, key: str | None) -> None:
        try:
            await asyncio.wait_for(
                arun_deployment(
                    self.settings.watch_deployment,
                    parameters={"case_reference": reference},
                    timeout=0,
                    idempotency_key=key,
                    flow_run_name=f"zorgtafel-watch-{reference}",
                    tags=[f"case:{reference}"],
                    as_subflow=False,
                ),
                timeout=self.settings.route_start_timeout_seconds,
            )
        except Exception as exc:
            log.warning("could not start the watch of %s: %s", reference, type(exc).__name__)

    async def dispatch_now(self) -> None:
        """A run of the outbox dispatcher; if Prefect is away, its schedule catches up later."""
        try:
            await asyncio.wait_for(
                arun_deployment(self.settings.dispatch_deployment, timeout=0, as_subflow=False),
                timeout=self.settings.route_start_timeout_seconds,
            )
        except Exception as exc:
            log.warning("could not start the outbox dispatcher: %s", type(exc).__name__)

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(self.settings.route_sweep_seconds)
            try:
                for reference in await run_in_threadpool(_unstarted_references):
                    await self.start(reference)
            except Exception:  # the sweep must survive a database hiccup
                log.exception("route sweep failed")

    async def start(self, reference: str) -> bool:
        """Start (or find) the route's flow run; record the outcome on the case."""
        try:
            run = await asyncio.wait_for(
                arun_deployment(
                    self.settings.route_deployment,
                    parameters={"case_reference": reference},
                    timeout=0,
                    idempotency_key=route_idempotency_key(reference),
                    flow_run_name=f"crisis-route-{reference}",
                    tags=[f"case:{reference}"],
                    as_subflow=False,
                ),
                timeout=self.settings.route_start_timeout_seconds,
            )
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__
            log.warning("could not start the route of %s: %s", reference, error)
            await run_in_threadpool(_record_attempt, reference, None, error)
            return False
        await run_in_threadpool(_record_attempt, reference, str(run.id), None)
        return True


def _unstarted_references() -> list[str]:
    with unit_of_work() as session:
        return route.unstarted_references(session)


def _record_attempt(reference: str, flow_run_id: str | None, error: str | None) -> None:
    with unit_of_work() as session:
        route.record_route_start(session, reference, flow_run_id=flow_run_id, error=error)
