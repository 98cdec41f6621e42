"""The budget ledger of the case-bound budget track (casusgebonden middelen, seed 004): a budget per
case (``Settings.case_budget_cents``, configured per region, stored on ``Budget`` when the plan is
decided), commitments (bookings) and spend against it, corrections as reversal entries.

Decisions (the open points of domain.md and the issue):

- **The 50% verblijf cap** is measured over the total granted so far: the original budget plus the
  extension once it is granted; it is checked at every booking. 50% is rounded down to the cent.
- **The caps apply to commitments** (what is booked): committed <= total granted and residential
  committed <= 50% of the total granted. **Spend may not exceed what is committed for that
  service**, so spend is within the caps as well.
- **Corrections never rewrite history**: a reversal is a new entry cancelling one commitment or
  spend in full (same service, verblijf flag, amount and date). A reversal of a commitment is
  refused if the spend on that service would then exceed the remaining commitment. A reversal
  cannot itself be reversed and an entry can be reversed once. Reversals are possible after the
  term and after closure too (a mistake must stay correctable); bookings are not.
- **The term** runs from ``care_plan.starts_on`` to ``care_plan.term_ends_on`` inclusive, and to
  ``care_plan.extended_until`` once extended. No booking (commitment or spend) is dated outside it.
- **The extension**: ``extension_cents = granted_cents // 2`` (half, rounded down to the cent) and
  ``extended_until = term_ends_on + 3 months`` (the last day of 3 months starting the day after
  the first term; a first term ending on 28 Feb extends to 31 May); only once, only while the plan
  is active and the track is case_budget. It is not tied to a date here: when to extend is the
  evaluation's decision (``zorgtafel.care_plan`` allows it at the end of the first term).
- **Bookings** need a known catalogue service (``unknown_service``); a new commitment needs an
  active one (``service_inactive``); spend on a service retired since its commitment is allowed.
  ``Service.tracks`` is not enforced here (the plan's service choice checks it; the case-bound
  budget is meant for custom answers).
- **Atomicity**: every change runs in the caller's unit of work. The budget row is locked
  (``SELECT … FOR UPDATE``) and ``Budget.version`` is bumped with a conditional UPDATE (``WHERE
  version = :seen`` and the plan still in the state the rules were checked against) before
  anything is written. On PostgreSQL the lock serialises concurrent bookings of one budget; on
  SQLite, which has no row locks, the conditional UPDATE takes the database's write lock and a
  booking that lost the race sees 0 rows, re-reads (now under the write lock) and checks again.
  So two concurrent bookings can never both pass a cap check. After ``MAX_ATTEMPTS`` lost races
  the request is refused (``concurrent_update``), never a 500. A refusal raises before anything is
  written, and the caller's unit of work rolls back: nothing is stored half.
- **Idempotency**: a booking with an ``idempotency_key`` seen before returns the entry it made; the
  same key with a different body raises ``IdempotencyConflict``.
- **Timeline**: every booking, reversal and extension leaves a case event with Dutch text and the
  amounts (not personal data); notes and reasons stay on the ledger entry only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from zorgtafel import timeline
from zorgtafel.db.models import Budget, CarePlan, Case, LedgerEntry, Service
from zorgtafel.errors import FieldProblem, IdempotencyConflict, NotFound, ValidationFailed
from zorgtafel.route import load_case
from zorgtafel.rules import ledger
from zorgtafel.rules.money import MAX_AMOUNT_CENTS, format_eur, share_pct

MAX_ATTEMPTS = 5
_EVENT_SUMMARY_MAX = 500

# Where a refusal points in the request.
_LOC: dict[str, tuple[str, ...]] = {
    "outside_term": ("occurs_on",),
    "budget_exceeded": ("amount",),
    "residential_cap_exceeded": ("amount",),
    "spend_exceeds_commitment": ("amount",),
    "invalid_amount": ("amount",),
    "invalid_kind": ("kind",),
    "plan_not_active": ("care_plan",),
    "not_budget_track": ("care_plan",),
    "unknown_entry": ("entry_id",),
    "reversal_of_reversal": ("entry_id",),
    "already_reversed": ("entry_id",),
    "reversal_breaks_spend": ("entry_id",),
    "second_extension": ("extension",),
}
_KIND_NL = {ledger.COMMITMENT: "vastlegging", ledger.SPEND: "uitgave", ledger.REVERSAL: "correctie"}


class NoBudget(NotFound):
    """The case has no care plan with a case-bound budget."""


class EntryNotFound(NotFound):
    """No ledger entry with that id in this case's budget."""


