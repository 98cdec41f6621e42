"""The personal RSVP links through the HTTP API, on a real database: what the lifecycle tests do
not cover yet. A link whose claims were changed (keeping the signature), one signed with another
key or for another purpose, an expired one, one for a meeting that has begun, a replay (also two
at the same moment, also with the other answer) and plain garbage are all refused with a page,
never a server error, and change nothing."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.deps import get_route_starter
from api.main import create_app
from tests.api.conftest import RecordingStarter
from tests.privacy import distinct
from tests.privacy.test_encryption_at_rest import register
from tests.privacy.test_retention import simple_plan
from zorgtafel import route, rsvp, tokens
from zorgtafel.clock import utcnow
from zorgtafel.db.models import CaseEvent, Participant, UsedToken, Zorgtafel
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_route_starter] = RecordingStarter
    yield TestClient(app)


def secret() -> str:
    return get_settings().require_secret()


def planned() -> tuple[str, list[int]]:
    """A planned zorgtafel; the ids of its two expert participants."""
    ref = register(distinct.body())
    with unit_of_work() as session:
        route.record_zorgtafel(session, ref, simple_plan(ref), now=utcnow(), settings=get_settings())
        z = route.load_case(session, ref).zorgtafel
        return ref, [p.id for p in z.participants if p.expert_id]


def link(
    participant_id: int,
    *,
    purpose: str = rsvp.PURPOSE,
    key: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """The participant's link as the invitation carries it, or one made with another purpose,
    key or expiry (same participant, same version)."""
    with unit_of_work() as session:
        p = session.get_one(Participant, participant_id)
        if purpose == rsvp.PURPOSE and key is None and expires_at is None:
            return rsvp.make_link_token(p, p.zorgtafel, secret=secret())
        claims = {"pid": p.id, "seq": p.zorgtafel.sequence}
    return tokens.sign(
        purpose, claims, expires_at=expires_at or utcnow() + timedelta(hours=2), secret=key or secret()
    )


def state(participant_id: int) -> tuple[str, int, int]:
    """The participant's answer, the case's timeline length, and used links: what a refusal must
    leave as it was."""
    with unit_of_work() as session:
        p = session.get_one(Participant, participant_id)
        events = session.scalar(select(func.count()).where(CaseEvent.case_id == p.zorgtafel.case_id))
        used = session.scalar(select(func.count()).select_from(UsedToken))
        return p.invitation_state, events or 0, used or 0


def refused(client: TestClient, token: str, status: int, text: str) -> None:
    for r in (client.get(f"/rsvp/{token}"), client.post(f"/rsvp/{token}/accept")):
        assert r.status_code == status, (r.status_code, r.text[:200])
        assert text in r.text
        assert r.headers["cache-control"] == "no-store"


def test_a_valid_link_shows_the_page(client):
    _, (pid, _) = planned()
    assert client.get(f"/rsvp/{link(pid)}").status_code == 200


def test_changed_claims_under_the_old_signature_are_refused(client):
    _, (pid, other) = planned()
    body, mac = link(pid).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["pid"] = other  # answer for someone else
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + mac
    before = state(other)
    refused(client, forged, 404, "ongeldig")
    assert state(other) == before


@pytest.mark.parametrize(
    "override, status, text",
    [
        ({"key": "another-secret-key-of-32-characters!"}, 404, "ongeldig"),
        ({"purpose": "feed"}, 404, "niet bedoeld"),
        ({"expires_at": None}, 410, "verlopen"),  # set below: a second ago
    ],
    ids=["other-key", "other-purpose", "expired"],
)
def test_forged_misused_and_expired_links_are_refused(client, override, status, text):
    _, (pid, _) = planned()
    if "expires_at" in override:
        override = {"expires_at": utcnow() - timedelta(seconds=1)}
    before = state(pid)
    refused(client, link(pid, **override), status, text)
    assert state(pid) == before


def test_a_link_for_a_meeting_that_has_begun_is_refused(client):
    ref, (pid, _) = planned()
    token = link(pid, expires_at=utcnow() + timedelta(days=1))  # the link itself has not expired
    with unit_of_work() as session:
        zid = route.load_case(session, ref).zorgtafel.id
        session.execute(
            update(Zorgtafel).where(Zorgtafel.id == zid).values(starts_at=utcnow() - timedelta(minutes=1))
        )
    before = state(pid)
    refused(client, token, 410, "al plaatsgevonden")
    assert state(pid) == before


def test_a_replay_is_refused_also_with_the_other_answer(client):
    _, (pid, _) = planned()
    token = link(pid)
    assert client.post(f"/rsvp/{token}/accept").status_code == 200
    after = state(pid)
    assert after[0] == "accepted"
    for action in ("accept", "decline"):
        r = client.post(f"/rsvp/{token}/{action}")
        assert r.status_code == 410 and "al gebruikt" in r.text
    assert state(pid) == after


def test_two_answers_with_one_link_at_the_same_moment_count_once():
    _, (pid, _) = planned()
    token = link(pid)
    clients = [TestClient(create_app()) for _ in range(2)]
    for c in clients:
        c.app.dependency_overrides[get_route_starter] = RecordingStarter
    start = threading.Barrier(2)
    codes: list[int] = []

    def answer(c: TestClient, action: str) -> None:
        start.wait()
        codes.append(c.post(f"/rsvp/{token}/{action}").status_code)

    pairs = zip(clients, ("accept", "decline"), strict=True)
    threads = [threading.Thread(target=answer, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [200, 410]
    with unit_of_work() as session:
        p = session.get_one(Participant, pid)
        answered = [
            e for e in p.zorgtafel.case.events if e.kind in ("invitation_accepted", "invitation_declined")
        ]
        assert len(answered) == 1 and p.invitation_state == answered[0].kind.removeprefix("invitation_")


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "a.b.c",
        "....",
        "%00",
        "%FF%FE",
        "é.é",
        "Zm9v." + "A" * 43,
        "A" * 5000 + ".B",
        "eyJwIjoicnN2cCJ9.%20",
    ],
)
def test_garbage_is_a_refusal_not_a_server_error(client, token):
    for r in (client.get(f"/rsvp/{token}"), client.post(f"/rsvp/{token}/accept")):
        assert r.status_code == 404, (token[:20], r.status_code)
        assert "ongeldig" in r.text


def test_an_unknown_answer_is_refused(client):
    _, (pid, _) = planned()
    before = state(pid)
    r = client.post(f"/rsvp/{link(pid)}/maybe")
    assert r.status_code == 404 and "Onbekend antwoord" in r.text
    assert state(pid) == before
