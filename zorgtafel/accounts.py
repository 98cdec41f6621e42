"""Accounts and bearer tokens (issue 6): who may log in, and the tokens that say who is asking.

- Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106); at least 12 characters.
  ``authenticate`` verifies against a dummy hash when the user does not exist, has no password or
  is inactive, so the answer takes about as long either way.
- A token is ``secrets.token_urlsafe(32)`` with a prefix that says its kind (``zts_`` session,
  ``zta_`` API); only its SHA-256 is stored. Session tokens come from the password flow and expire
  after ``settings.access_token_minutes``; API tokens are for systems, carry a label and expire
  after ``settings.api_token_days``. Both can be revoked.
- ``seed_demo_users`` makes one demo account per role for the embedded stack (``zorgtafel seed``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from zorgtafel import tokens
from zorgtafel.db.models import Agency, AppUser, AuthToken, CaseManager, Expert, Participant, Zorgtafel
from zorgtafel.errors import FieldProblem, NotFound, ValidationFailed
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import Role

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 256
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,39}")
SESSION: Final = "session"
API: Final = "api"
PREFIX: Final = {SESSION: "zts_", API: "zta_"}
# last_used_at is written at most this often per token (a write per request would serialise reads).
TOUCH_INTERVAL: Final = timedelta(minutes=1)

_hasher = PasswordHasher()  # argon2id, the library's RFC 9106 low-memory profile
_dummy_hash: str | None = None


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(24))
    return _dummy_hash


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_problems(password: str | None, loc: tuple[str | int, ...] = ("password",)) -> list[FieldProblem]:
    if password is None:
        return []
    if len(password) < MIN_PASSWORD_LENGTH:
        return [
            FieldProblem(
                loc,
                "password_too_short",
                f"Het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens lang zijn.",
            )
        ]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [
            FieldProblem(
                loc,
                "password_too_long",
                f"Het wachtwoord mag hoogstens {MAX_PASSWORD_LENGTH} tekens lang zijn.",
            )
        ]
    return []


# --- users -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Links:
    region: str | None
    agency_id: int | None
    case_manager_id: int | None
    expert_id: int | None


def _link_problems(session: Session, role: Role, links: Links, *, user_id: int | None) -> list[FieldProblem]:
    """Each role needs the link that scopes it; a link must point at something that exists and
    belongs to no other account."""
    problems: list[FieldProblem] = []
    if links.agency_id is not None and session.get(Agency, links.agency_id) is None:
        problems.append(FieldProblem(("agency_id",), "unknown_agency", "Onbekende organisatie."))
    if links.case_manager_id is not None:
        if session.get(CaseManager, links.case_manager_id) is None:
            problems.append(
                FieldProblem(("case_manager_id",), "unknown_case_manager", "Onbekende casemanager.")
            )
        elif _linked_elsewhere(session, AppUser.case_manager_id == links.case_manager_id, user_id):
            problems.append(
                FieldProblem(
                    ("case_manager_id",),
                    "already_linked",
                    "Deze casemanager is al aan een ander account gekoppeld.",
                )
            )
    if links.expert_id is not None:
        if session.get(Expert, links.expert_id) is None:
            problems.append(FieldProblem(("expert_id",), "unknown_expert", "Onbekende expert."))
        elif _linked_elsewhere(session, AppUser.expert_id == links.expert_id, user_id):
            problems.append(
                FieldProblem(
                    ("expert_id",), "already_linked", "Deze expert is al aan een ander account gekoppeld."
                )
            )
    required = {
        Role.REGISTRANT: (
            "agency_id",
            links.agency_id,
            "Een aanmelder hoort bij een organisatie (agency_id).",
        ),
        Role.CASE_MANAGER: (
            "case_manager_id",
            links.case_manager_id,
            "Een casemanager-account hoort bij een casemanager (case_manager_id).",
        ),
        Role.COORDINATOR: ("region", links.region, "Een coördinator hoort bij een regio (region)."),
        Role.EXPERT: (
            "expert_id",
            links.expert_id,
            "Een poolexpert-account hoort bij een expert (expert_id).",
        ),
    }
    if role in required:
        field, value, message = required[role]
        if value is None:
            problems.append(FieldProblem((field,), "link_required", message))
    return problems


def _linked_elsewhere(session: Session, condition: Any, user_id: int | None) -> bool:
    query = select(AppUser.id).where(condition)
    if user_id is not None:
        query = query.where(AppUser.id != user_id)
    return session.scalar(query.limit(1)) is not None


def create_user(
    session: Session,
    *,
    username: str,
    role: Role | str,
    now: datetime,
    password: str | None = None,
    region: str | None = None,
    agency_id: int | None = None,
    case_manager_id: int | None = None,
    expert_id: int | None = None,
    email: str | None = None,
    active: bool = True,
) -> AppUser:
    """A new account; every problem at once (ValidationFailed), nothing stored then.

    Without a password the account can only use API tokens (a system account)."""
    problems: list[FieldProblem] = []
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        problems.append(
            FieldProblem(
                ("username",),
                "invalid_username",
                "Gebruikersnaam: 3 tot 40 tekens, kleine letters, cijfers, punt, liggend streepje of "
                "koppelteken, beginnend met een letter of cijfer.",
            )
        )
    elif session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
        problems.append(FieldProblem(("username",), "username_taken", "Deze gebruikersnaam bestaat al."))
    try:
        role = Role(role)
    except ValueError:
        problems.append(
            FieldProblem(
                ("role",), "unknown_role", f"Onbekende rol; kies uit {', '.join(r.value for r in Role)}."
            )
        )
        raise ValidationFailed(problems) from None
    problems += password_problems(password)
    problems += _link_problems(
        session, role, Links(region, agency_id, case_manager_id, expert_id), user_id=None
    )
    if problems:
        raise ValidationFailed(problems)
    user = AppUser(
        username=username,
        password_hash=hash_password(password) if password is not None else None,
        role=role.value,
        region=region,
        agency_id=agency_id,
        case_manager_id=case_manager_id,
        expert_id=expert_id,
        email=email,
        notify_urls=[],
        active=active,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user_id: int,
    *,
    now: datetime,
    role: Role | str | _Unset = UNSET,
    active: bool | _Unset = UNSET,
    password: str | _Unset | None = UNSET,
    region: str | _Unset | None = UNSET,
    agency_id: int | _Unset | None = UNSET,
    case_manager_id: int | _Unset | None = UNSET,
    expert_id: int | _Unset | None = UNSET,
    email: str | _Unset | None = UNSET,
) -> AppUser:
    """Change role, links, password or active; deactivating an account revokes its tokens."""
    user = session.get(AppUser, user_id)
    if user is None:
        raise NotFound(str(user_id))
    problems: list[FieldProblem] = []
    new_role = Role(user.role)
    if not isinstance(role, _Unset):
        try:
            new_role = Role(role)
        except ValueError:
            raise ValidationFailed(
                [FieldProblem(("role",), "unknown_role", f"Onbekende rol; kies uit {', '.join(Role)}.")]
            ) from None

    def pick(value: Any, current: Any) -> Any:
        return current if isinstance(value, _Unset) else value

    links = Links(
        pick(region, user.region),
        pick(agency_id, user.agency_id),
        pick(case_manager_id, user.case_manager_id),
        pick(expert_id, user.expert_id),
    )
    if not isinstance(password, _Unset):
        problems += password_problems(password)
    problems += _link_problems(session, new_role, links, user_id=user.id)
    if problems:
        raise ValidationFailed(problems)
    scope_changed = (new_role.value, links) != (
        user.role,
        Links(user.region, user.agency_id, user.case_manager_id, user.expert_id),
    )
    user.role = new_role.value
    user.region, user.agency_id = links.region, links.agency_id
    user.case_manager_id, user.expert_id = links.case_manager_id, links.expert_id
    if not isinstance(email, _Unset):
        user.email = email
    if not isinstance(password, _Unset):
        user.password_hash = hash_password(password) if password is not None else None
    if not isinstance(active, _Unset):
        user.active = active
    # A token speaks for the account as it was: a new role or scope, a new password or a
    # deactivation ends the sessions that are open. API tokens end only with deactivation.
    if user.active is False:
        revoke_all(session, user.id, now=now)
    elif scope_changed or not isinstance(password, _Unset):
        revoke_all(session, user.id, now=now, kind=SESSION)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> AppUser | None:
    """The active account with this username and password, or None (wrong password, unknown or
    inactive user, or an account without a password: all take one argon2 verification)."""
    username = username.strip().lower()
    # No such name can exist (and PostgreSQL refuses a NUL byte in text): verify all the same.
    user = (
        session.scalar(select(AppUser).where(AppUser.username == username))
        if USERNAME.fullmatch(username)
        else None
    )
    candidate = user.password_hash if user is not None and user.password_hash else None
    try:
        ok = _hasher.verify(candidate or _dummy(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or candidate is None or user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(candidate):
        user.password_hash = hash_password(password)
    return user


def list_users(session: Session) -> list[AppUser]:
    return list(session.scalars(select(AppUser).order_by(AppUser.username)))


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    """The token itself is only here, once: the database keeps its hash."""

    token: str
    record: AuthToken


def _issue(
    session: Session, user: AppUser, *, kind: str, label: str | None, expires_at: datetime, now: datetime
) -> IssuedToken:
    token = PREFIX[kind] + secrets.token_urlsafe(32)
    record = AuthToken(
        user_id=user.id,
        token_hash=tokens.token_hash(token),
        kind=kind,
        label=label,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    return IssuedToken(token, record)


def issue_session_token(session: Session, user: AppUser, *, now: datetime, settings: Settings) -> IssuedToken:
    expires = now + timedelta(minutes=settings.access_token_minutes)
    return _issue(session, user, kind=SESSION, label=None, expires_at=expires, now=now)


def issue_api_token(
    session: Session,
    user: AppUser,
    *,
    label: str,
    now: datetime,
    settings: Settings,
    days: int | None = None,
) -> IssuedToken:
    """A long-lived token for a system (an agency's registration software, a reporting job)."""
    label = label.strip()
    problems = []
    if not 1 <= len(label) <= 100:
        problems.append(
            FieldProblem(("label",), "invalid_label", "Geef het token een naam van 1 tot 100 tekens.")
        )
    if days is not None and not 1 <= days <= settings.api_token_days:
        problems.append(
            FieldProblem(
                ("days",),
                "invalid_lifetime",
                f"Een API-token geldt minstens 1 en hoogstens {settings.api_token_days} dagen.",
            )
        )
    if problems:
        raise ValidationFailed(problems)
    expires = now + timedelta(days=days or settings.api_token_days)
    return _issue(session, user, kind=API, label=label, expires_at=expires, now=now)


@dataclass(frozen=True)
class Resolved:
    """What a presented bearer token turned out to be: the token and its user, or why not."""

    token: AuthToken | None
    user: AppUser | None
    problem: str | None  # unknown | revoked | expired | inactive


def resolve(session: Session, token: str, *, now: datetime) -> Resolved:
    record = session.scalar(select(AuthToken).where(AuthToken.token_hash == tokens.token_hash(token)))
    if record is None:
        return Resolved(None, None, "unknown")
    if record.revoked_at is not None:
        return Resolved(record, record.user, "revoked")
    if record.expires_at <= now:
        return Resolved(record, record.user, "expired")
    if not record.user.active:
        return Resolved(record, record.user, "inactive")
    return Resolved(record, record.user, None)


def touch(session: Session, token_id: int, *, now: datetime) -> None:
    """Record use, at most once per TOUCH_INTERVAL (a conditional UPDATE: no read-modify-write)."""
    session.execute(
        update(AuthToken)
        .where(
            AuthToken.id == token_id,
            or_(AuthToken.last_used_at.is_(None), AuthToken.last_used_at < now - TOUCH_INTERVAL),
        )
        .values(last_used_at=now)
    )


def revoke(session: Session, token_id: int, *, now: datetime) -> AuthToken:
    """Revoke a token (again: nothing changes, the first moment stays)."""
    record = session.get(AuthToken, token_id)
    if record is None:
        raise NotFound(str(token_id))
    if record.revoked_at is None:
        record.revoked_at = now
    return record


def revoke_all(session: Session, user_id: int, *, now: datetime, kind: str | None = None) -> int:
    query = update(AuthToken).where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
    if kind is not None:
        query = query.where(AuthToken.kind == kind)
    return session.execute(query.values(revoked_at=now)).rowcount or 0  # type: ignore[attr-defined]


def list_tokens(session: Session, user_id: int | None = None) -> list[AuthToken]:
    query = select(AuthToken).order_by(AuthToken.id)
    if user_id is not None:
        query = query.where(AuthToken.user_id == user_id)
    return list(session.scalars(query))


# --- what a pool expert sees -------------------------------------------------------------------


@dataclass(frozen=True)
class ExpertInvitation:
    """One zorgtafel a pool expert is (or was) invited to: the meeting and their answer, never
    the case's content."""

    participant_id: int
    reference: str
    starts_at: datetime
    ends_at: datetime
    location: str
    zorgtafel_status: str
    sequence: int
    role_label: str
    invitation_state: str
    response_due_at: datetime | None
    answerable: bool


def expert_invitations(session: Session, expert_id: int, *, now: datetime) -> list[ExpertInvitation]:
    rows = session.execute(
        select(Participant, Zorgtafel)
        .join(Zorgtafel, Participant.zorgtafel_id == Zorgtafel.id)
        .where(Participant.expert_id == expert_id)
        .order_by(Zorgtafel.starts_at, Participant.id)
    ).all()
    out = []
    for p, z in rows:
        answerable = (
            z.status == "planned"
            and z.starts_at > now
            and p.replaced_at is None
            and p.invitation_state != "replaced"
        )
        out.append(
            ExpertInvitation(
                participant_id=p.id,
                reference=z.case.reference,
                starts_at=z.starts_at,
                ends_at=z.ends_at,
                location=z.location,
                zorgtafel_status=z.status,
                sequence=z.sequence,
                role_label=p.label,
                invitation_state=p.invitation_state,
                response_due_at=p.response_due_at,
                answerable=answerable,
            )
        )
    return out


# --- demo accounts -----------------------------------------------------------------------------

DEMO_REGISTRANT_AGENCY: Final = "ziekenhuis-hasselt"


def demo_password(role: Role) -> str:
    return f"demo-{role.value.replace('_', '')}-wachtwoord"


def demo_username(role: Role) -> str:
    return f"demo-{role.value.replace('_', '')}"


def _linked(column: Any) -> Any:
    return select(column).where(column.is_not(None))


def seed_demo_users(session: Session, region: str, *, now: datetime) -> list[tuple[str, Role, str]]:
    """One demo account per role, with an obvious demo password (only `zorgtafel seed` calls
    this: never in production). Idempotent. Returns (username, role, password) per account."""
    agency_id = session.scalar(select(Agency.id).where(Agency.code == DEMO_REGISTRANT_AGENCY))
    # The first case manager and expert without an account of their own (on a fresh demo
    # database: the first of each).
    case_manager_id = session.scalar(
        select(CaseManager.id)
        .where(CaseManager.region == region, CaseManager.id.not_in(_linked(AppUser.case_manager_id)))
        .order_by(CaseManager.id)
        .limit(1)
    )
    expert_id = session.scalar(
        select(Expert.id).where(Expert.id.not_in(_linked(AppUser.expert_id))).order_by(Expert.id).limit(1)
    )
    links: dict[Role, dict[str, Any]] = {
        Role.REGISTRANT: {"agency_id": agency_id, "region": region},
        Role.CASE_MANAGER: {"case_manager_id": case_manager_id, "region": region},
        Role.COORDINATOR: {"region": region},
        Role.EXPERT: {"expert_id": expert_id},
        Role.ADMIN: {},
    }
    seeded: list[tuple[str, Role, str]] = []
    for role, link in links.items():
        username = demo_username(role)
        if session.scalar(select(AppUser.id).where(AppUser.username == username)) is None:
            create_user(session, username=username, role=role, password=demo_password(role), now=now, **link)
        seeded.append((username, role, demo_password(role)))
    return seeded
