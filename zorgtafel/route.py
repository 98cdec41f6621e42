"""The steps of the crisis route, as the flow calls them. Each is idempotent: a retry, a resume
or a second run of the same case finds what the first one did and does nothing again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from zorgtafel import invitations, outbox, pool, timeline
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, Expert, Participant, Zorgtafel
from zorgtafel.errors import NotFound
from zorgtafel.rules.experts import candidate_pairs, fairness_order
from zorgtafel.rules.slots import SlotRequest, earliest_common_slot
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import CaseStatus, Channel, InvitationState, ParticipantRole


@dataclass(frozen=True)
class Plan:
    expert_ids: tuple[int, int]
    starts_at: datetime
    ends_at: datetime


def load_case(session: Session, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        raise NotFound(reference)
    return case


def unstarted_references(session: Session, limit: int = 50) -> list[str]:
    """Cases whose route has not been started in the orchestrator yet (oldest first)."""
    return list(
        session.scalars(
            select(Case.reference).where(Case.route_started_at.is_(None)).order_by(Case.id).limit(limit)
        )
    )


def record_route_start(
    session: Session, reference: str, *, flow_run_id: str | None, error: str | None
) -> None:
    """Note an attempt to start the route: the run's id when it worked, the error when not."""
    case = session.scalar(select(Case).where(Case.reference == reference).with_for_update())
    if case is None or case.route_started_at is not None:
        return
    case.route_start_attempts += 1
    if flow_run_id is None:
        case.route_start_error = error
        return
    case.route_flow_run_id = flow_run_id
    case.route_started_at = utcnow()
    case.route_start_error = None
    timeline.record(
        session,
        case,
        "route_started",
        "Crisisroute gestart in de orkestratie (Prefect).",
        data={"flow_run_id": flow_run_id, "attempts": case.route_start_attempts},
    )


def screen_step(session: Session, reference: str) -> bool:
    """Confirm the screening done at registration; tell the registrant when it is 'no'."""
    case = load_case(session, reference)
    if not case.eligible:
        outbox.enqueue(
            session,
            key=f"not-eligible:{case.reference}",
            kind="not_eligible_notice",
            recipient=case.registrant_email,
            payload={"reference": case.reference},
            case=case,
        )
        return False
    if case.status == CaseStatus.REGISTERED:
        case.status = CaseStatus.CONVENING
        timeline.record(session, case, "convening", "Crisisroute gestart: zorgtafel wordt samengesteld.")
    return True


def shortlist(session: Session, reference: str) -> list[int]:
    """Pool experts in the order the fairness rule offers them (the chosen pair once recorded)."""
    case = load_case(session, reference)
    if case.zorgtafel is not None:
        return [p.expert_id for p in case.zorgtafel.participants if p.expert_id is not None]
    return [c.expert_id for c in fairness_order(pool.candidates(session), case.registrant_agency_id)]


def find_plan(
    session: Session, reference: str, expert_ids: list[int], *, now: datetime, settings: Settings
) -> Plan | None:
    """The first pair (in fairness order) with a common free slot before the deadline."""
    case = load_case(session, reference)
    if case.zorgtafel is not None:
        z = case.zorgtafel
        ids = [p.expert_id for p in z.participants if p.expert_id is not None]
        return Plan((ids[0], ids[1]), z.starts_at, z.ends_at)
    if case.case_manager_id is None:
        return None
    duration = timedelta(minutes=settings.zorgtafel_duration_minutes)
    req = SlotRequest(
        not_before=now + timedelta(minutes=settings.min_lead_minutes),
        latest_start=case.zorgtafel_deadline,
        duration=duration,
        step=timedelta(minutes=settings.slot_step_minutes),
        hours=settings.parsed_meeting_hours,
        tz=settings.tz,
    )
    busy = pool.busy_intervals(
        session,
        expert_ids=expert_ids,
        case_manager_ids=[case.case_manager_id],
        start=req.not_before,
        end=req.latest_start + duration,
    )
    manager_busy = busy[("case_manager", case.case_manager_id)]
    by_id = {c.expert_id: c for c in pool.candidates(session) if c.expert_id in set(expert_ids)}
    ordered = [by_id[i] for i in expert_ids if i in by_id]
    best: Plan | None = None
    for first, second in candidate_pairs(ordered, case.registrant_agency_id):
        slot = earliest_common_slot(
            req, [manager_busy, busy[("expert", first.expert_id)], busy[("expert", second.expert_id)]]
        )
        if slot is not None:
            best = Plan((first.expert_id, second.expert_id), slot[0], slot[1])
            break
    return best


