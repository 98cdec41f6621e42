"""The watch on real parts: the real database, a real SMTP server (aiosmtpd) read back with vobject,
a real HTTP peer as apprise target, and a controllable clock.

Each test plans in a week of its own in 2031 (``clock``), so the zorgtafels, busy time and weekly
caps of one test never decide another's slot; the pool itself is the suite's shared demo pool.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from api.deps import get_route_starter
from api.main import create_app
from api.routers.registrations import to_core
from api.schemas import RegistrationIn
from notifications.dispatch import dispatch_pending
from tests.api.conftest import RecordingStarter
from tests.auth_helpers import auth_headers
from tests.channels.conftest import peer  # noqa: F401 - a real HTTP peer for apprise
from tests.factories import CHILD_NAME, registration
from tests.integration.test_invitation_lifecycle import mailbox  # noqa: F401 - a real SMTP server
from zorgtafel import convening, route
from zorgtafel.db.models import BusyPeriod, Case, Expert, Participant
from zorgtafel.db.session import unit_of_work
from zorgtafel.registration import register_case
from zorgtafel.settings import Settings, get_settings
from zorgtafel.vocabulary import Role

BXL = ZoneInfo("Europe/Brussels")
# Monday 3 March 2031; every test gets the next week (no Belgian holiday on the Mondays used
# before Easter Monday 14 April 2031, but the tests do not depend on that).
FIRST_MONDAY = date(2031, 3, 3)
_weeks = itertools.count()


@dataclass
class Clock:
    """A week of its own for one test; ``at(day, "HH:MM")`` is local time in that week."""

    monday: date

    def at(self, weekday: int, hhmm: str) -> datetime:
        h, m = map(int, hhmm.split(":"))
        return datetime.combine(self.monday + timedelta(days=weekday), time(h, m), BXL).astimezone(UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(FIRST_MONDAY + timedelta(weeks=next(_weeks) * 2))


def register(now: datetime, settings: Settings | None = None, **overrides: object) -> str:
    """A registered, screened case (status convening), registered at ``now``."""
    settings = settings or get_settings()
    child = {"birth_date": (now.date() - timedelta(days=200)).isoformat(), "name": CHILD_NAME}
    body = registration(child=child, **overrides)
    reg = to_core(RegistrationIn.model_validate(body))
    with unit_of_work() as session:
        case, _ = register_case(session, reg, now=now, settings=settings)
        ref = case.reference
    with unit_of_work() as session:
        assert route.screen_step(session, ref)
    return ref


def plan(ref: str, now: datetime, settings: Settings | None = None) -> route.Plan:
    """What the crisis route does: shortlist, best pair and slot, record (invitations queued)."""
    settings = settings or get_settings()
    with unit_of_work() as session:
        p = route.find_plan(session, ref, route.shortlist(session, ref), now=now, settings=settings)
        assert p is not None
        route.record_zorgtafel(session, ref, p, now=now, settings=settings)
    return p


def watch(ref: str, now: datetime, settings: Settings | None = None) -> convening.CaseReport:
    with unit_of_work() as session:
        return convening.watch_case(session, ref, now=now, settings=settings or get_settings())


def send(ref: str, settings: Settings, now: datetime) -> int:
    with unit_of_work() as session:
        case_id = route.load_case(session, ref).id
    return dispatch_pending(case_id=case_id, settings=settings, clock=lambda: now).sent


def case_of(ref: str) -> Case:
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        _ = case.zorgtafel and case.zorgtafel.participants, case.events
        return case


def experts_of(ref: str) -> list[Participant]:
    """Expert participants, replaced ones included, in order of creation."""
    with unit_of_work() as session:
        z = route.load_case(session, ref).zorgtafel
        assert z is not None
        return [p for p in z.participants if p.role == "expert"]


def set_state(participant_id: int, state: str) -> None:
    with unit_of_work() as session:
        session.get_one(Participant, participant_id).invitation_state = state


@pytest.fixture
def busy() -> Iterator[list[int]]:
    """Busy periods a test adds (their ids), removed afterwards."""
    ids: list[int] = []
    yield ids
    with unit_of_work() as session:
        session.execute(delete(BusyPeriod).where(BusyPeriod.id.in_(ids)))


def make_busy(ids: list[int], *, start: datetime, end: datetime, expert_ids: list[int]) -> None:
    with unit_of_work() as session:
        rows = [BusyPeriod(expert_id=i, starts_at=start, ends_at=end, source="entered") for i in expert_ids]
        session.add_all(rows)
        session.flush()
        ids.extend(r.id for r in rows)


def active_expert_ids() -> list[int]:
    with unit_of_work() as session:
        return list(session.scalars(select(Expert.id).where(Expert.active.is_(True))))


@pytest.fixture
def starter() -> RecordingStarter:
    return RecordingStarter()


@pytest.fixture
def client(starter: RecordingStarter) -> TestClient:
    app = create_app()
    app.dependency_overrides[get_route_starter] = lambda: starter
    return TestClient(app, headers=auth_headers(Role.COORDINATOR))
