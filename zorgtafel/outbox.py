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
from zorgtafel.db.models import Case, OutboxMessage, Participant
from zorgtafel.vocabulary import InvitationState

# A claim older than this is taken to belong to a dispatcher that died mid-send.
CLAIM_LEASE = timedelta(minutes=2)


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


def claim(session: Session, *, case_id: int | None = None, limit: int = 100) -> list[OutboxMessage]:
    """Mark due intents as being sent by the caller; commit right after to make the claim visible."""
    now = utcnow()
    q = select(OutboxMessage).where(
        or_(
            OutboxMessage.status == "pending",
            (OutboxMessage.status == "sending")
            & (OutboxMessage.sent_at.is_(None))
            & (OutboxMessage.claimed_at < now - CLAIM_LEASE),
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
    if msg.kind == "invitation":
        participant = session.get_one(Participant, msg.payload["participant_id"])
        participant.invitation_state = InvitationState.SENT
        participant.invited_sequence = msg.payload["sequence"]
        participant.invited_at = at
        case = participant.zorgtafel.case
        timeline.record(
            session,
            case,
            "invitation_sent",
            f"Uitnodiging verstuurd naar {participant.label} (versie {msg.payload['sequence']}).",
            data={"participant_id": participant.id, "sequence": msg.payload["sequence"]},
            at=at,
        )
    elif msg.case_id is not None:
        case = session.get_one(Case, msg.case_id)
        timeline.record(
            session, case, f"{msg.kind}_sent", "Bericht verstuurd.", data={"outbox_id": msg.id}, at=at
        )


def mark_failed(session: Session, msg_id: int, *, error: str, permanent: bool) -> None:
    msg = session.get_one(OutboxMessage, msg_id)
    msg.last_error = error[:500]
    msg.status = "failed" if permanent else "pending"
    msg.claimed_at = None
    if permanent and msg.case_id is not None:
        timeline.record(
            session,
            session.get_one(Case, msg.case_id),
            f"{msg.kind}_failed",
            "Bericht kon niet verstuurd worden en wordt niet opnieuw geprobeerd; de casemanager "
            "neemt contact op via een ander kanaal.",
            data={"outbox_id": msg.id, "attempts": msg.attempts},
        )
