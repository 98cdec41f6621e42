"""Experts in the pool, over the API on the real database: create, read, change, deactivate, and
every refusal (422 naming field and rule; nothing written)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.pool.helpers import POOL, expert_body, new_expert
from zorgtafel.settings import get_settings


def _agency_experts(client: TestClient, headers: dict[str, str], code: str = "pool-test-a") -> list[dict]:
    response = client.get(f"{POOL}/experts", params={"agency_code": code}, headers=headers)
    assert response.status_code == 200
    return response.json()


def test_create_and_read_an_expert(client, coordinator):
    body = expert_body(meeting_hours="mon-thu 09:00-17:00; fri 09:00-12:00", weekly_cap=1)
    created = client.post(f"{POOL}/experts", json=body, headers=coordinator)
    assert created.status_code == 201, created.text
    expert = created.json()
    assert expert["agency"] == {"code": "pool-test-a", "name": "Pooltest Agentschap A"}
    assert expert["name"] == body["name"]
    assert expert["email"] == body["email"]
    assert expert["expertise"] == ["attachment", "parenting_support"]
    assert expert["meeting_hours"] == "mon-thu 09:00-17:00; fri 09:00-12:00"
    assert expert["weekly_cap"] == 1 and expert["effective_weekly_cap"] == 1
    assert expert["active"] is True
    assert expert["absences"] == 0 and expert["entered_busy_periods"] == 0
    assert expert["availability_feed"] == {"url": None, "synced_at": None, "error": None, "busy_periods": 0}

    assert client.get(f"{POOL}/experts/{expert['id']}", headers=coordinator).json() == expert
    assert expert in _agency_experts(client, coordinator)


def test_defaults_weekly_cap_from_region(client, coordinator):
    expert = new_expert(client, coordinator, weekly_cap=None, meeting_hours=None, phone=None)
    assert expert["weekly_cap"] is None
    assert expert["effective_weekly_cap"] == get_settings().default_weekly_cap
    assert expert["meeting_hours"] is None


REFUSALS: list[tuple[dict[str, Any], str, list[Any], str]] = [
    ({"expertise": ["attachment", "waarzeggerij"]}, "unknown_expertise", ["expertise", 1], "waarzeggerij"),
    ({"agency_code": "bestaat-niet"}, "unknown_agency", ["agency_code"], "bestaat-niet"),
    ({"meeting_hours": "maandag 9 tot 5"}, "invalid_meeting_hours", ["meeting_hours"], "mon-thu"),
    ({"meeting_hours": "mon-fri 17:00-09:00"}, "invalid_meeting_hours", ["meeting_hours"], "closes before"),
    (
        {"meeting_hours": "mon 07:00-10:00"},
        "meeting_hours_outside_region",
        ["meeting_hours"],
        "maandag 07:00-10:00 (regio: 08:00-19:00)",
    ),
    ({"meeting_hours": "sun 08:00-12:00"}, "meeting_hours_outside_region", ["meeting_hours"], "09:00-17:00"),
    ({"weekly_cap": 0}, "invalid_weekly_cap", ["weekly_cap"], "1 tot 50"),
    ({"weekly_cap": -2}, "invalid_weekly_cap", ["weekly_cap"], "-2"),
    ({"weekly_cap": 51}, "invalid_weekly_cap", ["weekly_cap"], "51"),
    ({"email": "geen-adres"}, "invalid_email", ["email"], "geen-adres"),
    ({"name": "  "}, "name_required", ["name"], "naam"),
    ({"phone": "bel me"}, "invalid_phone", ["phone"], "Telefoonnummer"),
]


@pytest.mark.parametrize(("override", "code", "loc", "in_msg"), REFUSALS)
def test_create_refusals(client, coordinator, override, code, loc, in_msg):
    before = _agency_experts(client, coordinator)
    response = client.post(f"{POOL}/experts", json=expert_body(**override), headers=coordinator)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [d["type"] for d in detail] == [code], detail
    assert detail[0]["loc"] == ["body", *loc]
    assert in_msg in detail[0]["msg"]
    assert _agency_experts(client, coordinator) == before


def test_all_problems_at_once(client, coordinator):
    body = expert_body(expertise=["nope"], weekly_cap=0, meeting_hours="mon 06:00-07:00", agency_code="x")
    response = client.post(f"{POOL}/experts", json=body, headers=coordinator)
    assert response.status_code == 422
    assert {d["type"] for d in response.json()["detail"]} == {
        "unknown_expertise",
        "invalid_weekly_cap",
        "meeting_hours_outside_region",
        "unknown_agency",
    }


def test_an_address_belongs_to_one_expert(client, coordinator):
    first = new_expert(client, coordinator)
    before = _agency_experts(client, coordinator)
    again = client.post(
        f"{POOL}/experts", json=expert_body(email=first["email"].upper()), headers=coordinator
    )
    assert again.status_code == 422
    (problem,) = again.json()["detail"]
    assert problem["type"] == "email_taken" and str(first["id"]) in problem["msg"]
    assert _agency_experts(client, coordinator) == before
    # changing one's own address to itself is no conflict
    same = client.patch(f"{POOL}/experts/{first['id']}", json={"email": first["email"]}, headers=coordinator)
    assert same.status_code == 200


def test_change_only_the_fields_given(client, coordinator):
    expert = new_expert(client, coordinator)
    response = client.patch(
        f"{POOL}/experts/{expert['id']}",
        json={"agency_code": "pool-test-b", "weekly_cap": None, "meeting_hours": "sat 10:00-12:00"},
        headers=coordinator,
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["agency"]["code"] == "pool-test-b"
    assert changed["weekly_cap"] is None
    assert changed["effective_weekly_cap"] == get_settings().default_weekly_cap
    assert changed["meeting_hours"] == "sat 10:00-12:00"
    assert {
        k: v
        for k, v in changed.items()
        if k not in ("agency", "weekly_cap", "effective_weekly_cap", "meeting_hours")
    } == {
        k: v
        for k, v in expert.items()
        if k not in ("agency", "weekly_cap", "effective_weekly_cap", "meeting_hours")
    }


def test_a_refused_change_changes_nothing(client, coordinator):
    expert = new_expert(client, coordinator)
    url = f"{POOL}/experts/{expert['id']}"
    for body, code in [
        ({"name": "Nieuwe Naam", "weekly_cap": 0}, "invalid_weekly_cap"),
        ({"name": "Nieuwe Naam", "expertise": ["kristallen"]}, "unknown_expertise"),
        ({"name": "Nieuwe Naam", "meeting_hours": "mon-fri 18:00-20:00"}, "meeting_hours_outside_region"),
        ({"name": None}, "required"),
        ({"expertise": None}, "required"),
    ]:
        response = client.patch(url, json=body, headers=coordinator)
        assert response.status_code == 422, (body, response.text)
        assert [d["type"] for d in response.json()["detail"]] == [code]
        assert client.get(url, headers=coordinator).json() == expert


def test_deactivating_keeps_history(client, coordinator):
    expert = new_expert(client, coordinator)
    url = f"{POOL}/experts/{expert['id']}"
    assert client.post(
        f"{url}/absences", json={"starts_on": "2099-01-05", "ends_on": "2099-01-09"}, headers=coordinator
    ).is_success
    assert client.post(
        f"{url}/busy",
        json={"starts_at": "2099-01-12T10:00:00+01:00", "ends_at": "2099-01-12T12:00:00+01:00"},
        headers=coordinator,
    ).is_success

    response = client.patch(url, json={"active": False}, headers=coordinator)
    assert response.status_code == 200
    out = response.json()
    assert out["active"] is False
    assert out["absences"] == 1 and out["entered_busy_periods"] == 1
    assert len(client.get(f"{url}/absences", headers=coordinator).json()) == 1
    inactive = client.get(
        f"{POOL}/experts", params={"active": False, "agency_code": "pool-test-a"}, headers=coordinator
    )
    assert expert["id"] in {e["id"] for e in inactive.json()}
    active = client.get(
        f"{POOL}/experts", params={"active": True, "agency_code": "pool-test-a"}, headers=coordinator
    )
    assert expert["id"] not in {e["id"] for e in active.json()}
    # and back
    assert client.patch(url, json={"active": True}, headers=coordinator).json()["active"] is True


def test_unknown_expert_is_404(client, coordinator):
    for method, path, body in [
        ("GET", "/experts/999999", None),
        ("PATCH", "/experts/999999", {"name": "x"}),
        ("GET", "/experts/999999/absences", None),
        ("POST", "/experts/999999/absences", {"starts_on": "2099-01-01", "ends_on": "2099-01-02"}),
        ("GET", "/experts/999999/busy", None),
        ("PUT", "/experts/999999/availability-feed", {"url": None}),
        ("POST", "/experts/999999/availability-feed/sync", None),
    ]:
        response = client.request(method, f"{POOL}{path}", json=body, headers=coordinator)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["detail"] == "Expert niet gevonden."


def test_unknown_fields_are_refused(client, coordinator):
    response = client.post(f"{POOL}/experts", json=expert_body(salary=1), headers=coordinator)
    assert response.status_code == 422