# The amounts a budget summary carries (each as ``<name>_cents``), in the order people read them.
FIGURES = (
    "granted",
    "extension",
    "total_granted",
    "committed",
    "spent",
    "remaining",
    "residential_committed",
    "residential_cap",
    "residential_remaining",
)


@dataclass(frozen=True)
class ServiceLine:
    code: str
    name: str
    residential: bool
    committed_cents: int
    spent_cents: int


@dataclass(frozen=True)
class BudgetSummary:
    reference: str
    currency: str
    granted_cents: int
    extension_cents: int
    total_granted_cents: int
    committed_cents: int
    spent_cents: int
    remaining_cents: int  # still to commit: total granted - committed
    residential_committed_cents: int
    residential_cap_cents: int
    residential_remaining_cents: int
    residential_share_pct: Decimal  # residential committed as % of the total granted
    extension_used: bool
    starts_on: date | None
    term_ends_on: date | None
    extended_until: date | None
    per_service: tuple[ServiceLine, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Figures for a coordinator's artifact: the reference and amounts, nothing about the
        family (not the services either: which help a family gets stays in the application)."""
        out: dict[str, Any] = {"reference": self.reference}
        for name in FIGURES:
            cents = getattr(self, f"{name}_cents")
            out[name] = format_eur(cents)
            out[f"{name}_cents"] = cents
        out["residential_share_pct"] = str(self.residential_share_pct)
        out["extension_used"] = self.extension_used
        out["term_ends_on"] = self.term_ends_on.isoformat() if self.term_ends_on else None
        out["extended_until"] = self.extended_until.isoformat() if self.extended_until else None
        return out


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """The budget row (locked) and the plan around it, as read for one attempt."""

    budget_id: int
    version: int
    currency: str
    granted_cents: int
    extension_cents: int
    plan_id: int
    status: str
    track: str
    starts_on: date | None
    term_ends_on: date | None
    extended_until: date | None

    @property
    def figures(self) -> ledger.Figures:
        return ledger.Figures(
            granted_cents=self.granted_cents,
            extension_cents=self.extension_cents,
            starts_on=self.starts_on,
            term_ends_on=self.term_ends_on,
            extended_until=self.extended_until,
            plan_active=self.status == "active",
            track=self.track,
        )


def _plan_columns() -> tuple[Any, ...]:
    return (
        CarePlan.id,
        CarePlan.status,
        CarePlan.track,
        CarePlan.starts_on,
        CarePlan.term_ends_on,
        CarePlan.extended_until,
    )


def _read_state(session: Session, *, case_id: int | None = None, plan_id: int | None = None) -> _State:
    """The budget row locked for this transaction (PostgreSQL; SQLite ignores FOR UPDATE and is
    guarded by the conditional UPDATE), and the plan's current state, fresh from the database."""
    plan_q = select(*_plan_columns())
    plan_q = (
        plan_q.where(CarePlan.case_id == case_id)
        if case_id is not None
        else plan_q.where(CarePlan.id == plan_id)
    )
    plan = session.execute(plan_q).one_or_none()
    if plan is None:
        raise NoBudget("no care plan")
    row = session.execute(
        select(Budget.id, Budget.version, Budget.currency, Budget.granted_cents, Budget.extension_cents)
        .where(Budget.care_plan_id == plan.id)
        .with_for_update()
    ).one_or_none()
    if row is None:
        refusals = ledger.check_plan(
            ledger.Figures(granted_cents=0, plan_active=plan.status == "active", track=plan.track)
        )
        if refusals:
            raise _refuse(refusals)
        raise NoBudget("no budget")
    # Re-read the plan after the lock: under READ COMMITTED this is the latest committed state.
    plan = session.execute(select(*_plan_columns()).where(CarePlan.id == plan.id)).one()
    return _State(
        budget_id=row.id,
        version=row.version,
        currency=row.currency,
        granted_cents=row.granted_cents,
        extension_cents=row.extension_cents,
        plan_id=plan.id,
        status=plan.status,
        track=plan.track,
        starts_on=plan.starts_on,
        term_ends_on=plan.term_ends_on,
        extended_until=plan.extended_until,
    )


def _entries(session: Session, budget_id: int) -> list[ledger.Entry]:
    rows = session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.kind,
            LedgerEntry.service_id,
            LedgerEntry.residential,
            LedgerEntry.amount_cents,
            LedgerEntry.occurs_on,
            LedgerEntry.reverses_id,
        )
        .where(LedgerEntry.budget_id == budget_id)
        .order_by(LedgerEntry.id)
    )
    return [ledger.Entry(*row) for row in rows]


