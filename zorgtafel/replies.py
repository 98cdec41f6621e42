"""Answers to invitations (iTIP REPLY and COUNTER, RFC 5546), applied to the zorgtafel they
belong to.

The organizer mailbox reads the mail (notifications/itip_inbound.py turns it into an
:class:`ItipIn`); this module decides what it means for the case. Everything happens in the
caller's transaction, and nothing is raised for a business outcome: an unknown meeting, an
address that was not invited or an outdated answer is an :class:`ReplyOutcome` like any
other, so the mail receiver can acknowledge the mail and move on.

Replays are harmless: the same answer twice changes nothing and leaves one timeline event; a
counter proposal is one outbox intent, keyed by meeting, version, attendee and proposed start.

Privacy: timeline summaries name a participant by role label only; no e-mail address and no
free text from the attendee (COMMENT) goes into the timeline or the outbox payload.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zorgtafel import outbox, timeline
from zorgtafel.crypto import blind_index
from zorgtafel.db.models import Case, Participant, Zorgtafel
from zorgtafel.settings import Settings, get_settings
from zorgtafel.vocabulary import InvitationState


@dataclass(frozen=True)
class ItipIn:
    """One attendee's answer, as read from an iTIP REPLY or COUNTER."""

    method: str  # "REPLY" | "COUNTER"
    uid: str  # the iCalendar UID as sent: "<zorgtafel uid>@<mail domain>"
    sequence: int
    attendee_email: str
    partstat: str  # ACCEPTED | DECLINED | TENTATIVE | NEEDS-ACTION | DELEGATED
    recurrence_id: datetime | None = None  # aware; the answer concerns one occurrence
    proposed_start: datetime | None = None  # aware; COUNTER only
    proposed_end: datetime | None = None
    comment: str | None = None  # the attendee's free text: never stored or sent on
    sender: str | None = None  # the mail's From address
    dtstamp: datetime | None = None  # when the attendee's client wrote the answer (aware)


class ReplyCode(StrEnum):
    RECORDED = "recorded"  # the participant's invitation state changed
    UNCHANGED = "unchanged"  # already recorded (a replay), or NEEDS-ACTION
    DELEGATED = "delegated"  # passed on to someone else: on the timeline, state unchanged
    OCCURRENCE_RECORDED = "occurrence_recorded"  # answer for one occurrence of a series
    COUNTER_RECORDED = "counter_recorded"  # a proposal for another time, sent to the case manager
    STALE = "stale"  # answers an older version of the invitation
    OUTDATED = "outdated"  # written before the answer already recorded (delivered out of order)
    CANCELLED = "cancelled"  # the zorgtafel was cancelled: the answer changes nothing
    NOT_INVITED = "not_invited"  # the address was not invited to this zorgtafel
    UNKNOWN_MEETING = "unknown_meeting"  # no zorgtafel with this UID
    UNSUPPORTED = "unsupported"  # another iTIP method, or a COUNTER without a time


@dataclass(frozen=True)
class ReplyOutcome:
    code: ReplyCode
    message: str  # Dutch, for a log line or an operator; no address, no name
    reference: str | None = None  # the case reference, when the meeting is known
    participant_ids: tuple[int, ...] = ()
    state: str | None = None  # the participant's invitation state afterwards

    @property
    def applied(self) -> bool:
        """The answer was taken into account (possibly as a no-op replay)."""
        return self.code in {
            ReplyCode.RECORDED,
            ReplyCode.UNCHANGED,
            ReplyCode.DELEGATED,
            ReplyCode.OCCURRENCE_RECORDED,
            ReplyCode.COUNTER_RECORDED,
        }


PARTSTAT_STATES: dict[str, InvitationState] = {
    "ACCEPTED": InvitationState.ACCEPTED,
    "DECLINED": InvitationState.DECLINED,
    "TENTATIVE": InvitationState.TENTATIVE,
}
_VERBS: dict[str, str] = {
    InvitationState.ACCEPTED: "aanvaard",
    InvitationState.DECLINED: "geweigerd",
    InvitationState.TENTATIVE: "voorlopig aanvaard",
}


def zorgtafel_uid(ical_uid: str, mail_domain: str) -> str | None:
    """The zorgtafel's own uid from an iCalendar UID, or None if it is not one of ours."""
    uid = ical_uid.strip()
    if "@" not in uid:
        return uid or None
    local, _, domain = uid.rpartition("@")
    return local if local and domain.lower() == mail_domain.lower() else None


