"""Absences and entered busy time, over the API on the real database."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest

from tests.pool.helpers import POOL, new_expert
from zorgtafel.clock import utcnow
from zorgtafel.db.models import BusyPeriod
from zorgtafel.db.session import unit_of_work
from zorgtafel.errors import ValidationFailed
from zorgtafel.pool_admin import add_absence, get_expert
from zorgtafel.settings import get_settings


def _today() -> date:
    return utcnow().astimezone(get_settings().tz).date()


def _d(days: int) -> str:
    return (_today() + timedelta(days=days)).isoformat()


def _nl(day_offset: int) -> str:
    return (_today() + timedelta(days=day_offset)).strftime("%d-%m-%Y")


@pytest.fixture
def expert_url(client, coordinator) -> str:
    return f"{POOL}/experts/{new_expert(client, coordinator)['id']}"


def test_absences_add_list_delete(client, coordinator, expert_url):
    first = client.post(
        f"{expert_url}/absences", json={"starts_on": _d(10), "ends_on": _d(14)}, headers=coordinator
    )
    assert first.status_code == 201, first.text
    assert first.json()["kind"] == "leave"
    # adjacent periods do not overlap; an absence still running since last week may be entered
    adjacent = client.post(
        f"{expert_url}/absences",
        json={"starts_on": _d(15), "ends_on": _d(15), "kind": "training"},
        headers=coordinator,
    )
    assert adjacent.status_code == 201, adjacent.text
    running = client.post(
        f"{expert_url}/absences", json={"starts_on": _d(-7), "ends_on": _d(1)}, headers=coordinator
    )
    assert running.status_code == 201, running.text

    listed = client.get(f"{expert_url}/absences", headers=coordinator).json()
    assert [(a["starts_on"], a["ends_on"], a["kind"]) for a in listed] == [
        (_d(-7), _d(1), "leave"),
        (_d(10), _d(14), "leave"),
        (_d(15), _d(15), "training"),
    ]
    assert client.get(expert_url, headers=coordinator).json()["absences"] == 3

    gone = client.delete(f"{expert_url}/absences/{first.json()['id']}", headers=coordinator)
    assert gone.status_code == 204
    assert len(client.get(f"{expert_url}/absences", headers=coordinator).json()) == 2
    again = client.delete(f"{expert_url}/absences/{first.json()['id']}", headers=coordinator)
    assert again.status_code == 404
    assert again.json()["detail"] == "Afwezigheid niet gevonden."


def test_absence_refusals_change_nothing(client, coordinator, expert_url):
    existing = client.post(
        f"{expert_url}/absences", json={"starts_on": _d(10), "ends_on": _d(14)}, headers=coordinator
    ).json()
    cases = [
        ({"starts_on": _d(20), "ends_on": _d(18)}, "inverted_period", "ends_on", _nl(18)),
        ({"starts_on": _d(12), "ends_on": _d(20)}, "overlapping_absence", "starts_on", _nl(10)),
        ({"starts_on": _d(5), "ends_on": _d(10)}, "overlapping_absence", "starts_on", f"id {existing['id']}"),
        ({"starts_on": _d(11), "ends_on": _d(12)}, "overlapping_absence", "starts_on", _nl(14)),
        ({"starts_on": _d(-30), "ends_on": _d(-2)}, "absence_in_past", "ends_on", _nl(-1)),
        ({"starts_on": _d(30), "ends_on": _d(31), "kind": "vakantie"}, "invalid_kind", "kind", "leave"),
    ]
    for body, code, field, in_msg in cases:
        response = client.post(f"{expert_url}/absences", json=body, headers=coordinator)
        assert response.status_code == 422, (body, response.text)
        detail = response.json()["detail"]
        assert [d["type"] for d in detail] == [code], (body, detail)
        assert detail[0]["loc"] == ["body", field]
        assert in_msg in detail[0]["msg"], detail[0]["msg"]
    assert client.get(f"{expert_url}/absences", headers=coordinator).json() == [existing]
    # yesterday still counts (a late entry of yesterday's sick day)
    ok = client.post(
        f"{expert_url}/absences", json={"starts_on": _d(-1), "ends_on": _d(-1)}, headers=coordinator
    )
    assert ok.status_code == 201


def test_an_absence_of_another_expert_is_not_found(client, coordinator, expert_url):
    other = f"{POOL}/experts/{new_expert(client, coordinator)['id']}"
    absence = client.post(
        f"{other}/absences", json={"starts_on": _d(3), "ends_on": _d(4)}, headers=coordinator
    )
    assert (
        client.delete(f"{expert_url}/absences/{absence.json()['id']}", headers=coordinator).status_code == 404
    )
    # and it does not overlap with this expert's absences
    assert client.post(
        f"{expert_url}/absences", json={"starts_on": _d(3), "ends_on": _d(4)}, headers=coordinator
    ).is_success


def test_two_overlapping_absences_at_the_same_moment_one_wins(client, coordinator, expert_url):
    """Thread A locks the expert and adds an absence, then holds its transaction open while thread B
    tries an overlapping one: B must wait for A and then see A's absence (not slip past it)."""
    expert_id = int(expert_url.rsplit("/", 1)[1])
    today = _today()
    a_added, b_started = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def thread_a() -> None:
        with unit_of_work() as session:
            expert = get_expert(session, expert_id, for_update=True)
            add_absence(session, expert, today + timedelta(days=40), today + timedelta(days=45), today=today)
            a_added.set()
            b_started.wait(10)
            threading.Event().wait(0.3)  # give B time to reach its lock (no assertion on time)
        outcome["a"] = "stored"

    def thread_b() -> None:
        a_added.wait(10)
        b_started.set()
        try:
            with unit_of_work() as session:
                expert = get_expert(session, expert_id, for_update=True)
                add_absence(
                    session, expert, today + timedelta(days=44), today + timedelta(days=50), today=today
                )
            outcome["b"] = "stored"
        except ValidationFailed as exc:
            outcome["b"] = exc.problems[0].code

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome == {"a": "stored", "b": "overlapping_absence"}
    assert len(client.get(f"{expert_url}/absences", headers=coordinator).json()) == 1


