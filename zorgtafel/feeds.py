"""Private calendar feeds: a secret URL per expert or case manager with their zorgtafels.

Only a hash of the token is stored; issuing a new token revokes the old one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zorgtafel import tokens
from zorgtafel.db.models import CaseManager, Expert, Participant, Zorgtafel

Owner = Expert | CaseManager


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    sequence: int
    reference: str
    starts_at: datetime
    ends_at: datetime
    location: str
    cancelled: bool


def issue(owner: Owner) -> str:
    """A new secret feed token for this person (the previous one stops working)."""
    token = tokens.new_secret_token()
    owner.feed_token_hash = tokens.token_hash(token)
    return token


def revoke(owner: Owner) -> None:
    owner.feed_token_hash = None


def owner_for_token(session: Session, token: str) -> Owner | None:
    digest = tokens.token_hash(token)
    return session.scalar(select(Expert).where(Expert.feed_token_hash == digest)) or session.scalar(
        select(CaseManager).where(CaseManager.feed_token_hash == digest)
    )


def events(session: Session, owner: Owner) -> list[FeedEvent]:
    party = f"expert:{owner.id}" if isinstance(owner, Expert) else f"case_manager:{owner.id}"
    rows = session.scalars(
        select(Zorgtafel)
        .join(Participant, Participant.zorgtafel_id == Zorgtafel.id)
        .where(Participant.party_key == party, Zorgtafel.status.in_(("planned", "held", "cancelled")))
        .order_by(Zorgtafel.starts_at)
    )
    return [
        FeedEvent(
            z.uid, z.sequence, z.case.reference, z.starts_at, z.ends_at, z.location, z.status == "cancelled"
        )
        for z in rows
    ]
