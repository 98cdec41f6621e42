from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.deps import get_route_starter
from api.main import create_app
from tests.auth_helpers import auth_headers
from zorgtafel.vocabulary import Role


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

    def kick_watch(self, reference: str, *, key: str | None = None) -> None:
        self.kicked.append(f"watch:{reference}")


@pytest.fixture
def starter() -> RecordingStarter:
    return RecordingStarter()


@pytest.fixture
def client(starter: RecordingStarter) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_route_starter] = lambda: starter
    # No `with`: the lifespan (which starts the real route starter) is not run here. Every request
    # carries a coordinator's token for the region (tests of other roles pass their own headers).
    yield TestClient(app, headers=auth_headers(Role.COORDINATOR))
