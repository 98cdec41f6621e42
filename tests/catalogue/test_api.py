"""The catalogue, tariff, service-fit and waiting-list endpoints through TestClient."""

from __future__ import annotations

from uuid import uuid4

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.auth_helpers import auth_headers
from tests.catalogue.conftest import registered
from tests.catalogue.test_catalogue import NAMED_IN_DOMAIN, RESIDENTIAL
from zorgtafel.catalogue import tariff_for
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, CaseEvent, Service, WaitingListEntry
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role


def problems(response) -> list[tuple[list, str]]:
    assert response.status_code == 422, response.text
    return [(p["loc"], p["type"]) for p in response.json()["detail"]]


# --- catalogue and tariffs -----------------------------------------------------------------


def test_services_list_the_catalogue_with_current_tariffs_as_decimal_strings(client: TestClient):
    response = client.get("/api/v1/services")
    assert response.status_code == 200
    by_code = {s["code"]: s for s in response.json()}
    assert set(by_code) >= NAMED_IN_DOMAIN
    assert {c for c in NAMED_IN_DOMAIN if by_code[c]["residential"]} == RESIDENTIAL
    kraamzorg = by_code["kraamzorg"]
    assert (kraamzorg["unit"], kraamzorg["max_units"], kraamzorg["tracks"]) == ("hour", 80, ["regular"])
    tariff = kraamzorg["tariff"]
    assert tariff["amount"] == "56.00" and tariff["currency"] == "EUR"
    assert tariff["region"] == get_settings().region
    assert tariff["requested_year"] == utcnow().astimezone(get_settings().tz).year
    assert tariff["year"] <= tariff["requested_year"]
    assert by_code["ambulante-gezinsbegeleiding"]["tariff"]["max_amount"] == "100.00"
    assert by_code["voorzorg"]["tariff"]["amount"] == "14000.00"
    assert by_code["bijzonder-klein"]["tariff"] is None and by_code["bijzonder-klein"]["capacity"] == 3


def test_put_a_tariff_for_a_region_and_read_it_back_with_its_fallback(client: TestClient):
    region = f"Testregio-{uuid4().hex[:8]}"
    response = client.put(  # another region's tariff: configuration, the administrator's
        "/api/v1/services/ambulante-gezinsbegeleiding/tariffs/2025",
        json={"amount": "62.50", "max_amount": "104.00", "region": region},
        headers=auth_headers(Role.ADMIN),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "region": region,
        "year": 2025,
        "requested_year": 2025,
        "fallback": False,
        "currency": "EUR",
        "amount": "62.50",
        "max_amount": "104.00",
    }
    listed = client.get("/api/v1/services", params={"region": region, "year": 2027}).json()
    ambulant = next(s for s in listed if s["code"] == "ambulante-gezinsbegeleiding")
    assert ambulant["tariff"]["year"] == 2025 and ambulant["tariff"]["fallback"] is True
    assert next(s for s in listed if s["code"] == "kraamzorg")["tariff"] is None  # not seeded there
    with unit_of_work() as session:
        quote = tariff_for(session, "ambulante-gezinsbegeleiding", region, 2025)
        assert quote is not None and (quote.amount_cents, quote.max_amount_cents) == (6_250, 10_400)


def test_put_a_tariff_without_a_region_uses_this_installations(client: TestClient):
    response = client.put("/api/v1/services/voorzorg/tariffs/2099", json={"amount": 14250})
    assert response.status_code == 200, response.text
    assert response.json()["region"] == get_settings().region
    assert response.json()["amount"] == "14250.00"


def test_bad_tariffs_are_refused_naming_the_rule(client: TestClient):
    def put(url: str, json: dict) -> object:
        return client.put(url, json=json, headers=auth_headers(Role.ADMIN))

    assert problems(put("/api/v1/services/kraamzorg/tariffs/2024", json={"amount": "0", "region": "X"})) == [
        (["body", "amount"], "not_positive")
    ]
    assert problems(
        put(
            "/api/v1/services/kraamzorg/tariffs/2024",
            json={"amount": "100", "max_amount": "60", "region": "X"},
        )
    ) == [(["body", "max_amount"], "range_inverted")]
    assert problems(
        put("/api/v1/services/geen-dienst/tariffs/2024", json={"amount": "1", "region": "X"})
    ) == [(["body", "code"], "unknown_service")]
    sub_cent = put("/api/v1/services/kraamzorg/tariffs/2024", json={"amount": "56.001", "region": "X"})
    assert sub_cent.status_code == 422
    assert put("/api/v1/services/kraamzorg/tariffs/2024", json={"amount": "NaN"}).status_code == 422


# --- service fit ---------------------------------------------------------------------------


