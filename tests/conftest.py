"""Test setup: a real database (SQLite by default, PostgreSQL with ZT_TEST_DB=postgresql), and,
for the end-to-end tests, a real Prefect server, the served deployments, the API under uvicorn
and a real SMTP server — the same pieces ``make run`` starts (infra/processes.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Environment first: settings and Prefect read it once, at first use.
_TMP = Path(tempfile.mkdtemp(prefix="zt-test-"))
_BACKEND = os.environ.get("ZT_TEST_DB", "sqlite")
_PG_ADMIN = os.environ.get("ZT_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
_PG_DB = f"zt_test_{uuid.uuid4().hex[:10]}"
if _BACKEND == "postgresql":
    DATABASE_URL = _PG_ADMIN.rsplit("/", 1)[0] + f"/{_PG_DB}"
elif _BACKEND == "sqlite":
    DATABASE_URL = f"sqlite:///{_TMP / 'zorgtafel.db'}"
else:
    raise SystemExit(f"ZT_TEST_DB must be 'sqlite' or 'postgresql', not {_BACKEND!r}")

from infra.processes import free_port, prefect_env  # noqa: E402

PREFECT_PORT = free_port()
SMTP_PORT = free_port()
os.environ.update(prefect_env(_TMP / "prefect", PREFECT_PORT))
os.environ.update(
    {
        "ZT_DATABASE_URL": DATABASE_URL,
        "ZT_SMTP_PORT": str(SMTP_PORT),
        "ZT_VAR_DIR": str(_TMP / "var"),
        "ZT_ROUTE_SWEEP_SECONDS": "3600",
        "ZT_SECRET_KEY": "test-secret-key-not-for-production",
        # A fixed test key (never used outside the tests): "k1" encrypts, "k0" only decrypts.
        "ZT_DATA_KEYS": (
            "k1:dGVzdC1kYXRhLWtleS0zMi1ieXRlcy1sb25nLSEhISE=;k0:b2xkLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmctISEhISE="
        ),
        "ZT_ROUTE_START_TIMEOUT_SECONDS": "3",
        # The suite plans a hundred zorgtafels within the same 48 hours on a pool of 36 experts:
        # the default cap (2 a week) would let the order of tests decide whether a pair exists.
        # Tests of the cap set their own.
        "ZT_DEFAULT_WEEKLY_CAP": "50",
    }
)


def pytest_report_header() -> str:
    return f"zorgtafel database backend: {_BACKEND} ({DATABASE_URL})"


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    from zorgtafel.db.migrate import upgrade
    from zorgtafel.db.models import CaseManager
    from zorgtafel.db.session import unit_of_work
    from zorgtafel.seed import seed_demo

    admin = None
    if _BACKEND == "postgresql":
        admin = create_engine(_PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{_PG_DB}"'))
    upgrade(DATABASE_URL)
    with unit_of_work() as session:
        seed_demo(session)
        # Every planned zorgtafel takes 90 minutes of a case manager's 48 hours: give the suite
        # enough of them that the order of tests never decides whether a slot exists.
        session.add_all(
            CaseManager(
                name=f"Test Casemanager {i}",
                email=f"cm{i}@test.zorgtafel.example",
                registration_number=f"SKJ-9{i:05d}",
                region="Limburg",
                active=True,
            )
            for i in range(60)
        )
    yield DATABASE_URL
    from zorgtafel.db.session import engine_for

    engine_for(DATABASE_URL).dispose()
    if admin is not None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{_PG_DB}" WITH (FORCE)'))
        admin.dispose()
    shutil.rmtree(_TMP, ignore_errors=True)


@dataclass
class Stack:
    api_url: str
    prefect_api_url: str
    mail_dir: Path


@pytest.fixture(scope="session")
def prefect_server(database: str) -> Iterator[str]:
    from infra.processes import start_prefect_server, stop

    proc = start_prefect_server(os.environ, PREFECT_PORT, _TMP / "prefect-server.log")
    yield os.environ["PREFECT_API_URL"]
    stop(proc)


@pytest.fixture(scope="session")
def mail_dir() -> Iterator[Path]:
    from infra.mailsink import start_mail_sink

    directory = _TMP / "mail"
    sink = start_mail_sink(directory, "127.0.0.1", SMTP_PORT)
    yield directory
    sink.stop()


@pytest.fixture(scope="session")
def stack(prefect_server: str, mail_dir: Path) -> Iterator[Stack]:
    """Served deployments + API under uvicorn, on the real Prefect server and SMTP sink."""
    from infra.processes import spawn, stop, wait_http

    api_port = free_port()
    exe = [sys.executable, "-m", "infra.cli"]
    flows = spawn([*exe, "serve-flows"], os.environ, _TMP / "flows.log")
    api = spawn([*exe, "api", "--port", str(api_port)], os.environ, _TMP / "api.log")
    try:
        wait_http(f"http://127.0.0.1:{api_port}/api/health", timeout=60, proc=api)
        _wait_for_deployment()
        yield Stack(f"http://127.0.0.1:{api_port}", prefect_server, mail_dir)
    finally:
        stop(api)
        stop(flows)


def _wait_for_deployment(timeout: float = 60) -> None:
    import time

    from prefect.client.orchestration import get_client

    from zorgtafel.settings import get_settings

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            try:
                client.read_deployment_by_name(get_settings().route_deployment)
                return
            except Exception:
                time.sleep(0.3)
    raise TimeoutError("the crisis-route deployment was not served in time")
