"""Answering an invitation through the personal link in it, without a login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zorgtafel import timeline, tokens
from zorgtafel.db.models import Participant, UsedToken, Zorgtafel
from zorgtafel.vocabulary import InvitationState

PURPOSE = "rsvp"
ANSWERS = {"accept": InvitationState.ACCEPTED, "decline": InvitationState.DECLINED}
ANSWER_TEXT = {InvitationState.ACCEPTED: "aanvaard", InvitationState.DECLINED: "geweigerd"}


@dataclass(frozen=True)
class RsvpView:
    """What the RSVP page shows: the meeting, never the case."""

    reference: str
    starts_at: datetime
    ends_at: datetime
    location: str
    role_label: str
    state: str


def make_link_token(participant: Participant, zorgtafel: Zorgtafel, *, secret: str) -> str:
    """A link for one participant and one version of the invitation, valid until the meeting starts."""
    return tokens.sign(
        PURPOSE,
        {"pid": participant.id, "seq": zorgtafel.sequence},
        expires_at=zorgtafel.starts_at,
        secret=secret,
    )


def _load(session: Session, token: str, *, secret: str, now: datetime) -> tuple[dict, Participant, Zorgtafel]:
    claims = tokens.verify(token, purpose=PURPOSE, secret=secret, now=now)
    participant = session.get(Participant, claims["pid"])
    if participant is None:
        raise tokens.TokenRefused("invalid_token", "Deze link is ongeldig.")
    zorgtafel = participant.zorgtafel
    if zorgtafel.status == "cancelled":
        raise tokens.TokenRefused("cancelled", "Deze zorgtafel werd geannuleerd.")
    if zorgtafel.status != "planned" or zorgtafel.starts_at <= now:
        raise tokens.TokenRefused("expired", "Deze zorgtafel heeft al plaatsgevonden.")
    if participant.invitation_state == InvitationState.REPLACED:
        raise tokens.TokenRefused(
            "cancelled", "U bent niet langer uitgenodigd voor deze zorgtafel; er is een andere expert."
        )
    if claims["seq"] != zorgtafel.sequence:
        raise tokens.TokenRefused(
            "superseded",
            "Deze uitnodiging werd vervangen door een nieuwere; gebruik de link in de laatste e-mail.",
        )
    if session.get(UsedToken, claims["jti"]) is not None:
        raise tokens.TokenRefused("used", "Deze link werd al gebruikt; uw antwoord is geregistreerd.")
    return claims, participant, zorgtafel


def view(session: Session, token: str, *, secret: str, now: datetime) -> RsvpView:
    _, participant, z = _load(session, token, secret=secret, now=now)
    return RsvpView(
        z.case.reference, z.starts_at, z.ends_at, z.location, participant.label, participant.invitation_state
    )


def answer(session: Session, token: str, action: str, *, secret: str, now: datetime) -> RsvpView:
    """Record accept/decline; the link is used up (a replay is refused, even a concurrent one)."""
    if action not in ANSWERS:
        raise tokens.TokenRefused("unknown_action", "Onbekend antwoord.")
    claims, participant, z = _load(session, token, secret=secret, now=now)
    try:
        with session.begin_nested():
            session.add(UsedToken(token_id=claims["jti"], purpose=PURPOSE, used_at=now))
    except IntegrityError as exc:
        raise tokens.TokenRefused(
            "used", "Deze link werd al gebruikt; uw antwoord is geregistreerd."
        ) from exc
    state = ANSWERS[action]
    participant.invitation_state = state
    participant.responded_at = now
    participant.answered_at = now
    timeline.record(
        session,
        z.case,
        f"invitation_{state.value}",
        f"{participant.label} heeft de uitnodiging {ANSWER_TEXT[state]} (via de persoonlijke link).",
        data={"participant_id": participant.id, "sequence": z.sequence, "via": "link"},
        actor=f"participant:{participant.id}",
        at=now,
    )
    return RsvpView(z.case.reference, z.starts_at, z.ends_at, z.location, participant.label, state)
