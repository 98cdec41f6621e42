"""Invitation versions of a zorgtafel: every change of time, place or status is a new SEQUENCE,
sent to every invitee (REQUEST asks them again; CANCEL withdraws the meeting)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from zorgtafel import outbox, timeline
from zorgtafel.db.models import Case, Evaluation, Expert, FamilyMember, OutboxMessage, Participant, Zorgtafel
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


@dataclass(frozen=True)
class MeetingVersion:
    """One version (SEQUENCE) of a meeting that invitations are sent for."""

    kind: str  # outbox kind: "invitation" (a zorgtafel) or "evaluation_invitation"
    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    location: str
    label: str  # "zorgtafel" or "evaluatie 2"


def response_due(now: datetime, starts_at: datetime, settings: Settings) -> datetime:
    """When an invited expert must have answered: within the response window, and at the latest
    ``ZT_MIN_LEAD_MINUTES`` before the start, so that a replacement for a silent expert gets the
    same lead time as the first invitees; when the meeting is nearer than twice that lead, halfway
    to the start (the expert still gets half the time that is left). Never before ``now``."""
    window = timedelta(minutes=settings.response_window_minutes)
    margin = min(timedelta(minutes=settings.min_lead_minutes), max(starts_at - now, timedelta(0)) / 2)
    return max(now, min(now + window, starts_at - margin))


def _supersede(session: Session, kind: str, uid: str, sequence: int) -> None:
    # Unsent intents of older versions are not sent: nobody needs yesterday's time.
    for prefix in (kind, f"notice-{kind}", f"{kind}_update", f"notice-{kind}_update"):
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.idempotency_key.like(f"{prefix}:{uid}:%"),
                OutboxMessage.idempotency_key.not_like(f"{prefix}:{uid}:{sequence}:%"),
            )
            .values(status="superseded")
        )


def enqueue_meeting(
    session: Session,
    case: Case,
    meeting: MeetingVersion,
    participants: list[Participant],
    *,
    method: str,
    now: datetime,
    settings: Settings,
    answers_kept: bool = False,
) -> int:
    """One mail intent per mailed participant (and one notice per other channel) for this
    version of the meeting. Returns the number of participants it went to.

    ``answers_kept``: the time did not change (only the attendee list did), so whoever already
    received an earlier version gets an update of kind ``<kind>_update`` that does not ask them
    again (their answer stands); a participant who never received a version gets a first
    invitation as usual."""
    session.flush()
    _supersede(session, meeting.kind, meeting.uid, meeting.sequence)
    mailed = [
        p for p in participants if p.email and p.invitation_state in MAILED_STATES and p.replaced_at is None
    ]
    # Professionals see each other; a family member's address goes only to that family member.
    professionals = [{"email": p.email, "label": p.label} for p in mailed if p.role != ParticipantRole.FAMILY]
    respond_by = min(now + timedelta(minutes=settings.response_window_minutes), meeting.starts_at)
    common = {
        "method": method,
        "meeting": meeting.label,
        "reference": case.reference,
        "uid": meeting.uid,
        "sequence": meeting.sequence,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "location": meeting.location,
        # Personal answer links are for the zorgtafel; evaluations are answered in the calendar.
        "rsvp": meeting.kind == "invitation",
    }
    for p in mailed:
        if method == "CANCEL" and meeting.kind == "invitation" and p.invited_sequence is None:
            continue  # never invited: nothing to withdraw
        own = [{"email": p.email, "label": p.label}] if p.role == ParticipantRole.FAMILY else []
        kind = meeting.kind
        if answers_kept and p.invited_sequence is not None:
            kind = f"{meeting.kind}_update"
        outbox.enqueue(
            session,
            key=f"{kind}:{meeting.uid}:{meeting.sequence}:{p.party_key}",
            kind=kind,
            recipient=p.email or "",
            payload={
                **common,
                "participant_id": p.id,
                "role_label": p.label,
                "respond_by": (p.response_due_at or respond_by).isoformat(),
                "attendees": professionals + own,
            },
            case=case,
        )
        # The same event as a short notice on the participant's other channels.
        _enqueue_notices(
            session,
            case,
            p,
            key=f"notice-{kind}:{meeting.uid}:{meeting.sequence}:{p.party_key}",
            payload=common,
        )
    return len(mailed)


def _enqueue_notices(
    session: Session, case: Case, p: Participant, *, key: str, payload: dict[str, Any]
) -> None:
    """One apprise notice intent per channel the participant uses besides mail (``<key>:<n>``)."""
    for i, url in enumerate(notify_urls(session, case, p)):
        outbox.enqueue(
            session,
            key=f"{key}:{i}",
            kind="notice",
            channel="apprise",
            recipient=f"{p.label} (kanaal {i + 1})",
            payload={**payload, "url": url, "participant_id": p.id},
            case=case,
        )


def _zorgtafel_version(zorgtafel: Zorgtafel) -> MeetingVersion:
    return MeetingVersion(
        "invitation", zorgtafel.uid, zorgtafel.sequence, zorgtafel.starts_at, zorgtafel.ends_at,
        zorgtafel.location, "zorgtafel",
    )  # fmt: skip


def enqueue_version(
    session: Session,
    case: Case,
    zorgtafel: Zorgtafel,
    *,
    method: str,
    now: datetime,
    settings: Settings,
    answers_kept: bool = False,
) -> int:
    """Invitations for the zorgtafel's current SEQUENCE (see enqueue_meeting for answers_kept)."""
    return enqueue_meeting(
        session,
        case,
        _zorgtafel_version(zorgtafel),
        list(zorgtafel.participants),
        method=method,
        now=now,
        settings=settings,
        answers_kept=answers_kept,
    )


