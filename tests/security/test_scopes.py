"""What each role sees: a registrant the status of their own registrations, a pool expert their
own invitations (no case content), a case manager their own cases — and the audit trail of it."""

from __future__ import annotations

from uuid import uuid4

from sqlalchemy import func, select

from tests.auth_helpers import account
from tests.factories import CHILD_NAME, FAMILY_NAMES, registration
from tests.integration.test_route_steps import plan_for
from zorgtafel import accounts, route
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Agency, AppUser, AuditEvent, Case, CaseEvent, Participant
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role

DENIED_CASE = {"detail": "Dossier niet gevonden."}


def other_registrant() -> dict[str, str]:
    """A second registrant of the same agency (a colleague): another account."""
    with unit_of_work() as session:
        agency_id = session.scalars(select(Agency.id).where(Agency.code == "ziekenhuis-hasselt")).one()
        user = accounts.create_user(
            session,
            username=f"collega-{uuid4().hex[:8]}",
            role=Role.REGISTRANT,
            agency_id=agency_id,
            now=utcnow(),
        )
        token = accounts.issue_api_token(
            session, user, label="test", now=utcnow(), settings=get_settings()
        ).token
    return {"Authorization": f"Bearer {token}"}


def case_count() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def test_a_registrant_follows_the_status_of_their_own_registrations_only(anonymous):
    me = account(Role.REGISTRANT)
    r = anonymous.post("/api/v1/registrations", json=registration(), headers=me.headers)
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    with unit_of_work() as session:
        assert (
            session.scalars(select(Case.registered_by_user_id).where(Case.reference == ref)).one()
            == me.user_id
        )

    status = anonymous.get(f"/api/v1/registrations/{ref}/status", headers=me.headers)
    assert status.status_code == 200, status.text
    assert set(status.json()) == {
        "reference",
        "status",
        "registered_at",
        "zorgtafel_deadline",
        "zorgtafel_starts_at",
    }
    assert status.json()["status"] == "registered"
    for secret in (CHILD_NAME, *FAMILY_NAMES, "Renate"):
        assert secret not in status.text

    # The case file itself is not for registrants (the role may not: 403, before any lookup).
    assert anonymous.get(f"/api/v1/cases/{ref}", headers=me.headers).status_code == 403
    assert anonymous.get(f"/api/v1/cases/{ref}/plan", headers=me.headers).status_code == 403

    mine = anonymous.get("/api/v1/registrations", headers=me.headers)
    assert mine.status_code == 200 and ref in {c["reference"] for c in mine.json()}

    # A colleague's account sees neither the status nor the registration in their list.
    colleague = other_registrant()
    theirs = anonymous.get(f"/api/v1/registrations/{ref}/status", headers=colleague)
    assert (theirs.status_code, theirs.json()) == (404, DENIED_CASE)
    assert anonymous.get("/api/v1/registrations", headers=colleague).json() == []
    with unit_of_work() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.case_reference == ref).order_by(AuditEvent.id.desc()).limit(1)
        ).one()
        assert (event.outcome, event.action, event.role) == ("denied", "read", "registrant")


def test_a_registrant_registers_on_behalf_of_their_own_organisation_only(anonymous):
    me = account(Role.REGISTRANT)
    body = registration()
    body["registrant"]["agency_code"] = "kind-en-gezin"
    before = case_count()
    r = anonymous.post("/api/v1/registrations", json=body, headers=me.headers)
    assert r.status_code == 422
    assert [(p["loc"], p["type"]) for p in r.json()["detail"]] == [
        (["body", "registrant", "agency_code"], "not_your_agency")
    ]
    assert case_count() == before


