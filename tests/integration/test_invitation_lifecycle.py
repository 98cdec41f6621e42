"""An invitation's life on real parts: planned, moved (REQUEST, SEQUENCE + 1), answered through
the personal link, cancelled (CANCEL); every version sent over a real SMTP server, read by
vobject, stored in a real CalDAV server (Radicale); the private calendar feed follows along."""

from __future__ import annotations

import email
from datetime import UTC, timedelta
from typing import Any

import pytest
import vobject
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.deps import get_route_starter
from api.main import create_app
from infra.processes import free_port
from notifications.dispatch import dispatch_pending
from tests.api.conftest import RecordingStarter
from tests.auth_helpers import auth_headers
from tests.e2e.helpers import calendar_part, decoded_text
from tests.integration.test_route_steps import plan_for, registered
from zorgtafel import route
from zorgtafel.clock import utcnow
from zorgtafel.db.models import OutboxMessage
from zorgtafel.db.session import unit_of_work
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"

    def calendars(self, reference: str, method: str | None = None) -> list[tuple[str, Any, bytes]]:
        out = []
        for m in self.messages:
            if reference not in str(email.header.make_header(email.header.decode_header(m["Subject"]))):
                continue
            _, ics = calendar_part(m)
            cal = vobject.readOne(ics.decode())
            if method is None or cal.method.value == method:
                out.append((str(m["To"]), cal, ics))
        return out


@pytest.fixture
def mailbox() -> Any:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, get_settings().model_copy(update={"smtp_port": port})
    controller.stop()


@pytest.fixture
def client() -> TestClient:
    app = create_app()
    app.dependency_overrides[get_route_starter] = RecordingStarter
    return TestClient(app, headers=auth_headers(Role.COORDINATOR))


def planned_case() -> tuple[str, int]:
    ref = registered()
    plan = plan_for(ref)
    assert plan is not None
    with unit_of_work() as session:
        route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=get_settings())
        return ref, route.load_case(session, ref).id