def withdraw(
    session: Session,
    case: Case,
    zorgtafel: Zorgtafel,
    participant: Participant,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> bool:
    """A CANCEL of the zorgtafel's current SEQUENCE to one attendee who is no longer invited (an
    expert who was replaced); the meeting goes on for everyone else. Outbox kind
    ``invitation_withdrawal`` (so sending it does not make the participant "sent" again).

    Nothing is sent to someone who never received a version (their unsent invitation was
    superseded). The participant's ``invited_sequence`` becomes this SEQUENCE: a late calendar
    answer to an earlier version is then recognised as outdated. ``starts_at``/``ends_at``: the
    time the attendee was invited for, when the meeting moves at the same time. Returns whether
    a CANCEL went out."""
    if not participant.email or participant.invited_sequence is None:
        return False
    meeting = _zorgtafel_version(zorgtafel)
    if starts_at is not None and ends_at is not None:
        meeting = replace(meeting, starts_at=starts_at, ends_at=ends_at)
    kind = "invitation_withdrawal"
    common = {
        "method": "CANCEL",
        "meeting": meeting.label,
        "reference": case.reference,
        "uid": meeting.uid,
        "sequence": meeting.sequence,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "location": meeting.location,
        "rsvp": False,
    }
    session.flush()
    outbox.enqueue(
        session,
        key=f"{kind}:{meeting.uid}:{meeting.sequence}:{participant.party_key}",
        kind=kind,
        recipient=participant.email,
        payload={
            **common,
            "participant_id": participant.id,
            "role_label": participant.label,
            "attendees": [{"email": participant.email, "label": participant.label}],
        },
        case=case,
    )
    _enqueue_notices(
        session,
        case,
        participant,
        key=f"notice-{kind}:{meeting.uid}:{meeting.sequence}:{participant.party_key}",
        payload=common,
    )
    participant.invited_sequence = meeting.sequence
    return True


def enqueue_evaluation(
    session: Session, case: Case, evaluation: Evaluation, *, method: str, now: datetime, settings: Settings
) -> int:
    """Invitations for one evaluation (a single event of its own, see README), to the people of
    the zorgtafel who did not decline it."""
    z = case.zorgtafel
    if z is None:
        return 0
    location = case.case_manager.location if case.case_manager and case.case_manager.location else z.location
    meeting = MeetingVersion(
        "evaluation_invitation",
        evaluation.uid,
        evaluation.sequence,
        evaluation.due_at,
        evaluation.due_at + timedelta(minutes=settings.evaluation_duration_minutes),
        location or settings.default_location,
        f"evaluatie {evaluation.number}",
    )
    people = [p for p in z.participants if p.invitation_state != InvitationState.DECLINED]
    return enqueue_meeting(session, case, meeting, people, method=method, now=now, settings=settings)


def enqueue_reminder(session: Session, case: Case, evaluation: Evaluation, *, settings: Settings) -> int:
    """A reminder of an evaluation to everyone invited to it, on mail and their other channels."""
    z = case.zorgtafel
    if z is None or evaluation.status != "scheduled":
        return 0
    common = {
        "method": "REQUEST",
        "meeting": f"evaluatie {evaluation.number}",
        "reference": case.reference,
        "uid": evaluation.uid,
        "sequence": evaluation.sequence,
        "starts_at": evaluation.due_at.isoformat(),
        "location": (case.case_manager.location if case.case_manager else None) or z.location,
        "rsvp": False,
    }
    people = [
        p
        for p in z.participants
        if p.email and p.invitation_state in MAILED_STATES and p.invitation_state != InvitationState.DECLINED
    ]
    for p in people:
        key = f"{evaluation.uid}:{evaluation.sequence}:{p.party_key}"
        outbox.enqueue(
            session,
            key=f"reminder:{key}",
            kind="reminder",
            recipient=p.email or "",
            payload=common,
            case=case,
        )
        _enqueue_notices(session, case, p, key=f"notice-reminder:{key}", payload=common)
    return len(people)


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
    # Everyone is asked again: the experts get a new time to answer in (zorgtafel.convening).
    for p in z.participants:
        if p.role == ParticipantRole.EXPERT and p.invitation_state != InvitationState.REPLACED:
            p.response_due_at = response_due(now, starts_at, settings)
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
