"""apply_itip on the real database: answers change the participant's state once, stale, foreign
and unknown answers change nothing, a counter proposal becomes one notice to the case manager."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.inbound.planned import Planned, case_row, events, intents, participant, planned_zorgtafel
from zorgtafel import replies
from zorgtafel.clock import utcnow
from zorgtafel.db.models import CaseEvent, OutboxMessage, Participant, Zorgtafel
from zorgtafel.db.session import unit_of_work
from zorgtafel.replies import ItipIn, ReplyCode, apply_itip
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import InvitationState, ParticipantRole


@pytest.fixture
def planned() -> Planned:
    return planned_zorgtafel()


def apply(msg: ItipIn, now: datetime | None = None) -> replies.ReplyOutcome:
    with unit_of_work() as session:
        return apply_itip(session, msg, now=now or utcnow())


def reply(planned: Planned, email: str, partstat: str, **changes: object) -> ItipIn:
    base = ItipIn(
        method="REPLY",
        uid=planned.ical_uid,
        sequence=0,
        attendee_email=email,
        partstat=partstat,
        sender=email,
    )
    return replace(base, **changes)


def no_address_in(planned: Planned, *texts: object) -> None:
    for text in texts:
        for invitee in planned.invitees:
            assert invitee.email.lower() not in str(text).lower()
        assert "@" not in str(text)


@pytest.mark.parametrize(
    ("partstat", "state", "verb"),
    [
        ("ACCEPTED", InvitationState.ACCEPTED, "aanvaard"),
        ("DECLINED", InvitationState.DECLINED, "geweigerd"),
        ("TENTATIVE", InvitationState.TENTATIVE, "voorlopig aanvaard"),
    ],
)
def test_reply_sets_the_state_responded_at_and_one_timeline_event(planned, partstat, state, verb):
    expert = planned.by_role(ParticipantRole.EXPERT)
    now = utcnow()
    # Outlook writes MAILTO:Upper.Case@...; the match is case-insensitive.
    outcome = apply(reply(planned, expert.email.upper(), partstat), now)
    assert outcome.code == ReplyCode.RECORDED and outcome.applied
    assert outcome.reference == planned.reference
    assert outcome.participant_ids == (expert.id,)
    assert outcome.state == state
    p = participant(expert.id)
    assert p.invitation_state == state
    assert p.responded_at == now
    last = events(planned.case_id)[-1]
    assert last.kind == f"invitation_{state}"
    assert last.summary == f"{expert.label} heeft de uitnodiging {verb} (via de agenda)."
    assert last.data["participant_id"] == expert.id and last.data["sequence"] == 0
    no_address_in(planned, last.summary, last.data, outcome.message)
    # The other invitees are untouched.
    for other in planned.invitees:
        if other.id != expert.id:
            assert participant(other.id).invitation_state == InvitationState.SENT


def test_replaying_the_same_reply_changes_nothing_and_adds_no_event(planned):
    manager = planned.by_role(ParticipantRole.CASE_MANAGER)
    first_at = utcnow()
    assert apply(reply(planned, manager.email, "ACCEPTED"), first_at).code == ReplyCode.RECORDED
    count = len(events(planned.case_id))
    again = apply(reply(planned, manager.email, "ACCEPTED"), first_at + timedelta(minutes=5))
    assert again.code == ReplyCode.UNCHANGED and again.applied
    assert len(events(planned.case_id)) == count
    assert participant(manager.id).responded_at == first_at
    # A change of mind is a new answer.
    assert apply(reply(planned, manager.email, "DECLINED")).code == ReplyCode.RECORDED
    assert participant(manager.id).invitation_state == InvitationState.DECLINED
    assert len(events(planned.case_id)) == count + 1


def test_needs_action_leaves_the_state(planned):
    registrant = planned.by_role(ParticipantRole.REGISTRANT)
    count = len(events(planned.case_id))
    outcome = apply(reply(planned, registrant.email, "NEEDS-ACTION"))
    assert outcome.code == ReplyCode.UNCHANGED
    assert participant(registrant.id).invitation_state == InvitationState.SENT
    assert participant(registrant.id).responded_at is None
    assert len(events(planned.case_id)) == count


def test_delegated_goes_on_the_timeline_without_changing_the_state(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    outcome = apply(reply(planned, expert.email, "DELEGATED"))
    assert outcome.code == ReplyCode.DELEGATED
    assert participant(expert.id).invitation_state == InvitationState.SENT
    assert events(planned.case_id)[-1].kind == "invitation_delegated"


def test_stale_reply_is_recorded_as_stale_and_changes_nothing(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    with unit_of_work() as session:
        session.get_one(Participant, expert.id).invited_sequence = 2  # version 2 was sent since
    outcome = apply(reply(planned, expert.email, "DECLINED", sequence=1))
    assert outcome.code == ReplyCode.STALE and not outcome.applied
    p = participant(expert.id)
    assert p.invitation_state == InvitationState.SENT and p.responded_at is None
    last = events(planned.case_id)[-1]
    assert last.kind == "reply_stale"
    assert "versie 1" in last.summary and "versie 2" in last.summary
    no_address_in(planned, last.summary, last.data)
    # The same stale mail delivered twice leaves one event.
    count = len(events(planned.case_id))
    assert apply(reply(planned, expert.email, "DECLINED", sequence=1)).code == ReplyCode.STALE
    assert len(events(planned.case_id)) == count
    # An answer to the current version counts (and one to a newer version than sent, too).
    assert apply(reply(planned, expert.email, "ACCEPTED", sequence=2)).code == ReplyCode.RECORDED


def test_reply_from_an_address_that_was_not_invited(planned):
    stranger = "doorgestuurd.naar@elders.example"
    before = {i.id: participant(i.id).invitation_state for i in planned.invitees}
    outcome = apply(reply(planned, stranger, "ACCEPTED"))
    assert outcome.code == ReplyCode.NOT_INVITED and not outcome.applied
    assert outcome.reference == planned.reference
    assert {i.id: participant(i.id).invitation_state for i in planned.invitees} == before
    last = events(planned.case_id)[-1]
    assert last.kind == "reply_not_invited"
    assert "niet uitgenodigd" in last.summary
    assert stranger not in last.summary and stranger not in str(last.data)
    no_address_in(planned, last.summary, last.data, outcome.message)


@pytest.mark.parametrize(
    "uid",
    [
        "00000000-0000-0000-0000-000000000000@zorgtafel.example",
        "{uid}@andere-organisator.example",  # our uid, someone else's domain
        "",
    ],
)
def test_unknown_meeting_changes_nothing_anywhere(planned, uid):
    with unit_of_work() as session:
        n_events = session.scalar(select(func.count()).select_from(CaseEvent))
        n_outbox = session.scalar(select(func.count()).select_from(OutboxMessage))
    manager = planned.by_role(ParticipantRole.CASE_MANAGER)
    outcome = apply(reply(planned, manager.email, "ACCEPTED", uid=uid.format(uid=planned.uid)))
    assert outcome.code == ReplyCode.UNKNOWN_MEETING and outcome.reference is None
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)) == n_events
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == n_outbox
    assert participant(manager.id).invitation_state == InvitationState.SENT


def test_the_bare_uid_and_an_upper_case_domain_are_ours(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    assert apply(reply(planned, expert.email, "ACCEPTED", uid=planned.uid)).code == ReplyCode.RECORDED
    upper = f"{planned.uid}@{get_settings().mail_domain.upper()}"
    assert apply(reply(planned, expert.email, "ACCEPTED", uid=upper)).code == ReplyCode.UNCHANGED


def test_reply_to_the_one_occurrence_of_a_single_zorgtafel_updates_the_state(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    with unit_of_work() as session:
        starts_at = session.scalar(select(Zorgtafel.starts_at).where(Zorgtafel.uid == planned.uid))
    outcome = apply(reply(planned, expert.email, "TENTATIVE", recurrence_id=starts_at))
    assert outcome.code == ReplyCode.RECORDED
    assert participant(expert.id).invitation_state == InvitationState.TENTATIVE
    last = events(planned.case_id)[-1]
    local = starts_at.astimezone(get_settings().tz)
    assert f"voor de bijeenkomst van {local:%d-%m-%Y %H:%M}" in last.summary
    assert last.data["recurrence_id"] == starts_at.astimezone(UTC).isoformat()


def test_reply_to_one_occurrence_of_a_series_is_a_timeline_entry_only(planned, monkeypatch):
    monkeypatch.setattr(replies, "_is_recurring", lambda zorgtafel: True)
    expert = planned.by_role(ParticipantRole.EXPERT)
    occurrence = datetime(2027, 1, 12, 13, 0, tzinfo=UTC)
    outcome = apply(reply(planned, expert.email, "DECLINED", recurrence_id=occurrence))
    assert outcome.code == ReplyCode.OCCURRENCE_RECORDED
    assert participant(expert.id).invitation_state == InvitationState.SENT
    last = events(planned.case_id)[-1]
    assert last.kind == "occurrence_declined"
    assert "12-01-2027 14:00" in last.summary  # Brussels time
    count = len(events(planned.case_id))
    assert (
        apply(reply(planned, expert.email, "DECLINED", recurrence_id=occurrence)).code == ReplyCode.UNCHANGED
    )
    assert len(events(planned.case_id)) == count


def test_counter_enqueues_exactly_one_notice_for_the_case_manager(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    start = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 16:00 in Brussels
    counter = reply(
        planned,
        expert.email,
        "TENTATIVE",
        method="COUNTER",
        proposed_start=start,
        proposed_end=start + timedelta(minutes=90),
        comment="Mijn collega Xanthippe kan pas om vier uur.",
    )
    outcome = apply(counter)
    assert outcome.code == ReplyCode.COUNTER_RECORDED and outcome.applied
    assert participant(expert.id).invitation_state == InvitationState.SENT  # unchanged
    for _ in range(2):  # the same mail twice (an MTA retry)
        assert apply(counter).code == ReplyCode.COUNTER_RECORDED
    notices = intents(planned.case_id, "counter_notice")
    assert len(notices) == 1
    notice = notices[0]
    assert notice.recipient == planned.manager_email
    assert notice.status == "pending"
    assert notice.payload["reference"] == planned.reference
    assert notice.payload["role_label"] == expert.label
    assert datetime.fromisoformat(notice.payload["proposed_start"]) == start
    assert datetime.fromisoformat(notice.payload["proposed_end"]) == start + timedelta(minutes=90)
    assert expert.email not in notice.idempotency_key
    no_address_in(planned, notice.payload)
    assert "Xanthippe" not in str(notice.payload)
    proposed = [e for e in events(planned.case_id) if e.kind == "counter_proposed"]
    assert len(proposed) == 1
    assert proposed[0].summary == f"{expert.label} stelt een ander tijdstip voor: 24-11-2026 16:00–17:30."
    assert "Xanthippe" not in proposed[0].summary + str(proposed[0].data)
    no_address_in(planned, proposed[0].summary, proposed[0].data, outcome.message)
    # Another proposal is another notice.
    later = replace(counter, proposed_start=start + timedelta(hours=1), proposed_end=None)
    assert apply(later).code == ReplyCode.COUNTER_RECORDED
    assert len(intents(planned.case_id, "counter_notice")) == 2


def test_counter_after_the_deadline_says_so(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    deadline = case_row(planned.case_id).zorgtafel_deadline
    start = deadline + timedelta(days=2)
    outcome = apply(
        reply(planned, expert.email, "ACCEPTED", method="COUNTER", proposed_start=start, sequence=0)
    )
    assert outcome.code == ReplyCode.COUNTER_RECORDED
    assert "na de uiterste datum" in events(planned.case_id)[-1].summary


def test_stale_counter_sends_nothing(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    with unit_of_work() as session:
        session.get_one(Participant, expert.id).invited_sequence = 1
    start = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    counter = reply(planned, expert.email, "TENTATIVE", method="COUNTER", proposed_start=start, sequence=0)
    assert apply(counter).code == ReplyCode.STALE
    assert intents(planned.case_id, "counter_notice") == []


def test_answers_to_a_cancelled_zorgtafel_change_nothing(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    with unit_of_work() as session:
        session.scalars(select(Zorgtafel).where(Zorgtafel.uid == planned.uid)).one().status = "cancelled"
    count = len(events(planned.case_id))
    assert apply(reply(planned, expert.email, "ACCEPTED")).code == ReplyCode.CANCELLED
    assert participant(expert.id).invitation_state == InvitationState.SENT
    assert len(events(planned.case_id)) == count


def test_unsupported_method_changes_nothing(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    assert apply(reply(planned, expert.email, "ACCEPTED", method="REFRESH")).code == ReplyCode.UNSUPPORTED
    assert participant(expert.id).invitation_state == InvitationState.SENT


def test_one_address_for_two_family_members_answers_for_both():
    from tests.factories import registration

    family = registration()["family"]
    shared = family[0]["email"]
    family[1] = {**family[1], "preferred_channel": "email", "email": shared}
    planned = planned_zorgtafel(family=family)
    both = [i for i in planned.invitees if i.role == ParticipantRole.FAMILY]
    assert len(both) == 2
    outcome = apply(reply(planned, shared, "ACCEPTED"))
    assert outcome.code == ReplyCode.RECORDED
    assert set(outcome.participant_ids) == {i.id for i in both}
    assert all(participant(i.id).invitation_state == InvitationState.ACCEPTED for i in both)


def test_an_older_reply_delivered_late_does_not_overwrite_a_newer_answer(planned):
    expert = planned.by_role(ParticipantRole.EXPERT)
    written = utcnow()
    newer = reply(planned, expert.email, "ACCEPTED", dtstamp=written)
    older = reply(planned, expert.email, "DECLINED", dtstamp=written - timedelta(hours=1))
    assert apply(newer).code == ReplyCode.RECORDED
    count = len(events(planned.case_id))
    outcome = apply(older)
    assert outcome.code == ReplyCode.OUTDATED and not outcome.applied
    assert participant(expert.id).invitation_state == InvitationState.ACCEPTED
    assert len(events(planned.case_id)) == count
    # A later change of mind is still a new answer.
    assert apply(reply(planned, expert.email, "DECLINED", dtstamp=written + timedelta(minutes=5))).code == (
        ReplyCode.RECORDED
    )
    assert participant(expert.id).invitation_state == InvitationState.DECLINED
