"""ORM rows to response bodies (no rules here, only shape)."""

from __future__ import annotations

from api.schemas import (
    AtRiskOut,
    CaseOut,
    DeadlineMissedOut,
    EventOut,
    FindingOut,
    ParticipantOut,
    RegistrationOut,
    RouteOut,
    ZorgtafelOut,
)
from zorgtafel.db.models import Case
from zorgtafel.route import risk_label
from zorgtafel.settings import Settings


def _findings(case: Case, key: str) -> list[FindingOut]:
    return [FindingOut(**f) for f in case.screening.get(key, [])]


def registration_out(case: Case, settings: Settings) -> RegistrationOut:
    return RegistrationOut(
        reference=case.reference,
        status=case.status,
        eligible=case.eligible,
        zorgtafel_deadline=case.zorgtafel_deadline.astimezone(settings.tz),
        reasons=_findings(case, "reasons"),
        notes=_findings(case, "notes"),
        case_url=f"/api/v1/cases/{case.reference}",
    )


def case_out(case: Case, settings: Settings) -> CaseOut:
    tz = settings.tz
    z = case.zorgtafel
    zorgtafel = None
    if z is not None:
        zorgtafel = ZorgtafelOut(
            starts_at=z.starts_at.astimezone(tz),
            ends_at=z.ends_at.astimezone(tz),
            location=z.location,
            status=z.status,
            sequence=z.sequence,
            within_deadline=z.starts_at <= case.zorgtafel_deadline,
            participants=[
                ParticipantOut(
                    role=p.role,
                    label=p.label,
                    invitation_state=p.invitation_state,
                    invited_sequence=p.invited_sequence,
                    invited_at=p.invited_at.astimezone(tz) if p.invited_at else None,
                    responded_at=p.responded_at.astimezone(tz) if p.responded_at else None,
                    response_due_at=p.response_due_at.astimezone(tz) if p.response_due_at else None,
                    replaced=p.replaced_at is not None,
                    replaced_at=p.replaced_at.astimezone(tz) if p.replaced_at else None,
                )
                for p in z.participants
            ],
        )
    return CaseOut(
        reference=case.reference,
        status=case.status,
        eligible=case.eligible,
        registered_at=case.registered_at.astimezone(tz),
        zorgtafel_deadline=case.zorgtafel_deadline.astimezone(tz),
        reasons=_findings(case, "reasons"),
        notes=_findings(case, "notes"),
        zorgtafel=zorgtafel,
        route=RouteOut(
            started=case.route_started_at is not None,
            flow_run_id=case.route_flow_run_id,
            start_attempts=case.route_start_attempts,
            last_error=case.route_start_error,
        ),
        timeline=[
            EventOut(at=e.at.astimezone(tz), kind=e.kind, summary=e.summary, actor=e.actor)
            for e in case.events
        ],
        confirmed_at=case.confirmed_at.astimezone(tz) if case.confirmed_at else None,
        at_risk=AtRiskOut(
            since=case.at_risk_since.astimezone(tz),
            reason=case.risk_reason or "",
            reason_label=risk_label(case.risk_reason or ""),
            escalated_at=case.escalated_at.astimezone(tz) if case.escalated_at else None,
        )
        if case.at_risk_since is not None
        else None,
        deadline_missed=DeadlineMissedOut(
            at=case.deadline_missed_at.astimezone(tz),
            reason=case.deadline_missed_reason or "",
            reason_label=risk_label(case.deadline_missed_reason or ""),
        )
        if case.deadline_missed_at is not None
        else None,
    )
