"""The authorisation matrix: every route of the app × every role × own / other case.

Generated from ``create_app().routes``: every route must declare exactly one ``allow(...)`` or
``public()``, and the routes of the app must be exactly the routes of ``MATRIX`` below, so a new
route without a rule, or without a line here, fails the suite.

Expected behaviour, per kind of route:
- PUBLIC: works without a token (health, the password flow, signed RSVP links, calendar feeds).
- ROLE: a listed role gets past authorisation; any other role gets 403.
- CASE: a listed role gets past authorisation for its own case and 404 "Dossier niet gevonden."
  (the answer for a case that does not exist) for another's; any other role gets 403.
  Own = in the coordinator's region / assigned to the case manager / registered by the
  registrant; other = another region, another case manager, registered by someone else.
- PERSON: notice channels and calendar feeds of an expert or case manager: the person themself or
  a coordinator of their region; another person is 403 (404 for a coordinator of another region).
Every protected route answers 401 (with ``WWW-Authenticate: Bearer``) without a token or with a
forged one. Every refusal leaves one line in the audit trail and changes nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from api.routers.registrations import to_core
from api.schemas import RegistrationIn
from tests.auth_helpers import TestAccount, account
from tests.factories import registration
from tests.integration.test_route_steps import plan_for
from zorgtafel import accounts, budget, route, waiting_list
from zorgtafel.clock import utcnow
from zorgtafel.db.models import (
    AuditEvent,
    AuthToken,
    Base,
    Budget,
    CarePlan,
    Case,
    CaseExpertDirective,
    CaseManager,
    Expert,
    Service,
)
from zorgtafel.db.session import unit_of_work
from zorgtafel.registration import register_case
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role

RG, CM, CO, EX, AD = Role.REGISTRANT, Role.CASE_MANAGER, Role.COORDINATOR, Role.EXPERT, Role.ADMIN
EVERYONE = frozenset(Role)
CASE_STAFF = frozenset({CM, CO})
POOL_READERS = frozenset({CO, AD})
POOL_KEEPERS = frozenset({CO})
NONE: frozenset[Role] = frozenset()

PUBLIC, ROLE, CASE, PERSON = "public", "role", "case", "person"
DENIED_CASE = {"detail": "Dossier niet gevonden."}
OTHER_REGION = "Antwerpen"

# route ("METHOD path") -> (kind, the roles its allow(...) lists)
MATRIX: dict[str, tuple[str, frozenset[Role]]] = {
    "GET /api/health": (PUBLIC, NONE),
    # accounts and tokens
    "POST /api/v1/auth/token": (PUBLIC, NONE),
    "POST /api/v1/auth/logout": (ROLE, EVERYONE),
    "GET /api/v1/auth/me": (ROLE, EVERYONE),
    "GET /api/v1/me/invitations": (ROLE, frozenset({EX})),
    "POST /api/v1/admin/users": (ROLE, frozenset({AD})),
    "GET /api/v1/admin/users": (ROLE, frozenset({AD})),
    "PATCH /api/v1/admin/users/{user_id}": (ROLE, frozenset({AD})),
    "POST /api/v1/admin/users/{user_id}/api-tokens": (ROLE, frozenset({AD})),
    "GET /api/v1/admin/users/{user_id}/tokens": (ROLE, frozenset({AD})),
    "DELETE /api/v1/admin/tokens/{token_id}": (ROLE, frozenset({AD})),
    # registrations
    "POST /api/v1/registrations": (ROLE, frozenset({RG, CM, CO})),
    "GET /api/v1/registrations": (ROLE, frozenset({RG})),
    "GET /api/v1/registrations/{reference}/status": (CASE, frozenset({RG, CM, CO})),
    # case content
    "GET /api/v1/cases/{reference}": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/zorgtafel/reschedule": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/zorgtafel/cancel": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/outcome": (CASE, CASE_STAFF),
    "GET /api/v1/cases/{reference}/plan": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/evaluations/{number}": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/close": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/evaluations/{number}/reschedule": (CASE, CASE_STAFF),
    "GET /api/v1/cases/{reference}/budget": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/budget/entries": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/budget/entries/{entry_id}/reverse": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/budget/extension": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/service-fit": (CASE, CASE_STAFF),
    "GET /api/v1/cases/{reference}/waiting-list": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/waiting-list": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/waiting-list/{entry_id}/refusals": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/waiting-list/{entry_id}/resume": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/waiting-list/{entry_id}/placement": (CASE, CASE_STAFF),
    "PUT /api/v1/cases/{reference}/waiting-list/{entry_id}/bridging": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/waiting-list/{entry_id}/withdrawal": (CASE, CASE_STAFF),
    # catalogue (reading: everyone but pool experts; tariffs: configuration)
    "GET /api/v1/services": (ROLE, frozenset({RG, CM, CO, AD})),
    "PUT /api/v1/services/{code}/tariffs/{year}": (ROLE, frozenset({AD, CO})),
    # reference data
    "GET /api/v1/agencies": (ROLE, EVERYONE),
    "GET /api/v1/concerns": (ROLE, EVERYONE),
    # people: own channels and calendar feeds
    "PUT /api/v1/{kind}/{person_id}/notify-urls": (PERSON, frozenset({EX, CM, CO})),
    "POST /api/v1/{kind}/{person_id}/calendar-feed": (PERSON, frozenset({EX, CM, CO})),
    "DELETE /api/v1/{kind}/{person_id}/calendar-feed": (PERSON, frozenset({EX, CM, CO})),
    "GET /feeds/{token}.ics": (PUBLIC, NONE),
    # the personal answer links
    "GET /rsvp/{token}": (PUBLIC, NONE),
    "POST /rsvp/{token}/{action}": (PUBLIC, NONE),
    # the audit trail (coordinators, their region)
    "GET /api/v1/audit": (ROLE, frozenset({CO})),
    "GET /api/v1/cases/{reference}/accesses": (CASE, frozenset({CO})),
    # convening: pins and exclusions of experts for a case, replanning, the pool's balance
    "GET /api/v1/cases/{reference}/experts/directives": (CASE, CASE_STAFF),
    "POST /api/v1/cases/{reference}/experts/directives": (CASE, frozenset({CO})),
    "DELETE /api/v1/cases/{reference}/experts/directives/{directive_id}": (CASE, frozenset({CO})),
    "POST /api/v1/cases/{reference}/zorgtafel/replan": (CASE, CASE_STAFF),
    "GET /api/v1/pool/balance": (ROLE, frozenset({CO})),
    # the expert pool: coordinators keep it, administrators may read it
    "GET /api/v1/pool/expertise": (ROLE, POOL_READERS),
    "POST /api/v1/pool/expertise": (ROLE, POOL_KEEPERS),
    "PATCH /api/v1/pool/expertise/{code}": (ROLE, POOL_KEEPERS),
    "GET /api/v1/pool/concern-map": (ROLE, POOL_READERS),
    "PUT /api/v1/pool/concern-map/{concern}": (ROLE, POOL_KEEPERS),
    "GET /api/v1/pool/experts": (ROLE, POOL_READERS),
    "POST /api/v1/pool/experts": (ROLE, POOL_KEEPERS),
    "GET /api/v1/pool/experts/{expert_id}": (ROLE, POOL_READERS),
    "PATCH /api/v1/pool/experts/{expert_id}": (ROLE, POOL_KEEPERS),
    "GET /api/v1/pool/experts/{expert_id}/absences": (ROLE, POOL_READERS),
    "POST /api/v1/pool/experts/{expert_id}/absences": (ROLE, POOL_KEEPERS),
    "DELETE /api/v1/pool/experts/{expert_id}/absences/{absence_id}": (ROLE, POOL_KEEPERS),
    "GET /api/v1/pool/experts/{expert_id}/busy": (ROLE, POOL_READERS),
    "POST /api/v1/pool/experts/{expert_id}/busy": (ROLE, POOL_KEEPERS),
    "DELETE /api/v1/pool/experts/{expert_id}/busy/{busy_id}": (ROLE, POOL_KEEPERS),
    "PUT /api/v1/pool/experts/{expert_id}/availability-feed": (ROLE, POOL_KEEPERS),
    "POST /api/v1/pool/experts/{expert_id}/availability-feed/sync": (ROLE, POOL_KEEPERS),
    "POST /api/v1/pool/experts/{expert_id}/availability-feed/import": (ROLE, POOL_KEEPERS),
}


# --- reading the rules off the routes ----------------------------------------------------------


def api_routes() -> list[APIRoute]:
    app = create_app()
    try:  # FastAPI >= 0.150 keeps included routers as branches: take their effective routes.
        from fastapi.routing import _iter_included_route_candidates

        candidates = list(_iter_included_route_candidates(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI: the routes are flat
        candidates = list(app.routes)
    return [r for r in candidates if isinstance(r, APIRoute)]


def route_keys(r: APIRoute) -> list[str]:
    return [f"{m} {r.path}" for m in sorted(r.methods - {"HEAD"})]


def declarations(r: APIRoute) -> list[Callable[..., Any]]:
    """Every allow(...) / public() dependency of the route, however deep."""
    found = []
    stack = list(r.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is not None and (hasattr(dep.call, "allowed_roles") or hasattr(dep.call, "public")):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def test_every_route_declares_exactly_one_rule():
    missing = []
    for r in api_routes():
        calls = {id(c): c for c in declarations(r)}
        if len(calls) != 1:
            missing.append(f"{r.name} ({', '.join(route_keys(r))}): {len(calls)} rules")
    assert not missing, "routes without exactly one allow(...)/public(): " + "; ".join(missing)


def test_the_matrix_lists_exactly_the_routes_of_the_app():
    in_app = {k for r in api_routes() for k in route_keys(r)}
    assert sorted(in_app - MATRIX.keys()) == [], "routes missing from MATRIX"
    assert sorted(MATRIX.keys() - in_app) == [], "MATRIX lists routes the app no longer has"


def test_the_declared_roles_are_the_roles_of_the_matrix():
    for r in api_routes():
        (call,) = {id(c): c for c in declarations(r)}.values()
        for key in route_keys(r):
            kind, roles = MATRIX[key]
            if kind == PUBLIC:
                assert getattr(call, "public", False), key
            else:
                assert call.allowed_roles == roles, key


# --- a world to ask about ----------------------------------------------------------------------


@dataclass
class World:
    accounts: dict[Role, TestAccount]
    own_ref: str
    other_ref: str
    ledger_entry_id: int
    waiting_entry_id: int
    service_code: str
    occurs_on: date
    own_cm: int
    other_cm: int
    far_cm: int  # a case manager in another region
    own_expert: int
    other_expert: int
    login: tuple[str, str]
    spare_user: int
    spare_token: int


def _case_manager(session: Any, tag: str, region: str = "Limburg") -> int:
    cm = CaseManager(
        name=f"Matrix Casemanager {tag}",
        email=f"matrix.{tag}.{uuid4().hex[:8]}@zorgtafel.example",
        registration_number=f"SKJ-M{uuid4().hex[:6]}",
        region=region,
        active=True,
    )
    session.add(cm)
    session.flush()
    return cm.id


def _register(registered_by: int | None, case_manager_email: str) -> str:
    reg = to_core(RegistrationIn.model_validate(registration(case_manager_email=case_manager_email)))
    with unit_of_work() as session:
        case, _ = register_case(
            session, reg, now=utcnow(), settings=get_settings(), registered_by_user_id=registered_by
        )
        return case.reference


@pytest.fixture(scope="module")
def world() -> World:
    settings = get_settings()
    now = utcnow()
    with unit_of_work() as session:
        own_cm, other_cm = _case_manager(session, "own"), _case_manager(session, "other")
        far_cm = _case_manager(session, "far", region=OTHER_REGION)
        own_email = session.get_one(CaseManager, own_cm).email
        other_email = session.get_one(CaseManager, other_cm).email
        experts = session.scalars(select(Expert.id).order_by(Expert.id).limit(2)).all()
        service = next(
            s
            for s in session.scalars(select(Service).where(Service.active).order_by(Service.code))
            if "case_budget" in s.tracks and not s.residential
        )
        service_code = service.code
    users = {
        RG: account(RG),
        CM: account(CM, case_manager_id=own_cm),
        CO: account(CO),
        EX: account(EX, expert_id=experts[0]),
        AD: account(AD),
    }
    own_ref = _register(users[RG].user_id, own_email)
    other_ref = _register(None, other_email)
    plan = plan_for(own_ref)
    assert plan is not None
    start = date.today()
    with unit_of_work() as session:
        route.record_zorgtafel(session, own_ref, plan, now=now, settings=settings)
        other = session.scalars(select(Case).where(Case.reference == other_ref)).one()
        other.region = OTHER_REGION
        case = session.scalars(select(Case).where(Case.reference == own_ref)).one()
        care = CarePlan(
            case_id=case.id,
            track="case_budget",
            reasons="Geen passend regulier aanbod.",
            decided_at=now,
            decided_by="test",
            starts_on=start,
            term_ends_on=start + timedelta(days=89),
            status="active",
            closure={},
        )
        session.add(care)
        session.flush()
        session.add(Budget(care_plan_id=care.id, granted_cents=1_000_000, extension_cents=0, currency="EUR"))
        session.flush()
        entry, _ = budget.book_or_replay(
            session,
            own_ref,
            kind="commitment",
            service_code=service_code,
            amount_cents=50_000,
            occurs_on=start + timedelta(days=7),
            actor="test",
            now=now,
        )
        waiting = waiting_list.put_on_list(session, own_ref, "bijzonder-klein", now=now, actor="test")
        session.add(  # a pin to revoke (the case may no longer be convening when the DELETE comes)
            CaseExpertDirective(
                case_id=case.id,
                expert_id=experts[1],
                kind="pin",
                reason="Matrixtest.",
                actor="test",
                created_at=now,
            )
        )
        password = "matrix-wachtwoord-" + uuid4().hex[:8]
        login = accounts.create_user(
            session, username=f"matrix-login-{uuid4().hex[:8]}", role=AD, password=password, now=now
        )
        spare = accounts.create_user(session, username=f"matrix-spare-{uuid4().hex[:8]}", role=AD, now=now)
        spare_token = accounts.issue_api_token(session, spare, label="spare", now=now, settings=settings)
        ids = (entry.id, waiting.id, login.username, spare.id, spare_token.record.id)
    return World(
        accounts=users,
        own_ref=own_ref,
        other_ref=other_ref,
        ledger_entry_id=ids[0],
        waiting_entry_id=ids[1],
        service_code=service_code,
        occurs_on=start + timedelta(days=10),
        own_cm=own_cm,
        other_cm=other_cm,
        far_cm=far_cm,
        own_expert=experts[0],
        other_expert=experts[1],
        login=(ids[2], password),
        spare_user=ids[3],
        spare_token=ids[4],
    )


# --- valid requests for every route ------------------------------------------------------------


def _later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "POST /api/v1/auth/token": lambda w: {"data": {"username": w.login[0], "password": w.login[1]}},
    "POST /api/v1/admin/users": lambda w: {
        "json": {"username": f"matrix-{uuid4().hex[:10]}", "role": "admin", "password": "x" * 16}
    },
    "PATCH /api/v1/admin/users/{user_id}": lambda w: {"json": {"active": True}},
    "POST /api/v1/admin/users/{user_id}/api-tokens": lambda w: {"json": {"label": "matrix", "days": 1}},
    "POST /api/v1/registrations": lambda w: {"json": registration()},
    "POST /api/v1/cases/{reference}/zorgtafel/reschedule": lambda w: {
        "json": {"starts_at": _later(1), "reason": "Matrixtest: verplaatst."}
    },
    "POST /api/v1/cases/{reference}/zorgtafel/cancel": lambda w: {
        "json": {"reason": "Matrixtest: geannuleerd."}
    },
    "POST /api/v1/cases/{reference}/outcome": lambda w: {"json": {"track": "none", "reasons": "Matrixtest."}},
    "POST /api/v1/cases/{reference}/evaluations/{number}": lambda w: {
        "json": {"outcome": "continue", "note": "Matrixtest."}
    },
    "POST /api/v1/cases/{reference}/close": lambda w: {"json": {"child_lives": "at_home"}},
    "POST /api/v1/cases/{reference}/evaluations/{number}/reschedule": lambda w: {
        "json": {"due_at": _later(20), "reason": "Matrixtest: verplaatst."}
    },
    "POST /api/v1/cases/{reference}/budget/entries": lambda w: {
        "json": {
            "kind": "commitment",
            "service_code": w.service_code,
            "amount": "10.00",
            "occurs_on": w.occurs_on.isoformat(),
        }
    },
    "POST /api/v1/cases/{reference}/budget/entries/{entry_id}/reverse": lambda w: {
        "json": {"reason": "Matrixtest: correctie."}
    },
    "PUT /api/v1/services/{code}/tariffs/{year}": lambda w: {"json": {"amount": "56.00"}},
    "POST /api/v1/cases/{reference}/service-fit": lambda w: {"json": {}},
    "POST /api/v1/cases/{reference}/waiting-list": lambda w: {"json": {"service_code": "bijzonder-klein"}},
    "POST /api/v1/cases/{reference}/waiting-list/{entry_id}/refusals": lambda w: {
        "json": {"valid_reason": True, "reason": "Matrixtest reden."}
    },
    "PUT /api/v1/cases/{reference}/waiting-list/{entry_id}/bridging": lambda w: {
        "json": {"bridging": "Ambulante begeleiding."}
    },
    "POST /api/v1/cases/{reference}/waiting-list/{entry_id}/withdrawal": lambda w: {
        "json": {"reason": "Matrixtest: van de lijst."}
    },
    "PUT /api/v1/{kind}/{person_id}/notify-urls": lambda w: {"json": {"urls": []}},
    "POST /api/v1/cases/{reference}/experts/directives": lambda w: {
        "json": {"kind": "exclude", "expert_id": w.other_expert, "reason": "Matrixtest: eerder betrokken."}
    },
}


def _person(w: World, role: Role, own: bool) -> dict[str, Any]:
    if role == EX:
        return {"kind": "experts", "person_id": w.own_expert if own else w.other_expert}
    if role == CM:
        return {"kind": "case-managers", "person_id": w.own_cm if own else w.other_cm}
    # A coordinator: someone of their region, or a case manager of another region.
    return {"kind": "case-managers", "person_id": w.own_cm if own else w.far_cm}


def _latest_directive(reference: str) -> int:
    """The own case's newest pin or exclusion (the POST route makes one before the DELETE)."""
    with unit_of_work() as session:
        found = session.scalar(
            select(func.max(CaseExpertDirective.id)).join(Case).where(Case.reference == reference)
        )
    return found or 999_999_999