def _claim(session: Session, state: _State, **changes: int) -> bool:
    """Bump the version if nobody changed the budget (or the plan) since ``state`` was read.

    False means a concurrent change won the race: read again and check again."""
    plan_unchanged = (
        select(CarePlan.id)
        .where(
            CarePlan.id == state.plan_id,
            CarePlan.status == state.status,
            CarePlan.track == state.track,
            CarePlan.starts_on.is_not_distinct_from(state.starts_on),
            CarePlan.term_ends_on.is_not_distinct_from(state.term_ends_on),
            CarePlan.extended_until.is_not_distinct_from(state.extended_until),
        )
        .exists()
    )
    result = session.execute(
        update(Budget)
        .where(and_(Budget.id == state.budget_id, Budget.version == state.version, plan_unchanged))
        .values(version=state.version + 1, **changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    # Keep an already loaded Budget object in step without marking it dirty.
    loaded = session.identity_map.get(identity_key(Budget, state.budget_id))
    if loaded is not None:
        set_committed_value(loaded, "version", state.version + 1)
        for name, value in changes.items():
            set_committed_value(loaded, name, value)
    return True


def _refuse(refusals: list[ledger.Refusal]) -> ValidationFailed:
    return ValidationFailed(
        [FieldProblem(_LOC.get(r.rule, ("budget",)), r.rule, r.message_nl) for r in refusals]
    )


def _lost_too_often() -> ValidationFailed:
    return ValidationFailed(
        [
            FieldProblem(
                ("budget",),
                "concurrent_update",
                "Het budget werd tegelijk door iemand anders gewijzigd; probeer het opnieuw.",
            )
        ]
    )


def _d(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def _event(
    session: Session,
    case: Case,
    kind: str,
    text: str,
    data: dict[str, Any],
    *,
    actor: str,
    now: datetime,
) -> None:
    timeline.record(session, case, kind, text[:_EVENT_SUMMARY_MAX], data=data, actor=actor, at=now)


def _after(state: _State, entries: list[ledger.Entry]) -> tuple[dict[str, int], str]:
    t = ledger.totals(entries)
    f = state.figures
    data = {
        "committed_cents": t.committed_cents,
        "spent_cents": t.spent_cents,
        "residential_committed_cents": t.residential_committed_cents,
        "total_granted_cents": f.total_granted_cents,
    }
    text = (
        f"Nog vrij: {format_eur(f.total_granted_cents - t.committed_cents)}; verblijf "
        f"{format_eur(t.residential_committed_cents)} van max. {format_eur(f.residential_cap_cents)}."
    )
    return data, text


# --- bookings --------------------------------------------------------------------------------


def _append(
    session: Session,
    state: _State,
    entries: list[ledger.Entry],
    line: ledger.Entry,
    *,
    actor: str,
    note: str | None,
    idempotency_key: str | None,
    now: datetime,
) -> LedgerEntry:
    """Write one ledger line (``line.id`` is ignored) and keep the in-memory list in step."""
    entry = LedgerEntry(
        budget_id=state.budget_id,
        kind=line.kind,
        service_id=line.service_id,
        residential=line.residential,
        amount_cents=line.amount_cents,
        occurs_on=line.occurs_on,
        reverses_id=line.reverses_id,
        recorded_at=now,
        actor=actor,
        note=note,
        idempotency_key=idempotency_key,
    )
    session.add(entry)
    session.flush()
    entries.append(replace(line, id=entry.id))
    return entry


def book(
    session: Session,
    case_reference: str,
    *,
    kind: str,
    service_code: str,
    amount_cents: int,
    occurs_on: date,
    actor: str,
    note: str | None = None,
    idempotency_key: str | None = None,
    now: datetime,
) -> LedgerEntry:
    """Book a commitment or a spend; raises ``ValidationFailed`` naming each rule it breaks."""
    entry, _ = book_or_replay(
        session,
        case_reference,
        kind=kind,
        service_code=service_code,
        amount_cents=amount_cents,
        occurs_on=occurs_on,
        actor=actor,
        note=note,
        idempotency_key=idempotency_key,
        now=now,
    )
    return entry


def book_or_replay(
    session: Session,
    case_reference: str,
    *,
    kind: str,
    service_code: str,
    amount_cents: int,
    occurs_on: date,
    actor: str,
    note: str | None = None,
    idempotency_key: str | None = None,
    now: datetime,
) -> tuple[LedgerEntry, bool]:
    """``book``, and whether the entry was made now (False: a replay of the same idempotency key)."""
    case = load_case(session, case_reference)
    note = (note or "").strip() or None
    problems: list[FieldProblem] = []
    if kind not in ledger.BOOKING_KINDS:
        problems.append(
            FieldProblem(
                ("kind",),
                "invalid_kind",
                "Kies als soort boeking 'commitment' (vastlegging) of 'spend' (uitgave); een correctie "
                "gaat via …/entries/{id}/reverse.",
            )
        )
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        problems.append(
            FieldProblem(("amount",), "invalid_amount", "Het bedrag moet groter zijn dan € 0,00.")
        )
    elif amount_cents > MAX_AMOUNT_CENTS:
        problems.append(
            FieldProblem(
                ("amount",),
                "too_large",
                f"Het bedrag is onwaarschijnlijk groot (max. {format_eur(MAX_AMOUNT_CENTS)}).",
            )
        )
    service = session.scalar(select(Service).where(Service.code == service_code))
    if service is None:
        problems.append(
            FieldProblem(
                ("service_code",),
                "unknown_service",
                f"Onbekende dienst '{service_code[:64]}': niet in de catalogus (zie GET /api/v1/services).",
            )
        )
    elif kind == ledger.COMMITMENT and not service.active:
        problems.append(
            FieldProblem(
                ("service_code",),
                "service_inactive",
                f"'{service.name}' wordt niet meer aangeboden: er kan niets nieuws op vastgelegd worden.",
            )
        )
    request = (case.id, kind, service.id if service else None, amount_cents, occurs_on, note)
    if idempotency_key is not None and (seen := _replay(session, idempotency_key, request)) is not None:
        return seen, False  # before the rules: a replay answers as the first time did
    if problems:
        raise ValidationFailed(problems)
    assert service is not None

    for _ in range(MAX_ATTEMPTS):
        state = _read_state(session, case_id=case.id)
        # Again under the lock: a concurrent request with the same key may have won meanwhile.
        if idempotency_key is not None and (seen := _replay(session, idempotency_key, request)) is not None:
            return seen, False
        entries = _entries(session, state.budget_id)
        booking = ledger.Booking(
            kind=kind,
            service_id=service.id,
            residential=service.residential,
            amount_cents=amount_cents,
            occurs_on=occurs_on,
            service_label=f"'{service.name}'",
        )
        refusals = ledger.check_booking(state.figures, entries, booking)
        if refusals:
            raise _refuse(refusals)
        if not _claim(session, state):
            continue
        # A concurrent booking under the same key for another case fails in here (unique key):
        # the caller rolls back and retries, and then gets IdempotencyConflict.
        entry = _append(
            session,
            state,
            entries,
            ledger.Entry(0, kind, service.id, service.residential, amount_cents, occurs_on, None),
            actor=actor,
            note=note,
            idempotency_key=idempotency_key,
            now=now,
        )
        data, after = _after(state, entries)
        verblijf = " (verblijf)" if service.residential else ""
        _event(
            session,
            case,
            f"budget_{kind}",
            f"{_KIND_NL[kind].capitalize()} van {format_eur(amount_cents)} voor {service.name}{verblijf} "
            f"op {_d(occurs_on)}. {after}",
            {
                "entry_id": entry.id,
                "kind": kind,
                "service": service.code,
                "residential": service.residential,
                "amount_cents": amount_cents,
                "occurs_on": occurs_on.isoformat(),
                **data,
            },
            actor=actor,
            now=now,
        )
        return entry, True
    raise _lost_too_often()


def _replay(session: Session, key: str, request: tuple[Any, ...]) -> LedgerEntry | None:
    """The entry made earlier under ``key``; ``IdempotencyConflict`` when it was another request."""
    seen = session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == key))
    if seen is None:
        return None
    case_id = session.scalar(
        select(CarePlan.case_id)
        .join(Budget, Budget.care_plan_id == CarePlan.id)
        .where(Budget.id == seen.budget_id)
    )
    if (case_id, seen.kind, seen.service_id, seen.amount_cents, seen.occurs_on, seen.note) != request:
        raise IdempotencyConflict(key)
    return seen


def reverse(
    session: Session, case_reference: str, entry_id: int, *, reason: str, actor: str, now: datetime
) -> LedgerEntry:
    """Cancel one commitment or spend in full with a reversal entry (history stays as it was)."""
    case = load_case(session, case_reference)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            [FieldProblem(("reason",), "reason_required", "Vermeld waarom de boeking gecorrigeerd wordt.")]
        )
    for _ in range(MAX_ATTEMPTS):
        state = _read_state(session, case_id=case.id)
        entries = _entries(session, state.budget_id)
        target = next((e for e in entries if e.id == entry_id), None)
        if target is None:
            raise EntryNotFound(str(entry_id))
        service = session.get_one(Service, target.service_id)
        refusals = ledger.check_reversal(entries, entry_id, service_label=f"'{service.name}'")
        if refusals:
            raise _refuse(refusals)
        if not _claim(session, state):
            continue
        entry = _append(
            session,
            state,
            entries,
            ledger.Entry(
                0,
                ledger.REVERSAL,
                target.service_id,
                target.residential,
                target.amount_cents,
                target.occurs_on,
                target.id,
            ),
            actor=actor,
            note=reason,
            idempotency_key=None,
            now=now,
        )
        data, after = _after(state, entries)
        _event(
            session,
            case,
            "budget_reversal",
            f"Correctie van boeking {target.id} ({_KIND_NL[target.kind]} van "
            f"{format_eur(target.amount_cents)} voor {service.name} op {_d(target.occurs_on)}). {after}",
            {
                "entry_id": entry.id,
                "reverses_id": target.id,
                "reversed_kind": target.kind,
                "service": service.code,
                "residential": target.residential,
                "amount_cents": target.amount_cents,
                **data,
            },
            actor=actor,
            now=now,
        )
        return entry
    raise _lost_too_often()


