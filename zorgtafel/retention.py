"""Retention: personal data of ended cases is removed after ``settings.retention_days``; what the
reports need stays.

A case has ended when its care plan was closed (``CarePlan.closed_at``), or, without a plan, when
it was not eligible or its zorgtafel was cancelled (then its last timeline event is when it
ended). ``retention_days`` after that moment, ``anonymise`` removes:

- names, e-mail addresses, phone numbers and notification URLs of the registrant and the family,
  the child's name, the registration note; the participants' addresses; the outbox's recipients,
  payloads and error texts (a message not sent by then is marked failed: nothing is sent about
  an anonymised case); the registration's idempotency record (a hash of the request);
- free text: timeline summaries (replaced by a neutral Dutch text per kind), the plan's grounds,
  goal texts, service and ledger notes, the closure note, bridging arrangements, directive
  reasons, the meeting location;
- the exact birth or expected date: the database requires one date per child, so it is
  generalised to the first day of its month; the age in months at registration is kept in the
  screening (``age_months_at_registration``, negative before birth).

It keeps: the reference, region, municipality, agency, concerns, eligibility and screening,
status and every date of the route (registration, deadline, zorgtafel, confirmation, risk,
escalation, evaluations and their outcomes), track, budget and ledger amounts, the plan's life
domains, services and where the child lives after closure, the kinds and data of the timeline
(ids and codes), and the audit trail (which holds no personal data).

``anonymise`` is idempotent (``Case.anonymised_at``); each case is done in its own transaction.
The Prefect flow ``retention`` (flows/retention.py) runs ``run`` daily.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from zorgtafel import audit, timeline
from zorgtafel.db.models import (
    Budget,
    CarePlan,
    Case,
    CaseEvent,
    CaseExpertDirective,
    IdempotencyRecord,
    LedgerEntry,
    OutboxMessage,
    WaitingListEntry,
)
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import CaseStatus

log = logging.getLogger(__name__)

ANON = "(geanonimiseerd)"
ANON_EMAIL = "geanonimiseerd@invalid"  # RFC 2606: never deliverable
REMOVED = "(verwijderd na bewaartermijn)"
EVENT_KIND = "anonymised"
EVENT_SUMMARY = "Persoonsgegevens geanonimiseerd na bewaartermijn"
ENDED_WITHOUT_PLAN = (CaseStatus.NOT_ELIGIBLE.value, CaseStatus.ZORGTAFEL_CANCELLED.value)

NEUTRAL_SUMMARIES = {
    "registered": "Aanmelding ontvangen.",
    "screened_eligible": "De aanmelding behoort tot de doelgroep.",
    "screened_not_eligible": "De aanmelding valt buiten de doelgroep.",
    "route_started": "Crisisroute gestart.",
    "convening": "Zorgtafel wordt samengesteld.",
    "experts_chosen": "Experts gekozen.",
    "zorgtafel_planned": "Zorgtafel gepland.",
    "zorgtafel_rescheduled": "Zorgtafel verplaatst.",
    "zorgtafel_cancelled": "Zorgtafel geannuleerd.",
    "at_risk": "Zorgtafel binnen de termijn in gevaar.",
    "invitation_sent": "Uitnodiging verstuurd.",
    "invitation_accepted": "Uitnodiging aanvaard.",
    "invitation_declined": "Uitnodiging geweigerd.",
    "invitation_tentative": "Uitnodiging onder voorbehoud beantwoord.",
    "outcome_recorded": "Uitkomst van de zorgtafel vastgelegd.",
    "track_changed": "Traject gewijzigd.",
    "evaluation_held": "Evaluatie gehouden.",
    "evaluation_rescheduled": "Evaluatie verplaatst.",
    "closed": "Dossier afgesloten.",
    EVENT_KIND: EVENT_SUMMARY + ".",
}
NEUTRAL_PREFIXES = (
    ("budget", "Budget bijgewerkt."),
    ("ledger", "Budgetboeking vastgelegd."),
    ("waiting_list", "Wachtlijst bijgewerkt."),
    ("evaluation", "Evaluatie bijgewerkt."),
    ("invitation", "Uitnodiging bijgewerkt."),
    ("expert", "Expert bijgewerkt."),
)
NEUTRAL_FALLBACK = "Stap in het dossier (inhoud verwijderd na bewaartermijn)."


def neutral_summary(kind: str) -> str:
    if kind in NEUTRAL_SUMMARIES:
        return NEUTRAL_SUMMARIES[kind]
    if kind.endswith("_sent"):
        return "Bericht verstuurd."
    if kind.endswith("_failed"):
        return "Bericht kon niet verstuurd worden."
    for prefix, text in NEUTRAL_PREFIXES:
        if kind.startswith(prefix):
            return text
    return NEUTRAL_FALLBACK


class _SystemActor:
    user_id = None
    username = "retention"
    role = "system"
    on_behalf_of = None


SYSTEM = _SystemActor()


def cutoff(now: datetime, settings: Settings) -> datetime:
    return now - timedelta(days=settings.retention_days)


def due_case_ids(session: Session, *, now: datetime, settings: Settings, limit: int = 500) -> list[int]:
    """Cases that ended more than ``retention_days`` ago and still hold personal data."""
    before = cutoff(now, settings)
    with_plan = (
        select(Case.id)
        .join(CarePlan, CarePlan.case_id == Case.id)
        .where(Case.anonymised_at.is_(None), CarePlan.status == "closed", CarePlan.closed_at <= before)
    )
    last_event = (
        select(CaseEvent.case_id, func.max(CaseEvent.at).label("last_at"))
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    ended_at = func.coalesce(last_event.c.last_at, Case.registered_at)
    without_plan = (
        select(Case.id)
        .outerjoin(CarePlan, CarePlan.case_id == Case.id)
        .outerjoin(last_event, last_event.c.case_id == Case.id)
        .where(
            Case.anonymised_at.is_(None),
            CarePlan.id.is_(None),
            Case.status.in_(ENDED_WITHOUT_PLAN),
            ended_at <= before,
        )
    )
    ids = set(session.scalars(with_plan)) | set(session.scalars(without_plan))
    return sorted(ids)[:limit]


def _months_between(earlier: date, later: date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if later.day < earlier.day:
        months -= 1
    return months


def _generalise_dates(case: Case, settings: Settings) -> None:
    registered_on = case.registered_at.astimezone(settings.tz).date()
    screening = dict(case.screening or {})
    if "age_months_at_registration" not in screening:
        if case.birth_date is not None:
            screening["age_months_at_registration"] = _months_between(case.birth_date, registered_on)
        elif case.expected_delivery_date is not None:
            screening["age_months_at_registration"] = -_months_between(
                registered_on, case.expected_delivery_date
            )
    case.screening = screening
    if case.birth_date is not None:
        case.birth_date = case.birth_date.replace(day=1)
    if case.expected_delivery_date is not None:
        case.expected_delivery_date = case.expected_delivery_date.replace(day=1)


def anonymise(session: Session, case: Case, *, now: datetime, settings: Settings) -> bool:
    """Remove the case's personal data (in the caller's transaction). False if already done."""
    if case.anonymised_at is not None:
        return False
    case.registrant_name = ANON
    case.registrant_email = ANON_EMAIL
    case.registrant_phone = None
    case.registrant_notify_urls = []
    case.child_name = None
    case.registration_note = None
    _generalise_dates(case, settings)
    for member in case.family:
        member.name = ANON
        member.email = None
        member.phone = None
        member.notify_urls = []
    if case.zorgtafel is not None:
        case.zorgtafel.location = REMOVED
        for participant in case.zorgtafel.participants:
            participant.email = None  # clears the blind index too
    for event in case.events:
        event.summary = neutral_summary(event.kind)
    for msg in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)):
        msg.recipient = ANON
        msg.payload = {}
        msg.last_error = None
        if msg.status != "sent":  # nothing is sent about an anonymised case any more
            msg.status, msg.next_attempt_at, msg.claimed_at = "failed", None, None
        for attempt in msg.attempt_log:
            attempt.error = None
    plan = session.scalar(select(CarePlan).where(CarePlan.case_id == case.id))
    if plan is not None:
        plan.reasons = REMOVED
        closure = dict(plan.closure or {})
        if closure:
            closure["note"] = None
        plan.closure = closure
        for goal in plan.goals:
            goal.text = REMOVED
        for service in plan.services:
            service.note = None
        budget_ids = select(Budget.id).where(Budget.care_plan_id == plan.id)
        for entry in session.scalars(select(LedgerEntry).where(LedgerEntry.budget_id.in_(budget_ids))):
            entry.note = None
    for waiting in session.scalars(select(WaitingListEntry).where(WaitingListEntry.case_id == case.id)):
        waiting.bridging = None
    for directive in session.scalars(
        select(CaseExpertDirective).where(CaseExpertDirective.case_id == case.id)
    ):
        directive.reason = REMOVED
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.case_id == case.id))
    case.anonymised_at = now
    timeline.record(
        session,
        case,
        EVENT_KIND,
        EVENT_SUMMARY + ".",
        data={"retention_days": settings.retention_days},
        actor="system:retention",
        at=now,
    )
    return True


@dataclass
class RetentionReport:
    anonymised: list[str] = field(default_factory=list)  # case references
    failed: list[str] = field(default_factory=list)


def run(
    sessions: Callable[[], Session], *, now: datetime, settings: Settings, limit: int = 500
) -> RetentionReport:
    """Anonymise every due case, each in its own transaction; one failure does not stop the rest.

    ``sessions`` makes a new Session (zorgtafel.db.session.session_factory()). Every anonymised
    case leaves an audit event (action ``change`` by the system account ``retention``).
    """
    report = RetentionReport()
    with sessions() as session:
        ids = due_case_ids(session, now=now, settings=settings, limit=limit)
    for case_id in ids:
        reference = None
        try:
            with sessions() as session, session.begin():
                case = session.get_one(Case, case_id)
                reference = case.reference
                done = anonymise(session, case, now=now, settings=settings)
            outcome = "allowed"
        except Exception:
            log.exception("retention: case id %s could not be anonymised", case_id)
            report.failed.append(reference or f"id:{case_id}")
            outcome, done = "failed", True
        if done:
            if outcome == "allowed":
                report.anonymised.append(reference or f"id:{case_id}")
            with sessions() as session:
                audit.record(
                    session,
                    principal=SYSTEM,
                    action="change",
                    outcome=outcome,
                    resource="retention",
                    case=session.get(Case, case_id),
                    detail={"retention_days": settings.retention_days},
                )
    return report
