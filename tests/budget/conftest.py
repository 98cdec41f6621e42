"""Budgets on the real database: a registered case with a case-budget plan, and catalogue services
with codes of their own (other tests and the seed keep theirs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from api.routers.registrations import to_core
from api.schemas import RegistrationIn
from tests.factories import registration
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Budget, CarePlan, Case, CaseEvent, LedgerEntry, Service
from zorgtafel.db.session import unit_of_work
from zorgtafel.registration import register_case
from zorgtafel.rules.eligibility import add_months
from zorgtafel.settings import get_settings

START = date(2027, 1, 1)
TERM_END = date(2027, 3, 31)  # add_months(START, 3) - 1 day, as zorgtafel.care_plan sets it
GRANTED = 1_000_000  # EUR 10,000.00


def registered() -> str:
    reg = to_core(RegistrationIn.model_validate(registration()))
    with unit_of_work() as session:
        case, _ = register_case(session, reg, now=utcnow(), settings=get_settings())
        return case.reference


def new_service(*, residential: bool, active: bool = True, name: str | None = None) -> str:
    code = f"test-{'verblijf' if residential else 'ambulant'}-{uuid4().hex[:10]}"
    with unit_of_work() as session:
        session.add(
            Service(
                code=code,
                name=name or ("Testverblijf" if residential else "Test ambulante begeleiding"),
                description="",
                unit="traject",
                residential=residential,
                tracks=["case_budget"],
                active=active,
            )
        )
    return code


def budget_case(
    *,
    granted_cents: int = GRANTED,
    starts_on: date = START,
    term_ends_on: date | None = None,
    track: str = "case_budget",
    status: str = "active",
    with_budget: bool = True,
) -> str:
    """A registered case with a decided plan and (by default) its budget; returns the reference."""
    ref = registered()
    with unit_of_work() as session:
        case = session.scalars(select(Case).where(Case.reference == ref)).one()
        plan = CarePlan(
            case_id=case.id,
            track=track,
            reasons="Geen passend regulier aanbod; snelle inzet nodig.",
            decided_at=datetime(2026, 12, 30, 10, 0, tzinfo=UTC),
            decided_by="case_manager",
            starts_on=starts_on,
            term_ends_on=term_ends_on or add_months(starts_on, 3) - timedelta(days=1),
            status=status,
            closure={},
        )
        session.add(plan)
        session.flush()
        if with_budget:
            session.add(
                Budget(care_plan_id=plan.id, granted_cents=granted_cents, extension_cents=0, currency="EUR")
            )
    return ref


@dataclass(frozen=True)
class Snapshot:
    entries: tuple[tuple[Any, ...], ...]
    budget: tuple[Any, ...]
    extended_until: date | None
    events: int


def snapshot(ref: str) -> Snapshot:
    """Everything a budget operation may change, read in a transaction of its own."""
    with unit_of_work() as session:
        case = session.scalars(select(Case).where(Case.reference == ref)).one()
        plan = session.scalars(select(CarePlan).where(CarePlan.case_id == case.id)).one()
        budget = session.scalars(select(Budget).where(Budget.care_plan_id == plan.id)).one_or_none()
        rows: tuple[tuple[Any, ...], ...] = ()
        figures: tuple[Any, ...] = ()
        if budget is not None:
            cols = LedgerEntry.__table__.columns
            rows = tuple(
                tuple(r)
                for r in session.execute(
                    select(*cols).where(LedgerEntry.budget_id == budget.id).order_by(LedgerEntry.id)
                )
            )
            figures = (budget.granted_cents, budget.extension_cents, budget.version, budget.currency)
        events = session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id)
        )
        return Snapshot(rows, figures, plan.extended_until, events or 0)


@pytest.fixture
def services() -> dict[str, str]:
    return {
        "verblijf": new_service(residential=True, name="CKG-verblijf (test)"),
        "ambulant": new_service(residential=False, name="Contextbegeleiding (test)"),
    }


@pytest.fixture
def make_case() -> Callable[..., str]:
    return budget_case