def test_entered_busy_time(client, coordinator, expert_url):
    winter = client.post(
        f"{expert_url}/busy",
        json={"starts_at": "2099-01-12T09:00:00Z", "ends_at": "2099-01-12T11:30:00Z"},
        headers=coordinator,
    )
    assert winter.status_code == 201, winter.text
    # shown in Brussels time with its offset: winter +01:00, summer +02:00
    assert winter.json()["starts_at"] == "2099-01-12T10:00:00+01:00"
    assert winter.json()["source"] == "entered"
    summer = client.post(
        f"{expert_url}/busy",
        json={"starts_at": "2099-07-01T14:00:00+02:00", "ends_at": "2099-07-01T15:00:00+02:00"},
        headers=coordinator,
    )
    assert summer.json()["ends_at"] == "2099-07-01T15:00:00+02:00"
    listed = client.get(f"{expert_url}/busy", headers=coordinator).json()
    assert [b["id"] for b in listed] == [winter.json()["id"], summer.json()["id"]]
    assert client.get(expert_url, headers=coordinator).json()["entered_busy_periods"] == 2

    assert client.delete(f"{expert_url}/busy/{winter.json()['id']}", headers=coordinator).status_code == 204
    assert [b["id"] for b in client.get(f"{expert_url}/busy", headers=coordinator).json()] == [
        summer.json()["id"]
    ]
    missing = client.delete(f"{expert_url}/busy/{winter.json()['id']}", headers=coordinator)
    assert missing.status_code == 404 and missing.json()["detail"] == "Bezette periode niet gevonden."


def test_busy_refusals_change_nothing(client, coordinator, expert_url):
    past = (utcnow() - timedelta(days=2)).isoformat()
    past_end = (utcnow() - timedelta(days=1)).isoformat()
    cases = [
        (
            {"starts_at": "2099-01-12T09:00:00", "ends_at": "2099-01-12T10:00:00+01:00"},
            "naive_datetime",
            "starts_at",
        ),
        (
            {"starts_at": "2099-01-12T09:00:00Z", "ends_at": "2099-01-12T10:00:00"},
            "naive_datetime",
            "ends_at",
        ),
        (
            {"starts_at": "2099-01-12T10:00:00Z", "ends_at": "2099-01-12T09:00:00Z"},
            "inverted_period",
            "ends_at",
        ),
        (
            {"starts_at": "2099-01-12T10:00:00Z", "ends_at": "2099-01-12T11:00:00+01:00"},
            "inverted_period",
            "ends_at",
        ),
        ({"starts_at": past, "ends_at": past_end}, "busy_in_past", "ends_at"),
    ]
    for body, code, field in cases:
        response = client.post(f"{expert_url}/busy", json=body, headers=coordinator)
        assert response.status_code == 422, (body, response.text)
        detail = response.json()["detail"]
        assert [(d["type"], d["loc"]) for d in detail] == [(code, ["body", field])], detail
        assert detail[0]["msg"]
    naive = client.post(
        f"{expert_url}/busy",
        json={"starts_at": "2099-01-12T09:00:00", "ends_at": "2099-01-12T10:00:00"},
        headers=coordinator,
    ).json()["detail"]
    assert len(naive) == 2 and "+01:00" in naive[0]["msg"]
    assert client.get(f"{expert_url}/busy", params={"include_past": True}, headers=coordinator).json() == []


def test_imported_busy_time_cannot_be_deleted_one_by_one(client, coordinator, expert_url):
    expert_id = int(expert_url.rsplit("/", 1)[1])
    with unit_of_work() as session:
        period = BusyPeriod(
            expert_id=expert_id,
            starts_at=datetime.fromisoformat("2099-02-01T10:00:00+01:00"),
            ends_at=datetime.fromisoformat("2099-02-01T11:00:00+01:00"),
            source="feed",
        )
        session.add(period)
        session.flush()
        busy_id = period.id
    response = client.delete(f"{expert_url}/busy/{busy_id}", headers=coordinator)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "imported_busy_period"
    listed = client.get(f"{expert_url}/busy", params={"source": "feed"}, headers=coordinator).json()
    assert [b["id"] for b in listed] == [busy_id]
    assert client.get(f"{expert_url}/busy", params={"source": "entered"}, headers=coordinator).json() == []
