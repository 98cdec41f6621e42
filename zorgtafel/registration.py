"""Registering a case (aanmelding): validate, screen, store — one transaction, nothing half."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zorgtafel import timeline
from zorgtafel.crypto import blind_index
from zorgtafel.db.models import Agency, Case, CaseManager, FamilyMember, IdempotencyRecord
from zorgtafel.errors import FieldProblem, IdempotencyConflict, ValidationFailed
from zorgtafel.rules.deadline import zorgtafel_deadline
from zorgtafel.rules.eligibility import screen
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import CaseStatus, Channel, Concern, Willingness

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class RegistrantIn:
    agency_code: str
    name: str
    email: str
    phone: str | None = None
    notify_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChildIn:
    birth_date: date | None = None
    expected_delivery_date: date | None = None
    name: str | None = None


@dataclass(frozen=True)
class FamilyMemberIn:
    name: str
    relation: str
    consent_to_contact: bool
    preferred_channel: Channel
    email: str | None = None
    phone: str | None = None
    notify_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewRegistration:
    registrant: RegistrantIn
    child: ChildIn
    concerns: tuple[Concern, ...]
    placement_threatened: bool
    willingness: Willingness
    municipality: str
    family: tuple[FamilyMemberIn, ...] = field(default=())
    case_manager_email: str | None = None
    note: str | None = None

    def fingerprint(self) -> str:
        """Hash of the request, to tell a replay from a different request under the same key."""
        blob = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def new_reference(year: int) -> str:
    return f"ZT-{year}-" + "".join(secrets.choice(_CROCKFORD) for _ in range(6))


def _validate(
    session: Session, reg: NewRegistration, today: date
) -> tuple[list[FieldProblem], Agency | None, CaseManager | None]:
    problems: list[FieldProblem] = []
    agency = session.scalar(select(Agency).where(Agency.code == reg.registrant.agency_code))
    if agency is None:
        problems.append(
            FieldProblem(
                ("registrant", "agency_code"),
                "unknown_agency",
                f"Onbekende organisatie '{reg.registrant.agency_code}'; zie GET /api/v1/agencies.",
            )
        )
    child = reg.child
    if (child.birth_date is None) == (child.expected_delivery_date is None):
        problems.append(
            FieldProblem(
                ("child",),
                "birth_or_delivery_date",
                "Geef de geboortedatum of (bij zwangerschap) de verwachte bevallingsdatum, niet beide.",
            )
        )
    if child.birth_date is not None and child.birth_date > today:
        problems.append(
            FieldProblem(
                ("child", "birth_date"),
                "birth_date_in_future",
                "De geboortedatum ligt in de toekomst; gebruik expected_delivery_date voor een "
                "ongeboren kind.",
            )
        )
    if child.expected_delivery_date is not None and child.expected_delivery_date < today:
        problems.append(
            FieldProblem(
                ("child", "expected_delivery_date"),
                "delivery_date_in_past",
                "De verwachte bevallingsdatum ligt in het verleden; geef de geboortedatum als het "
                "kind geboren is.",
            )
        )
    if not reg.concerns:
        problems.append(FieldProblem(("concerns",), "concerns_required", "Duid minstens één zorg aan."))
    for i, member in enumerate(reg.family):
        if not member.consent_to_contact:
            continue
        if member.preferred_channel is Channel.EMAIL and not member.email:
            problems.append(
                FieldProblem(
                    ("family", i, "email"),
                    "consented_without_channel",
                    "Dit gezinslid gaf toestemming voor contact per e-mail, maar er is geen e-mailadres.",
                )
            )
        if member.preferred_channel in (Channel.SMS, Channel.PHONE) and not member.phone:
            problems.append(
                FieldProblem(
                    ("family", i, "phone"),
                    "consented_without_channel",
                    "Dit gezinslid gaf toestemming voor contact per telefoon/sms, maar er is geen nummer.",
                )
            )
    case_manager = None
    if reg.case_manager_email is not None:
        case_manager = session.scalar(
            select(CaseManager).where(
                CaseManager.email_bidx == blind_index(reg.case_manager_email), CaseManager.active
            )
        )
        if case_manager is None:
            problems.append(
                FieldProblem(
                    ("case_manager_email",),
                    "unknown_case_manager",
                    "Geen actieve casemanager met dit e-mailadres.",
                )
            )
    return problems, agency, case_manager


def _least_loaded_case_manager(session: Session, region: str) -> CaseManager | None:
    open_cases = (
        select(func.count(Case.id))
        .where(Case.case_manager_id == CaseManager.id, Case.status != CaseStatus.NOT_ELIGIBLE)
        .scalar_subquery()
    )
    return session.scalar(
        select(CaseManager)
        .where(CaseManager.active, CaseManager.region == region)
        .order_by(open_cases, CaseManager.id)
        .limit(1)
    )


def register_case(
    session: Session,
    reg: NewRegistration,
    *,
    now: datetime,
    settings: Settings,
    idempotency_key: str | None = None,
    registered_by_user_id: int | None = None,
) -> tuple[Case, bool]:
    """Store a registration with its screening; returns (case, created).

    With an idempotency key seen before, returns the case it made (created=False), or raises
    IdempotencyConflict when the body differs or another account used the key. Must run inside a
    transaction the caller commits. ``registered_by_user_id``: the account that registers (the
    registrant may then follow the case's status).
    """
    fingerprint = reg.fingerprint()
    if idempotency_key is not None:
        seen = session.get(IdempotencyRecord, idempotency_key)
        if seen is not None:
            if seen.request_hash != fingerprint:
                raise IdempotencyConflict(idempotency_key)
            earlier = session.get_one(Case, seen.case_id)
            if earlier.registered_by_user_id != registered_by_user_id:
                raise IdempotencyConflict(idempotency_key)
            return earlier, False

    today = now.astimezone(settings.tz).date()
    problems, agency, case_manager = _validate(session, reg, today)
    if problems:
        raise ValidationFailed(problems)
    assert agency is not None

    result = screen(
        registered_on=today,
        birth_date=reg.child.birth_date,
        expected_delivery_date=reg.child.expected_delivery_date,
        placement_threatened=reg.placement_threatened,
        willingness=reg.willingness,
        concern_count=len(set(reg.concerns)),
        max_age_months=settings.max_age_months,
        max_months_before_birth=settings.max_months_before_birth,
    )
    if case_manager is None and result.eligible:
        case_manager = _least_loaded_case_manager(session, settings.region)

    case = Case(
        reference=new_reference(today.year),
        status=CaseStatus.REGISTERED if result.eligible else CaseStatus.NOT_ELIGIBLE,
        region=settings.region,
        registered_at=now,
        zorgtafel_deadline=zorgtafel_deadline(now, settings.zorgtafel_deadline_hours),
        registrant_agency=agency,
        registered_by_user_id=registered_by_user_id,
        registrant_name=reg.registrant.name,
        registrant_email=reg.registrant.email,
        registrant_phone=reg.registrant.phone,
        registrant_notify_urls=list(reg.registrant.notify_urls),
        case_manager=case_manager,
        child_name=reg.child.name,
        birth_date=reg.child.birth_date,
        expected_delivery_date=reg.child.expected_delivery_date,
        concerns=sorted({c.value for c in reg.concerns}),
        placement_threatened=reg.placement_threatened,
        willingness=reg.willingness.value,
        municipality=reg.municipality,
        registration_note=reg.note,
        eligible=result.eligible,
        screening={
            "reasons": [asdict(f) for f in result.reasons],
            "notes": [asdict(f) for f in result.notes],
        },
        route_start_attempts=0,
    )
    case.family = [
        FamilyMember(
            name=m.name,
            relation=m.relation,
            email=m.email,
            phone=m.phone,
            preferred_channel=m.preferred_channel.value,
            consent_to_contact=m.consent_to_contact,
            notify_urls=list(m.notify_urls),
        )
        for m in reg.family
    ]
    session.add(case)
    # A reference collision is astronomically rare; the unique constraint is the guard.
    session.flush()
    timeline.record(
        session,
        case,
        "registered",
        f"Aanmelding ontvangen via {agency.name}; zorgtafel uiterlijk "
        f"{case.zorgtafel_deadline.astimezone(settings.tz):%d-%m-%Y %H:%M}.",
        data={"agency": agency.code, "deadline": case.zorgtafel_deadline.isoformat()},
        at=now,
    )
    if result.eligible:
        timeline.record(
            session,
            case,
            "screened_eligible",
            "Aanmelding valt binnen de doelgroep.",
            data={"notes": [f.code for f in result.notes]},
            at=now,
        )
    else:
        timeline.record(
            session,
            case,
            "screened_not_eligible",
            "Aanmelding valt buiten de doelgroep: " + " ".join(f.message for f in result.reasons),
            data={"reasons": [f.code for f in result.reasons]},
            at=now,
        )
    if idempotency_key is not None:
        session.add(
            IdempotencyRecord(key=idempotency_key, request_hash=fingerprint, case_id=case.id, created_at=now)
        )
        # A concurrent request with the same key makes this flush fail (IntegrityError): the
        # caller rolls back and replays, and then finds the record the winner stored.
        session.flush()
    return case, True
