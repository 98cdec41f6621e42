"""Who is asking, and may they? (issue 6)

- ``Principal``: the authenticated caller (a frozen snapshot of the account and its scope).
- ``PrincipalDep``: FastAPI dependency giving the Principal from ``Authorization: Bearer <token>``;
  401 with ``WWW-Authenticate: Bearer`` when there is none or it is forged, expired, revoked or
  belongs to an inactive account (recorded in the audit trail).
- ``allow(*roles)``: route dependency; 403 for a role not listed (recorded). Every route declares
  exactly one ``allow(...)`` or ``public()``, so the authorisation matrix test
  (tests/security/test_authorization_matrix.py) can be generated from the routes.
- ``visible_case(session, principal, reference, action=..., request=...)``: the case if this
  principal may see it, else ``NotFound`` (404, the same answer as for a case that does not
  exist); records the access in the audit trail. Call it first in the request's transaction,
  before anything is written (the audit trail writes in a transaction of its own).

Per-case scope: a coordinator sees the cases of their region, a case manager their own cases, a
registrant only the status view (action ``"status"``) of the cases they registered; pool experts
and administrators see no case content.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from zorgtafel import accounts
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case
from zorgtafel.errors import NotFound
from zorgtafel.vocabulary import Role

log = logging.getLogger(__name__)

TOKEN_URL = "/api/v1/auth/token"
ON_BEHALF_OF = "X-On-Behalf-Of"
ACTIONS = ("read", "change", "create", "export", "search", "status")
# The status view a registrant gets of a case they registered; the other roles may use it too.
STATUS = "status"

# auto_error=False: the 401 is ours (Dutch, audited); the scheme gives /docs its Authorize button.
_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    username: str
    role: Role
    region: str | None = None
    agency_id: int | None = None
    case_manager_id: int | None = None
    expert_id: int | None = None
    token_id: int | None = None
    on_behalf_of: str | None = None

    @property
    def actor(self) -> str:
        """How the timeline names who did something (no personal name: the account and role)."""
        return f"{self.role}:{self.username}"


# --- the audit trail ---------------------------------------------------------------------------


MAX_REFERENCE = 64


def _printable(text: str) -> str:
    """What the caller asked for, as far as it can be written down (no control characters)."""
    return "".join(c for c in text if c.isprintable())[:32]


def _resource(request: Request | None) -> str:
    if request is None:
        return "-"
    route = request.scope.get("route")
    return getattr(route, "path", None) or request.url.path


def audit(
    session: Session,
    request: Request | None,
    principal: Any,
    *,
    action: str,
    outcome: str,
    case: Case | None = None,
    case_reference: str | None = None,
    resource: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One line in the audit trail (zorgtafel.audit, which writes in a transaction of its own)."""
    try:
        from zorgtafel import audit as trail
    except ImportError:  # pragma: no cover - the audit module arrives with its own change
        log.warning("audit trail not available: %s %s %s", action, outcome, _resource(request))
        return
    user_agent = request.headers.get("user-agent") if request is not None else None
    trail.record(
        session,
        principal=principal,
        action=action,
        outcome=outcome,
        resource=resource or _resource(request),
        case=case,
        case_reference=case.reference if case is not None else _printable(case_reference or "") or None,
        region=case.region if case is not None else getattr(principal, "region", None),
        method=request.method if request is not None else None,
        client_ip=request.client.host if request is not None and request.client else None,
        user_agent=user_agent[:300] if user_agent else None,
        detail=detail,
    )


@dataclass(frozen=True)
class Attempt:
    """The actor of an audit line for an account that is not (or no longer) authenticated: a
    login, or a token that is expired, revoked or of an inactive account."""

    user_id: int | None
    username: str
    role: str
    on_behalf_of: str | None = None
    region: str | None = None


# --- authentication ----------------------------------------------------------------------------

MISSING = (
    "Niet aangemeld: stuur een toegangstoken mee (Authorization: Bearer …); vraag er een aan via "
    + TOKEN_URL
    + "."
)
INVALID = "Ongeldig of ingetrokken toegangstoken; meld u opnieuw aan via " + TOKEN_URL + "."
EXPIRED = "Het toegangstoken is verlopen; meld u opnieuw aan via " + TOKEN_URL + "."


def _unauthorized(detail: str, *, error: str | None) -> HTTPException:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": challenge})


