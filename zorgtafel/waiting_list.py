"""The regular track's waiting list for a place, with the refusal rules of seed 001 (§1.5.4).

Seed 001, "Wachtlijst": a place is offered; a refusal with a reason the waiting-list managers
judge valid changes nothing (they keep searching). A refusal without a valid reason puts the
waiting days **on hold**; the family and the access team talk about what support fits, and if
the service still fits, counting resumes. A **second** refusal without a valid reason sets the
waiting days **to zero** and leads to a talk about alternatives. While waiting, ambulant support
bridges the time ("ter overbrugging").

Every step runs inside the caller's unit of work and leaves one timeline event (Dutch; the
system's text names the service, the count of refusals and the waiting days, never a fact
about the family). Bad input is refused with ``ValidationFailed`` naming the rule; nothing is
stored then.

Decisions:

- **Only services with a capacity** (places, e.g. Bijzonder Klein's 3 maternity places) have a
  waiting list; a case is on a service's list **once** (a withdrawn entry does not count).
- **Waiting days** are whole elapsed days (24-hour periods, UTC) while counting, plus the days
  credited before a hold. The hold keeps the days counted so far (the part of a day is not
  kept); zero is zero. ``waiting_days`` never goes below zero.
- **States** (``status`` x ``counting_since``): waiting and counting; waiting on hold (first
  refusal without a valid reason, ``counting_since`` empty); ``talk`` (second refusal: days
  zero, a talk about alternatives); ``placed``; ``withdrawn``.
- **Offers** can be refused while waiting, counting or on hold; not in ``talk``, after a
  placement or a withdrawal. A refusal on hold without a valid reason is the second one. The
  count of refusals without a valid reason is never reset: after a talk and a resume, the next
  refusal without a valid reason sets the days to zero again.
- **Resume** (``resume_counting``) is for an entry on hold or in ``talk``, after the talk found
  the service still fits: counting starts again from ``now``, on top of the days kept.
- **Place** refuses when the service's places are full: the entries with status ``placed``
  count. On PostgreSQL the service row is locked (``FOR UPDATE``) so two placements cannot both
  take the last place; SQLite serialises writers by itself.
- **A place is freed** by ``withdraw`` on the placed entry (the stay ended): the status
  vocabulary of the schema has no separate "ended".
- **The reason of a refusal** (and of a withdrawal) is the case manager's written ground for the
  judgement; like a reschedule reason it goes on the case timeline in the database and nowhere
  else (no log, no message). The bridging text is stored on the entry only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zorgtafel import timeline
from zorgtafel.catalogue import service_by_code
from zorgtafel.db.models import Case, Service, WaitingListEntry
from zorgtafel.errors import FieldProblem, NotFound, ValidationFailed

WAITING = "waiting"
PLACED = "placed"
WITHDRAWN = "withdrawn"
TALK = "talk"

MAX_REASON = 250  # it goes into a timeline summary (500 characters)
MAX_BRIDGING = 2000


def waiting_days(entry: WaitingListEntry, now: datetime) -> int:
    """The waiting days that count: the credited days plus whole days since counting resumed."""
    running = 0
    if entry.counting_since is not None:
        running = max(0, (now - entry.counting_since) // timedelta(days=1))
    return max(0, entry.credited_days + running)


def on_hold(entry: WaitingListEntry) -> bool:
    return entry.status == WAITING and entry.counting_since is None


def entries_for_case(session: Session, case_reference: str) -> list[WaitingListEntry]:
    case = _case(session, case_reference)
    return list(
        session.scalars(
            select(WaitingListEntry).where(WaitingListEntry.case_id == case.id).order_by(WaitingListEntry.id)
        )
    )


def put_on_list(
    session: Session, case_reference: str, service_code: str, *, now: datetime, actor: str
) -> WaitingListEntry:
    """Put the case on the waiting list of a service with places; counting starts ``now``."""
    _aware(now)
    case = _case(session, case_reference)
    service = service_by_code(session, service_code, loc=("service_code",))
    if not service.active:
        _refuse("service_code", "service_inactive", f"{service.name} wordt niet meer aangeboden.")
    if service.capacity is None:
        _refuse(
            "service_code",
            "no_places",
            f"{service.name} heeft geen beperkt aantal plaatsen: een wachtlijst is er alleen voor "
            "diensten met plaatsen.",
        )
    already = session.scalar(
        select(WaitingListEntry.id).where(
            WaitingListEntry.case_id == case.id,
            WaitingListEntry.service_id == service.id,
            WaitingListEntry.status != WITHDRAWN,
        )
    )
    if already is not None:
        _refuse(
            "service_code",
            "already_listed",
            f"Dit dossier staat al op de wachtlijst van {service.name}: één keer per dienst.",
        )
    entry = WaitingListEntry(
        case_id=case.id,
        service_id=service.id,
        listed_at=now,
        status=WAITING,
        credited_days=0,
        counting_since=now,
        refusals_without_reason=0,
    )
    session.add(entry)
    session.flush()
    _event(
        session,
        case,
        entry,
        service,
        "waiting_list_added",
        f"Op de wachtlijst van {service.name} geplaatst; de wachtdagen tellen vanaf vandaag.",
        now=now,
        actor=actor,
    )
    return entry


def offer_and_refuse(
    session: Session,
    entry_id: int,
    *,
    valid_reason: bool,
    reason: str,
    now: datetime,
    actor: str,
    case_reference: str | None = None,
) -> WaitingListEntry:
    """A place was offered and refused. ``valid_reason``: the waiting-list managers' judgement."""
    _aware(now)
    reason = _text(reason, "reason", "reason_required", "Geef de reden van de weigering.")
    entry, case, service = _load(session, entry_id, case_reference)
    if entry.status != WAITING:
        _refuse(
            "entry",
            "not_waiting",
            f"Er kan geen plaats worden aangeboden: de aanvraag voor {service.name} is "
            f"{_status_nl(entry.status)}.",
        )
    if valid_reason:
        _event(
            session,
            case,
            entry,
            service,
            "waiting_list_refused_valid",
            f"Aangeboden plaats in {service.name} geweigerd met een geldige reden; de wachtdagen "
            f"blijven ongewijzigd ({waiting_days(entry, now)} dagen). Reden: {reason}",
            now=now,
            actor=actor,
        )
        return entry
    entry.refusals_without_reason += 1
    if entry.refusals_without_reason == 1:
        entry.credited_days = waiting_days(entry, now)
        entry.counting_since = None
        _event(
            session,
            case,
            entry,
            service,
            "waiting_list_on_hold",
            f"Aangeboden plaats in {service.name} geweigerd zonder geldige reden (eerste keer): de "
            f"wachtdagen staan on hold op {entry.credited_days} dagen. Gesprek met de toegang over "
            f"passende ondersteuning. Reden: {reason}",
            now=now,
            actor=actor,
        )
    else:
        entry.credited_days = 0
        entry.counting_since = None
        entry.status = TALK
        _event(
            session,
            case,
            entry,
            service,
            "waiting_list_reset",
            f"Aangeboden plaats in {service.name} opnieuw geweigerd zonder geldige reden "
            f"({entry.refusals_without_reason}e keer): de wachtdagen staan op nul. Gesprek over "
            f"alternatieven buiten {service.name}. Reden: {reason}",
            now=now,
            actor=actor,
        )
    session.flush()
    return entry


