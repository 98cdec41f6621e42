"""Accounts and tokens (issue 6): the OAuth2 password flow, logout, who am I, a pool expert's own
invitations, and the administrator's accounts and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.deps import SessionDep, SettingsDep
from api.security import Attempt, Principal, allow, audit, public
from zorgtafel import accounts, rsvp
from zorgtafel.clock import utcnow
from zorgtafel.db.models import AppUser, AuthToken, Expert, Participant
from zorgtafel.errors import FieldProblem, NotFound, ValidationFailed
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role

router = APIRouter(prefix="/api/v1")
EVERYONE = tuple(Role)

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
Password = Annotated[str, StringConstraints(max_length=accounts.MAX_PASSWORD_LENGTH)]
Region = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MAX_ID = 2_147_483_647  # ids are 32-bit on every backend: a larger one cannot exist
Ref = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class MeOut(BaseModel):
    username: str
    role: Role
    region: str | None
    agency_id: int | None
    case_manager_id: int | None
    expert_id: int | None
    token_kind: str
    token_expires_at: datetime
    on_behalf_of: str | None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    role: Role
    password: Password | None = Field(
        None, description="At least 12 characters; leave out for a system account that only uses API tokens."
    )
    region: Region | None = Field(None, description="Required for a coordinator.")
    agency_id: Ref | None = Field(None, description="Required for a registrant.")
    case_manager_id: Ref | None = Field(None, description="Required for a case manager.")
    expert_id: Ref | None = Field(None, description="Required for a pool expert.")
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    active: bool = True


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    active: bool | None = None
    password: Password | None = None
    region: Region | None = None
    agency_id: Ref | None = None
    case_manager_id: Ref | None = None
    expert_id: Ref | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    region: str | None
    agency_id: int | None
    case_manager_id: int | None
    expert_id: int | None
    active: bool
    has_password: bool
    created_at: datetime


class ApiTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="What the token is for (e.g. 'registratiesoftware ziekenhuis')."
    )
    days: int | None = Field(None, ge=1, description="Lifetime; by default ZT_API_TOKEN_DAYS, never longer.")


class TokenInfoOut(BaseModel):
    id: int
    user_id: int
    kind: str
    label: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedApiTokenOut(TokenInfoOut):
    token: str = Field(description="Shown once: only its hash is stored.")


class InvitationOut(BaseModel):
    reference: str
    starts_at: datetime
    ends_at: datetime
    location: str
    zorgtafel_status: str
    sequence: int
    role_label: str
    invitation_state: str
    response_due_at: datetime | None
    answer_url: str | None = Field(
        description="A personal answer link, while the invitation can be answered."
    )


class MyInvitationsOut(BaseModel):
    invitations: list[InvitationOut]
    calendar_feed_active: bool
    calendar_feed_issue_url: str = Field(description="POST here to get a (new) private calendar feed URL.")


def _user_out(u: AppUser) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        role=u.role,
        region=u.region,
        agency_id=u.agency_id,
        case_manager_id=u.case_manager_id,
        expert_id=u.expert_id,
        active=u.active,
        has_password=u.password_hash is not None,
        created_at=_local(u.created_at),
    )


def _local(at: datetime | None) -> datetime | None:
    """Times for people: in the installation's zone (with its offset)."""
    return None if at is None else at.astimezone(get_settings().tz)


def _token_info(t: AuthToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "user_id": t.user_id,
        "kind": t.kind,
        "label": t.label,
        "created_at": _local(t.created_at),
        "expires_at": _local(t.expires_at),
        "revoked_at": _local(t.revoked_at),
        "last_used_at": _local(t.last_used_at),
    }


# --- the password flow -------------------------------------------------------------------------

_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": {"type": "string"},
                        "password": {"type": "string", "format": "password"},
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    }
}


