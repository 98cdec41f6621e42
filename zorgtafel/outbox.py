"""The outbox: intents to send, stored in the transaction of the change that causes them.

A dispatcher (notifications/dispatch.py) claims pending intents, renders and sends them, and
reports back here. The idempotency key makes enqueuing the same intent twice a no-op.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zorgtafel import timeline
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, OutboxAttempt, OutboxMessage, Participant
from zorgtafel.vocabulary import InvitationState

# A claim older than this is taken to belong to a dispatcher that died mid-send.
CLAIM_LEASE = timedelta(minutes=2)
# Temporary failures are retried with exponential backoff, for at most MAX_AGE.
BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_CAP = timedelta(minutes=10)
MAX_AGE = timedelta(hours=48)

SENT_SUMMARIES = {
    "not_eligible_notice": "Antwoord 'buiten doelgroep' verstuurd naar de aanmelder.",
    "counter_notice": "Voorstel voor een ander tijdstip doorgestuurd naar de casemanager.",
    "notice": "Bericht verstuurd via een ander kanaal van de deelnemer.",
    "evaluation_invitation": "Uitnodiging voor een evaluatie verstuurd.",
    "reminder": "Herinnering aan een evaluatie verstuurd.",
    "invitation_update": "Bijgewerkte uitnodiging verstuurd (gewijzigde deelnemerslijst, zelfde tijdstip).",
    "invitation_withdrawal": "Uitnodiging ingetrokken bij een vervangen expert.",
    "escalation_notice": "Coördinator gewaarschuwd: zorgtafel in gevaar.",
}


def message_id_for(key: str, domain: str) -> str:
    """Deterministic Message-ID: a resend after a crash is recognisably the same message."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    recipient: str,
    payload: dict[str, Any],
    case: Case | None = None,
    channel: str = "email",
) -> OutboxMessage:
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    msg = OutboxMessage(
        idempotency_key=key,
        case_id=case.id if case is not None else None,
        kind=kind,
        channel=channel,
        recipient=recipient,
        payload=payload,
        status="pending",
        attempts=0,
        created_at=utcnow(),
    )
    session.add(msg)
    session.flush()
    return msg


def backoff(attempts: int, *, base: timedelta = BACKOFF_BASE, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """Wait before the next try after ``attempts`` failed ones: 15 s, 30 s, 1 min, ... at most 10 min."""
    return min(base * (2 ** max(0, attempts - 1)), cap)


def claim(
    session: Session,
    *,
    case_id: int | None = None,
    limit: int = 50,
    now: datetime | None = None,
    lease: timedelta = CLAIM_LEASE,
) -> list[OutboxMessage]:
    """Mark due intents as being sent by the caller; commit right after to make the claim visible.

    Due: pending and past its backoff, or claimed by a dispatcher that has not reported back
    within the lease (it died mid-send)."""
    now = now or utcnow()
    q = select(OutboxMessage).where(
        or_(
            (OutboxMessage.status == "pending")
            & or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
            (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - lease),
        )
    )
    if case_id is not None:
        q = q.where(OutboxMessage.case_id == case_id)
    rows = list(session.scalars(q.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)))
    for row in rows:
        row.status = "sending"
        row.claimed_at = now
        row.attempts += 1
    return rows


def mark_sent(session: Session, msg_id: int, *, message_id: str, at: datetime | None = None) -> None:
    msg = session.get_one(OutboxMessage, msg_id)
    if msg.status == "sent":
        return
    at = at or utcnow()
    msg.status, msg.sent_at, msg.message_id, msg.last_error = "sent", at, message_id, None
    msg.next_attempt_at = None
    session.add(OutboxAttempt(message=msg, at=at, outcome="sent"))
    if msg.kind == "invitation":
        participant = session.get_one(Participant, msg.payload["participant_id"])
        sequence = msg.payload["sequence"]
        previous = participant.invited_sequence
        # A newer version asks everyone again; a resend of the same one leaves an answer alone.
        # An expert replaced while their invitation was in flight stays replaced.
        if participant.replaced_at is None and (previous is None or sequence > previous):
            participant.invitation_state = InvitationState.SENT
            participant.invited_sequence = sequence
            participant.invited_at = at
            participant.responded_at = None
            participant.answered_at = None
        timeline.record(
            session,
            participant.zorgtafel.case,
            "invitation_sent",
            f"Uitnodiging verstuurd naar {participant.label} (versie {sequence}).",
            data={
                "participant_id": participant.id,
                "sequence": sequence,
                "method": msg.payload.get("method"),
            },
            at=at,
        )
    elif msg.case_id is not None:
        case = session.get_one(Case, msg.case_id)
        timeline.record(
            session,
            case,
            f"{msg.kind}_sent",
            SENT_SUMMARIES.get(msg.kind, "Bericht verstuurd."),
            data={"outbox_id": msg.id, "channel": msg.channel},
            at=at,
        )


def mark_failed(
    session: Session, msg_id: int, *, error: str, permanent: bool, at: datetime | None = None
) -> None:
    """Record a failed try: a temporary one is retried after a backoff, until MAX_AGE has passed."""
    at = at or utcnow()
    msg = session.get_one(OutboxMessage, msg_id)
    if msg.status == "sent":
        return
    msg.last_error = error[:500]
    msg.claimed_at = None
    expired = at - msg.created_at > MAX_AGE
    session.add(
        OutboxAttempt(
            message=msg, at=at, outcome="permanent" if permanent else "temporary", error=error[:500]
        )
    )
    if not permanent and not expired:
        msg.status = "pending"
        msg.next_attempt_at = at + backoff(msg.attempts)
        return
    msg.status = "failed"
    msg.next_attempt_at = None
    if msg.case_id is not None:
        timeline.record(
            session,
            session.get_one(Case, msg.case_id),
            f"{msg.kind}_failed",
            "Bericht kon niet verstuurd worden en wordt niet opnieuw geprobeerd; de casemanager "
            "neemt contact op via een ander kanaal.",
            data={"outbox_id": msg.id, "attempts": msg.attempts, "channel": msg.channel},
            at=at,
        )