def mark_at_risk(session: Session, reference: str, reason: str, summary: str) -> None:
    case = load_case(session, reference)
    if case.zorgtafel is not None or case.status == CaseStatus.AT_RISK:
        return
    case.status = CaseStatus.AT_RISK
    timeline.record(session, case, "at_risk", summary, data={"reason": reason})


def _family_participant(
    member_id: int, relation: str, consent: bool, channel: str, email: str | None
) -> dict:
    if not consent:
        state = InvitationState.NO_CONSENT
    elif channel == Channel.EMAIL and email:
        state = InvitationState.PENDING
    else:
        state = InvitationState.VIA_CASE_MANAGER
    label = "Netwerk van het gezin" if relation == "network" else "Gezin"
    return {
        "party_key": f"family:{member_id}",
        "role": ParticipantRole.FAMILY,
        "family_member_id": member_id,
        "email": email if state == InvitationState.PENDING else None,
        "label": label,
        "state": state,
    }


def record_zorgtafel(
    session: Session, reference: str, plan: Plan, *, now: datetime, settings: Settings
) -> int:
    """Store the zorgtafel, its participants and one invitation intent per mailable participant."""
    case = load_case(session, reference)
    if case.zorgtafel is not None:
        return case.zorgtafel.id
    manager = case.case_manager
    assert manager is not None
    experts = [session.get_one(Expert, i) for i in plan.expert_ids]
    zorgtafel = Zorgtafel(
        case=case,
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
        location=manager.location or settings.default_location,
        status="planned",
        sequence=0,
        planned_at=now,
    )
    session.add(zorgtafel)
    parties: list[dict] = [
        {
            "party_key": f"case_manager:{manager.id}",
            "role": ParticipantRole.CASE_MANAGER,
            "email": manager.email,
            "label": "Casemanager",
            "state": InvitationState.PENDING,
        },
        {
            "party_key": "registrant",
            "role": ParticipantRole.REGISTRANT,
            "email": case.registrant_email,
            "label": f"Aanmelder ({case.registrant_agency.name})",
            "state": InvitationState.PENDING,
        },
    ]
    for expert in experts:
        parties.append(
            {
                "party_key": f"expert:{expert.id}",
                "role": ParticipantRole.EXPERT,
                "expert_id": expert.id,
                "email": expert.email,
                "label": f"Expert ({expert.agency.name})",
                "state": InvitationState.PENDING,
            }
        )
        expert.last_invited_at = now
    for member in case.family:
        parties.append(
            _family_participant(
                member.id, member.relation, member.consent_to_contact, member.preferred_channel, member.email
            )
        )
    participants = [
        Participant(
            zorgtafel=zorgtafel,
            role=p["role"],
            party_key=p["party_key"],
            expert_id=p.get("expert_id"),
            family_member_id=p.get("family_member_id"),
            email=p["email"],
            label=p["label"],
            invitation_state=p["state"],
        )
        for p in parties
    ]
    session.add_all(participants)
    case.status = CaseStatus.ZORGTAFEL_PLANNED
    session.flush()
    local = plan.starts_at.astimezone(settings.tz)
    timeline.record(
        session,
        case,
        "experts_chosen",
        "Poolexperts gekozen: " + ", ".join(e.agency.name for e in experts) + ".",
        data={"expert_ids": list(plan.expert_ids)},
        at=now,
    )
    timeline.record(
        session,
        case,
        "zorgtafel_planned",
        f"Zorgtafel gepland op {local:%d-%m-%Y %H:%M} ({zorgtafel.location}).",
        data={"zorgtafel_id": zorgtafel.id, "starts_at": plan.starts_at.isoformat()},
        at=now,
    )
    invitations.enqueue_version(session, case, zorgtafel, method="REQUEST", now=now, settings=settings)
    return zorgtafel.id


def summary(session: Session, reference: str, settings: Settings) -> dict:
    """What a coordinator sees at a glance; a case reference and facts, no personal data."""
    case = load_case(session, reference)
    z = case.zorgtafel
    return {
        "reference": case.reference,
        "status": case.status,
        "deadline": case.zorgtafel_deadline.astimezone(settings.tz).isoformat(),
        "zorgtafel_start": z.starts_at.astimezone(settings.tz).isoformat() if z else None,
        "within_deadline": (z.starts_at <= case.zorgtafel_deadline) if z else None,
        "invitations": [
            {"role": p.role, "label": p.label, "state": p.invitation_state}
            for p in (z.participants if z else [])
        ],
    }
