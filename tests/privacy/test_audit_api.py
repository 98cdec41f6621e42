"""The audit trail through the HTTP API, on a real database: creating, reading, changing a case,
a denied look by another region's coordinator, exporting "who looked at my file" and reading the
trail each leave exactly the expected line (who, role, on whose behalf, when, what, from where);
a coordinator reads their own region's trail only, and the subject's copy names no accounts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.deps import get_route_starter
from api.main import create_app
from tests.api.conftest import RecordingStarter
from tests.auth_helpers import account
from tests.privacy import distinct
from tests.privacy.test_retention import simple_plan
from zorgtafel import route
from zorgtafel.clock import utcnow
from zorgtafel.db.models import AuditEvent
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role

UA = "zt-audit-test/1.0"


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_route_starter] = RecordingStarter
    yield TestClient(app)


def headers(role: Role, *, region: str = "Limburg", **extra: str) -> dict[str, str]:
    return {**account(role, region=region).headers, "User-Agent": UA, **extra}


def trail_of(reference: str) -> list[tuple]:
    with unit_of_work() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.case_reference == reference).order_by(AuditEvent.id)
        )
        return [
            (e.action, e.outcome, e.username, e.role, e.on_behalf_of, e.resource, e.method, e.region,
             e.client_ip, e.user_agent)
            for e in rows
        ]  # fmt: skip


def test_every_access_leaves_exactly_its_line(client):
    limburg, antwerpen = account(Role.COORDINATOR), account(Role.COORDINATOR, region="Antwerpen")
    started = utcnow()
    r = client.post("/api/v1/registrations", json=distinct.body(), headers=headers(Role.COORDINATOR))
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    plan = simple_plan(ref)
    with unit_of_work() as session:
        route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=get_settings())

    behalf = headers(Role.COORDINATOR, **{"X-On-Behalf-Of": "case_manager:7"})
    assert client.get(f"/api/v1/cases/{ref}", headers=behalf).status_code == 200
    cancel = {"reason": "Gezin verhuisd."}
    changed = client.post(
        f"/api/v1/cases/{ref}/zorgtafel/cancel", json=cancel, headers=headers(Role.COORDINATOR)
    )
    assert changed.status_code == 200, changed.text
    denied = client.get(f"/api/v1/cases/{ref}", headers=headers(Role.COORDINATOR, region="Antwerpen"))
    assert denied.status_code == 404
    exported = client.get(f"/api/v1/cases/{ref}/accesses?format=csv", headers=headers(Role.COORDINATOR))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    read = client.get(f"/api/v1/audit?case={ref}", headers=headers(Role.COORDINATOR))
    assert read.status_code == 200, read.text

    case_route = "/api/v1/cases/{reference}"
    me, other = limburg.username, antwerpen.username
    where = ("Limburg", "testclient", UA)
    coord = "coordinator"
    assert trail_of(ref) == [
        ("create", "allowed", me, coord, None, "/api/v1/registrations", "POST", *where),
        ("read", "allowed", me, coord, "case_manager:7", case_route, "GET", *where),
        ("change", "allowed", me, coord, None, case_route + "/zorgtafel/cancel", "POST", *where),
        ("read", "denied", other, coord, None, case_route, "GET", *where),
        ("export", "allowed", me, coord, None, case_route + "/accesses", "GET", *where),
        ("read", "allowed", me, coord, None, "audit", "GET", *where),
    ]
    with unit_of_work() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.case_reference == ref).order_by(AuditEvent.id)
        ).all()
        assert all(started <= e.at <= utcnow() for e in events)
        assert {e.user_id for e in events} == {limburg.user_id, antwerpen.user_id}
        assert [e.detail for e in events][-1] == {"filters": ["case"], "count": 5}

    # The trail as the coordinator read it: the five lines before their own reading, newest first.
    body = read.json()
    assert body["region"] == "Limburg" and body["count"] == 5
    assert [(e["action"], e["outcome"]) for e in body["events"]] == [
        ("export", "allowed"),
        ("read", "denied"),
        ("change", "allowed"),
        ("read", "allowed"),
        ("create", "allowed"),
    ]
    assert body["events"][1]["username"] == other and body["events"][1]["client_ip"] == "testclient"

    # The subject's copy: who (role, organisation), when, what; no account names, no ids.
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Tijdstip",
        "Wie (rol)",
        "Organisatie",
        "In opdracht van",
        "Soort toegang",
        "Resultaat",
    ]
    who = ("coördinator zorggarantie", "Coördinatie zorggarantie Limburg")
    assert [tuple(r[1:]) for r in rows[1:]] == [
        (*who, "", "aangemaakt", "toegestaan"),
        (*who, "casemanager", "ingezien", "toegestaan"),
        (*who, "", "gewijzigd", "toegestaan"),
        (*who, "", "geëxporteerd", "toegestaan"),
    ]
    assert me not in exported.text
    assert all(len(r) == 6 and str(limburg.user_id) not in r[1:] for r in rows[1:])
    assert (
        "attachment" in exported.headers["content-disposition"]
        and ref in exported.headers["content-disposition"]
    )


def test_accesses_as_json_for_the_coordinator_with_denials_on_request(client):
    r = client.post("/api/v1/registrations", json=distinct.body(), headers=headers(Role.COORDINATOR))
    ref = r.json()["reference"]
    client.get(f"/api/v1/cases/{ref}", headers=headers(Role.COORDINATOR, region="Antwerpen"))
    plain = client.get(f"/api/v1/cases/{ref}/accesses", headers=headers(Role.COORDINATOR)).json()
    assert plain["reference"] == ref
    assert [(a["action"], a["outcome"]) for a in plain["accesses"]] == [
        ("create", "allowed"),
        ("read", "allowed"),
    ]
    assert plain["accesses"][0]["username"] == account(Role.COORDINATOR).username
    assert plain["accesses"][0]["role_label"] == "coördinator zorggarantie"
    full = client.get(
        f"/api/v1/cases/{ref}/accesses?include_denied=true", headers=headers(Role.COORDINATOR)
    ).json()
    assert ("read", "denied") in [(a["action"], a["outcome"]) for a in full["accesses"]]
    # Another region's coordinator gets nothing, not even that the case exists (and it is recorded).
    antwerpen = headers(Role.COORDINATOR, region="Antwerpen")
    assert client.get(f"/api/v1/cases/{ref}/accesses", headers=antwerpen).status_code == 404
    other = account(Role.COORDINATOR, region="Antwerpen").username
    assert trail_of(ref)[-1][:4] == ("read", "denied", other, "coordinator")


def test_a_coordinator_reads_only_the_trail_of_their_region(client):
    r = client.post("/api/v1/registrations", json=distinct.body(), headers=headers(Role.COORDINATOR))
    ref = r.json()["reference"]
    mine = client.get(f"/api/v1/audit?case={ref}", headers=headers(Role.COORDINATOR)).json()
    theirs = client.get(
        f"/api/v1/audit?case={ref}", headers=headers(Role.COORDINATOR, region="Antwerpen")
    ).json()
    assert mine["count"] == 1 and theirs == {"region": "Antwerpen", "count": 0, "events": []}
    # The Antwerpen coordinator's reading is in the Antwerpen trail, not in Limburg's.
    antwerpen_reads = client.get(
        f"/api/v1/audit?user={account(Role.COORDINATOR, region='Antwerpen').username}&action=read",
        headers=headers(Role.COORDINATOR, region="Antwerpen"),
    ).json()
    assert antwerpen_reads["count"] >= 1 and {e["region"] for e in antwerpen_reads["events"]} == {"Antwerpen"}


@pytest.mark.parametrize("role", [Role.CASE_MANAGER, Role.REGISTRANT, Role.EXPERT, Role.ADMIN])
def test_only_coordinators_read_the_trail(client, role):
    assert client.get("/api/v1/audit", headers=headers(role)).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


@pytest.mark.parametrize(
    "query, loc, code",
    [
        ("since=2026-11-20T10:00:00", "since", "timezone_required"),
        ("until=2026-11-20T10:00:00", "until", "timezone_required"),
        ("since=2026-11-20T10:00:00%2B01:00&until=2026-11-20T09:00:00%2B01:00", "until", "empty_period"),
    ],
)
def test_a_period_without_time_zone_or_empty_is_refused_in_dutch(client, query, loc, code):
    r = client.get(f"/api/v1/audit?{query}", headers=headers(Role.COORDINATOR))
    assert r.status_code == 422
    [problem] = r.json()["detail"]
    assert (problem["type"], problem["loc"]) == (code, ["query", loc])
    assert problem["msg"].startswith(("Geef", "'until'"))