def test_service_fit_answers_every_service_and_stores_nothing(client: TestClient):
    reference = registered()  # the factory's child was born 200 days ago
    with unit_of_work() as session:
        events_before = session.scalar(select(func.count()).select_from(CaseEvent))
        active = list(
            session.scalars(select(Service.code).where(Service.active.is_(True)).order_by(Service.id))
        )
    response = client.post(
        f"/api/v1/cases/{reference}/service-fit",
        json={
            "mother_age": 27,
            "first_child": True,
            "mother_education": "vmbo_t",
            "family_accepts_help": True,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["assessed_on"] == utcnow().astimezone(get_settings().tz).date().isoformat()
    by_code = {s["code"]: s for s in body["services"]}
    assert [s["code"] for s in body["services"]] == active
    voorzorg = by_code["voorzorg"]
    assert voorzorg["verdict"] == "does_not_fit"
    assert "VoorZorg: moeder is 27, de regel is maximaal 25" in voorzorg["reasons"]
    assert by_code["kraamzorg"]["verdict"] == "does_not_fit"  # 200 days after the birth
    assert by_code["babythuiszorg"]["verdict"] == "unknown"  # motivation not given
    assert by_code["pleegzorg"]["verdict"] == "fits"
    assert all(s["reasons"] for s in body["services"])
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)) == events_before


def test_service_fit_judges_on_the_day_asked_and_refuses_facts_the_case_holds(client: TestClient):
    reference = registered()
    with unit_of_work() as session:
        birth = session.scalars(select(Case.birth_date).where(Case.reference == reference)).one()
    assert birth is not None
    # Judged on the day of the birth itself: kraamzorg fits.
    response = client.post(f"/api/v1/cases/{reference}/service-fit", json={"assessed_on": birth.isoformat()})
    assert response.status_code == 200
    assert next(s for s in response.json()["services"] if s["code"] == "kraamzorg")["verdict"] == "fits"
    refused = client.post(f"/api/v1/cases/{reference}/service-fit", json={"birth_date": "2026-01-01"})
    assert refused.status_code == 422
    assert client.post("/api/v1/cases/ZT-BESTAATNIET/service-fit", json={}).status_code == 404
    assert (
        client.post(f"/api/v1/cases/{reference}/service-fit", json={"mother_education": "x"}).status_code
        == 422
    )


# --- waiting list --------------------------------------------------------------------------


def test_waiting_list_through_the_api(client: TestClient):
    reference = registered()
    base = f"/api/v1/cases/{reference}/waiting-list"
    created = client.post(base, json={"service_code": "bijzonder-klein"})
    assert created.status_code == 201, created.text
    entry = created.json()
    assert (entry["service_code"], entry["status"], entry["on_hold"], entry["waiting_days"]) == (
        "bijzonder-klein",
        "waiting",
        False,
        0,
    )
    assert problems(client.post(base, json={"service_code": "bijzonder-klein"})) == [
        (["body", "service_code"], "already_listed")
    ]
    assert problems(client.post(base, json={"service_code": "kraamzorg"})) == [
        (["body", "service_code"], "no_places")
    ]
    item = f"{base}/{entry['id']}"
    valid = client.post(f"{item}/refusals", json={"valid_reason": True, "reason": "Te ver van het netwerk"})
    assert valid.status_code == 200 and valid.json()["refusals_without_reason"] == 0
    first = client.post(f"{item}/refusals", json={"valid_reason": False, "reason": "Geen reden opgegeven"})
    assert first.json()["on_hold"] is True and first.json()["status"] == "waiting"
    bridging = client.put(f"{item}/bridging", json={"bridging": "Ambulante gezinsbegeleiding 4 u/week"})
    assert bridging.json()["bridging"] == "Ambulante gezinsbegeleiding 4 u/week"
    second = client.post(f"{item}/refusals", json={"valid_reason": False, "reason": "Opnieuw geen reden"})
    assert (second.json()["status"], second.json()["waiting_days"]) == ("talk", 0)
    resumed = client.post(f"{item}/resume")
    assert (resumed.json()["status"], resumed.json()["on_hold"]) == ("waiting", False)
    listed = client.get(base)
    assert [e["id"] for e in listed.json()] == [entry["id"]]
    case = client.get(f"/api/v1/cases/{reference}").json()
    kinds = [e["kind"] for e in case["timeline"] if e["kind"].startswith("waiting_list")]
    assert kinds == [
        "waiting_list_added",
        "waiting_list_refused_valid",
        "waiting_list_on_hold",
        "waiting_list_bridging",
        "waiting_list_reset",
        "waiting_list_resumed",
    ]
    withdrawn = client.post(f"{item}/withdrawal", json={"reason": "Gezin kiest pleegzorg"})
    assert withdrawn.json()["status"] == "withdrawn"


def test_placement_through_the_api_and_entries_of_other_cases(client: TestClient):
    reference = registered()
    base = f"/api/v1/cases/{reference}/waiting-list"
    entry_id = client.post(base, json={"service_code": "bijzonder-klein"}).json()["id"]
    other = registered()
    assert client.post(f"/api/v1/cases/{other}/waiting-list/{entry_id}/placement").status_code == 404
    assert client.get("/api/v1/cases/ZT-BESTAATNIET/waiting-list").status_code == 404
    placed = client.post(f"{base}/{entry_id}/placement")
    try:
        assert placed.status_code == 200, placed.text
        assert placed.json()["status"] == "placed"
        assert problems(client.post(f"{base}/{entry_id}/resume")) == [(["body", "entry"], "not_on_hold")]
    finally:
        ended = client.post(f"{base}/{entry_id}/withdrawal", json={"reason": "Einde van de test"})
        assert ended.json()["status"] == "withdrawn"
    with unit_of_work() as session:
        assert session.get_one(WaitingListEntry, entry_id).status == "withdrawn"
