"""Invitation versions of a zorgtafel: every change of time, place or status is a new SEQUENCE,
sent to every invitee (REQUEST asks them again; CANCEL withdraws the meeting)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from zorgtafel import outbox, timeline
from zorgtafel.db.models import Case, Expert, FamilyMember, OutboxMessage, Participant, Zorgtafel
from zorgtafel.errors import FieldProblem, ValidationFailed
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import CaseStatus, InvitationState, ParticipantRole

# Participants who get (or got) a calendar invitation by mail.
MAILED_STATES = {
    InvitationState.PENDING,
    InvitationState.SENT,
    InvitationState.ACCEPTED,
    InvitationState.DECLINED,
    InvitationState.TENTATIVE,
}


def _key(zorgtafel: Zorgtafel, participant: Participant) -> str:
    return f"invitation:{zorgtafel.uid}:{zorgtafel.sequence}:{participant.party_key}"


def notify_urls(session: Session, case: Case, participant: Participant) -> list[str]:
    """The participant's own channels besides mail (apprise URLs), from wherever they are kept."""
    if participant.expert_id is not None:
        return list(session.get_one(Expert, participant.expert_id).notify_urls)
    if participant.family_member_id is not None:
        member = session.get_one(FamilyMember, participant.family_member_id)
        return list(member.notify_urls) if member.consent_to_contact else []
    if participant.role == ParticipantRole.CASE_MANAGER and case.case_manager is not None:
        return list(case.case_manager.notify_urls)
    if participant.role == ParticipantRole.REGISTRANT:
        return list(case.registrant_notify_urls)
    return []


def enqueue_version(
    session: Session, case: Case, zorgtafel: Zorgtafel, *, method: str, now: datetime, settings: Settings
) -> int:
    """One intent per mailed participant for the zorgtafel's current SEQUENCE; unsent intents of
    older versions are superseded (nobody needs yesterday's time). Returns the number enqueued."""
    session.flush()
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.kind == "invitation",
            OutboxMessage.idempotency_key.like(f"invitation:{zorgtafel.uid}:%"),
            OutboxMessage.idempotency_key.not_like(f"invitation:{zorgtafel.uid}:{zorgtafel.sequence}:%"),
        )
        .values(status="superseded")
    )
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.kind == "notice",
            OutboxMessage.idempotency_key.like(f"notice:{zorgtafel.uid}:%"),
            OutboxMessage.idempotency_key.not_like(f"notice:{zorgtafel.uid}:{zorgtafel.sequence}:%"),
        )
        .values(status="superseded")
    )
    mailed = [p for p in zorgtafel.participants if p.email and p.invitation_state in MAILED_STATES]
    # Professionals see each other; a family member's address goes only to that family member.
    professionals = [{"email": p.email, "label": p.label} for p in mailed if p.role != ParticipantRole.FAMILY]
    respond_by = min(now + timedelta(minutes=settings.response_window_minutes), zorgtafel.starts_at)
    for p in mailed:
        if method == "CANCEL" and p.invited_sequence is None:
            continue  # never invited: nothing to withdraw
        own = [{"email": p.email, "label": p.label}] if p.role == ParticipantRole.FAMILY else []
        outbox.enqueue(
            session,
            key=_key(zorgtafel, p),
            kind="invitation",
            recipient=p.email or "",
            payload={
                "method": method,
                "reference": case.reference,
                "participant_id": p.id,
                "role_label": p.label,
                "uid": zorgtafel.uid,
                "sequence": zorgtafel.sequence,
                "starts_at": zorgtafel.starts_at.isoformat(),
                "ends_at": zorgtafel.ends_at.isoformat(),
                "location": zorgtafel.location,
                "respond_by": respond_by.isoformat(),
                "attendees": professionals + own,
            },
            case=case,
        )
        # The same event as a short notice on the participant's other channels.
        for i, url in enumerate(notify_urls(session, case, p)):
            outbox.enqueue(
                session,
                key=f"notice:{zorgtafel.uid}:{zorgtafel.sequence}:{p.party_key}:{i}",
                kind="notice",
                channel="apprise",
                recipient=f"{p.label} (kanaal {i + 1})",
                payload={
                    "url": url,
                    "method": method,
                    "reference": case.reference,
                    "participant_id": p.id,
                    "sequence": zorgtafel.sequence,
                    "starts_at": zorgtafel.starts_at.isoformat(),
                    "location": zorgtafel.location,
                },
                case=case,
            )
    return len(mailed)


def _planned(case: Case) -> Zorgtafel:
    z = case.zorgtafel
    if z is None or z.status != "planned":
        raise ValidationFailed(
            [
                FieldProblem(
                    ("zorgtafel",), "zorgtafel_not_planned", "Er is geen geplande zorgtafel voor dit dossier."
                )
            ]
        )
    return z


def reschedule(
    session: Session,
    case: Case,
    *,
    starts_at: datetime,
    location: str | None,
    reason: str,
    actor: str,
    now: datetime,
    settings: Settings,
) -> Zorgtafel:
    """Move the zorgtafel (and/or change its place): SEQUENCE + 1 and everyone is asked again."""
    z = _planned(case)
    if starts_at.tzinfo is None:
        raise ValidationFailed(
            [FieldProblem(("starts_at",), "naive_datetime", "Geef een tijdstip met tijdzone.")]
        )
    if starts_at <= now:
        raise ValidationFailed(
            [FieldProblem(("starts_at",), "starts_in_past", "Het nieuwe tijdstip ligt in het verleden.")]
        )
    new_location = location or z.location
    if starts_at == z.starts_at and new_location == z.location:
        raise ValidationFailed(
            [FieldProblem(("starts_at",), "nothing_changed", "Tijdstip en plaats zijn ongewijzigd.")]
        )
    z.starts_at = starts_at
    z.ends_at = starts_at + timedelta(minutes=settings.zorgtafel_duration_minutes)
    z.location = new_location
    z.sequence += 1
    late = starts_at > case.zorgtafel_deadline
    local = starts_at.astimezone(settings.tz)
    timeline.record(
        session,
        case,
        "zorgtafel_rescheduled",
        f"Zorgtafel verplaatst naar {local:%d-%m-%Y %H:%M} ({new_location}); reden: {reason}"
        + (" — let op: na de 48-uurstermijn." if late else ""),
        data={"sequence": z.sequence, "starts_at": starts_at.isoformat(), "after_deadline": late},
        actor=actor,
        at=now,
    )
    enqueue_version(session, case, z, method="REQUEST", now=now, settings=settings)
    return z


def cancel(
    session: Session, case: Case, *, reason: str, actor: str, now: datetime, settings: Settings
) -> Zorgtafel:
    """Cancel the zorgtafel: SEQUENCE + 1, STATUS:CANCELLED, a CANCEL to everyone invited."""
    z = _planned(case)
    z.status = "cancelled"
    z.sequence += 1
    case.status = CaseStatus.ZORGTAFEL_CANCELLED
    timeline.record(
        session,
        case,
        "zorgtafel_cancelled",
        f"Zorgtafel geannuleerd; reden: {reason}",
        data={"sequence": z.sequence},
        actor=actor,
        at=now,
    )
    enqueue_version(session, case, z, method="CANCEL", now=now, settings=settings)
    return z
