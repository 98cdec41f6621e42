"""A TestClient without default credentials: each test says who is asking."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.deps import get_route_starter
from api.main import create_app
from tests.api.conftest import RecordingStarter


@pytest.fixture(scope="module")
def anonymous() -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_route_starter] = RecordingStarter
    # No `with`: the lifespan (the real route starter) is not needed. Server errors come back as
    # 500 answers, so a test can name the route that failed.
    yield TestClient(app, raise_server_exceptions=False)
