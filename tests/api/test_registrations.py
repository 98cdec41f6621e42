"""Registration over HTTP against a real database: answers, idempotency, refusals that store nothing."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from tests.factories import registration
from zorgtafel.db.models import Case, CaseEvent, FamilyMember, IdempotencyRecord
from zorgtafel.db.session import unit_of_work


def count(model: type) -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def counts() -> tuple[int, int, int, int]:
    return count(Case), count(FamilyMember), count(CaseEvent), count(IdempotencyRecord)


def test_registration_answers_201_with_reference_status_and_deadline(client, starter):
    before = datetime.now(UTC)
    r = client.post("/api/v1/registrations", json=registration())
    after = datetime.now(UTC)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["reference"].startswith(f"ZT-{date.today().year}-")
    assert body["status"] == "registered"
    assert body["eligible"] is True
    deadline = datetime.fromisoformat(body["zorgtafel_deadline"])
    assert deadline.utcoffset() in (timedelta(hours=1), timedelta(hours=2))  # Brussels time
    assert before + timedelta(hours=48) <= deadline <= after + timedelta(hours=48)
    assert starter.kicked == [body["reference"]]

    case = client.get(body["case_url"]).json()
    assert case["reference"] == body["reference"]
    assert case["zorgtafel"] is None
    assert case["route"] == {"started": False, "flow_run_id": None, "start_attempts": 0, "last_error": None}
    assert [e["kind"] for e in case["timeline"]] == ["registered", "screened_eligible"]


def test_unborn_child_is_registered_by_expected_delivery_date(client):
    body = registration(child={"expected_delivery_date": (date.today() + timedelta(days=60)).isoformat()})
    r = client.post("/api/v1/registrations", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["eligible"] is True
    with unit_of_work() as session:
        case = session.scalar(select(Case).where(Case.reference == r.json()["reference"]))
        assert case.birth_date is None
        assert case.expected_delivery_date == date.today() + timedelta(days=60)


def test_same_idempotency_key_never_makes_a_second_case(client, starter):
    key = f"key-{uuid4()}"
    body = registration()
    first = client.post("/api/v1/registrations", json=body, headers={"Idempotency-Key": key})
    n = counts()
    second = client.post("/api/v1/registrations", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert first.json() == second.json()
    assert counts() == n
    assert starter.kicked == [first.json()["reference"]]  # the route is started once


def test_idempotency_key_reused_with_another_body_is_refused(client):
    key = f"key-{uuid4()}"
    assert (
        client.post(
            "/api/v1/registrations", json=registration(), headers={"Idempotency-Key": key}
        ).status_code
        == 201
    )
    n = counts()
    r = client.post(
        "/api/v1/registrations", json=registration(municipality="Genk"), headers={"Idempotency-Key": key}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "idempotency_key_reused"
    assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert counts() == n


def test_concurrent_requests_with_one_key_make_one_case(client):
    key = f"key-{uuid4()}"
    body = registration()
    results: list[tuple[int, str]] = []

    def post() -> None:
        r = client.post("/api/v1/registrations", json=body, headers={"Idempotency-Key": key})
        results.append((r.status_code, r.json().get("reference", r.text)))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _ in results} == {201}, results
    assert len({ref for _, ref in results}) == 1
    with unit_of_work() as session:
        assert session.get(IdempotencyRecord, key) is not None
        refs = session.scalars(select(Case.reference).where(Case.reference == results[0][1])).all()
        assert len(refs) == 1


@pytest.mark.parametrize(
    ("change", "loc", "code"),
    [
        (
            lambda b: b["registrant"].update(agency_code="onbekend"),
            ["body", "registrant", "agency_code"],
            "unknown_agency",
        ),
        (
            lambda b: b.update(child={"birth_date": (date.today() + timedelta(days=3)).isoformat()}),
            ["body", "child", "birth_date"],
            "birth_date_in_future",
        ),
        (
            lambda b: b.update(
                child={"expected_delivery_date": (date.today() - timedelta(days=1)).isoformat()}
            ),
            ["body", "child", "expected_delivery_date"],
            "delivery_date_in_past",
        ),
        (
            lambda b: b.update(
                child={
                    "birth_date": "2026-01-01",
                    "expected_delivery_date": (date.today() + timedelta(days=9)).isoformat(),
                }
            ),
            ["body", "child"],
            "birth_or_delivery_date",
        ),
        (lambda b: b.update(child={}), ["body", "child"], "birth_or_delivery_date"),
        (lambda b: b["family"][0].pop("email"), ["body", "family", 0, "email"], "consented_without_channel"),
        (
            lambda b: b["family"][1].pop("phone"),
            ["body", "family", 1, "phone"],
            "consented_without_channel",
        ),
        (
            lambda b: b.update(case_manager_email="niemand@zorgtafel.example"),
            ["body", "case_manager_email"],
            "unknown_case_manager",
        ),
    ],
)
def test_rule_violations_are_422_naming_field_and_rule_and_store_nothing(client, starter, change, loc, code):
    body = registration()
    change(body)
    n = counts()
    r = client.post("/api/v1/registrations", json=body, headers={"Idempotency-Key": f"k-{uuid4()}"})
    assert r.status_code == 422, r.text
    problems = r.json()["detail"]
    assert {"loc": loc, "type": code} in [{"loc": p["loc"], "type": p["type"]} for p in problems]
    assert all(p["msg"] for p in problems)
    assert counts() == n
    assert starter.kicked == []


def test_several_problems_are_reported_together(client):
    body = registration()
    body["registrant"]["agency_code"] = "onbekend"
    body["family"][0].pop("email")
    r = client.post("/api/v1/registrations", json=body)
    assert r.status_code == 422
    assert {p["type"] for p in r.json()["detail"]} == {"unknown_agency", "consented_without_channel"}


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda b: b.pop("placement_threatened"), ["body", "placement_threatened"]),
        (lambda b: b.update(concerns=["astrology"]), ["body", "concerns", 0]),
        (lambda b: b.update(concerns=[]), ["body", "concerns"]),
        (lambda b: b.update(willingness="maybe"), ["body", "willingness"]),
        (lambda b: b["registrant"].update(email="geen-adres"), ["body", "registrant", "email"]),
        (lambda b: b["child"].update(birth_date="31-02-2026"), ["body", "child", "birth_date"]),
        (
            lambda b: b["family"][0].update(preferred_channel="pigeon"),
            ["body", "family", 0, "preferred_channel"],
        ),
        (lambda b: b.update(unexpected="x"), ["body", "unexpected"]),
    ],
)
def test_malformed_input_is_422_with_field_level_reasons(client, change, loc):
    body = registration()
    change(body)
    n = counts()
    r = client.post("/api/v1/registrations", json=body)
    assert r.status_code == 422, r.text
    assert loc in [p["loc"] for p in r.json()["detail"]]
    assert counts() == n


def test_child_older_than_three_is_recorded_as_not_eligible_with_reason(client, starter):
    old = date.today().replace(year=date.today().year - 4)
    r = client.post("/api/v1/registrations", json=registration(child={"birth_date": old.isoformat()}))
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "not_eligible"
    assert body["eligible"] is False
    assert [x["code"] for x in body["reasons"]] == ["age_above_limit"]
    assert "3 jaar" in body["reasons"][0]["message"]
    # The route still runs: it tells the registrant, and convenes nothing.
    assert starter.kicked == [body["reference"]]
    case = client.get(body["case_url"]).json()
    assert [e["kind"] for e in case["timeline"]] == ["registered", "screened_not_eligible"]


def test_pregnancy_further_than_nine_months_is_not_eligible(client):
    edd = date.today() + timedelta(days=300)
    r = client.post(
        "/api/v1/registrations", json=registration(child={"expected_delivery_date": edd.isoformat()})
    )
    assert r.status_code == 201
    assert [x["code"] for x in r.json()["reasons"]] == ["pregnancy_too_early"]


def test_no_threatened_placement_is_not_eligible_and_willingness_is_only_noted(client):
    r = client.post(
        "/api/v1/registrations", json=registration(placement_threatened=False, willingness="none")
    )
    assert r.status_code == 201
    body = r.json()
    assert [x["code"] for x in body["reasons"]] == ["no_threatened_placement"]
    assert [x["code"] for x in body["notes"]] == ["no_willingness"]


def test_unknown_case_is_404(client):
    r = client.get("/api/v1/cases/ZT-2026-NOPE00")
    assert r.status_code == 404
    assert r.json() == {"detail": "Dossier niet gevonden."}


def test_reference_data_and_docs(client):
    agencies = client.get("/api/v1/agencies").json()
    assert {"pleegzorg-limburg", "ckg-molenberg", "wit-gele-kruis"} <= {a["code"] for a in agencies}
    concerns = client.get("/api/v1/concerns").json()
    assert {"code": "threatened_attachment", "label": "bedreigde hechting"} in concerns
    schema = client.get("/openapi.json").json()
    assert "/api/v1/registrations" in schema["paths"]
    assert "Idempotency-Key" in str(schema["paths"]["/api/v1/registrations"]["post"]["parameters"])
    assert client.get("/docs").status_code == 200
    assert client.get("/api/health").json() == {"status": "ok"}
