"""Concurrent bookings on the configured backend (SQLite or PostgreSQL): eight threads book at
once, the rule check is slowed down so every one of them reads before any writes, and still no cap
is broken and exactly as many bookings are accepted as fit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.budget.conftest import START, budget_case, snapshot
from zorgtafel import budget
from zorgtafel.db.session import unit_of_work
from zorgtafel.errors import ValidationFailed
from zorgtafel.rules import ledger

THREADS = 8
NOW = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def slow_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between reading the ledger and writing to it."""
    real = ledger.check_booking

    def slow(*args: object, **kwargs: object) -> list[ledger.Refusal]:
        time.sleep(0.05)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "check_booking", slow)


def race(work: Callable[[int], object]) -> tuple[list[object], list[set[str]], list[BaseException]]:
    barrier = threading.Barrier(THREADS)
    accepted: list[object] = []
    refused: list[set[str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            result = work(i)
        except ValidationFailed as exc:
            with lock:
                refused.append({p.code for p in exc.problems})
        except BaseException as exc:  # anything else would be a 500
            with lock:
                errors.append(exc)
        else:
            with lock:
                accepted.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return accepted, refused, errors


def book(ref: str, code: str, amount: int, key: str | None = None) -> object:
    with unit_of_work() as session:
        entry = budget.book(
            session,
            ref,
            kind="commitment",
            service_code=code,
            amount_cents=amount,
            occurs_on=START,
            actor="cm-test",
            idempotency_key=key,
            now=NOW,
        )
        return entry.id


def test_residential_cap_holds_under_concurrent_bookings(services, slow_checks):
    ref = budget_case(granted_cents=1_000_000)  # verblijf cap: EUR 5,000.00
    accepted, refused, errors = race(lambda i: book(ref, services["verblijf"], 150_000))
    assert errors == []
    assert len(accepted) == 3  # 3 x 1,500 = 4,500 fits under 5,000; a 4th would not
    assert refused == [{"residential_cap_exceeded"}] * (THREADS - 3)
    s = budget_summary(ref)
    assert s.residential_committed_cents == 450_000 <= s.residential_cap_cents
    assert snapshot(ref).budget[2] == 3  # the version moved once per accepted booking


def test_budget_cap_holds_exactly_under_concurrent_bookings(services, slow_checks):
    ref = budget_case(granted_cents=1_000_000)
    amounts = [250_000, 250_000, 250_000, 250_000, 250_000, 250_000, 250_000, 250_000]
    accepted, refused, errors = race(lambda i: book(ref, services["ambulant"], amounts[i]))
    assert errors == []
    assert len(accepted) == 4  # exactly the budget
    assert all(r == {"budget_exceeded"} for r in refused)
    s = budget_summary(ref)
    assert s.committed_cents == s.total_granted_cents == 1_000_000


def test_concurrent_replays_of_one_idempotency_key_book_once(services, slow_checks):
    ref = budget_case()
    accepted, refused, errors = race(lambda i: book(ref, services["ambulant"], 10_000, key=f"same-{ref}"))
    assert errors == [] and refused == []
    assert len(set(accepted)) == 1
    assert len(snapshot(ref).entries) == 1


def test_concurrent_extensions_grant_once(services):
    from sqlalchemy import select

    from zorgtafel.db.models import CarePlan, Case

    ref = budget_case()

    def extend(_: int) -> object:
        with unit_of_work() as session:
            case = session.scalars(select(Case).where(Case.reference == ref)).one()
            plan = session.scalars(select(CarePlan).where(CarePlan.case_id == case.id)).one()
            return budget.grant_extension(session, plan, actor="cm", now=NOW).extension_cents

    accepted, refused, errors = race(extend)
    assert errors == []
    assert accepted == [500_000]
    assert refused == [{"second_extension"}] * (THREADS - 1)
    assert budget_summary(ref).total_granted_cents == 1_500_000


def budget_summary(ref: str) -> budget.BudgetSummary:
    with unit_of_work() as session:
        return budget.summary(session, ref)