def test_an_idempotency_key_belongs_to_the_account_that_used_it(anonymous):
    key = f"key-{uuid4()}"
    body = registration()
    me = account(Role.REGISTRANT)
    first = anonymous.post("/api/v1/registrations", json=body, headers=me.headers | {"Idempotency-Key": key})
    again = anonymous.post("/api/v1/registrations", json=body, headers=me.headers | {"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    before = case_count()
    stolen = anonymous.post(
        "/api/v1/registrations", json=body, headers=other_registrant() | {"Idempotency-Key": key}
    )
    assert stolen.status_code == 422
    assert stolen.json()["detail"][0]["type"] == "idempotency_key_reused"
    assert first.json()["reference"] not in stolen.text
    assert case_count() == before


def planned_case() -> tuple[str, list[int], int]:
    """A registered case with a planned zorgtafel: its reference, the invited experts, its case manager."""
    from api.routers.registrations import to_core
    from api.schemas import RegistrationIn
    from zorgtafel.registration import register_case

    reg = to_core(RegistrationIn.model_validate(registration()))
    with unit_of_work() as session:
        case, _ = register_case(session, reg, now=utcnow(), settings=get_settings())
        ref, cm = case.reference, case.case_manager_id
    plan = plan_for(ref)
    assert plan is not None
    with unit_of_work() as session:
        route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=get_settings())
        case = route.load_case(session, ref)
        experts = [p.expert_id for p in case.zorgtafel.participants if p.expert_id is not None]
    assert cm is not None and len(experts) == 2
    return ref, experts, cm


def test_a_pool_expert_sees_their_invitations_and_nothing_of_the_case(anonymous):
    ref, experts, _ = planned_case()
    me = account(Role.EXPERT, expert_id=experts[0])
    r = anonymous.get("/api/v1/me/invitations", headers=me.headers)
    assert r.status_code == 200, r.text
    mine = [i for i in r.json()["invitations"] if i["reference"] == ref]
    assert len(mine) == 1
    inv = mine[0]
    assert set(inv) == {
        "reference",
        "starts_at",
        "ends_at",
        "location",
        "zorgtafel_status",
        "sequence",
        "role_label",
        "invitation_state",
        "response_due_at",
        "answer_url",
    }
    assert inv["zorgtafel_status"] == "planned" and inv["role_label"].startswith("Expert")
    for secret in (CHILD_NAME, *FAMILY_NAMES, "Renate", "Gezin"):
        assert secret not in r.text
    assert r.json()["calendar_feed_issue_url"] == f"/api/v1/experts/{experts[0]}/calendar-feed"
    # The answer link opens the personal answer page (no login needed there).
    page = anonymous.get(inv["answer_url"].removeprefix(get_settings().public_base_url))
    assert page.status_code == 200 and ref in page.text
    # The case file is not for pool experts; another expert's invitations are not in this list.
    assert anonymous.get(f"/api/v1/cases/{ref}", headers=me.headers).status_code == 403
    with unit_of_work() as session:
        not_mine = session.scalars(
            select(func.count()).select_from(Participant).where(Participant.expert_id == experts[1])
        ).one()
    assert not_mine >= 1
    assert all(i["reference"] != ref or i == inv for i in r.json()["invitations"])


def test_a_case_manager_works_on_their_own_cases_and_the_timeline_names_the_account(anonymous):
    ref, _, cm = planned_case()
    me = account(Role.CASE_MANAGER, case_manager_id=cm)
    assert anonymous.get(f"/api/v1/cases/{ref}", headers=me.headers).status_code == 200
    r = anonymous.post(
        f"/api/v1/cases/{ref}/zorgtafel/cancel", json={"reason": "Gezin verhuisd."}, headers=me.headers
    )
    assert r.status_code == 200, r.text
    with unit_of_work() as session:
        case_id = session.scalars(select(Case.id).where(Case.reference == ref)).one()
        actors = set(session.scalars(select(CaseEvent.actor).where(CaseEvent.case_id == case_id)))
        user = session.get_one(AppUser, me.user_id)
        assert f"case_manager:{user.username}" in actors
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)
        ).all()
        assert [(e.action, e.outcome, e.username) for e in events][-2:] == [
            ("read", "allowed", user.username),
            ("change", "allowed", user.username),
        ]
        assert all(e.region == "Limburg" for e in events)
