"""Retention on the real database: a case that ended more than ``retention_days`` ago loses its
personal data (names, contacts, free text, the exact birth date) and keeps what the reports need;
cases that have not ended, or ended recently, are left alone; a second run changes nothing."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.privacy import distinct
from tests.privacy.test_encryption_at_rest import register
from zorgtafel import audit, budget, care_plan, retention, route
from zorgtafel.clock import utcnow
from zorgtafel.db.models import (
    AuditEvent,
    CarePlan,
    Case,
    CaseEvent,
    CaseExpertDirective,
    Expert,
    IdempotencyRecord,
    LedgerEntry,
    OutboxMessage,
    Service,
    WaitingListEntry,
)
from zorgtafel.db.session import session_factory, unit_of_work
from zorgtafel.settings import get_settings

REASONS = "Grond: moeder Brunhilde sliep op de Kwakkelsteeg in de auto."
GOAL = "Xandrijnus krijgt een vaste slaapplek bij oma Perpetua."
LEDGER_NOTE = "Factuur Snoeckaert-opvang."
CLOSURE_NOTE = "Terug naar Kwakkelsteeg."
BRIDGING = "Ambulante hulp bij Snoeckaert thuis."
DIRECTIVE = "Expert kent Ferdinandus privé."
LOCATION = "Bij het gezin thuis, Kwakkelsteeg 17, Hasselt"
FREE_TEXT = [REASONS, GOAL, LEDGER_NOTE, CLOSURE_NOTE, BRIDGING, DIRECTIVE, LOCATION, "Kwakkelsteeg"]


def simple_plan(ref: str, session: Session | None = None) -> route.Plan:
    """Two pool experts of other agencies, three hours from now (retention does not care how the
    pair was chosen; the matching has tests of its own)."""
    with unit_of_work() if session is None else nullcontext(session) as s:
        case = route.load_case(s, ref)
        chosen: list[Expert] = []
        for e in s.scalars(select(Expert).where(Expert.active).order_by(Expert.id)):
            if e.agency_id != case.registrant_agency_id and e.agency_id not in {c.agency_id for c in chosen}:
                chosen.append(e)
            if len(chosen) == 2:
                break
    starts_at = (utcnow() + timedelta(hours=3)).replace(second=0, microsecond=0)
    return route.Plan((chosen[0].id, chosen[1].id), starts_at, starts_at + timedelta(minutes=90))


def days_ago(n: int):
    return utcnow() - timedelta(days=n)


def service_code() -> str:
    code = f"test-retention-{uuid4().hex[:8]}"
    with unit_of_work() as session:
        session.add(
            Service(
                code=code,
                name="Contextbegeleiding (test)",
                description="",
                unit="traject",
                residential=False,
                tracks=["case_budget", "regular"],
                capacity=3,
            )
        )
    return code


def full_case(*, closed_days_ago: int | None) -> tuple[str, dict[str, Any]]:
    """A case through the whole route: zorgtafel, invitations, a case-budget plan with goals, a
    booking, a waiting-list entry, a directive, idempotency record; closed N days ago (or active)."""
    body = distinct.body()
    settings = get_settings()
    ref = register(body)
    plan = simple_plan(ref)
    code = service_code()
    with unit_of_work() as session:
        route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=settings)
        case = route.load_case(session, ref)
        case.zorgtafel.location = LOCATION
        session.add(
            IdempotencyRecord(key=f"ret-{ref}", request_hash="0" * 64, case_id=case.id, created_at=utcnow())
        )
        expert_id = next(p.expert_id for p in case.zorgtafel.participants if p.expert_id)
        session.add(
            CaseExpertDirective(
                case_id=case.id,
                expert_id=expert_id,
                kind="exclude",
                reason=DIRECTIVE,
                actor="coordinator:test",
                created_at=utcnow(),
            )
        )
        service_id = session.scalar(select(Service.id).where(Service.code == code))
        session.add(
            WaitingListEntry(case_id=case.id, service_id=service_id, listed_at=utcnow(), bridging=BRIDGING)
        )
    outcome = care_plan.OutcomeIn(
        track="case_budget", reasons=REASONS, goals=(("housing", GOAL),), service_codes=()
    )
    with unit_of_work() as session:
        decided = care_plan.record_outcome(
            session, ref, outcome, actor="test", now=plan.starts_at + timedelta(hours=2), settings=settings
        )
        starts_on = decided.starts_on
    with unit_of_work() as session:
        budget.book(
            session,
            ref,
            kind="commitment",
            service_code=code,
            amount_cents=123_45,
            occurs_on=starts_on,
            actor="test",
            note=LEDGER_NOTE,
            now=utcnow(),
        )
    if closed_days_ago is not None:
        with unit_of_work() as session:
            care_plan.close(
                session,
                ref,
                care_plan.ClosureIn(child_lives="at_home", note=CLOSURE_NOTE),
                actor="test",
                now=utcnow(),
                settings=settings,
            )
            session.flush()
            session.execute(
                update(CarePlan)
                .where(CarePlan.case_id == route.load_case(session, ref).id)
                .values(closed_at=days_ago(closed_days_ago))
            )
    return ref, body


def personal_text(ref: str) -> str:
    """Every value of the case the application can read (decrypted), as one text."""
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        parts: list[Any] = [
            case.registrant_name,
            case.registrant_email,
            case.registrant_phone,
            case.registrant_notify_urls,
            case.child_name,
            case.birth_date,
            case.expected_delivery_date,
            case.registration_note,
            case.screening,
        ]
        for m in case.family:
            parts += [m.name, m.email, m.phone, m.notify_urls]
        if case.zorgtafel:
            parts.append(case.zorgtafel.location)
            parts += [(p.email, p.email_bidx, p.label) for p in case.zorgtafel.participants]
        parts += [(e.summary, e.data) for e in case.events]
        for msg in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)):
            parts += [msg.recipient, msg.payload, msg.last_error, [a.error for a in msg.attempt_log]]
        plan = session.scalar(select(CarePlan).where(CarePlan.case_id == case.id))
        if plan:
            parts += [
                plan.reasons,
                plan.closure,
                [g.text for g in plan.goals],
                [s.note for s in plan.services],
            ]
            parts += [
                e.note
                for e in session.scalars(
                    select(LedgerEntry)
                    .join(LedgerEntry.budget)
                    .where(LedgerEntry.budget.property.mapper.class_.care_plan_id == plan.id)
                )
            ]
        parts += [
            w.bridging
            for w in session.scalars(select(WaitingListEntry).where(WaitingListEntry.case_id == case.id))
        ]
        parts += [
            d.reason
            for d in session.scalars(
                select(CaseExpertDirective).where(CaseExpertDirective.case_id == case.id)
            )
        ]
        return "\n".join(map(str, parts))


def report_facts(ref: str) -> dict[str, Any]:
    """What the reports need (and retention must keep)."""
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        plan = session.scalar(select(CarePlan).where(CarePlan.case_id == case.id))
        facts: dict[str, Any] = {
            "case": (
                case.reference,
                case.region,
                case.municipality,
                case.registered_at,
                case.zorgtafel_deadline,
                case.status,
                case.concerns,
                case.eligible,
                case.placement_threatened,
                case.willingness,
                case.registrant_agency_id,
                case.confirmed_at,
                case.at_risk_since,
                case.deadline_missed_at,
                case.screening.get("reasons"),
                case.screening.get("notes"),
            ),
            "zorgtafel": case.zorgtafel
            and (
                case.zorgtafel.starts_at,
                case.zorgtafel.status,
                case.zorgtafel.planned_at,
                [(p.role, p.label, p.invitation_state) for p in case.zorgtafel.participants],
            ),
            "family": [(m.relation, m.preferred_channel, m.consent_to_contact) for m in case.family],
            "events": [(e.kind, e.at, e.data, e.actor) for e in case.events],
            "outbox": sorted(
                session.execute(
                    select(OutboxMessage.kind, OutboxMessage.created_at).where(
                        OutboxMessage.case_id == case.id
                    )
                ).all()
            ),
        }
        if plan:
            facts["plan"] = (
                plan.track,
                plan.status,
                plan.decided_at,
                plan.starts_on,
                plan.term_ends_on,
                plan.closed_at,
                [g.life_domain for g in plan.goals],
                [(e.due_at, e.status, e.outcome) for e in plan.evaluations],
                (plan.closure or {}).get("child_lives"),
                plan.budget and plan.budget.granted_cents,
                plan.budget
                and [(e.kind, e.amount_cents, e.occurs_on, e.residential) for e in plan.budget.entries],
            )
        return facts


def run_retention() -> retention.RetentionReport:
    return retention.run(session_factory(), now=utcnow(), settings=get_settings())


def test_a_case_closed_longer_ago_than_the_retention_period_is_anonymised():
    settings = get_settings()
    ref, body = full_case(closed_days_ago=settings.retention_days + 1)
    forbidden = [*distinct.forbidden(body), body["registrant"]["email"], *FREE_TEXT]
    assert len(distinct.leaks(personal_text(ref), forbidden)) > 15  # the check can see them
    before = report_facts(ref)
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        registered_on = case.registered_at.astimezone(settings.tz).date()
        case_id = case.id

    report = run_retention()

    assert ref in report.anonymised and ref not in report.failed
    assert distinct.leaks(personal_text(ref), forbidden) == []
    after = report_facts(ref)
    # Everything the reports need is still there; the timeline only grew by the retention entry.
    assert after["events"][:-1] == before["events"]
    assert {k: v for k, v in after.items() if k != "events"} == {
        k: v for k, v in before.items() if k != "events"
    }
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        assert case.anonymised_at is not None
        assert case.birth_date == distinct.birth_date().replace(day=1)
        months = (
            (registered_on.year - distinct.birth_date().year) * 12
            + registered_on.month
            - distinct.birth_date().month
        )
        months -= registered_on.day < distinct.birth_date().day
        assert case.screening["age_months_at_registration"] == months
        assert case.registrant_email == retention.ANON_EMAIL
        assert {m.name for m in case.family} == {retention.ANON}
        assert all(p.email is None and p.email_bidx is None for p in case.zorgtafel.participants)
        last = case.events[-1]
        assert (last.kind, last.summary, last.actor) == (
            "anonymised",
            "Persoonsgegevens geanonimiseerd na bewaartermijn.",
            "system:retention",
        )
        assert session.get(IdempotencyRecord, f"ret-{ref}") is None
        # Nothing is sent about it any more: what was still waiting in the outbox is given up.
        statuses = set(session.scalars(select(OutboxMessage.status).where(OutboxMessage.case_id == case_id)))
        assert statuses and statuses <= {"sent", "failed"}
        trail = audit.trail(session, region=case.region, case_reference=ref)
        assert [(e.action, e.outcome, e.username, e.role, e.case_id) for e in trail] == [
            ("change", "allowed", "retention", "system", case_id)
        ]
        events = session.scalar(select(func.count()).where(CaseEvent.case_id == case_id))

    # Idempotent: a second run finds nothing to do for it.
    again = run_retention()
    assert ref not in again.anonymised
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).where(CaseEvent.case_id == case_id)) == events
        assert session.scalar(select(func.count()).where(AuditEvent.case_reference == ref)) == 1


def test_cases_that_ended_recently_or_are_still_running_are_left_alone():
    settings = get_settings()
    recent, _ = full_case(closed_days_ago=settings.retention_days - 1)
    active, _ = full_case(closed_days_ago=None)
    with unit_of_work() as session:
        # Registered long ago, but the plan is still running.
        session.execute(update(Case).where(Case.reference == active).values(registered_at=days_ago(2000)))
    before = {ref: personal_text(ref) for ref in (recent, active)}
    report = run_retention()
    assert recent not in report.anonymised and active not in report.anonymised
    for ref in (recent, active):
        assert personal_text(ref) == before[ref]
        assert distinct.CHILD in before[ref]
        with unit_of_work() as session:
            assert route.load_case(session, ref).anonymised_at is None


def backdate(ref: str, days: int, *, last_event_days: int | None = None) -> None:
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        session.execute(update(Case).where(Case.id == case.id).values(registered_at=days_ago(days)))
        session.execute(update(CaseEvent).where(CaseEvent.case_id == case.id).values(at=days_ago(days)))
        if last_event_days is not None:
            session.execute(
                update(CaseEvent)
                .where(CaseEvent.id == case.events[-1].id)
                .values(at=days_ago(last_event_days))
            )


def not_eligible() -> tuple[str, dict[str, Any]]:
    body = distinct.body()
    body["child"]["birth_date"] = (utcnow().date() - timedelta(days=5 * 365)).isoformat()  # too old
    ref = register(body)
    with unit_of_work() as session:
        assert route.load_case(session, ref).status == "not_eligible"
    return ref, body


def test_a_case_that_ended_without_a_plan_is_anonymised_after_its_last_step():
    days = get_settings().retention_days
    old, body = not_eligible()
    backdate(old, days + 10)
    young, _ = not_eligible()  # registered today: not yet
    report = run_retention()
    assert old in report.anonymised and young not in report.anonymised
    forbidden = [*distinct.forbidden(body), body["registrant"]["email"]]
    assert distinct.leaks(personal_text(old), forbidden) == []
    assert distinct.CHILD in personal_text(young)


@pytest.mark.parametrize("last_step_days_ago, due", [(None, True), (3, False)])
def test_a_cancelled_zorgtafel_counts_from_its_last_step(last_step_days_ago, due):
    days = get_settings().retention_days
    ref = register(distinct.body())
    plan = simple_plan(ref)
    from zorgtafel import invitations

    with unit_of_work() as session:
        route.record_zorgtafel(session, ref, plan, now=utcnow(), settings=get_settings())
    with unit_of_work() as session:
        invitations.cancel(
            session,
            route.load_case(session, ref),
            reason="Gezin verhuisd.",
            actor="t",
            now=utcnow(),
            settings=get_settings(),
        )
    backdate(ref, days + 5, last_event_days=last_step_days_ago)
    report = run_retention()
    assert (ref in report.anonymised) is due
    with unit_of_work() as session:
        case = route.load_case(session, ref)
        assert case.status == "zorgtafel_cancelled"
        assert (case.anonymised_at is not None) is due
        assert (case.child_name is None) is due


def test_neutral_summaries_cover_every_kind():
    assert retention.neutral_summary("invitation_declined") == "Uitnodiging geweigerd."
    assert retention.neutral_summary("evaluation_invitation_sent") == "Bericht verstuurd."
    assert retention.neutral_summary("waiting_list_refused") == "Wachtlijst bijgewerkt."
    assert retention.neutral_summary("something_new") == retention.NEUTRAL_FALLBACK