def grant_extension(session: Session, care_plan: CarePlan, *, actor: str, now: datetime) -> Budget:
    """The one extension: half the original budget and 3 more months."""
    for _ in range(MAX_ATTEMPTS):
        state = _read_state(session, plan_id=care_plan.id)
        refusals = ledger.check_extension(state.figures)
        if refusals:
            raise _refuse(refusals)
        assert state.term_ends_on is not None
        extra = ledger.extension_cents(state.granted_cents)
        until = ledger.extended_until(state.term_ends_on)
        if not _claim(session, state, extension_cents=extra):
            continue
        care_plan.extended_until = until
        budget = session.get_one(Budget, state.budget_id)
        case = session.get_one(Case, care_plan.case_id)
        total = state.granted_cents + extra
        _event(
            session,
            case,
            "budget_extended",
            f"Budget eenmaal verlengd met {format_eur(extra)} (de helft van "
            f"{format_eur(state.granted_cents)}), termijn tot en met {_d(until)}. Totaal toegekend: "
            f"{format_eur(total)}; verblijf max. {format_eur(ledger.residential_cap(total))}.",
            {
                "extension_cents": extra,
                "granted_cents": state.granted_cents,
                "total_granted_cents": total,
                "extended_until": until.isoformat(),
            },
            actor=actor,
            now=now,
        )
        session.flush()
        return budget
    raise _lost_too_often()


