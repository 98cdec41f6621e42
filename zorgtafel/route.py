"""The steps of the crisis route, as the flow calls them. Each is idempotent: a retry, a resume
or a second run of the same case finds what the first one did and does nothing again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from zorgtafel import invitations, outbox, pool, timeline
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, Expert, Participant, Zorgtafel
from zorgtafel.errors import NotFound
from zorgtafel.rules.matching import Match, MatchRequest, best_match, coverage
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import CaseStatus, Channel, InvitationState, ParticipantRole

# Why a case is at risk (Case.risk_reason) or missed its deadline (Case.deadline_missed_reason).
RISK_LABELS_NL: dict[str, str] = {
    "no_feasible_pair": "geen koppel poolexperts met een gemeenschappelijk vrij moment vóór de termijn",
    "pinned_expert_unavailable": "een vastgezette expert kan niet vóór de termijn",
    "no_replacement": "geen vervanger gevonden voor een expert die weigerde of niet antwoordde",
    "awaiting_answers": "nog niet beide experts hebben geantwoord",
    "unconfirmed_experts": "niet beide experts hebben de zorgtafel aanvaard",
    "no_case_manager": "geen casemanager toegewezen",
    "planned_after_deadline": "de zorgtafel staat na de termijn van 48 uur gepland",
    "no_zorgtafel": "er werd geen zorgtafel gepland",
}


def risk_label(code: str) -> str:
    return RISK_LABELS_NL.get(code, code)


@dataclass(frozen=True)
class Plan:
    expert_ids: tuple[int, int]
    starts_at: datetime
    ends_at: datetime
    # Facts of the choice (how many of the case's concerns the pair covers, its load): shown,
    # never part of the plan's identity.
    covered: int = field(default=0, compare=False)
    pair_load: int = field(default=0, compare=False)


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
    """The experts the matching may choose from: active, outside the registrant's agency, not
    excluded by a coordinator (the chosen pair once recorded)."""
    case = load_case(session, reference)
    if case.zorgtafel is not None:
        return _seated_expert_ids(case.zorgtafel)
    excluded = pool.directives(session, case.id).excluded
    return pool.candidate_ids(session, exclude_agency_id=case.registrant_agency_id, excluded=excluded)


def _seated_expert_ids(z: Zorgtafel) -> list[int]:
    return [
        p.expert_id
        for p in z.participants
        if p.expert_id is not None
        and p.replaced_at is None
        and p.invitation_state != InvitationState.REPLACED
    ]


def search(
    session: Session,
    case: Case,
    *,
    now: datetime,
    settings: Settings,
    not_before: datetime,
    latest_start: datetime,
    fixed: Iterable[int] = (),
    excluded: Iterable[int] = (),
    candidate_ids: Iterable[int] | None = None,
    ignore_zorgtafel_id: int | None = None,
    step: timedelta | None = None,
) -> Match | None:
    """The best pair and slot for this case between ``not_before`` and ``latest_start``
    (zorgtafel.rules.matching.best_match: coverage of the case's concerns, then load, then the
    earliest start). ``ignore_zorgtafel_id``: the case's own zorgtafel does not count as busy
    time or load (when it is being re-planned)."""
    if case.case_manager_id is None:
        return None
    duration = timedelta(minutes=settings.zorgtafel_duration_minutes)
    horizon_end = latest_start + duration
    views = pool.expert_views(
        session,
        start=not_before,
        end=horizon_end,
        now=now,
        settings=settings,
        expert_ids=candidate_ids,
        ignore_zorgtafel_id=ignore_zorgtafel_id,
    )
    buffer = timedelta(minutes=settings.travel_buffer_minutes)
    req = MatchRequest(
        not_before=not_before,
        latest_start=latest_start,
        duration=duration,
        step=step or timedelta(minutes=settings.slot_step_minutes),
        hours=settings.parsed_meeting_hours,
        tz=settings.tz,
        concerns=frozenset(case.concerns or ()),
        concern_map=pool.concern_map(session),
        case_manager_busy=pool.case_manager_busy(
            session,
            case.case_manager_id,
            start=not_before - buffer,
            end=horizon_end + buffer,
            ignore_zorgtafel_id=ignore_zorgtafel_id,
        ),
        closed=pool.closed_days(settings, not_before, horizon_end),
        buffer=buffer,
        excluded_agency_ids=frozenset({case.registrant_agency_id}),
        excluded_expert_ids=frozenset(excluded),
        fixed_expert_ids=tuple(dict.fromkeys(fixed))[:2],
    )
    return best_match(req, views)


def _plan_from(match: Match) -> Plan:
    return Plan(match.expert_ids, match.starts_at, match.ends_at, len(match.covered), match.load)


def find_plan(
    session: Session, reference: str, expert_ids: list[int], *, now: datetime, settings: Settings
) -> Plan | None:
    """The best pair of the shortlist and its slot before the deadline (pinned experts in it,
    excluded ones not), or the recorded plan."""
    case = load_case(session, reference)
    if case.zorgtafel is not None:
        z = case.zorgtafel
        ids = _seated_expert_ids(z)
        return Plan((ids[0], ids[1]), z.starts_at, z.ends_at)
    if case.case_manager_id is None:
        return None
    d = pool.directives(session, case.id)
    match = search(
        session,
        case,
        now=now,
        settings=settings,
        not_before=now + timedelta(minutes=settings.min_lead_minutes),
        latest_start=case.zorgtafel_deadline,
        fixed=d.pinned,
        excluded=d.excluded,
        candidate_ids=expert_ids,
    )
    return _plan_from(match) if match is not None else None


def no_plan_reason(session: Session, reference: str, *, now: datetime, settings: Settings) -> str:
    """Why find_plan found nothing: no case manager, a pinned expert who cannot make it (a pair
    exists without the pins), or no pair at all."""
    case = load_case(session, reference)
    if case.case_manager_id is None:
        return "no_case_manager"
    d = pool.directives(session, case.id)
    if d.pinned:
        unpinned = search(
            session,
            case,
            now=now,
            settings=settings,
            not_before=now + timedelta(minutes=settings.min_lead_minutes),
            latest_start=case.zorgtafel_deadline,
            excluded=d.excluded,
        )
        if unpinned is not None:
            return "pinned_expert_unavailable"
    return "no_feasible_pair"


def set_risk(session: Session, case: Case, reason: str, *, now: datetime) -> bool:
    """Mark the case at risk for ``reason`` (a code of RISK_LABELS_NL); a case without a
    zorgtafel also gets the status ``at_risk``. Returns whether anything changed (a timeline
    event is written only then)."""
    changed = False
    if case.zorgtafel is None and case.status == CaseStatus.CONVENING:
        case.status = CaseStatus.AT_RISK
        changed = True
    if case.at_risk_since is None or case.risk_reason != reason:
        case.at_risk_since = case.at_risk_since or now
        case.risk_reason = reason
        changed = True
        timeline.record(
            session,
            case,
            "at_risk",
            f"Dossier in gevaar: {risk_label(reason)}.",
            data={"reason": reason},
            at=now,
        )
    return changed


def clear_risk(session: Session, case: Case, *, now: datetime, why: str) -> bool:
    """The risk is over (``why``: a Dutch sentence for the timeline)."""
    if case.at_risk_since is None:
        return False
    previous = case.risk_reason
    case.at_risk_since = None
    case.risk_reason = None
    timeline.record(
        session, case, "risk_resolved", f"Niet langer in gevaar: {why}", data={"previous": previous}, at=now
    )
    return True


def mark_at_risk(
    session: Session, reference: str, reason: str, summary: str | None = None, *, now: datetime | None = None
) -> None:
    """No zorgtafel could be planned: the case is at risk (the coordinator is warned by the
    zorgtafel-watch, see zorgtafel.convening). ``summary`` is kept for callers of the first
    release and not used: the timeline text follows from the reason."""
    case = load_case(session, reference)
    if case.zorgtafel is not None:
        return
    set_risk(session, case, reason, now=now or utcnow())


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
    # Facts for the timeline, before this zorgtafel counts: coverage and the pair's load.
    concerns = list(dict.fromkeys(case.concerns or ()))
    covered = coverage(concerns, pool.concern_map(session), experts[0].expertise, experts[1].expertise)
    load = pool.loads(session, plan.expert_ids, now=now, settings=settings)
    pair_load = sum(load.get(i, 0) for i in plan.expert_ids)
    due = invitations.response_due(now, plan.starts_at, settings)
    for expert in experts:
        parties.append(
            {
                "party_key": f"expert:{expert.id}",
                "role": ParticipantRole.EXPERT,
                "expert_id": expert.id,
                "email": expert.email,
                "label": f"Expert ({expert.agency.name})",
                "state": InvitationState.PENDING,
                "due": due,
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
            response_due_at=p.get("due"),
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
        "Poolexperts gekozen: " + ", ".join(e.agency.name for e in experts) + ". "
        f"Samen dekken ze {len(covered)} van de {len(concerns)} zorgen van de aanmelding; "
        f"belasting van het koppel: {pair_load} zorgtafel(s) sinds {settings.fairness_window_days} "
        "dagen (geplande inbegrepen).",
        data={
            "expert_ids": list(plan.expert_ids),
            "covered": len(covered),
            "concerns": len(concerns),
            "pair_load": pair_load,
            "fairness_window_days": settings.fairness_window_days,
            "respond_by": due.isoformat(),
        },
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
    tz = settings.tz

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat() if moment is not None else None

    return {
        "reference": case.reference,
        "status": case.status,
        "deadline": local(case.zorgtafel_deadline),
        "zorgtafel_start": local(z.starts_at) if z else None,
        "within_deadline": (z.starts_at <= case.zorgtafel_deadline) if z else None,
        "confirmed_at": local(case.confirmed_at),
        "at_risk": case.risk_reason if case.at_risk_since is not None else None,
        "at_risk_since": local(case.at_risk_since),
        "escalated_at": local(case.escalated_at),
        "deadline_missed": case.deadline_missed_reason if case.deadline_missed_at is not None else None,
        "invitations": [
            {
                "role": p.role,
                "label": p.label,
                "state": p.invitation_state,
                "respond_by": local(p.response_due_at),
            }
            for p in (z.participants if z else [])
        ],
    }
