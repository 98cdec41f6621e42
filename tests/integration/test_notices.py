"""The same event on a participant's own channels: validated when saved, sent through the
outbox to a real HTTP peer (apprise json://), never carrying personal data."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.deps import get_route_starter
from api.main import create_app
from notifications.dispatch import dispatch_pending
from tests.api.conftest import RecordingStarter
from tests.auth_helpers import auth_headers
from tests.factories import CHILD_NAME, FAMILY_NAMES, registration
from tests.integration.test_route_steps import plan_for, registered
from zorgtafel import route
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Case, Expert, OutboxMessage
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role


def client() -> TestClient:
    app = create_app()
    app.dependency_overrides[get_route_starter] = RecordingStarter
    return TestClient(app, headers=auth_headers(Role.COORDINATOR))


def test_invalid_channel_urls_are_refused_when_saved_naming_each_one():
    c = client()
    with unit_of_work() as session:
        expert_id = session.scalars(select(Expert.id).limit(1)).one()
        before = session.get_one(Expert, expert_id).notify_urls
    r = c.put(
        f"/api/v1/experts/{expert_id}/notify-urls",
        json={"urls": ["json://127.0.0.1:9/ok", "nonsense://x", "mailto://a@b.example"]},
    )
    assert r.status_code == 422
    problems = {tuple(p["loc"]): p["type"] for p in r.json()["detail"]}
    assert problems == {("body", "urls", 1): "unknown_scheme", ("body", "urls", 2): "not_allowed_scheme"}
    assert all("a@b.example" not in p["msg"] for p in r.json()["detail"])
    with unit_of_work() as session:
        assert session.get_one(Expert, expert_id).notify_urls == before  # nothing saved


def test_registration_with_a_bad_channel_is_refused_whole():
    body = registration()
    body["family"][0]["notify_urls"] = ["file:///etc/passwd"]
    with unit_of_work() as session:
        n = session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    r = client().post("/api/v1/registrations", json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "family", 0, "notify_urls", 0]
    with unit_of_work() as session:
        assert session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) == n


def test_a_planned_zorgtafel_reaches_the_experts_other_channel_as_a_short_notice(peer, mailbox):
    _, settings = mailbox
    ref = registered()
    plan = plan_for(ref)
    assert plan is not None
    url = f"json://{peer.base}/expert-{ref}"
    r = client().put(f"/api/v1/experts/{plan.expert_ids[0]}/notify-urls", json={"urls": [url]})
    assert r.status_code == 200, r.text
    assert r.json()["channels"] and all(f"expert-{ref}" not in label for label in r.json()["channels"])
    try:
        with unit_of_work() as session:
            route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=get_settings())
            case_id = route.load_case(session, ref).id
        report = dispatch_pending(case_id=case_id, settings=settings)
        assert report.sent == 6  # five invitations by mail, one notice
        hits = [x for x in peer.received if x.path == f"/expert-{ref}"]
        assert len(hits) == 1
        notice = hits[0].json()
        assert ref in notice["title"] and ref in notice["message"]
        assert "/rsvp/" in notice["message"]
        for secret in (*FAMILY_NAMES, CHILD_NAME):
            assert secret not in hits[0].body.decode()
        with unit_of_work() as session:
            kinds = session.scalars(
                select(OutboxMessage.channel).where(
                    OutboxMessage.case_id == case_id, OutboxMessage.status == "sent"
                )
            ).all()
        assert sorted(kinds) == ["apprise"] + ["email"] * 5
    finally:
        with unit_of_work() as session:
            session.get_one(Expert, plan.expert_ids[0]).notify_urls = []