def request_for(key: str, w: World, role: Role | None, own: bool) -> tuple[str, str, dict[str, Any]]:
    method, path = key.split(" ", 1)
    params: dict[str, Any] = {
        "reference": w.own_ref if own else w.other_ref,
        "number": 1,
        "entry_id": w.ledger_entry_id if "/budget/" in path else w.waiting_entry_id,
        "code": "kraamzorg",
        "year": 2031,
        "token": "onbekend-token",
        "action": "accept",
        "user_id": w.spare_user,
        "token_id": w.spare_token,
        "expert_id": w.own_expert,
        "absence_id": 999_999_999,
        "busy_id": 999_999_999,
        "concern": "housing",
        "directive_id": _latest_directive(w.own_ref),
    }
    if "{person_id}" in path:
        params |= _person(w, role or CO, own)
    kwargs = BODIES[key](w) if key in BODIES else {}
    return method, path.format(**params), kwargs


def headers_for(key: str, w: World, role: Role) -> dict[str, str]:
    if key == "POST /api/v1/auth/logout":  # logging out ends the token: use one of its own
        now = utcnow()
        with unit_of_work() as session:
            user = session.get_one(accounts.AppUser, w.accounts[role].user_id)
            token = accounts.issue_session_token(session, user, now=now, settings=get_settings()).token
        return {"Authorization": f"Bearer {token}"}
    return w.accounts[role].headers


