"""The budget endpoints through FastAPI's TestClient on the real database: 201 and 422 paths,
and nothing stored after any refusal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routers import budget as budget_router
from tests.auth_helpers import auth_headers
from tests.budget.conftest import budget_case, registered, snapshot
from zorgtafel.vocabulary import Role

BASE = "/api/v1/cases/{ref}/budget"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app()
    if not any(getattr(r, "path", "") == "/api/v1/cases/{reference}/budget" for r in app.routes):
        app.include_router(budget_router.router)
    # No `with`: the lifespan (the real route starter) is not needed here.
    yield TestClient(app, headers=auth_headers(Role.COORDINATOR))


def body(service: str, amount: str = "1234.56", **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "commitment",
        "service_code": service,
        "amount": amount,
        "currency": "EUR",
        "occurs_on": "2027-01-15",
        "note": "Contextbegeleiding, 2 x per week",
    } | overrides


def post_refused(client: TestClient, ref: str, path: str, payload: dict[str, Any], **kw: Any) -> list[dict]:
    """POST that must answer 422 and store nothing; returns the problems."""
    before = snapshot(ref)
    response = client.post(BASE.format(ref=ref) + path, json=payload, **kw)
    assert response.status_code == 422, response.text
    assert snapshot(ref) == before
    return response.json()["detail"]


def test_book_and_read_the_budget(client, services):
    ref = budget_case()
    r = client.post(BASE.format(ref=ref) + "/entries", json=body(services["verblijf"], "1500"))
    assert r.status_code == 201, r.text
    entry = r.json()
    assert (entry["kind"], entry["amount"], entry["amount_cents"], entry["residential"]) == (
        "commitment",
        "1500.00",
        150_000,
        True,
    )
    assert entry["service_code"] == services["verblijf"]
    r = client.get(BASE.format(ref=ref))
    assert r.status_code == 200
    b = r.json()
    assert (b["granted"], b["granted_cents"], b["committed"], b["remaining"]) == (
        "10000.00",
        1_000_000,
        "1500.00",
        "8500.00",
    )
    assert (b["residential_committed"], b["residential_cap"], b["residential_share_pct"]) == (
        "1500.00",
        "5000.00",
        "15.0",
    )
    assert [e["id"] for e in b["entries"]] == [entry["id"]]
    assert b["services"][0]["committed_cents"] == 150_000


@pytest.mark.parametrize(
    ("overrides", "code", "loc"),
    [
        ({"currency": "USD"}, "wrong_currency", "currency"),
        ({"amount": "12.345"}, "fractional_cents", "amount"),
        ({"amount": "-10.00"}, "negative", "amount"),
        ({"amount": "0"}, "zero", "amount"),
        ({"amount": "0.00"}, "zero", "amount"),
        ({"amount": "twaalf"}, "not_a_number", "amount"),
        ({"amount": "1,50"}, "not_a_number", "amount"),
        ({"amount": "5000000"}, "too_large", "amount"),
        ({"service_code": "no-such-service"}, "unknown_service", "service_code"),
        ({"kind": "reversal"}, "invalid_kind", "kind"),
        ({"occurs_on": "2027-04-01"}, "outside_term", "occurs_on"),
        ({"amount": "10000.01"}, "budget_exceeded", "amount"),
    ],
)
def test_bad_bookings_are_refused_and_store_nothing(client, services, overrides, code, loc):
    ref = budget_case()
    [problem] = post_refused(client, ref, "/entries", body(services["ambulant"], **overrides))
    assert problem["type"] == code
    assert problem["loc"][-1] == loc
    assert problem["msg"] and problem["msg"][0].isupper()


def test_amount_as_a_json_number_is_refused(client, services):
    ref = budget_case()
    detail = post_refused(client, ref, "/entries", body(services["ambulant"], 12.5))  # type: ignore[arg-type]
    assert detail[0]["loc"][-1] == "amount"


def test_residential_cap_message_says_by_how_much(client, services):
    ref = budget_case()
    ok = client.post(BASE.format(ref=ref) + "/entries", json=body(services["verblijf"], "4800"))
    assert ok.status_code == 201
    [problem] = post_refused(client, ref, "/entries", body(services["verblijf"], "400"))
    assert problem == {
        "type": "residential_cap_exceeded",
        "loc": ["body", "amount"],
        "msg": "Verblijf zou € 5.200,00 zijn, max. 50% = € 5.000,00: € 200,00 te veel.",
    }


def test_idempotency_key(client, services):
    ref = budget_case()
    url = BASE.format(ref=ref) + "/entries"
    headers = {"Idempotency-Key": f"api-{ref}"}
    first = client.post(url, json=body(services["ambulant"]), headers=headers)
    again = client.post(url, json=body(services["ambulant"]), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    [problem] = post_refused(client, ref, "/entries", body(services["ambulant"], "99.99"), headers=headers)
    assert problem["type"] == "idempotency_key_reused"
    assert len(snapshot(ref).entries) == 1


def test_reverse(client, services):
    ref = budget_case()
    url = BASE.format(ref=ref)
    commitment = client.post(url + "/entries", json=body(services["ambulant"], "1000")).json()
    spend = client.post(url + "/entries", json=body(services["ambulant"], "600", kind="spend")).json()
    [problem] = post_refused(
        client, ref, f"/entries/{commitment['id']}/reverse", {"reason": "Verkeerd bedrag."}
    )
    assert problem["type"] == "reversal_breaks_spend"
    assert "€ 600,00 te veel" in problem["msg"]
    r = client.post(url + f"/entries/{spend['id']}/reverse", json={"reason": "Factuur gecrediteerd."})
    assert r.status_code == 201, r.text
    reversal = r.json()
    assert (reversal["kind"], reversal["reverses_id"], reversal["amount"]) == (
        "reversal",
        spend["id"],
        "600.00",
    )
    [problem] = post_refused(
        client, ref, f"/entries/{reversal['id']}/reverse", {"reason": "Oeps, toch niet."}
    )
    assert problem["type"] == "reversal_of_reversal"
    [problem] = post_refused(client, ref, f"/entries/{spend['id']}/reverse", {"reason": "Nog eens."})
    assert problem["type"] == "already_reversed"
    post_refused(client, ref, f"/entries/{spend['id']}/reverse", {"reason": ""})  # a reason is required
    assert (
        client.post(url + "/entries/999999999/reverse", json={"reason": "Bestaat niet."}).status_code == 404
    )
    listed = client.get(url).json()["entries"]
    assert [e["reversed_by"] for e in listed] == [None, reversal["id"], None]


def test_extension_once(client, services):
    ref = budget_case()
    url = BASE.format(ref=ref) + "/extension"
    r = client.post(url)
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["extension"], b["total_granted"], b["residential_cap"], b["extended_until"]) == (
        "5000.00",
        "15000.00",
        "7500.00",
        "2027-06-30",
    )
    assert b["extension_used"] is True
    [problem] = post_refused(client, ref, "/extension", {})
    assert problem["type"] == "second_extension"
    ok = client.post(
        BASE.format(ref=ref) + "/entries", json=body(services["ambulant"], occurs_on="2027-06-30")
    )
    assert ok.status_code == 201


def test_not_found(client, services):
    assert client.get(BASE.format(ref="ZT-0000-NOPE00")).status_code == 404
    ref = registered()
    r = client.get(BASE.format(ref=ref))
    assert r.status_code == 404
    assert r.json()["detail"] == "Dit dossier heeft geen casusgebonden budget."
    assert client.post(BASE.format(ref=ref) + "/entries", json=body(services["ambulant"])).status_code == 404
    assert client.post(BASE.format(ref=ref) + "/extension").status_code == 404