def resume_counting(
    session: Session, entry_id: int, *, now: datetime, actor: str, case_reference: str | None = None
) -> WaitingListEntry:
    """The talk found the service still fits: the waiting days count again from ``now``."""
    _aware(now)
    entry, case, service = _load(session, entry_id, case_reference)
    if not (entry.status == TALK or on_hold(entry)):
        _refuse(
            "entry",
            "not_on_hold",
            f"De wachtdagen voor {service.name} lopen niet stil (de aanvraag is {_status_nl(entry.status)}).",
        )
    entry.status = WAITING
    entry.counting_since = now
    session.flush()
    _event(
        session,
        case,
        entry,
        service,
        "waiting_list_resumed",
        f"{service.name} blijft passend na het gesprek: de wachtdagen tellen weer, vanaf "
        f"{entry.credited_days} dagen.",
        now=now,
        actor=actor,
    )
    return entry


def place(
    session: Session, entry_id: int, *, now: datetime, actor: str, case_reference: str | None = None
) -> WaitingListEntry:
    """The family takes a place; refused when every place of the service is taken."""
    _aware(now)
    entry, case, service = _load(session, entry_id, case_reference)
    if entry.status != WAITING:
        _refuse(
            "entry",
            "not_waiting",
            f"Plaatsen kan niet: de aanvraag voor {service.name} is {_status_nl(entry.status)}.",
        )
    # Serialise placements in one service (PostgreSQL; a no-op on SQLite, which serialises writers).
    session.scalar(select(Service.id).where(Service.id == service.id).with_for_update())
    taken = session.scalar(
        select(func.count())
        .select_from(WaitingListEntry)
        .where(WaitingListEntry.service_id == service.id, WaitingListEntry.status == PLACED)
    )
    capacity = service.capacity or 0
    if (taken or 0) >= capacity:
        _refuse(
            "entry",
            "capacity_full",
            f"Alle {capacity} plaatsen van {service.name} zijn bezet ({taken} van {capacity}).",
        )
    entry.credited_days = waiting_days(entry, now)
    entry.counting_since = None
    entry.status = PLACED
    session.flush()
    _event(
        session,
        case,
        entry,
        service,
        "waiting_list_placed",
        f"Geplaatst in {service.name} na {entry.credited_days} wachtdagen "
        f"({(taken or 0) + 1} van {capacity} plaatsen bezet).",
        now=now,
        actor=actor,
    )
    return entry