def call(client: TestClient, key: str, w: World, role: Role | None, own: bool, headers: dict[str, str]):
    method, url, kwargs = request_for(key, w, role, own)
    return client.request(method, url, headers=headers, **kwargs)


# --- the matrix --------------------------------------------------------------------------------


def fingerprint() -> dict[str, int]:
    """Row counts of every table but the audit trail and the tokens (which record use)."""
    skip = {AuditEvent.__tablename__, AuthToken.__tablename__}
    with unit_of_work() as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
            if t.name not in skip
        }


def refusals() -> int:
    with unit_of_work() as session:
        refused = AuditEvent.outcome.in_(("denied", "failed"))
        return session.scalar(select(func.count()).select_from(AuditEvent).where(refused)) or 0


def cases_of(key: str) -> list[tuple[Role, bool]]:
    kind = MATRIX[key][0]
    if kind in (CASE, PERSON):
        return [(role, own) for role in Role for own in (True, False)]
    return [(role, True) for role in Role]


def expected_denial(key: str, role: Role, own: bool) -> int | None:
    """The refusal this call must get, or None when it must get past authorisation."""
    kind, roles = MATRIX[key]
    if kind == PUBLIC:
        return None
    if role not in roles:
        return 403
    if own or kind == ROLE:
        return None
    if kind == CASE:
        return 404
    return 404 if role == CO else 403  # PERSON


