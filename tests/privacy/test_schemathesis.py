"""Schemathesis against the OpenAPI schema, in process (ASGI), authenticated: for every operation,
inputs that fit the schema and inputs that do not, sent with a token of a role the route allows,
and once more with the path pointing at a real case or expert. No answer may be a server error.

The API runs on a database of its own (migrated and seeded like the suite's), so what the fuzzer
creates, changes or revokes never reaches another test."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine

from api.deps import get_route_starter, get_session
from api.main import create_app
from tests.api.conftest import RecordingStarter
from tests.privacy import distinct
from zorgtafel import accounts, route
from zorgtafel.clock import utcnow
from zorgtafel.db.migrate import upgrade
from zorgtafel.db.models import Agency, AppUser, CaseManager, Expert
from zorgtafel.db.session import engine_for, session_factory, unit_of_work
from zorgtafel.seed import seed_demo
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role

EXAMPLES = 6  # per operation, per generation mode, per path variant
# Calls that would lock the fuzzer out (its own token revoked, its accounts changed): after each,
# the accounts and tokens are put back.
RESETS_ACCOUNTS = {("POST", "/api/v1/auth/logout"), ("PATCH", "/api/v1/admin/users/{user_id}"),
                   ("DELETE", "/api/v1/admin/tokens/{token_id}")}  # fmt: skip


@dataclass
class Failure:
    operation: str
    mode: str
    status: int
    request: str
    response: str


@pytest.fixture(scope="module")
def isolated_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    main = os.environ["ZT_DATABASE_URL"]
    admin = None
    if main.startswith("postgresql"):
        name = f"zt_st_{uuid.uuid4().hex[:10]}"
        admin = create_engine(
            os.environ.get("ZT_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = main.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('schemathesis')) / 'api.db'}"
    upgrade(url)
    engine = engine_for(url)
    with unit_of_work(engine) as session:
        seed_demo(session)
    yield engine
    engine.dispose()
    if admin is not None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Accounts:
    """One account per role in the isolated database, and their tokens (renewed on demand)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.users: dict[Role, int] = {}
        self.tokens: dict[Role, str] = {}
        now = utcnow()
        with unit_of_work(engine) as session:
            agency = session.scalar(select(Agency.id).where(Agency.code == "ziekenhuis-hasselt"))
            manager = session.scalar(select(CaseManager.id).order_by(CaseManager.id))
            scope: dict[Role, dict[str, Any]] = {
                Role.COORDINATOR: {"region": "Limburg"},
                Role.ADMIN: {},
                Role.REGISTRANT: {"agency_id": agency},
                Role.CASE_MANAGER: {"region": "Limburg", "case_manager_id": manager},
                Role.EXPERT: {"expert_id": session.scalar(select(Expert.id).order_by(Expert.id))},
            }
            for role, kw in scope.items():
                user = accounts.create_user(
                    session, username=f"st-{role.value.replace('_', '')}", role=role, now=now, **kw
                )
                session.flush()
                self.users[role] = user.id
            self.scope = scope
        self.renew()

    def renew(self) -> None:
        now = utcnow()
        with unit_of_work(self.engine) as session:
            for role, user_id in self.users.items():
                user = session.get_one(AppUser, user_id)
                user.active, user.role = True, role.value
                for attr, value in self.scope[role].items():
                    setattr(user, attr, value)
                session.flush()
                issued = accounts.issue_api_token(
                    session, user, label="schemathesis", now=now, settings=get_settings()
                )
                self.tokens[role] = issued.token

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def api_routes(app: Any) -> list[APIRoute]:
    try:  # FastAPI >= 0.150 keeps included routers as branches: take their effective routes.
        from fastapi.routing import _iter_included_route_candidates

        candidates = list(_iter_included_route_candidates(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI: the routes are flat
        candidates = list(app.routes)
    return [r for r in candidates if isinstance(r, APIRoute)]


def allowed_roles(app: Any) -> dict[tuple[str, str], frozenset[Role]]:
    """(method, path) -> the roles its ``allow(...)`` names (empty for public routes)."""

    def find(dependant: Any) -> frozenset[Role] | None:
        for dep in dependant.dependencies:
            roles = getattr(dep.call, "allowed_roles", None)
            if roles is not None:
                return frozenset(roles)
            inner = find(dep)
            if inner is not None:
                return inner
        return None

    out = {}
    for r in api_routes(app):
        roles = find(r.dependant) or frozenset()
        for method in r.methods:
            out[(method, r.path)] = roles
    return out


def real_case(engine: Engine) -> str:
    from api.routers.registrations import to_core
    from api.schemas import RegistrationIn
    from tests.privacy.test_retention import simple_plan
    from zorgtafel.registration import register_case

    with unit_of_work(engine) as session:
        case, _ = register_case(
            session,
            to_core(RegistrationIn.model_validate(distinct.body())),
            now=utcnow(),
            settings=get_settings(),
        )
        ref = case.reference
    with unit_of_work(engine) as session:
        plan = simple_plan(ref, session=session)
        route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=get_settings())
    return ref


@dataclass
class Api:
    app: Any
    people: Accounts
    roles: dict[tuple[str, str], frozenset[Role]]
    real: dict[str, Any]  # path parameter -> an id that exists

    def role_for(self, method: str, path: str) -> Role:
        permitted = self.roles.get((method, path), frozenset())
        return Role.COORDINATOR if not permitted or Role.COORDINATOR in permitted else sorted(permitted)[0]


@pytest.fixture(scope="module")
def api(isolated_engine: Engine) -> Api:
    app = create_app()
    app.dependency_overrides[get_route_starter] = RecordingStarter

    def isolated_session() -> Iterator[Any]:
        with session_factory(isolated_engine)() as session:
            yield session

    app.dependency_overrides[get_session] = isolated_session
    people = Accounts(isolated_engine)
    with unit_of_work(isolated_engine) as session:
        real = {
            "reference": real_case(isolated_engine),
            "expert_id": session.scalar(select(Expert.id).order_by(Expert.id)),
            "user_id": people.users[Role.COORDINATOR],
            "person_id": session.scalar(select(CaseManager.id).order_by(CaseManager.id)),
        }
    return Api(app, people, allowed_roles(app), real)


def test_no_operation_answers_with_a_server_error(api):
    app, people, real = api.app, api.people, api.real
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[Failure] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        method, path = op.method.upper(), op.path
        role = api.role_for(method, path)
        fixed = {k: v for k, v in real.items() if "{" + k + "}" in path}
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_parameters in [None, fixed] if fixed else [None]:
                fuzz(op, mode, path_parameters, people, role, failures)
    assert operations >= 40
    assert len(api.roles) >= 40 and any(roles == {Role.ADMIN} for roles in api.roles.values())
    first: dict[str, Failure] = {}
    for f in failures:
        first.setdefault(f.operation, f)
    assert not first, f"{len(failures)} server errors in {len(first)} operations:\n" + "\n".join(
        f"{f.operation} [{f.mode}] -> {f.status}: {f.request}\n    {f.response}" for f in first.values()
    )


def fuzz(
    op: Any,
    mode: GenerationMode,
    path_parameters: dict[str, Any] | None,
    people: Accounts,
    role: Role,
    failures: list[Failure],
) -> None:
    method, path = op.method.upper(), op.path

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(op.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def probe(case: schemathesis.Case) -> None:
        try:
            response = case.call(headers=people.headers(role))
            status, answer = response.status_code, response.text[:300]
        except Exception as exc:  # the in-process transport re-raises what the app did not handle
            status, answer = 500, f"{type(exc).__name__}: {str(exc)[:300]}"
        if (method, path) in RESETS_ACCOUNTS:
            people.renew()
        if status >= 500:
            failures.append(
                Failure(
                    f"{method} {path}",
                    mode.value,
                    status,
                    f"path={case.formatted_path} query={case.query} body={str(case.body)[:300]}",
                    answer,
                )
            )

    with contextlib.suppress(Unsatisfiable):  # nothing of it can be made invalid (no input at all)
        probe()


# Values that break a database rather than a rule: NUL characters (PostgreSQL refuses them in
# text), ids beyond a 32-bit (PostgreSQL INTEGER) and a 64-bit (SQLite) integer.
HOSTILE_TEXT = ("ZT-2026-A%00B", "%00")
HOSTILE_INT = (2**31, 2**63, -(2**63) - 1)


def test_hostile_path_values_are_refused_not_server_errors(api):
    client = TestClient(api.app, raise_server_exceptions=False)
    failures = []
    probed = 0
    for r in api_routes(api.app):
        if not r.dependant.path_params:
            continue
        params = {p.name: p.field_info.annotation for p in r.dependant.path_params}
        for name, annotation in params.items():
            values = HOSTILE_INT if annotation is int else HOSTILE_TEXT
            for value in values:
                filled = {k: str(api.real.get(k, 1)) for k in params} | {name: str(value)}
                url = r.path_format.format(**filled)
                for method in sorted(r.methods - {"HEAD", "OPTIONS"}):
                    response = client.request(
                        method, url, headers=api.people.headers(api.role_for(method, r.path)), json={}
                    )
                    if (method, r.path) in RESETS_ACCOUNTS:
                        api.people.renew()
                    probed += 1
                    if response.status_code >= 500:
                        failures.append(f"{method} {url} -> {response.status_code}")
    # NUL characters in a body and a login form.
    other_agency = distinct.body()
    other_agency["registrant"]["agency_code"] = "zh\x00"
    hostile_bodies = [
        ("POST", "/api/v1/registrations", {"json": {**distinct.body(), "municipality": "Has\x00selt"}}),
        ("POST", "/api/v1/registrations", {"json": {**distinct.body(), "note": "een\x00noot"}}),
        ("POST", "/api/v1/registrations", {"json": other_agency}),
        ("POST", "/api/v1/auth/token", {"data": {"username": "st-\x00", "password": "x" * 16}}),
    ]
    for method, url, kw in hostile_bodies:
        response = client.request(method, url, headers=api.people.headers(Role.COORDINATOR), **kw)
        probed += 1
        if response.status_code >= 500:
            failures.append(f"{method} {url} {str(kw)[:120]} -> {response.status_code}")
    assert probed >= 50
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures)