def apply_itip(
    session: Session, msg: ItipIn, *, now: datetime, settings: Settings | None = None
) -> ReplyOutcome:
    """Apply one REPLY or COUNTER in the caller's transaction and say what happened."""
    settings = settings or get_settings()
    method = msg.method.strip().upper()
    own_uid = zorgtafel_uid(msg.uid, settings.mail_domain)
    zorgtafel = (
        session.scalar(select(Zorgtafel).where(Zorgtafel.uid == own_uid)) if own_uid is not None else None
    )
    if zorgtafel is None:
        return ReplyOutcome(
            ReplyCode.UNKNOWN_MEETING,
            "Antwoord hoort bij geen enkele zorgtafel van dit systeem; niets gewijzigd.",
        )
    case = zorgtafel.case
    reference = case.reference
    if method not in ("REPLY", "COUNTER"):
        return ReplyOutcome(
            ReplyCode.UNSUPPORTED,
            f"iTIP-methode {method or '(geen)'} wordt niet verwerkt; niets gewijzigd.",
            reference,
        )

    attendee = msg.attendee_email.strip().lower()
    participants = list(
        session.scalars(
            select(Participant)
            .where(Participant.zorgtafel_id == zorgtafel.id, Participant.email_bidx == blind_index(attendee))
            .order_by(Participant.id)
            .with_for_update()
        )
    )
    facts: dict[str, Any] = {
        "method": method,
        "sequence": msg.sequence,
        "partstat": msg.partstat.upper(),
        "recurrence_id": _iso(msg.recurrence_id),
        "sender_matches_attendee": (msg.sender or "").strip().lower() == attendee,
    }
    if zorgtafel.status == "cancelled":
        return ReplyOutcome(
            ReplyCode.CANCELLED,
            f"Zorgtafel {reference} is geannuleerd; het antwoord wordt niet verwerkt.",
            reference,
            tuple(p.id for p in participants),
            participants[0].invitation_state if participants else None,
        )
    if not participants:
        _record_once(
            session,
            case,
            "reply_not_invited",
            "Er kwam een antwoord op de uitnodiging voor de zorgtafel van een adres dat niet "
            "uitgenodigd is; het werd niet verwerkt.",
            data=facts,
            at=now,
        )
        return ReplyOutcome(
            ReplyCode.NOT_INVITED,
            f"Antwoord voor zorgtafel {reference} van een adres dat niet uitgenodigd is; niets gewijzigd.",
            reference,
        )

    ids = tuple(p.id for p in participants)
    label = participants[0].label
    invited = max(p.invited_sequence or 0 for p in participants)
    if msg.sequence < invited:
        _record_once(
            session,
            case,
            "reply_stale",
            f"Verouderd antwoord van {label} genegeerd: het antwoord gaat over versie {msg.sequence} "
            f"van de uitnodiging, de laatst verstuurde is versie {invited}.",
            data={**facts, "participant_ids": list(ids), "invited_sequence": invited},
            at=now,
        )
        return ReplyOutcome(
            ReplyCode.STALE,
            f"Verouderd antwoord (versie {msg.sequence}, uitnodiging versie {invited}) voor zorgtafel "
            f"{reference}; niets gewijzigd.",
            reference,
            ids,
            participants[0].invitation_state,
        )

    if method == "COUNTER":
        return _counter(session, msg, case, zorgtafel, participants, facts, now=now, settings=settings)
    return _reply(session, msg, case, zorgtafel, participants, facts, now=now, settings=settings)


def _reply(
    session: Session,
    msg: ItipIn,
    case: Case,
    zorgtafel: Zorgtafel,
    participants: list[Participant],
    facts: dict[str, Any],
    *,
    now: datetime,
    settings: Settings,
) -> ReplyOutcome:
    reference = case.reference
    ids = tuple(p.id for p in participants)
    label = participants[0].label
    partstat = msg.partstat.strip().upper()
    occurrence = ""
    if msg.recurrence_id is not None:
        occurrence = f" voor de bijeenkomst van {_local(msg.recurrence_id, settings)}"

    if partstat == "DELEGATED":
        _record_once(
            session,
            case,
            "invitation_delegated",
            f"{label} heeft de uitnodiging{occurrence} doorgegeven aan iemand anders; de casemanager "
            "beslist of die persoon deelneemt.",
            data={**facts, "participant_ids": list(ids)},
            at=now,
        )
        return ReplyOutcome(
            ReplyCode.DELEGATED,
            f"{label} heeft de uitnodiging doorgegeven; de uitnodigingsstatus blijft ongewijzigd.",
            reference,
            ids,
            participants[0].invitation_state,
        )

    new_state = PARTSTAT_STATES.get(partstat)
    if new_state is None:  # NEEDS-ACTION: no decision yet
        return ReplyOutcome(
            ReplyCode.UNCHANGED,
            f"Antwoord van {label} zonder beslissing (NEEDS-ACTION); niets gewijzigd.",
            reference,
            ids,
            participants[0].invitation_state,
        )
    verb = _VERBS[new_state]

    if msg.recurrence_id is not None and _is_recurring(zorgtafel):
        # One occurrence of a series: the series' state stays what the participant answered
        # for the series; the answer for this occurrence goes on the timeline.
        created = _record_once(
            session,
            case,
            f"occurrence_{new_state}",
            f"{label} heeft de uitnodiging{occurrence} {verb}.",
            data={**facts, "participant_ids": list(ids)},
            at=now,
        )
        return ReplyOutcome(
            ReplyCode.OCCURRENCE_RECORDED if created else ReplyCode.UNCHANGED,
            f"{label} heeft de uitnodiging{occurrence} {verb}.",
            reference,
            ids,
            participants[0].invitation_state,
        )

    answered_at = msg.dtstamp or now
    current = [p for p in participants if p.answered_at is None or p.answered_at <= answered_at]
    if not current:
        return ReplyOutcome(
            ReplyCode.OUTDATED,
            f"Antwoord van {label} is ouder dan het antwoord dat al geregistreerd is; niets gewijzigd.",
            reference,
            ids,
            participants[0].invitation_state,
        )
    changed = [p for p in current if p.invitation_state != new_state]
    for p in changed:
        p.invitation_state = new_state
        p.responded_at = now
        p.answered_at = answered_at
    if not changed:
        return ReplyOutcome(
            ReplyCode.UNCHANGED,
            f"Antwoord van {label} was al verwerkt ({verb}); niets gewijzigd.",
            reference,
            ids,
            new_state,
        )
    for p in changed:
        # Same kind and shape as an answer through the personal link (zorgtafel.rsvp).
        timeline.record(
            session,
            case,
            f"invitation_{new_state}",
            f"{p.label} heeft de uitnodiging{occurrence} {verb} (via de agenda).",
            data={**facts, "participant_id": p.id, "via": "agenda"},
            actor=f"participant:{p.id}",
            at=now,
        )
    return ReplyOutcome(
        ReplyCode.RECORDED, f"{label} heeft de uitnodiging {verb}.", reference, ids, new_state
    )