@pytest.fixture(scope="module")
def client(anonymous: TestClient) -> Iterator[TestClient]:
    yield anonymous


def test_without_a_valid_token_every_protected_route_is_401_and_public_ones_answer(client, world):
    before_rows, before_refusals = fingerprint(), refusals()
    protected = 0
    forged = {"Authorization": "Bearer zts_" + "A" * 43}
    for key, (kind, _) in MATRIX.items():
        r = call(client, key, world, None, True, {})
        if kind == PUBLIC:
            assert r.status_code not in (401, 403), (key, r.status_code, r.text)
            continue
        protected += 1
        assert r.status_code == 401, (key, r.status_code, r.text)
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), key
        assert "toegangstoken" in r.json()["detail"], key
        r = call(client, key, world, None, True, forged)
        assert r.status_code == 401, (key, r.status_code, r.text)
        assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"', key
    assert fingerprint() == before_rows
    assert refusals() - before_refusals == 2 * protected  # each refusal leaves one audit line


def test_each_role_is_refused_what_it_may_not_do_and_nothing_changes(client, world):
    before_rows, before_refusals = fingerprint(), refusals()
    denied = 0
    for key in MATRIX:
        for role, own in cases_of(key):
            expected = expected_denial(key, role, own)
            if expected is None:
                continue
            r = call(client, key, world, role, own, headers_for(key, world, role))
            assert r.status_code == expected, (key, role.value, own, r.status_code, r.text)
            if MATRIX[key][0] == CASE and expected == 404:
                assert r.json() == DENIED_CASE, (key, role.value)
            denied += 1
    assert denied > 150
    assert fingerprint() == before_rows, "a refused request changed something"
    assert refusals() - before_refusals == denied  # one audit line per refusal


