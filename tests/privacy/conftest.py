from __future__ import annotations

import os

import pytest

from zorgtafel.db.session import get_engine

BACKEND = os.environ.get("ZT_TEST_DB", "sqlite")


@pytest.fixture
def on_postgresql() -> None:
    if get_engine().dialect.name != "postgresql":
        pytest.skip("the database-level guard is a PostgreSQL trigger; SQLite relies on the ORM guard")