def _counter(
    session: Session,
    msg: ItipIn,
    case: Case,
    zorgtafel: Zorgtafel,
    participants: list[Participant],
    facts: dict[str, Any],
    *,
    now: datetime,
    settings: Settings,
) -> ReplyOutcome:
    reference = case.reference
    ids = tuple(p.id for p in participants)
    label = participants[0].label
    state = participants[0].invitation_state
    start, end = msg.proposed_start, msg.proposed_end
    if start is None or start.utcoffset() is None or (end is not None and end.utcoffset() is None):
        return ReplyOutcome(
            ReplyCode.UNSUPPORTED,
            f"Tegenvoorstel van {label} zonder (geldig) tijdstip; niets gewijzigd.",
            reference,
            ids,
            state,
        )
    if end is None:  # no end proposed: keep the planned length
        end = start + (zorgtafel.ends_at - zorgtafel.starts_at)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    when = f"{_local(start, settings)}–{end.astimezone(settings.tz):%H:%M}"
    if start.astimezone(settings.tz).date() != end.astimezone(settings.tz).date():
        when = f"{_local(start, settings)} tot {_local(end, settings)}"
    data = {
        **facts,
        "participant_ids": list(ids),
        "proposed_start": start.isoformat(),
        "proposed_end": end.isoformat(),
        "has_comment": bool(msg.comment and msg.comment.strip()),
    }
    late = start > case.zorgtafel_deadline
    summary = f"{label} stelt een ander tijdstip voor: {when}."
    if late:
        summary += " Dat is na de uiterste datum voor de zorgtafel."
    _record_once(session, case, "counter_proposed", summary, data=data, at=now)

    manager = case.case_manager
    if manager is not None and manager.email:
        digest = hashlib.sha256(
            f"{msg.uid}|{msg.sequence}|{msg.attendee_email.strip().lower()}|{start.isoformat()}".encode()
        ).hexdigest()[:32]
        outbox.enqueue(
            session,
            key=f"counter_notice:{zorgtafel.uid}:{msg.sequence}:{digest}",
            kind="counter_notice",
            recipient=manager.email,
            payload={
                "reference": reference,
                "uid": zorgtafel.uid,
                "sequence": msg.sequence,
                "participant_id": ids[0],
                "role_label": label,
                "proposed_start": start.isoformat(),
                "proposed_end": end.isoformat(),
                "planned_start": zorgtafel.starts_at.astimezone(UTC).isoformat(),
                "deadline": case.zorgtafel_deadline.astimezone(UTC).isoformat(),
            },
            case=case,
        )
        told = "de casemanager krijgt een bericht"
    else:
        told = "er is geen casemanager om te verwittigen"
    return ReplyOutcome(
        ReplyCode.COUNTER_RECORDED,
        f"{label} stelt een ander tijdstip voor ({when}); {told}. De uitnodigingsstatus blijft ongewijzigd.",
        reference,
        ids,
        state,
    )


def _is_recurring(zorgtafel: Zorgtafel) -> bool:
    """Whether the zorgtafel is a series. Today it is always one meeting: the model has no
    recurrence rule. When series come (6-weekly evaluations), this is where an answer for one
    occurrence stops changing the participant's state for the whole series."""
    return False


def _record_once(
    session: Session,
    case: Case,
    kind: str,
    summary: str,
    *,
    data: dict[str, Any],
    at: datetime,
) -> bool:
    """Add a timeline event unless the case already has one of this kind with the same data
    (the same mail delivered twice). Returns whether it was added."""
    session.flush()
    for event in case.events:
        if event.kind == kind and event.data == data:
            return False
    timeline.record(session, case, kind, summary, data=data, at=at)
    return True


def _local(moment: datetime, settings: Settings) -> str:
    return f"{moment.astimezone(settings.tz):%d-%m-%Y %H:%M}"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None
