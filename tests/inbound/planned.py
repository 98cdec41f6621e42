"""A registered case with a recorded zorgtafel whose invitations count as sent (sequence 0),
made with the core's own steps, the way the route makes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from api.routers.registrations import to_core
from api.schemas import RegistrationIn
from tests.factories import registration
from zorgtafel import route
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, CaseEvent, OutboxMessage, Participant
from zorgtafel.db.session import unit_of_work
from zorgtafel.registration import register_case
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import InvitationState


@dataclass(frozen=True)
class Invitee:
    id: int
    email: str
    label: str
    role: str


@dataclass(frozen=True)
class Planned:
    reference: str
    case_id: int
    uid: str  # the zorgtafel's own uid
    ical_uid: str  # as it goes out in invitations: uid@mail_domain
    manager_email: str
    invitees: tuple[Invitee, ...]

    def by_role(self, role: str) -> Invitee:
        return next(i for i in self.invitees if i.role == role)


def planned_zorgtafel(**overrides: Any) -> Planned:
    settings = get_settings()
    reg = to_core(RegistrationIn.model_validate(registration(**overrides)))
    with unit_of_work() as session:
        case, _ = register_case(session, reg, now=utcnow(), settings=settings)
        ref = case.reference
    with unit_of_work() as session:
        assert route.screen_step(session, ref)
        ids = route.shortlist(session, ref)
        plan = route.find_plan(session, ref, ids, now=utcnow(), settings=settings)
        assert plan is not None
        route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=settings)
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        z = case.zorgtafel
        assert z is not None and case.case_manager is not None
        invitees = []
        for p in z.participants:
            if p.email and p.invitation_state == InvitationState.PENDING:
                # What outbox.mark_sent does once the invitation has gone out.
                p.invitation_state = InvitationState.SENT
                p.invited_sequence = 0
                p.invited_at = utcnow()
                invitees.append(Invitee(p.id, p.email, p.label, p.role))
        return Planned(
            ref, case.id, z.uid, f"{z.uid}@{settings.mail_domain}", case.case_manager.email, tuple(invitees)
        )


def participant(pid: int) -> Participant:
    with unit_of_work() as session:
        return session.get_one(Participant, pid)


def events(case_id: int) -> list[CaseEvent]:
    with unit_of_work() as session:
        return list(
            session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        )


def intents(case_id: int, kind: str) -> list[OutboxMessage]:
    with unit_of_work() as session:
        return list(
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.case_id == case_id, OutboxMessage.kind == kind)
            )
        )


def case_row(case_id: int) -> Case:
    with unit_of_work() as session:
        return session.get_one(Case, case_id)
