"""Answers, replacement, confirmation, escalation and the deadline, on the real database with a
real SMTP server (every message read back by vobject) and a real HTTP peer as apprise target."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from notifications.inbound_server import OrganizerMailbox
from tests.convening.conftest import (
    active_expert_ids,
    case_of,
    experts_of,
    make_busy,
    plan,
    register,
    send,
    set_state,
    watch,
)
from tests.e2e.helpers import decoded_text
from tests.factories import CHILD_NAME, FAMILY_NAMES
from tests.inbound.mails import plain_calendar_mail, vobject_calendar
from zorgtafel import convening, route
from zorgtafel.clock import utcnow
from zorgtafel.db.models import AppUser, BusyPeriod, CaseEvent, Expert, OutboxMessage, Participant
from zorgtafel.db.session import unit_of_work
from zorgtafel.rsvp import make_link_token
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import CaseStatus, InvitationState

PERSONAL = [*FAMILY_NAMES, CHILD_NAME, "Quarendonck", "Renate Registrantia"]


def link(participant_id: int) -> str:
    with unit_of_work() as session:
        p = session.get_one(Participant, participant_id)
        return make_link_token(p, p.zorgtafel, secret=get_settings().require_secret())


def email_of(participant_id: int) -> str:
    with unit_of_work() as session:
        return session.get_one(Participant, participant_id).email or ""


def agency_of(expert_id: int) -> int:
    with unit_of_work() as session:
        return session.get_one(Expert, expert_id).agency_id


def outbox_count(ref: str) -> int:
    with unit_of_work() as session:
        case_id = route.load_case(session, ref).id
        return session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.case_id == case_id)
        )


def events(ref: str, kind: str) -> list[CaseEvent]:
    return [e for e in case_of(ref).events if e.kind == kind]


def by_recipient(box, ref: str, sequence: int) -> dict[str, tuple[str, object]]:
    """The calendar messages of one SEQUENCE, per recipient: (METHOD, vevent)."""
    out = {}
    for to, cal, _ in box.calendars(ref):
        if int(cal.vevent.sequence.value) == sequence:
            assert to.lower() not in out, f"two messages of version {sequence} to one recipient"
            out[to.lower()] = (cal.method.value, cal.vevent)
    return out


def attendees(vevent) -> set[str]:
    return {a.value.lower().removeprefix("mailto:") for a in vevent.attendee_list}


def test_a_decline_through_the_link_invites_a_replacement_in_the_same_slot(clock, mailbox, client, starter):
    box, settings = mailbox
    # Sunday evening: the zorgtafel is on Monday morning, so a newcomer still gets the lead time.
    now = clock.at(6, "20:00")
    ref = register(now)
    first_plan = plan(ref, now)
    assert send(ref, settings, now) == 5
    leaver, stayer = experts_of(ref)
    registrant_agency = case_of(ref).registrant_agency_id

    # The second expert accepts, the first declines: both through their personal link.
    assert client.post(f"/rsvp/{link(stayer.id)}/accept").status_code == 200
    assert starter.kicked == []  # an acceptance needs nobody new
    r = client.post(f"/rsvp/{link(leaver.id)}/decline")
    assert r.status_code == 200 and "iemand anders" in r.text
    assert starter.kicked == [f"watch:{ref}"]  # the watch is started at once

    # The run the kick starts.
    later = now + timedelta(minutes=3)
    report = watch(ref, later)
    assert report.actions == ["replaced_slot_kept"]
    case = case_of(ref)
    z = case.zorgtafel
    assert z.sequence == 1 and z.starts_at == first_plan.starts_at  # the slot is kept
    old, kept, new = experts_of(ref)
    assert (old.id, kept.id) == (leaver.id, stayer.id)
    assert old.invitation_state == InvitationState.REPLACED and old.replaced_at == later
    assert kept.invitation_state == InvitationState.ACCEPTED
    assert new.invitation_state == InvitationState.PENDING and new.expert_id not in (
        old.expert_id,
        kept.expert_id,
    )
    assert agency_of(new.expert_id) not in {agency_of(kept.expert_id), registrant_agency}
    assert later < new.response_due_at <= z.starts_at - timedelta(minutes=settings.min_lead_minutes)
    assert [e.data["why"] for e in events(ref, "expert_replaced")] == ["declined"]
    assert "dekt het koppel" in events(ref, "experts_replaced")[0].summary

    # A second run (the schedule, or the same kick twice) changes and queues nothing.
    queued = outbox_count(ref)
    assert watch(ref, later + timedelta(minutes=1)).actions == []
    assert outbox_count(ref) == queued

    # Sent: a REQUEST to the newcomer, a CANCEL to the decliner, an update (SEQUENCE 1) to the rest.
    assert send(ref, settings, later) == 6
    v1 = by_recipient(box, ref, 1)
    assert set(v1) == {
        p.email.lower() for p in case_of(ref).zorgtafel.participants if p.invited_sequence is not None
    }
    method, ev = v1[email_of(new.id).lower()]
    assert method == "REQUEST" and ev.dtstart.value == first_plan.starts_at
    method, ev = v1[email_of(old.id).lower()]
    assert method == "CANCEL" and attendees(ev) == {email_of(old.id).lower()}
    for to, (method, ev) in v1.items():
        if to != email_of(old.id).lower():
            assert method == "REQUEST" and ev.dtstart.value == first_plan.starts_at
            assert email_of(new.id).lower() in attendees(ev) and email_of(old.id).lower() not in attendees(ev)
    withdrawal = next(
        m for m in box.messages if m["To"].lower() == email_of(old.id).lower() and "langer" in m["Subject"]
    )
    assert "niet langer uitgenodigd" in decoded_text(withdrawal)
    # The update kept the answer that was given (only the attendee list changed).
    assert experts_of(ref)[1].invitation_state == InvitationState.ACCEPTED

    # Nothing twice: another run and another dispatch send nothing.
    assert watch(ref, later + timedelta(minutes=10)).actions == []
    assert send(ref, settings, later + timedelta(minutes=10)) == 0

    # The newcomer accepts through the link of version 1: confirmed.
    assert client.post(f"/rsvp/{link(new.id)}/accept").status_code == 200
    report = watch(ref, later + timedelta(minutes=20))
    assert report.actions == ["confirmed"] and report.confirmed
    assert case_of(ref).confirmed_at == later + timedelta(minutes=20)
    assert [e.summary for e in events(ref, "zorgtafel_confirmed")] == [
        "Zorgtafel bevestigd: beide experts aanvaard."
    ]
    assert watch(ref, later + timedelta(minutes=30)).actions == []
    # The replaced expert's link no longer answers anything.
    assert client.post(f"/rsvp/{link(old.id)}/accept").status_code == 410


def test_a_decline_when_the_slot_no_longer_fits_moves_the_zorgtafel_for_everyone(clock, mailbox, busy):
    box, settings = mailbox
    now = clock.at(6, "20:00")
    ref = register(now)
    first_plan = plan(ref, now)
    assert send(ref, settings, now) == 5
    leaver, stayer = experts_of(ref)
    set_state(stayer.id, InvitationState.ACCEPTED)
    set_state(leaver.id, InvitationState.DECLINED)
    # Nobody else can make the planned slot any more.
    others = [i for i in active_expert_ids() if i not in (leaver.expert_id, stayer.expert_id)]
    make_busy(
        busy, start=first_plan.starts_at - timedelta(minutes=30), end=first_plan.ends_at, expert_ids=others
    )

    later = now + timedelta(minutes=5)
    assert watch(ref, later).actions == ["replaced_moved"]
    case = case_of(ref)
    z = case.zorgtafel
    assert z.sequence == 1 and z.starts_at >= first_plan.ends_at and z.starts_at <= case.zorgtafel_deadline
    old, kept, new = experts_of(ref)
    assert old.invitation_state == InvitationState.REPLACED
    # Everyone is asked again for the new time, with a new answer time.
    assert kept.invitation_state == new.invitation_state == InvitationState.PENDING
    assert kept.response_due_at == new.response_due_at > later
    assert events(ref, "zorgtafel_rescheduled")[-1].data["sequence"] == 1

    assert send(ref, settings, later) == 6
    v1 = by_recipient(box, ref, 1)
    method, ev = v1.pop(email_of(old.id).lower())
    assert method == "CANCEL" and ev.dtstart.value == first_plan.starts_at  # the time they were invited for
    assert len(v1) == 5
    for method, ev in v1.values():
        assert method == "REQUEST" and ev.dtstart.value == z.starts_at
        assert all(a.params["PARTSTAT"] == ["NEEDS-ACTION"] for a in ev.attendee_list)
    assert experts_of(ref)[1].invitation_state == InvitationState.SENT
    assert watch(ref, later + timedelta(minutes=1)).actions == []
    assert send(ref, settings, later + timedelta(minutes=1)) == 0


def test_silence_past_the_answer_time_gets_the_expert_replaced(clock, mailbox):
    box, settings = mailbox
    now = clock.at(6, "20:00")  # Sunday evening: the zorgtafel is on Monday morning
    ref = register(now)
    first_plan = plan(ref, now)
    assert send(ref, settings, now) == 5
    answering, silent = experts_of(ref)
    set_state(answering.id, InvitationState.ACCEPTED)
    due = silent.response_due_at
    assert due == now + timedelta(minutes=settings.response_window_minutes)

    assert watch(ref, due - timedelta(minutes=1)).actions == []
    report = watch(ref, due)
    assert report.actions == ["replaced_slot_kept"]
    old = experts_of(ref)[1]
    assert old.id == silent.id and old.invitation_state == InvitationState.REPLACED
    assert [e.data["why"] for e in events(ref, "expert_replaced")] == ["no_answer"]
    assert "antwoordde niet" in events(ref, "expert_replaced")[0].summary
    assert case_of(ref).zorgtafel.starts_at == first_plan.starts_at
    assert send(ref, settings, due) == 6
    assert by_recipient(box, ref, 1)[email_of(silent.id).lower()][0] == "CANCEL"


def test_if_the_other_expert_cannot_move_a_wholly_new_pair_keeps_the_48_hours(clock, mailbox, busy):
    box, settings = mailbox
    now = clock.at(6, "20:00")
    ref = register(now)
    first_plan = plan(ref, now)
    assert send(ref, settings, now) == 5
    leaver, stayer = experts_of(ref)
    set_state(leaver.id, InvitationState.DECLINED)
    deadline = case_of(ref).zorgtafel_deadline
    others = [i for i in active_expert_ids() if i not in (leaver.expert_id, stayer.expert_id)]
    make_busy(busy, start=first_plan.starts_at, end=first_plan.ends_at, expert_ids=others)
    make_busy(busy, start=now, end=first_plan.starts_at, expert_ids=[stayer.expert_id])
    make_busy(
        busy, start=first_plan.ends_at, end=deadline + timedelta(hours=3), expert_ids=[stayer.expert_id]
    )

    later = now + timedelta(minutes=5)
    assert watch(ref, later).actions == ["replaced_moved"]
    experts = experts_of(ref)
    assert [p.invitation_state for p in experts[:2]] == [InvitationState.REPLACED] * 2
    assert [e.data["why"] for e in events(ref, "expert_replaced")] == ["declined", "released"]
    assert case_of(ref).zorgtafel.starts_at <= deadline
    assert len(experts) == 4
    assert send(ref, settings, later) == 7  # 2 CANCELs, 5 REQUESTs
    v1 = by_recipient(box, ref, 1)
    assert v1[email_of(leaver.id).lower()][0] == v1[email_of(stayer.id).lower()][0] == "CANCEL"


def test_both_accept_confirms_and_ends_a_risk(clock, mailbox):
    _, settings = mailbox
    settings = settings.model_copy(update={"escalation_hours_before_deadline": 48})
    now = clock.at(1, "08:00")
    ref = register(now, settings)
    plan(ref, now, settings)
    assert send(ref, settings, now) == 5
    # Inside the escalation window and nobody has answered yet.
    report = watch(ref, now + timedelta(minutes=5), settings)
    assert (
        report.actions == ["at_risk:awaiting_answers", "escalated"] and report.at_risk == "awaiting_answers"
    )
    assert "geen kanaal ingesteld" in events(ref, "escalated")[0].summary
    for p in experts_of(ref):
        set_state(p.id, InvitationState.ACCEPTED)
    report = watch(ref, now + timedelta(minutes=10), settings)
    assert report.actions == ["confirmed", "risk_resolved"]
    case = case_of(ref)
    assert case.confirmed_at == now + timedelta(minutes=10) and case.at_risk_since is None
    assert case.escalated_at == now + timedelta(minutes=5)  # kept: it happened
    # After the deadline: met (confirmed, started in time), nothing recorded as missed.
    assert watch(ref, case.zorgtafel_deadline + timedelta(minutes=1), settings).actions == []
    assert case_of(ref).deadline_missed_at is None
    assert ref not in to_watch(case.zorgtafel_deadline + timedelta(days=1))


@pytest.fixture
def coordinator_user() -> Iterator[Callable[[str], AppUser]]:
    """A coordinator account of the region with an address and a channel (removed afterwards)."""
    tag = uuid.uuid4().hex[:8]
    made: list[int] = []

    def make(url: str) -> AppUser:
        with unit_of_work() as session:
            user = AppUser(
                username=f"coord-{tag}",
                role="coordinator",
                region=get_settings().region,
                email=f"coord.{tag}@regio.example",
                notify_urls=[url],
                active=True,
                created_at=utcnow(),
            )
            session.add(user)
            session.flush()
            made.append(user.id)
            return user

    yield make
    with unit_of_work() as session:
        session.execute(delete(AppUser).where(AppUser.id.in_(made)))


def to_watch(now: datetime) -> list[str]:
    with unit_of_work() as session:
        return convening.references_to_watch(session, now=now, limit=100_000)


def test_nobody_fits_puts_the_case_at_risk_and_warns_the_coordinators_once(
    clock, mailbox, peer, coordinator_user
):
    box, settings = mailbox
    now = clock.at(2, "08:00")
    ref = register(now)
    user = coordinator_user(f"json://{peer.base}/coordinator-user")
    # A 90-minute zorgtafel never fits a 30-minute window: no pair, no slot.
    settings = settings.model_copy(
        update={
            "meeting_hours": "mon 08:00-08:30",
            "coordinator_notify_urls": [f"json://{peer.base}/coordinators"],
            "coordinator_email": "coordinatie@regio.example",
        }
    )
    report = watch(ref, now + timedelta(minutes=1), settings)
    assert report.actions == ["at_risk:no_feasible_pair", "escalated"]
    case = case_of(ref)
    assert case.status == CaseStatus.AT_RISK and case.zorgtafel is None
    assert case.risk_reason == "no_feasible_pair" and case.escalated_at == now + timedelta(minutes=1)

    with unit_of_work() as session:
        urls, addresses = convening.coordinator_targets(session, route.load_case(session, ref), settings)
    mine = {"coordinatie@regio.example", user.email}
    assert mine <= set(addresses) and {
        f"json://{peer.base}/coordinators",
        f"json://{peer.base}/coordinator-user",
    } <= set(urls)
    assert send(ref, settings, now + timedelta(minutes=1)) == len(urls) + len(addresses)
    hits = sorted(x.path for x in peer.received)
    assert hits == ["/coordinator-user", "/coordinators"]
    for hit in peer.received:
        body = hit.json()
        assert ref in body["title"] and "in gevaar" in body["title"]
        assert "geen koppel poolexperts" in body["message"]
        assert not any(name in str(body) for name in PERSONAL)
    mails = [m for m in box.messages if m["To"] in mine]
    assert sorted(m["To"] for m in mails) == sorted(mine)
    for m in mails:
        text = decoded_text(m)
        assert "geen koppel poolexperts" in text and "Termijn" in text
        assert not any(name in text for name in PERSONAL)

    # Once: later runs neither warn again nor write the same event again.
    assert watch(ref, now + timedelta(minutes=6), settings).actions == []
    assert send(ref, settings, now + timedelta(minutes=6)) == 0
    assert len(peer.received) == 2 and len(events(ref, "at_risk")) == 1 and len(events(ref, "escalated")) == 1

    # The deadline passes without a zorgtafel: recorded once, with its reason.
    deadline = case.zorgtafel_deadline
    report = watch(ref, deadline + timedelta(minutes=1), settings)
    assert report.actions == ["deadline_missed:no_zorgtafel"]
    assert watch(ref, deadline + timedelta(hours=2), settings).actions == []
    case = case_of(ref)
    assert case.deadline_missed_at == deadline + timedelta(minutes=1)
    assert case.deadline_missed_reason == "no_zorgtafel"
    assert len(events(ref, "deadline_missed")) == 1


def test_a_planned_but_unconfirmed_zorgtafel_misses_its_deadline_once(clock, client):
    now = clock.at(3, "08:00")
    ref = register(now)
    plan(ref, now)
    deadline = case_of(ref).zorgtafel_deadline
    assert ref in to_watch(now)
    # The zorgtafel took place on Monday without both answers: after the deadline that is recorded
    # (the meeting is over, so nobody is warned to chase answers any more).
    report = watch(ref, deadline + timedelta(seconds=1))
    assert report.actions == ["deadline_missed:unconfirmed_experts"] and not report.escalated
    assert watch(ref, deadline + timedelta(hours=1)).actions == []
    case = case_of(ref)
    assert case.deadline_missed_at == deadline + timedelta(seconds=1)
    assert len(events(ref, "deadline_missed")) == 1
    assert ref not in to_watch(deadline + timedelta(hours=1))
    shown = client.get(f"/api/v1/cases/{ref}").json()
    assert shown["deadline_missed"] == {
        "at": shown["deadline_missed"]["at"],
        "reason": "unconfirmed_experts",
        "reason_label": "niet beide experts hebben de zorgtafel aanvaard",
    }
    assert shown["confirmed_at"] is None


def test_a_calendar_decline_at_the_organizer_mailbox_starts_the_watch(clock, mailbox):
    _, settings = mailbox
    now = clock.at(6, "20:00")
    ref = register(now)
    plan(ref, now)
    assert send(ref, settings, now) == 5
    leaver, _ = experts_of(ref)
    kicked: list[tuple[str, str]] = []
    mailbox_handler = OrganizerMailbox(watch_starter=lambda r, key: kicked.append((r, key)))
    uid = f"{case_of(ref).zorgtafel.uid}@{get_settings().mail_domain}"
    raw = plain_calendar_mail(
        vobject_calendar(uid=uid, attendee=email_of(leaver.id), partstat="DECLINED"),
        sender=email_of(leaver.id),
    )
    result = mailbox_handler.process(raw)
    assert result.declined and result.reference == ref
    assert kicked == [(ref, kicked[0][1])] and kicked[0][1].startswith(f"zorgtafel-watch:{ref}:reply-")
    mailbox_handler.process(raw)  # the same mail again: recorded once, no second decline
    assert len(kicked) == 1

    assert watch(ref, now + timedelta(minutes=2)).actions == ["replaced_slot_kept"]
    # A late calendar answer of the replaced expert to the old version changes nothing.
    again = plain_calendar_mail(
        vobject_calendar(uid=uid, attendee=email_of(leaver.id), partstat="ACCEPTED"),
        sender=email_of(leaver.id),
    )
    assert mailbox_handler.process(again).code == "stale"
    assert experts_of(ref)[0].invitation_state == InvitationState.REPLACED


def test_no_replacement_anywhere_keeps_the_decliner_and_warns_until_the_pool_changes(clock, mailbox, busy):
    _, settings = mailbox
    now = clock.at(6, "20:00")
    ref = register(now)
    plan(ref, now)
    assert send(ref, settings, now) == 5
    leaver, stayer = experts_of(ref)
    set_state(leaver.id, InvitationState.DECLINED)
    deadline = case_of(ref).zorgtafel_deadline
    others = [i for i in active_expert_ids() if i not in (leaver.expert_id, stayer.expert_id)]
    make_busy(busy, start=now, end=deadline + timedelta(hours=3), expert_ids=others)

    report = watch(ref, now + timedelta(minutes=5))
    assert report.actions == ["no_replacement", "at_risk:no_replacement", "escalated"]
    assert [p.invitation_state for p in experts_of(ref)] == [InvitationState.DECLINED, InvitationState.SENT]
    assert case_of(ref).zorgtafel.sequence == 0  # nothing was sent
    assert watch(ref, now + timedelta(minutes=10)).actions == ["no_replacement"]
    assert len(events(ref, "at_risk")) == 1 and len(events(ref, "escalated")) == 1

    # Someone becomes free: the next run replaces, and the risk is over.
    with unit_of_work() as session:
        session.execute(delete(BusyPeriod).where(BusyPeriod.id.in_(busy)))
    report = watch(ref, now + timedelta(minutes=15))
    assert report.actions == ["replaced_slot_kept", "risk_resolved"] and report.at_risk is None


def test_a_change_of_mind_after_confirmation_withdraws_it_and_finds_a_replacement(clock):
    now = clock.at(6, "20:00")
    ref = register(now)
    plan(ref, now)
    first, second = experts_of(ref)
    set_state(first.id, InvitationState.ACCEPTED)
    set_state(second.id, InvitationState.ACCEPTED)
    assert watch(ref, now + timedelta(minutes=1)).actions == ["confirmed"]
    set_state(second.id, InvitationState.DECLINED)
    report = watch(ref, now + timedelta(minutes=2))
    assert report.actions == ["replaced_slot_kept", "confirmation_withdrawn"] and not report.confirmed
    assert case_of(ref).confirmed_at is None