def test_each_role_gets_past_authorisation_where_it_may(client, world):
    allowed = 0
    for key in MATRIX:
        for role, own in cases_of(key):
            if expected_denial(key, role, own) is not None or MATRIX[key][0] == PUBLIC:
                continue
            r = call(client, key, world, role, own, headers_for(key, world, role))
            assert r.status_code not in (401, 403, 500), (key, role.value, r.status_code, r.text)
            assert not (r.status_code == 404 and r.json() == DENIED_CASE), (key, role.value, r.text)
            allowed += 1
    assert allowed > 60


def test_another_case_is_answered_exactly_like_a_case_that_does_not_exist(client, world):
    for role in (CM, CO):
        headers = world.accounts[role].headers
        other = client.get(f"/api/v1/cases/{world.other_ref}", headers=headers)
        missing = client.get("/api/v1/cases/ZT-1999-NOPE00", headers=headers)
        impossible = client.get("/api/v1/cases/ZT-1999-%00", headers=headers)  # PostgreSQL refuses NUL
        assert (impossible.status_code, impossible.json()) == (404, DENIED_CASE)
        assert (other.status_code, other.json()) == (404, DENIED_CASE)
        assert (missing.status_code, missing.json()) == (404, DENIED_CASE)
        assert other.headers.get("content-length") == missing.headers.get("content-length")


def test_a_coordinator_sets_tariffs_for_their_own_region_only(client, world):
    headers = world.accounts[CO].headers
    url = "/api/v1/services/kraamzorg/tariffs/2032"
    r = client.put(url, json={"amount": "57.00", "region": OTHER_REGION}, headers=headers)
    assert r.status_code == 403 and "eigen regio" in r.json()["detail"]
    r = client.put(url, json={"amount": "57.00", "region": OTHER_REGION}, headers=world.accounts[AD].headers)
    assert r.status_code == 200 and r.json()["region"] == OTHER_REGION
