"""A coordinator pins or excludes experts for a case (through the API, with a reason on the
timeline); the matching and the watch honour it; refusals say which rule, and store nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from tests.convening.conftest import case_of, experts_of, make_busy, plan, register, watch
from zorgtafel import pool, route
from zorgtafel.db.models import Agency, Expert
from zorgtafel.db.session import unit_of_work
from zorgtafel.rules.matching import gini
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import InvitationState


def directives_url(ref: str) -> str:
    return f"/api/v1/cases/{ref}/experts/directives"


def experts_of_agency(code: str) -> list[int]:
    with unit_of_work() as session:
        return list(
            session.scalars(
                select(Expert.id)
                .join(Agency)
                .where(Agency.code == code, Expert.active.is_(True))
                .order_by(Expert.id)
            )
        )


def would_plan(ref: str, now: datetime) -> route.Plan | None:
    with unit_of_work() as session:
        return route.find_plan(session, ref, route.shortlist(session, ref), now=now, settings=get_settings())


def timeline_kinds(ref: str) -> list[str]:
    return [e.kind for e in case_of(ref).events]


def test_a_pinned_expert_sits_at_the_table_and_the_reason_is_on_the_timeline(clock, client, starter):
    now = clock.at(0, "08:00")
    ref = register(now)
    unpinned = would_plan(ref, now)
    assert unpinned is not None
    pinned = next(i for i in experts_of_agency("ligant") if i not in unpinned.expert_ids)
    r = client.post(
        directives_url(ref),
        json={"kind": "pin", "expert_id": pinned, "reason": "Kent het gezin al uit een eerder traject."},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "pin" and body["expert_id"] == pinned and body["agency_code"] == "ligant"
    assert body["active"] is True and body["actor"].startswith("coordinator:")
    assert starter.kicked == [f"watch:{ref}"]
    event = next(e for e in case_of(ref).events if e.kind == "expert_pinned")
    assert "Kent het gezin al uit een eerder traject." in event.summary and "LIGANT" in event.summary
    assert event.data == {"directive_id": body["id"], "expert_id": pinned}

    p = plan(ref, now)
    assert pinned in p.expert_ids
    assert client.get(directives_url(ref)).json() == [body]


def test_an_excluded_expert_is_not_chosen_and_is_replaced_when_already_seated(clock, client):
    now = clock.at(6, "20:00")
    ref = register(now)
    first = would_plan(ref, now)
    assert first is not None
    r = client.post(
        directives_url(ref),
        json={"kind": "exclude", "expert_id": first.expert_ids[0], "reason": "Belangenconflict."},
    )
    assert r.status_code == 201, r.text
    second = plan(ref, now)
    assert first.expert_ids[0] not in second.expert_ids

    # Excluded after planning: the watch replaces the seated expert (and says why).
    seated = second.expert_ids[1]
    r = client.post(
        directives_url(ref),
        json={"kind": "exclude", "expert_id": seated, "reason": "Ziek gemeld bij de organisatie."},
    )
    assert r.status_code == 201, r.text
    assert watch(ref, now + timedelta(minutes=2)).actions == ["replaced_slot_kept"]
    experts = experts_of(ref)
    gone = next(p for p in experts if p.expert_id == seated)
    assert gone.invitation_state == InvitationState.REPLACED
    assert [e.data["why"] for e in case_of(ref).events if e.kind == "expert_replaced"] == ["excluded"]
    assert not {first.expert_ids[0], seated} & {p.expert_id for p in experts if p.replaced_at is None}


def test_a_pin_that_cannot_make_it_puts_the_case_at_risk_with_that_reason(clock, client, busy):
    now = clock.at(0, "08:00")
    ref = register(now)
    pinned = experts_of_agency("ckg-de-stap")[0]
    assert (
        client.post(
            directives_url(ref),
            json={"kind": "pin", "expert_id": pinned, "reason": "Vraag van de casemanager."},
        ).status_code
        == 201
    )
    make_busy(busy, start=now, end=now + timedelta(days=3), expert_ids=[pinned])
    report = watch(ref, now + timedelta(minutes=1))
    assert report.actions == ["at_risk:pinned_expert_unavailable", "escalated"]
    c = client.get(f"/api/v1/cases/{ref}").json()
    assert c["at_risk"]["reason"] == "pinned_expert_unavailable"
    assert c["at_risk"]["reason_label"] == "een vastgezette expert kan niet vóór de termijn"
    assert c["at_risk"]["escalated_at"] is not None and c["zorgtafel"] is None

    # Revoking the pin: the next run plans and the risk is over.
    directive = client.get(directives_url(ref)).json()[0]
    r = client.delete(f"{directives_url(ref)}/{directive['id']}")
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["revoked_at"] is not None
    assert "expert_directive_revoked" in timeline_kinds(ref)
    report = watch(ref, now + timedelta(minutes=2))
    assert report.actions == ["planned", "risk_resolved"]
    c = client.get(f"/api/v1/cases/{ref}").json()
    assert c["at_risk"] is None and c["status"] == "zorgtafel_planned"
    experts = [p for p in c["zorgtafel"]["participants"] if p["role"] == "expert"]
    assert all(p["response_due_at"] is not None and p["replaced"] is False for p in experts)
    assert client.delete(f"{directives_url(ref)}/999999").status_code == 404


@pytest.fixture
def inactive_expert() -> Iterator[int]:
    with unit_of_work() as session:
        agency_id = session.scalars(select(Agency.id).where(Agency.code == "de-oever")).one()
        expert = Expert(
            agency_id=agency_id,
            name="Inactieve Expert",
            email=f"inactief.{uuid.uuid4().hex[:8]}@partners.example",
            expertise=[],
            active=False,
        )
        session.add(expert)
        session.flush()
        expert_id = expert.id
    yield expert_id
    with unit_of_work() as session:
        session.execute(delete(Expert).where(Expert.id == expert_id))


def test_refused_directives_name_the_rule_and_store_nothing(clock, client, inactive_expert):
    now = clock.at(0, "08:00")
    registrant = {
        "agency_code": "pleegzorg-limburg",
        "name": "Renate Registrantia",
        "email": f"aanmelder.{uuid.uuid4().hex[:6]}@pleegzorg.example",
    }
    ref = register(now, registrant=registrant)
    own, other = experts_of_agency("pleegzorg-limburg")[0], experts_of_agency("caw-limburg")
    ckg = experts_of_agency("ckg-molenberg")
    before = timeline_kinds(ref)

    def refused(body: dict, code: str, loc: str) -> str:
        r = client.post(directives_url(ref), json=body)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert [d["type"] for d in detail] == [code] and detail[0]["loc"] == ["body", loc]
        return detail[0]["msg"]

    assert "5 tot 500" in refused(
        {"kind": "pin", "expert_id": other[0], "reason": " kort "}, "reason_length", "reason"
    )
    assert "bestaat niet" in refused(
        {"kind": "pin", "expert_id": 987654, "reason": "Om te testen."}, "unknown_expert", "expert_id"
    )
    assert "niet actief" in refused(
        {"kind": "exclude", "expert_id": inactive_expert, "reason": "Om te testen."},
        "inactive_expert",
        "expert_id",
    )
    assert "aanmelder" in refused(
        {"kind": "pin", "expert_id": own, "reason": "Eigen collega."}, "pin_registrant_agency", "expert_id"
    )
    assert client.get(directives_url(ref)).json() == [] and timeline_kinds(ref) == before

    ok = {"reason": "Afspraak met het team."}
    assert (
        client.post(directives_url(ref), json={"kind": "pin", "expert_id": other[0], **ok}).status_code == 201
    )
    assert "tegelijk" in refused(
        {"kind": "exclude", "expert_id": other[0], **ok}, "pin_and_exclude", "expert_id"
    )
    assert "al zo" in refused(
        {"kind": "pin", "expert_id": other[0], **ok}, "duplicate_directive", "expert_id"
    )
    assert "verschillende" in refused(
        {"kind": "pin", "expert_id": other[1], **ok}, "pins_same_agency", "expert_id"
    )
    assert (
        client.post(directives_url(ref), json={"kind": "pin", "expert_id": ckg[0], **ok}).status_code == 201
    )
    assert "twee" in refused({"kind": "pin", "expert_id": ckg[1], **ok}, "too_many_pins", "expert_id")
    listed = client.get(directives_url(ref)).json()
    assert [(d["kind"], d["expert_id"]) for d in listed] == [("pin", other[0]), ("pin", ckg[0])]
    # Shape errors are the schema's (422 as well).
    assert (
        client.post(directives_url(ref), json={"kind": "maybe", "expert_id": ckg[1], **ok}).status_code == 422
    )
    assert (
        client.post(
            directives_url("ZT-0000-NOPE00"), json={"kind": "pin", "expert_id": ckg[1], **ok}
        ).status_code
        == 404
    )


def test_replan_runs_the_watch_for_the_case(clock, client, starter):
    ref = register(clock.at(0, "08:00"))
    r = client.post(f"/api/v1/cases/{ref}/zorgtafel/replan")
    assert r.status_code == 202 and r.json() == {"reference": ref, "watch": get_settings().watch_deployment}
    assert starter.kicked == [f"watch:{ref}"]
    assert client.post("/api/v1/cases/ZT-0000-NOPE00/zorgtafel/replan").status_code == 404


def test_the_balance_of_the_pool_is_reported_with_its_gini(clock, client):
    now = clock.at(0, "08:00")
    settings = get_settings()
    with unit_of_work() as session:
        before = {e.expert_id: e.load for e in pool.balance_report(session, now, settings).experts}
    chosen = plan(register(now), now)
    with unit_of_work() as session:
        report = pool.balance_report(session, now, settings)
    after = {e.expert_id: e.load for e in report.experts}
    assert {i: after[i] - before[i] for i in after if after[i] != before[i]} == dict.fromkeys(
        chosen.expert_ids, 1
    )
    assert report.total == sum(after.values()) and report.gini == round(gini(list(after.values())), 4)

    body = client.get("/api/v1/pool/balance").json()
    loads = [e["load"] for e in body["experts"]]
    assert body["window_days"] == settings.fairness_window_days
    assert body["total"] == sum(loads) and body["gini"] == round(gini(loads), 4)
    assert {e["expert_id"] for e in body["experts"]} == set(after)
    assert "name" not in str(body) and "@" not in str(body)