def _bad_login() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "Onbekende gebruikersnaam of verkeerd wachtwoord.",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _form(request: Request) -> dict[str, str]:
    """The OAuth2 form (application/x-www-form-urlencoded), read without python-multipart."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ValidationFailed(
            [
                FieldProblem(
                    ("content-type",),
                    "form_expected",
                    "Stuur username en password als formulier (application/x-www-form-urlencoded), "
                    "zoals de OAuth2 password flow voorschrijft.",
                )
            ]
        )
    raw = await request.body()
    if len(raw) > 4096:
        raise ValidationFailed([FieldProblem((), "too_large", "Het formulier is te groot.")])
    try:
        fields = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=False, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            [FieldProblem((), "invalid_form", "Het formulier kan niet gelezen worden.")]
        ) from None
    return {k: v[0] for k, v in fields.items()}


@router.post(
    "/auth/token",
    response_model=TokenOut,
    tags=["auth"],
    summary="Log in (OAuth2 password flow): a session token",
    dependencies=[public()],
    openapi_extra=_FORM_SCHEMA,
    responses={401: {"description": "Unknown user, wrong password or inactive account (one answer for all)"}},
)
def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[dict[str, str], Depends(_form)],
) -> TokenOut:
    problems = [
        FieldProblem((name,), "missing", f"{name} ontbreekt.")
        for name in ("username", "password")
        if not form.get(name)
    ]
    if form.get("grant_type", "password") != "password":
        problems.append(
            FieldProblem(("grant_type",), "unsupported_grant_type", "Alleen grant_type=password.")
        )
    if problems:
        raise ValidationFailed(problems)
    username = form["username"].strip().lower()[:64]
    now = utcnow()
    with session.begin():
        user = accounts.authenticate(session, username, form["password"])
        issued = accounts.issue_session_token(session, user, now=now, settings=settings) if user else None
        actor: Any = Attempt(user.id, user.username, user.role, None, user.region) if user else None
    if issued is None:
        audit(
            session,
            request,
            None,
            action="login",
            outcome="denied",
            detail={"reason": "bad_credentials", "username": username},
        )
        raise _bad_login()
    audit(session, request, actor, action="login", outcome="allowed", detail={"token_id": issued.record.id})
    return TokenOut(access_token=issued.token, expires_in=settings.access_token_minutes * 60)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auth"],
    summary="Revoke the token this request carries",
)
def logout(
    request: Request, session: SessionDep, principal: Annotated[Principal, allow(*EVERYONE)]
) -> Response:
    assert principal.token_id is not None
    with session.begin():
        accounts.revoke(session, principal.token_id, now=utcnow())
    audit(
        session,
        request,
        principal,
        action="logout",
        outcome="allowed",
        detail={"token_id": principal.token_id},
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/auth/me", response_model=MeOut, tags=["auth"], summary="Who am I (account, role, scope)")
def me(session: SessionDep, principal: Annotated[Principal, allow(*EVERYONE)]) -> MeOut:
    record = session.get_one(AuthToken, principal.token_id)
    return MeOut(
        username=principal.username,
        role=principal.role,
        region=principal.region,
        agency_id=principal.agency_id,
        case_manager_id=principal.case_manager_id,
        expert_id=principal.expert_id,
        token_kind=record.kind,
        token_expires_at=_local(record.expires_at),
        on_behalf_of=principal.on_behalf_of,
    )


# --- a pool expert's own invitations -------------------------------------------------------------


@router.get(
    "/me/invitations",
    response_model=MyInvitationsOut,
    tags=["auth"],
    summary="A pool expert's invitations: time, place, their answer (no case content)",
)
def my_invitations(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.EXPERT)],
) -> MyInvitationsOut:
    if principal.expert_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Dit account hoort bij geen expert.")
    now = utcnow()
    tz = settings.tz
    secret = settings.require_secret()
    with session.begin():
        expert = session.get_one(Expert, principal.expert_id)
        rows = accounts.expert_invitations(session, principal.expert_id, now=now)
        out = []
        for inv in rows:
            answer_url = None
            if inv.answerable:
                participant = session.get_one(Participant, inv.participant_id)
                link = rsvp.make_link_token(participant, participant.zorgtafel, secret=secret)
                answer_url = f"{settings.public_base_url}/rsvp/{link}"
            out.append(
                InvitationOut(
                    reference=inv.reference,
                    starts_at=inv.starts_at.astimezone(tz),
                    ends_at=inv.ends_at.astimezone(tz),
                    location=inv.location,
                    zorgtafel_status=inv.zorgtafel_status,
                    sequence=inv.sequence,
                    role_label=inv.role_label,
                    invitation_state=inv.invitation_state,
                    response_due_at=inv.response_due_at.astimezone(tz) if inv.response_due_at else None,
                    answer_url=answer_url,
                )
            )
        feed_active = expert.feed_token_hash is not None
    audit(session, request, principal, action="read", outcome="allowed", detail={"invitations": len(out)})
    return MyInvitationsOut(
        invitations=out,
        calendar_feed_active=feed_active,
        calendar_feed_issue_url=f"/api/v1/experts/{principal.expert_id}/calendar-feed",
    )


# --- administration: accounts and API tokens ---------------------------------------------------


@router.post(
    "/admin/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    tags=["admin"],
    summary="Create an account",
)
def create_user(
    body: UserIn, request: Request, session: SessionDep, principal: Annotated[Principal, allow(Role.ADMIN)]
) -> UserOut:
    with session.begin():
        user = accounts.create_user(session, now=utcnow(), **body.model_dump())
        out = _user_out(user)
    audit(
        session,
        request,
        principal,
        action="create",
        outcome="allowed",
        resource=f"app_user:{out.id}",
        detail={"role": out.role},
    )
    return out


@router.get("/admin/users", response_model=list[UserOut], tags=["admin"], summary="All accounts")
def list_users(session: SessionDep, principal: Annotated[Principal, allow(Role.ADMIN)]) -> list[UserOut]:
    with session.begin():
        return [_user_out(u) for u in accounts.list_users(session)]


@router.patch(
    "/admin/users/{user_id}",
    response_model=UserOut,
    tags=["admin"],
    summary="Change role, scope, password or active (open sessions end when role or scope change)",
)
def patch_user(
    user_id: PathId,
    body: UserPatch,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, allow(Role.ADMIN)],
) -> UserOut:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("role", 1) is None or changes.get("active", 1) is None:
        raise ValidationFailed(
            [
                FieldProblem((k,), "null_not_allowed", f"{k} kan niet leeg zijn.")
                for k in ("role", "active")
                if k in changes and changes[k] is None
            ]
        )
    try:
        with session.begin():
            user = accounts.update_user(session, user_id, now=utcnow(), **changes)
            out = _user_out(user)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Account niet gevonden.") from None
    audit(
        session,
        request,
        principal,
        action="change",
        outcome="allowed",
        resource=f"app_user:{user_id}",
        detail={
            "fields": sorted(k for k in changes if k != "password")
            + (["password"] if "password" in changes else [])
        },
    )
    return out


@router.post(
    "/admin/users/{user_id}/api-tokens",
    response_model=IssuedApiTokenOut,
    status_code=status.HTTP_201_CREATED,
    tags=["admin"],
    summary="Issue a long-lived API token for a system account (shown once)",
)
def issue_api_token(
    user_id: PathId,
    body: ApiTokenIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.ADMIN)],
) -> IssuedApiTokenOut:
    with session.begin():
        user = session.get(AppUser, user_id)
        if user is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Account niet gevonden.")
        issued = accounts.issue_api_token(
            session, user, label=body.label, days=body.days, now=utcnow(), settings=settings
        )
        out = IssuedApiTokenOut(token=issued.token, **_token_info(issued.record))
    audit(
        session,
        request,
        principal,
        action="create",
        outcome="allowed",
        resource=f"auth_token:{out.id}",
        detail={"user_id": user_id},
    )
    return out


@router.get(
    "/admin/users/{user_id}/tokens",
    response_model=list[TokenInfoOut],
    tags=["admin"],
    summary="An account's tokens (never the tokens themselves)",
)
def list_user_tokens(
    user_id: PathId, session: SessionDep, principal: Annotated[Principal, allow(Role.ADMIN)]
) -> list[TokenInfoOut]:
    with session.begin():
        if session.get(AppUser, user_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Account niet gevonden.")
        return [TokenInfoOut(**_token_info(t)) for t in accounts.list_tokens(session, user_id)]


@router.delete(
    "/admin/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["admin"],
    summary="Revoke a token (it stops working at once)",
)
def revoke_token(
    token_id: PathId,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, allow(Role.ADMIN)],
) -> Response:
    try:
        with session.begin():
            accounts.revoke(session, token_id, now=utcnow())
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Token niet gevonden.") from None
    audit(session, request, principal, action="change", outcome="allowed", resource=f"auth_token:{token_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
