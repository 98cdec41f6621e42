"""The expertise vocabulary and the concern -> expertise map, over the API on the real database."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.pool.helpers import POOL, expert_body, new_expert
from zorgtafel import pool
from zorgtafel.db.session import unit_of_work
from zorgtafel.pool_admin import DEFAULT_CONCERN_MAP, SEED_EXPERTISE, get_concern_map, seed_pool_vocabulary
from zorgtafel.seed import POOL as SEED_POOL
from zorgtafel.vocabulary import Concern


def _code() -> str:
    return f"test_{uuid.uuid4().hex[:10]}"


def _map(client: TestClient, headers: dict[str, str]) -> dict[str, list[str]]:
    response = client.get(f"{POOL}/concern-map", headers=headers)
    assert response.status_code == 200, response.text
    return {row["concern"]: row["expertise"] for row in response.json()}


def test_seeded_vocabulary_covers_the_demo_pool_and_every_concern(client, coordinator):
    terms = {t["code"]: t for t in client.get(f"{POOL}/expertise", headers=coordinator).json()}
    used = {code for codes in SEED_POOL.values() for code in codes}
    assert used <= terms.keys()
    assert all(terms[c]["active"] and terms[c]["label"] for c in used)
    assert set(SEED_EXPERTISE) == used  # no seeded term that no demo expert has

    mapping = _map(client, coordinator)
    assert set(mapping) == {c.value for c in Concern}
    for concern in Concern:
        assert mapping[concern.value], f"{concern} is covered by no expertise"
        assert set(mapping[concern.value]) <= used
        # the default (unless a test before changed it and put it back: the fixture restores it)
        assert set(mapping[concern.value]) == set(DEFAULT_CONCERN_MAP[concern])


def test_seeding_again_changes_nothing(client, coordinator):
    before = _map(client, coordinator)
    with unit_of_work() as session:
        assert seed_pool_vocabulary(session) == {"expertise_terms_added": 0, "concern_links_added": 0}
    assert _map(client, coordinator) == before


def test_extend_the_vocabulary_then_use_it(client, coordinator):
    code = _code()
    created = client.post(
        f"{POOL}/expertise", json={"code": code, "label": "  perinatale psychiatrie "}, headers=coordinator
    )
    assert created.status_code == 201, created.text
    assert created.json()["label"] == "perinatale psychiatrie"
    assert created.json()["active"] is True
    assert created.json()["created_at"].endswith(("+01:00", "+02:00"))  # Europe/Brussels

    expert = new_expert(client, coordinator, expertise=[code, "attachment"])
    assert expert["expertise"] == [code, "attachment"]
    listed = client.get(f"{POOL}/experts", params={"expertise": code}, headers=coordinator).json()
    assert [e["id"] for e in listed] == [expert["id"]]

    put = client.put(
        f"{POOL}/concern-map/prenatal_risk", json={"expertise": [code, "maternity_care"]}, headers=coordinator
    )
    assert put.status_code == 200, put.text
    assert put.json() == {
        "concern": "prenatal_risk",
        "label": "prenatale risico's",
        "expertise": sorted([code, "maternity_care"]),
    }
    assert _map(client, coordinator)["prenatal_risk"] == sorted([code, "maternity_care"])
    with unit_of_work() as session:
        assert set(get_concern_map(session)["prenatal_risk"]) == {code, "maternity_care"}
        # what the matching reads when it plans a zorgtafel
        assert pool.concern_map(session)["prenatal_risk"] == frozenset({code, "maternity_care"})


def test_bad_expertise_codes_are_refused_and_nothing_is_added(client, coordinator):
    before = client.get(f"{POOL}/expertise", headers=coordinator).json()
    cases = [
        ({"code": "Hoofdletters", "label": "x"}, "invalid_expertise_code", "code"),
        ({"code": "1begint_met_cijfer", "label": "x"}, "invalid_expertise_code", "code"),
        ({"code": "a", "label": "x"}, "invalid_expertise_code", "code"),
        ({"code": "x" * 65, "label": "x"}, "invalid_expertise_code", "code"),
        ({"code": "attachment", "label": "dubbel"}, "expertise_exists", "code"),
        ({"code": _code(), "label": "   "}, "label_required", "label"),
    ]
    for body, code, field in cases:
        response = client.post(f"{POOL}/expertise", json=body, headers=coordinator)
        assert response.status_code == 422, (body, response.text)
        detail = response.json()["detail"]
        assert [d["type"] for d in detail] == [code], (body, detail)
        assert detail[0]["loc"] == ["body", field]
        assert detail[0]["msg"]
    assert client.get(f"{POOL}/expertise", headers=coordinator).json() == before


def test_deactivating_a_term_the_map_uses_is_refused_until_it_is_taken_out(client, coordinator):
    code = _code()
    assert client.post(
        f"{POOL}/expertise", json={"code": code, "label": "tijdelijk"}, headers=coordinator
    ).is_success
    expert = new_expert(client, coordinator, expertise=[code])
    original = _map(client, coordinator)["finances"]
    client.put(f"{POOL}/concern-map/finances", json={"expertise": [*original, code]}, headers=coordinator)

    refused = client.patch(f"{POOL}/expertise/{code}", json={"active": False}, headers=coordinator)
    assert refused.status_code == 422
    (problem,) = refused.json()["detail"]
    assert problem["type"] == "expertise_in_concern_map"
    assert "finances" in problem["msg"]
    term = next(t for t in client.get(f"{POOL}/expertise", headers=coordinator).json() if t["code"] == code)
    assert term["active"] is True

    client.put(f"{POOL}/concern-map/finances", json={"expertise": original}, headers=coordinator)
    done = client.patch(
        f"{POOL}/expertise/{code}", json={"active": False, "label": "oud"}, headers=coordinator
    )
    assert done.status_code == 200, done.text
    assert done.json()["active"] is False and done.json()["label"] == "oud"
    active_only = client.get(f"{POOL}/expertise", params={"include_inactive": False}, headers=coordinator)
    assert code not in {t["code"] for t in active_only.json()}

    # The expert keeps the retired code (history), but it can be given to nobody new ...
    assert client.get(f"{POOL}/experts/{expert['id']}", headers=coordinator).json()["expertise"] == [code]
    response = client.post(f"{POOL}/experts", json=expert_body(expertise=[code]), headers=coordinator)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "inactive_expertise"
    # ... nor put back in the map.
    response = client.put(f"{POOL}/concern-map/finances", json={"expertise": [code]}, headers=coordinator)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "inactive_expertise"
    assert _map(client, coordinator)["finances"] == original


def test_unknown_term_is_404(client, coordinator):
    response = client.patch(f"{POOL}/expertise/bestaat_niet", json={"label": "x"}, headers=coordinator)
    assert response.status_code == 404
    assert response.json()["detail"] == "Expertise niet gevonden."


def test_concern_map_refusals_leave_the_map_as_it_was(client, coordinator):
    before = _map(client, coordinator)
    response = client.put(
        f"{POOL}/concern-map/verdriet", json={"expertise": ["attachment"]}, headers=coordinator
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "unknown_concern"
    assert "verdriet" in problem["msg"] and "parental_mental_health" in problem["msg"]

    response = client.put(
        f"{POOL}/concern-map/housing", json={"expertise": ["housing", "astrologie"]}, headers=coordinator
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "unknown_expertise"
    assert problem["loc"] == ["body", "expertise", 1]
    assert "astrologie" in problem["msg"]
    assert _map(client, coordinator) == before


def test_a_concern_can_be_left_uncovered_and_duplicates_count_once(client, coordinator):
    response = client.put(f"{POOL}/concern-map/justice", json={"expertise": []}, headers=coordinator)
    assert response.status_code == 200
    assert _map(client, coordinator)["justice"] == []
    response = client.put(
        f"{POOL}/concern-map/justice",
        json={"expertise": ["safety_planning", "safety_planning"]},
        headers=coordinator,
    )
    assert response.json()["expertise"] == ["safety_planning"]