def current_principal(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    now = utcnow()
    if not token:
        audit(session, request, None, action="login", outcome="denied", detail={"reason": "missing_token"})
        raise _unauthorized(MISSING, error=None)
    found = accounts.resolve(session, token, now=now)
    if found.problem is not None or found.token is None or found.user is None:
        user = found.user
        actor = Attempt(user.id, user.username, user.role) if user is not None else None
        audit(
            session,
            request,
            actor,
            action="login",
            outcome="denied",
            detail={"reason": f"{found.problem}_token"},
        )
        raise _unauthorized(EXPIRED if found.problem == "expired" else INVALID, error="invalid_token")
    user, record = found.user, found.token
    on_behalf_of = None
    if record.kind == accounts.API:
        told = "".join(c for c in request.headers.get(ON_BEHALF_OF) or "" if c.isprintable())
        on_behalf_of = told.strip()[:120] or None
    principal = Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        region=user.region,
        agency_id=user.agency_id,
        case_manager_id=user.case_manager_id,
        expert_id=user.expert_id,
        token_id=record.id,
        on_behalf_of=on_behalf_of,
    )
    if record.last_used_at is None or record.last_used_at < now - accounts.TOUCH_INTERVAL:
        accounts.touch(session, record.id, now=now)  # a write at most once a minute per token
    # Leave no transaction open: the route begins its own unit of work on this session.
    session.commit()
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def allow(*roles: Role) -> Any:
    """The roles that may call a route (403 for the others, recorded in the audit trail)."""
    allowed = frozenset(roles)

    def _check(principal: PrincipalDep, request: Request, session: SessionDep) -> Principal:
        if principal.role not in allowed:
            audit(
                session,
                request,
                principal,
                action=_action_of(request),
                outcome="denied",
                detail={"reason": "role"},
            )
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"Uw rol ({principal.role}) mag dit niet; toegestaan: {', '.join(sorted(allowed))}.",
            )
        return principal

    _check.allowed_roles = allowed  # type: ignore[attr-defined]
    return Depends(_check)


def public() -> Any:
    """A route anyone may call: health, the signed RSVP links, the token-keyed calendar feeds,
    the password flow itself."""

    def _public() -> None:
        return None

    _public.public = True  # type: ignore[attr-defined]
    return Depends(_public)


def _action_of(request: Request) -> str:
    return "read" if request.method in ("GET", "HEAD") else "change"


# --- per case ----------------------------------------------------------------------------------


def may_see(principal: Principal, case: Case, action: str) -> bool:
    """The per-case rule (pure): may this principal do ``action`` on this case?"""
    if principal.role == Role.COORDINATOR:
        return principal.region is not None and case.region == principal.region
    if principal.role == Role.CASE_MANAGER:
        return principal.case_manager_id is not None and case.case_manager_id == principal.case_manager_id
    if principal.role == Role.REGISTRANT:
        return (
            action == STATUS
            and principal.user_id is not None
            and case.registered_by_user_id == principal.user_id
        )
    return False  # pool experts and administrators: no case content


def visible_case(
    session: Session,
    principal: Principal,
    reference: str,
    *,
    action: str = "read",
    request: Request | None = None,
) -> Case:
    """The case, if this principal may do ``action`` on it; else NotFound (404, no hint that the
    case exists). Every call leaves a line in the audit trail."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    # A reference that cannot be one (a NUL byte, which PostgreSQL refuses in text, or far too
    # long) is a case that does not exist.
    possible = "\x00" not in reference and len(reference) <= MAX_REFERENCE
    case = session.scalar(select(Case).where(Case.reference == reference)) if possible else None
    if case is None:
        audit(
            session,
            request,
            principal,
            action="read" if action == STATUS else action,
            outcome="failed",
            case_reference=reference,
            detail={"reason": "not_found"},
        )
        raise NotFound(reference)
    # The audit trail knows read/change/create/export/search: the status view is a read.
    logged, view = ("read", {"view": STATUS}) if action == STATUS else (action, {})
    if not may_see(principal, case, action):
        audit(
            session,
            request,
            principal,
            action=logged,
            outcome="denied",
            case=case,
            detail={"reason": "scope"} | view,
        )
        raise NotFound(reference)
    audit(session, request, principal, action=logged, outcome="allowed", case=case, detail=view or None)
    return case