def test_moved_then_cancelled_zorgtafel_sends_request_then_cancel_with_rising_sequence(
    mailbox, client, radicale
):
    box, settings = mailbox
    ref, case_id = planned_case()
    assert dispatch_pending(case_id=case_id, settings=settings).sent == 5
    first = box.calendars(ref, "REQUEST")
    assert len(first) == 5 and {int(c.vevent.sequence.value) for _, c, _ in first} == {0}
    uid = first[0][1].vevent.uid.value
    original_start = first[0][1].vevent.dtstart.value

    # Stored in a CalDAV server as a calendar client would (RFC 4791: no METHOD in storage).
    href = "/zorgtafel/lifecycle/zorgtafel.ics"
    assert radicale.client.request("MKCALENDAR", "/zorgtafel/lifecycle/").status_code == 201
    put = radicale.client.put(
        href,
        content=first[0][2].replace(b"METHOD:REQUEST\r\n", b""),
        headers={"Content-Type": "text/calendar"},
    )
    assert put.status_code == 201, put.text

    new_start = (original_start + timedelta(days=1)).astimezone(UTC).replace(hour=13, minute=0)
    r = client.post(
        f"/api/v1/cases/{ref}/zorgtafel/reschedule",
        json={"starts_at": new_start.isoformat(), "reason": "Moeder Xanthippe opgenomen."},
    )
    assert r.status_code == 200, r.text
    assert r.json()["zorgtafel"]["sequence"] == 1
    assert dispatch_pending(case_id=case_id, settings=settings).sent == 5
    moved = [c for c in box.calendars(ref, "REQUEST") if int(c[1].vevent.sequence.value) == 1]
    assert len(moved) == 5
    for _, cal, _ in moved:
        assert cal.vevent.uid.value == uid
        assert cal.vevent.dtstart.value == new_start
        assert all(a.params["PARTSTAT"] == ["NEEDS-ACTION"] for a in cal.vevent.attendee_list)
    update = moved[0][2].replace(b"METHOD:REQUEST\r\n", b"")
    assert radicale.client.put(
        href, content=update, headers={"Content-Type": "text/calendar"}
    ).status_code in (
        200,
        204,
    )
    stored = vobject.readOne(radicale.client.get(href).text)
    assert int(stored.vevent.sequence.value) == 1
    assert stored.vevent.dtstart.value == new_start
    case = client.get(f"/api/v1/cases/{ref}").json()
    assert {
        p["invited_sequence"] for p in case["zorgtafel"]["participants"] if p["invited_sequence"] is not None
    } == {1}
    assert "zorgtafel_rescheduled" in [e["kind"] for e in case["timeline"]]

    r = client.post(
        f"/api/v1/cases/{ref}/zorgtafel/cancel", json={"reason": "Gezin verhuisd naar Wolfsdonk."}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "zorgtafel_cancelled"
    assert dispatch_pending(case_id=case_id, settings=settings).sent == 5
    cancels = box.calendars(ref, "CANCEL")
    assert len(cancels) == 5
    for _, cal, _ in cancels:
        assert cal.vevent.uid.value == uid
        assert int(cal.vevent.sequence.value) == 2
        assert cal.vevent.status.value == "CANCELLED"
    # Nothing about the reasons in any message.
    for m in box.messages:
        text = decoded_text(m).lower()
        assert "xanthippe" not in text and "wolfsdonk" not in text

    # A cancelled zorgtafel cannot be moved or cancelled again: a clear refusal, nothing stored.
    r = client.post(f"/api/v1/cases/{ref}/zorgtafel/cancel", json={"reason": "nogmaals"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "zorgtafel_not_planned"


def test_unsent_intents_of_an_older_version_are_superseded_not_sent(mailbox, client):
    box, settings = mailbox
    ref, case_id = planned_case()
    start = utcnow() + timedelta(days=1)
    assert (
        client.post(
            f"/api/v1/cases/{ref}/zorgtafel/reschedule",
            json={"starts_at": start.isoformat(), "reason": "Sneller."},
        ).status_code
        == 200
    )
    assert dispatch_pending(case_id=case_id, settings=settings).sent == 5  # only version 1
    assert {int(c.vevent.sequence.value) for _, c, _ in box.calendars(ref)} == {1}
    with unit_of_work() as session:
        statuses = session.scalars(select(OutboxMessage.status).where(OutboxMessage.case_id == case_id)).all()
    assert sorted(statuses) == ["sent"] * 5 + ["superseded"] * 5


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"starts_at": "2020-01-01T10:00:00+01:00", "reason": "Vroeger."}, "starts_in_past"),
    ],
)
def test_reschedule_refusals_name_the_rule_and_change_nothing(client, body, code):
    ref, _ = planned_case()
    before = client.get(f"/api/v1/cases/{ref}").json()
    r = client.post(f"/api/v1/cases/{ref}/zorgtafel/reschedule", json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == code
    assert client.get(f"/api/v1/cases/{ref}").json() == before


def test_reschedule_needs_an_aware_time_and_a_reason(client):
    ref, _ = planned_case()
    r = client.post(f"/api/v1/cases/{ref}/zorgtafel/reschedule", json={"starts_at": "2030-01-01T10:00:00"})
    assert r.status_code == 422
    locs = [p["loc"] for p in r.json()["detail"]]
    assert ["body", "starts_at"] in locs and ["body", "reason"] in locs


def rsvp_links(box: Mailbox, ref: str) -> dict[str, str]:
    links = {}
    for m in box.messages:
        if ref not in str(m["Subject"]):
            continue
        for part in m.walk():
            if part.get_content_type() == "text/plain":
                text = part.get_payload(decode=True).decode()
                for line in text.splitlines():
                    if "/rsvp/" in line:
                        links[str(m["To"])] = line.strip().split("/rsvp/", 1)[1]
    return links


def test_personal_link_answers_once_and_only_for_its_version(mailbox, client):
    box, settings = mailbox
    ref, case_id = planned_case()
    dispatch_pending(case_id=case_id, settings=settings)
    links = rsvp_links(box, ref)
    assert len(links) == 5
    to, token = next((t, k) for t, k in links.items() if "partners.example" in t)

    page = client.get(f"/rsvp/{token}")
    assert page.status_code == 200
    assert ref in page.text and "Ik kom" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert client.get(f"/rsvp/{token}").status_code == 200  # looking does not use the link up

    r = client.post(f"/rsvp/{token}/decline")
    assert r.status_code == 200 and "Bedankt" in r.text
    case = client.get(f"/api/v1/cases/{ref}").json()
    assert [p["invitation_state"] for p in case["zorgtafel"]["participants"] if p["role"] == "expert"].count(
        "declined"
    ) == 1
    assert "invitation_declined" in [e["kind"] for e in case["timeline"]]

    replay = client.post(f"/rsvp/{token}/accept")
    assert replay.status_code == 410 and "al gebruikt" in replay.text
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/rsvp/{tampered}").status_code == 404
    assert client.post(f"/rsvp/{tampered}/accept").status_code == 404

    # A new version makes the old links useless.
    other = next(k for t, k in links.items() if t != to)
    client.post(
        f"/api/v1/cases/{ref}/zorgtafel/reschedule",
        json={"starts_at": (utcnow() + timedelta(days=1)).isoformat(), "reason": "Verplaatst."},
    )
    superseded = client.post(f"/rsvp/{other}/accept")
    assert superseded.status_code == 410 and "vervangen" in superseded.text


def test_expired_link_is_refused():
    from zorgtafel import tokens

    secret = get_settings().require_secret()
    token = tokens.sign(
        "rsvp", {"pid": 1, "seq": 0}, expires_at=utcnow() - timedelta(seconds=1), secret=secret
    )
    with pytest.raises(tokens.TokenRefused) as refused:
        tokens.verify(token, purpose="rsvp", secret=secret, now=utcnow())
    assert refused.value.code == "expired"
    other = tokens.sign("feed", {"pid": 1}, expires_at=utcnow() + timedelta(hours=1), secret=secret)
    with pytest.raises(tokens.TokenRefused) as wrong:
        tokens.verify(other, purpose="rsvp", secret=secret, now=utcnow())
    assert wrong.value.code == "wrong_purpose"


def test_private_calendar_feed_shows_the_zorgtafels_and_can_be_revoked(client):
    ref, _ = planned_case()
    with unit_of_work() as session:
        z = route.load_case(session, ref).zorgtafel
        expert_id = next(p.expert_id for p in z.participants if p.expert_id)
        uid, starts_at = z.uid, z.starts_at
    issued = client.post(f"/api/v1/experts/{expert_id}/calendar-feed")
    assert issued.status_code == 201
    url = issued.json()["url"]
    assert issued.json()["webcal_url"].startswith("webcal://")
    path = url.split("://", 1)[1].split("/", 1)[1]
    feed = client.get(f"/{path}")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    cal = vobject.readOne(feed.text)
    assert not hasattr(cal, "method")
    events = {e.uid.value: e for e in cal.vevent_list}
    assert events[f"{uid}@{get_settings().mail_domain}"].dtstart.value == starts_at
    assert all("Quarendonck" not in feed.text for _ in [0])

    reissued = client.post(f"/api/v1/experts/{expert_id}/calendar-feed").json()["url"]
    assert client.get(f"/{path}").status_code == 404  # the old link stopped working
    new_path = reissued.split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{new_path}").status_code == 200
    assert client.delete(f"/api/v1/experts/{expert_id}/calendar-feed").status_code == 204
    assert client.get(f"/{new_path}").status_code == 404
    assert client.post("/api/v1/experts/999999/calendar-feed").status_code == 404