def set_bridging(
    session: Session,
    entry_id: int,
    *,
    bridging: str,
    now: datetime,
    actor: str,
    case_reference: str | None = None,
) -> WaitingListEntry:
    """Record the ambulant support arranged while waiting (replaces an earlier one)."""
    _aware(now)
    bridging = _text(
        bridging,
        "bridging",
        "bridging_required",
        "Beschrijf de overbruggende ambulante ondersteuning.",
        limit=MAX_BRIDGING,
    )
    entry, case, service = _load(session, entry_id, case_reference)
    if entry.status not in (WAITING, TALK):
        _refuse(
            "entry",
            "not_waiting",
            f"Overbrugging is voor wie wacht: de aanvraag voor {service.name} is {_status_nl(entry.status)}.",
        )
    first = entry.bridging is None
    entry.bridging = bridging
    session.flush()
    _event(
        session,
        case,
        entry,
        service,
        "waiting_list_bridging",
        f"Overbruggende ambulante ondersteuning tijdens het wachten op {service.name} "
        + ("vastgelegd." if first else "gewijzigd."),
        now=now,
        actor=actor,
    )
    return entry


def withdraw(
    session: Session,
    entry_id: int,
    *,
    reason: str,
    now: datetime,
    actor: str,
    case_reference: str | None = None,
) -> WaitingListEntry:
    """Take the case off the list, or end a placement (the place becomes free)."""
    _aware(now)
    reason = _text(reason, "reason", "reason_required", "Geef de reden.")
    entry, case, service = _load(session, entry_id, case_reference)
    if entry.status == WITHDRAWN:
        _refuse("entry", "already_withdrawn", f"De aanvraag voor {service.name} is al afgesloten.")
    was_placed = entry.status == PLACED
    if entry.counting_since is not None:
        entry.credited_days = waiting_days(entry, now)
        entry.counting_since = None
    entry.status = WITHDRAWN
    session.flush()
    summary = (
        f"Verblijf in {service.name} beëindigd; de plaats is vrij. Reden: {reason}"
        if was_placed
        else f"Van de wachtlijst van {service.name} gehaald. Reden: {reason}"
    )
    _event(session, case, entry, service, "waiting_list_withdrawn", summary, now=now, actor=actor)
    return entry


# --- helpers ---------------------------------------------------------------------------------


_STATUS_NL = {
    WAITING: "wachtend",
    PLACED: "al geplaatst",
    WITHDRAWN: "afgesloten",
    TALK: "in gesprek over alternatieven",
}


def _status_nl(status: str) -> str:
    return _STATUS_NL.get(status, status)


def _refuse(field: str, code: str, message: str) -> NoReturn:
    raise ValidationFailed([FieldProblem((field,), code, message)])


def _aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        _refuse("now", "naive_datetime", "Geef een tijdstip met tijdzone.")


def _text(value: str, field: str, code: str, message: str, *, limit: int = MAX_REASON) -> str:
    value = (value or "").strip()
    if len(value) < 3:
        _refuse(field, code, message)
    if len(value) > limit:
        _refuse(field, "too_long", f"Hoogstens {limit} tekens.")
    return value


def _case(session: Session, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        raise NotFound(reference)
    return case


def _load(
    session: Session, entry_id: int, case_reference: str | None
) -> tuple[WaitingListEntry, Case, Service]:
    entry = session.get(WaitingListEntry, entry_id)
    if entry is None:
        raise NotFound(f"waiting list entry {entry_id}")
    case = session.get_one(Case, entry.case_id)
    if case_reference is not None and case.reference != case_reference:
        raise NotFound(f"waiting list entry {entry_id}")
    return entry, case, session.get_one(Service, entry.service_id)


def _event(
    session: Session,
    case: Case,
    entry: WaitingListEntry,
    service: Service,
    kind: str,
    summary: str,
    *,
    now: datetime,
    actor: str,
) -> None:
    timeline.record(
        session,
        case,
        kind,
        summary[:500],
        data={
            "entry_id": entry.id,
            "service": service.code,
            "status": entry.status,
            "credited_days": entry.credited_days,
            "refusals_without_reason": entry.refusals_without_reason,
        },
        actor=actor,
        at=now,
    )
