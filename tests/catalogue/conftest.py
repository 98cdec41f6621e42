"""The catalogue on the test database, cases to put on waiting lists, and an API client that has
the catalogue router (included here while ``api/main.py`` does not register it yet)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from api.routers import catalogue as catalogue_router
from api.routers.registrations import to_core
from api.schemas import RegistrationIn
from tests.auth_helpers import auth_headers
from tests.factories import registration
from zorgtafel.catalogue import seed_catalogue
from zorgtafel.clock import utcnow
from zorgtafel.db.session import unit_of_work
from zorgtafel.registration import register_case
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role


@pytest.fixture(scope="session", autouse=True)
def seeded_catalogue(database: str) -> None:
    with unit_of_work() as session:
        seed_catalogue(session, get_settings().region)


def registered(**overrides: object) -> str:
    """A registered case (as tests/integration/test_route_steps.py makes them); its reference."""
    reg = to_core(RegistrationIn.model_validate(registration(**overrides)))
    with unit_of_work() as session:
        case, _ = register_case(session, reg, now=utcnow(), settings=get_settings())
        return case.reference


def app_with_catalogue() -> FastAPI:
    app = create_app()
    if not any(getattr(r, "path", "") == "/api/v1/services" for r in app.routes):
        app.include_router(catalogue_router.router)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    # No `with`: the lifespan (which starts the real route starter) is not run here.
    yield TestClient(app_with_catalogue(), headers=auth_headers(Role.COORDINATOR))