# --- summary ---------------------------------------------------------------------------------


def summary(session: Session, case_reference: str) -> BudgetSummary:
    """Where the budget stands (no lock: a consistent read of one moment)."""
    case = load_case(session, case_reference)
    plan = session.execute(select(*_plan_columns()).where(CarePlan.case_id == case.id)).one_or_none()
    if plan is None:
        raise NoBudget("no care plan")
    budget = session.execute(
        select(Budget.id, Budget.currency, Budget.granted_cents, Budget.extension_cents).where(
            Budget.care_plan_id == plan.id
        )
    ).one_or_none()
    if budget is None:
        raise NoBudget("no budget")
    entries = _entries(session, budget.id)
    t = ledger.totals(entries)
    figures = ledger.Figures(
        granted_cents=budget.granted_cents,
        extension_cents=budget.extension_cents,
        starts_on=plan.starts_on,
        term_ends_on=plan.term_ends_on,
        extended_until=plan.extended_until,
        plan_active=plan.status == "active",
        track=plan.track,
    )
    services = {s.id: s for s in session.scalars(select(Service).where(Service.id.in_(t.per_service.keys())))}
    lines = tuple(
        ServiceLine(
            code=services[sid].code,
            name=services[sid].name,
            residential=services[sid].residential,
            committed_cents=st.committed_cents,
            spent_cents=st.spent_cents,
        )
        for sid, st in sorted(t.per_service.items(), key=lambda kv: services[kv[0]].code)
    )
    total = figures.total_granted_cents
    cap = figures.residential_cap_cents
    return BudgetSummary(
        reference=case.reference,
        currency=budget.currency,
        granted_cents=budget.granted_cents,
        extension_cents=budget.extension_cents,
        total_granted_cents=total,
        committed_cents=t.committed_cents,
        spent_cents=t.spent_cents,
        remaining_cents=total - t.committed_cents,
        residential_committed_cents=t.residential_committed_cents,
        residential_cap_cents=cap,
        residential_remaining_cents=cap - t.residential_committed_cents,
        residential_share_pct=share_pct(t.residential_committed_cents, total),
        extension_used=figures.extended,
        starts_on=plan.starts_on,
        term_ends_on=plan.term_ends_on,
        extended_until=plan.extended_until,
        per_service=lines,
    )


