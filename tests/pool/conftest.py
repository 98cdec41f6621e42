"""The pool tests: the API client (the Prefect trigger replaced by a recorder, as in tests/api) and
two agencies of their own, so the experts these tests create never join another test's route:
every expert of those agencies is taken out of the pool after each test, and the concern map is
put back as it was."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.deps import get_route_starter
from api.main import create_app
from tests.auth_helpers import auth_headers
from zorgtafel.db.models import Agency, Expert
from zorgtafel.db.session import unit_of_work
from zorgtafel.pool_admin import get_concern_map, set_concern_map
from zorgtafel.vocabulary import Role

AGENCIES = {"pool-test-a": "Pooltest Agentschap A", "pool-test-b": "Pooltest Agentschap B"}


class RecordingStarter:
    """Stands in for the Prefect trigger in API tests (the e2e tests use the real one)."""

    def __init__(self) -> None:
        self.kicked: list[str] = []

    def kick(self, reference: str) -> None:
        self.kicked.append(reference)

    def kick_dispatch(self) -> None:
        self.kicked.append("dispatch")

    def kick_plan(self, reference: str, *, resume: object) -> None:
        self.kicked.append(f"plan:{reference}")


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_route_starter] = RecordingStarter
    # No `with`: the lifespan (which starts the real route starter) is not run here.
    yield TestClient(app)


@pytest.fixture
def coordinator() -> dict[str, str]:
    return auth_headers(Role.COORDINATOR)


@pytest.fixture(scope="session")
def test_agencies() -> dict[str, int]:
    with unit_of_work() as session:
        ids = {}
        for code, name in AGENCIES.items():
            agency = session.scalar(select(Agency).where(Agency.code == code))
            if agency is None:
                agency = Agency(code=code, name=name, kind="test", region="Limburg")
                session.add(agency)
                session.flush()
            ids[code] = agency.id
    return ids


@pytest.fixture(autouse=True)
def isolated_pool(test_agencies: dict[str, int]) -> Iterator[None]:
    with unit_of_work() as session:
        saved = get_concern_map(session)
    yield
    with unit_of_work() as session:
        session.execute(
            update(Expert).where(Expert.agency_id.in_(test_agencies.values())).values(active=False)
        )
        if get_concern_map(session) != saved:
            for concern, codes in saved.items():
                set_concern_map(session, concern, codes)
