"""Real bearer tokens for tests.

``auth_headers(role, ...)`` creates (or reuses) an account of that role and scope in the test
database (through ``zorgtafel.accounts``, as the admin API does) and returns
``{"Authorization": "Bearer <token>"}``. Accounts and tokens are cached per (role, scope) for the
test session. The token is an API token (long-lived), so a long session never sees it expire.

Default scopes: a coordinator of ``region``; a registrant of the agency the factories register
with (``ziekenhuis-hasselt``); a case manager linked to the first case manager of ``region``; an
expert linked to the first expert. Pass ids for another scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from zorgtafel import accounts
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Agency, AppUser, CaseManager, Expert
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role

DEFAULT_AGENCY = "ziekenhuis-hasselt"


@dataclass(frozen=True)
class TestAccount:
    __test__ = False  # not a test class for pytest

    user_id: int
    username: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


_cache: dict[tuple[object, ...], TestAccount] = {}


def account(
    role: Role,
    *,
    region: str = "Limburg",
    case_manager_id: int | None = None,
    expert_id: int | None = None,
    agency_id: int | None = None,
) -> TestAccount:
    """The account (and a token) of this role and scope, made once per test session."""
    role = Role(role)
    key = (get_settings().database_url, role, region, case_manager_id, expert_id, agency_id)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    now = utcnow()
    with unit_of_work() as session:
        if role == Role.REGISTRANT and agency_id is None:
            agency_id = session.scalars(select(Agency.id).where(Agency.code == DEFAULT_AGENCY)).one()
        if role == Role.CASE_MANAGER and case_manager_id is None:
            case_manager_id = session.scalars(
                select(CaseManager.id).where(CaseManager.region == region).order_by(CaseManager.id).limit(1)
            ).one()
        if role == Role.EXPERT and expert_id is None:
            expert_id = session.scalars(select(Expert.id).order_by(Expert.id).limit(1)).one()
        user = None
        # Case managers and experts have one account each: reuse the one that exists.
        if role == Role.CASE_MANAGER:
            user = session.scalar(select(AppUser).where(AppUser.case_manager_id == case_manager_id))
        elif role == Role.EXPERT:
            user = session.scalar(select(AppUser).where(AppUser.expert_id == expert_id))
        if user is None:
            scope = "-".join(
                str(v)
                for v in (
                    region if role in (Role.COORDINATOR, Role.CASE_MANAGER) else None,
                    case_manager_id,
                    expert_id,
                    agency_id,
                )
                if v is not None
            ).lower()
            username = f"t-{role.value.replace('_', '')}-{scope}".rstrip("-")[:40]
            user = session.scalar(select(AppUser).where(AppUser.username == username))
            if user is None:
                user = accounts.create_user(
                    session,
                    username=username,
                    role=role,
                    now=now,
                    region=region if role != Role.EXPERT else None,
                    agency_id=agency_id,
                    case_manager_id=case_manager_id,
                    expert_id=expert_id,
                )
        if Role(user.role) != role or not user.active:
            raise AssertionError(f"account {user.username} is not an active {role}")
        issued = accounts.issue_api_token(session, user, label="tests", now=now, settings=get_settings())
        made = TestAccount(user.id, user.username, role, issued.token)
    _cache[key] = made
    return made


def auth_headers(
    role: Role,
    *,
    region: str = "Limburg",
    case_manager_id: int | None = None,
    expert_id: int | None = None,
    agency_id: int | None = None,
) -> dict[str, str]:
    return account(
        role, region=region, case_manager_id=case_manager_id, expert_id=expert_id, agency_id=agency_id
    ).headers