def extend(session: Session, case_reference: str, *, actor: str, now: datetime) -> Budget:
    """``grant_extension`` for the plan of a case."""
    case = load_case(session, case_reference)
    plan = session.scalar(select(CarePlan).where(CarePlan.case_id == case.id))
    if plan is None:
        raise NoBudget("no care plan")
    return grant_extension(session, plan, actor=actor, now=now)


@dataclass(frozen=True)
class EntryView:
    """A ledger line for the case manager (the note is theirs to read; it stays out of logs)."""

    id: int
    kind: str
    service_code: str
    service_name: str
    residential: bool
    amount_cents: int
    occurs_on: date
    reverses_id: int | None
    reversed_by: int | None
    recorded_at: datetime
    actor: str
    note: str | None


def entry_views(session: Session, case_reference: str, ids: list[int] | None = None) -> list[EntryView]:
    """The ledger of a case in booking order (or only the entries ``ids``)."""
    case = load_case(session, case_reference)
    budget_id = session.scalar(
        select(Budget.id)
        .join(CarePlan, Budget.care_plan_id == CarePlan.id)
        .where(CarePlan.case_id == case.id)
    )
    if budget_id is None:
        raise NoBudget("no budget")
    rows = session.execute(
        select(LedgerEntry, Service.code, Service.name)
        .join(Service, LedgerEntry.service_id == Service.id)
        .where(LedgerEntry.budget_id == budget_id)
        .order_by(LedgerEntry.id)
    ).all()
    reversed_by = {e.reverses_id: e.id for e, _, _ in rows if e.reverses_id is not None}
    return [
        EntryView(
            id=e.id,
            kind=e.kind,
            service_code=code,
            service_name=name,
            residential=e.residential,
            amount_cents=e.amount_cents,
            occurs_on=e.occurs_on,
            reverses_id=e.reverses_id,
            reversed_by=reversed_by.get(e.id),
            recorded_at=e.recorded_at,
            actor=e.actor,
            note=e.note,
        )
        for e, code, name in rows
        if ids is None or e.id in ids
    ]
