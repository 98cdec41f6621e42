"""The rules of the case-bound budget (casusgebonden middelen), as plain functions over plain data:
a list of ledger entries and the budget's figures in, totals or refusals out. The database, the
locking and the timeline are ``zorgtafel.budget``'s business.

Decisions (domain.md, seed 004; see also ``zorgtafel.budget``):

- The ledger is append-only. A correction is a *reversal* entry that cancels one earlier
  commitment or spend in full; history is never rewritten. A reversal cannot itself be reversed
  (book again instead) and an entry can be reversed once.
- The caps apply to *commitments* (what is booked): committed <= total granted, and residential
  (verblijf) committed <= 50% of the total granted, rounded down to the cent. The total granted is
  the original budget plus the extension once granted, and the cap is checked at every booking.
- Spend may not exceed what is committed for that service; so spend never exceeds the caps either.
- A reversal of a commitment is refused when the spend on that service would then exceed the
  remaining commitment. A reversal of a spend is always possible.
- No booking outside the term: from the plan's ``starts_on`` to ``term_ends_on`` inclusive, and to
  ``extended_until`` once extended. A reversal is dated on the entry it cancels and is not bound
  to the term or the plan's status (a correction must stay possible after the term).
- Bookings need an active plan on the case-budget track.
- The extension: once, only while the plan is active and on the case-budget track, gives
  ``granted // 2`` (half, rounded down to the cent) and 3 more months: ``extended_until`` is the
  last day of 3 months that start the day after ``term_ends_on``. That is ``term_ends_on + 3
  months``, except that a first term ending on a short month's last day extends to a month-end
  (28 Feb -> 31 May, not 28 May), so the extension is never shorter than 3 months.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from zorgtafel.rules.eligibility import add_months
from zorgtafel.rules.money import format_eur

COMMITMENT = "commitment"
SPEND = "spend"
REVERSAL = "reversal"
BOOKING_KINDS = (COMMITMENT, SPEND)
CASE_BUDGET_TRACK = "case_budget"
EXTENSION_MONTHS = 3
RESIDENTIAL_CAP_PERCENT = 50


@dataclass(frozen=True)
class Entry:
    """One ledger line as the rules see it."""

    id: int
    kind: str  # commitment | spend | reversal
    service_id: int
    residential: bool
    amount_cents: int
    occurs_on: date
    reverses_id: int | None = None


@dataclass(frozen=True)
class Figures:
    """The budget and the plan around it, as far as the rules need them."""

    granted_cents: int
    extension_cents: int = 0
    starts_on: date | None = None
    term_ends_on: date | None = None
    extended_until: date | None = None
    plan_active: bool = True
    track: str = CASE_BUDGET_TRACK

    @property
    def total_granted_cents(self) -> int:
        return self.granted_cents + self.extension_cents

    @property
    def residential_cap_cents(self) -> int:
        return residential_cap(self.total_granted_cents)

    @property
    def term_last_day(self) -> date | None:
        return self.extended_until or self.term_ends_on

    @property
    def extended(self) -> bool:
        return self.extended_until is not None or self.extension_cents > 0


@dataclass(frozen=True)
class Booking:
    """A commitment or spend that someone wants to book."""

    kind: str  # commitment | spend
    service_id: int
    residential: bool
    amount_cents: int
    occurs_on: date
    service_label: str = "deze dienst"  # for the message only


@dataclass(frozen=True)
class Refusal:
    rule: str
    message_nl: str
    excess_cents: int | None = None  # by how much a cap would be broken, where it is money


@dataclass(frozen=True)
class ServiceTotals:
    committed_cents: int = 0
    spent_cents: int = 0


@dataclass(frozen=True)
class Totals:
    committed_cents: int
    spent_cents: int
    residential_committed_cents: int
    residential_spent_cents: int
    per_service: dict[int, ServiceTotals] = field(default_factory=dict)
    reversed_by: dict[int, int] = field(default_factory=dict)  # entry id -> id of its reversal

    def for_service(self, service_id: int) -> ServiceTotals:
        return self.per_service.get(service_id, ServiceTotals())


def residential_cap(total_granted_cents: int) -> int:
    """At most 50% of what was granted, rounded down to the cent."""
    return total_granted_cents * RESIDENTIAL_CAP_PERCENT // 100


def totals(entries: Iterable[Entry]) -> Totals:
    """What is committed and spent, overall, for verblijf and per service; reversals subtract
    the entry they cancel."""
    entries = list(entries)
    by_id = {e.id: e for e in entries}
    committed = spent = res_committed = res_spent = 0
    per: dict[int, list[int]] = {}
    reversed_by: dict[int, int] = {}
    for e in entries:
        sign = 1
        kind = e.kind
        if e.kind == REVERSAL:
            assert e.reverses_id is not None
            reversed_by[e.reverses_id] = e.id
            original = by_id.get(e.reverses_id)
            if original is None:  # pragma: no cover - a reversal always points into its own ledger
                continue
            sign, kind = -1, original.kind
        amount = sign * e.amount_cents
        bucket = per.setdefault(e.service_id, [0, 0])
        if kind == COMMITMENT:
            committed += amount
            bucket[0] += amount
            if e.residential:
                res_committed += amount
        elif kind == SPEND:
            spent += amount
            bucket[1] += amount
            if e.residential:
                res_spent += amount
    return Totals(
        committed_cents=committed,
        spent_cents=spent,
        residential_committed_cents=res_committed,
        residential_spent_cents=res_spent,
        per_service={k: ServiceTotals(c, s) for k, (c, s) in per.items()},
        reversed_by=reversed_by,
    )


def _d(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def _days(n: int) -> str:
    return "1 dag" if n == 1 else f"{n} dagen"


def check_plan(figures: Figures) -> list[Refusal]:
    """``plan_not_active`` or ``not_budget_track`` when nothing may be booked on this plan."""
    if not figures.plan_active:
        return [Refusal("plan_not_active", "Het zorgplan is afgesloten: er kan niets meer geboekt worden.")]
    if figures.track != CASE_BUDGET_TRACK:
        return [
            Refusal(
                "not_budget_track",
                "Het zorgplan volgt geen traject met casusgebonden middelen: er is geen budget om op "
                "te boeken.",
            )
        ]
    return []


def check_term(figures: Figures, day: date) -> Refusal | None:
    """``outside_term`` when ``day`` is not within the term (the extension included once granted)."""
    first, last = figures.starts_on, figures.term_last_day
    if first is None or last is None:
        return Refusal("outside_term", "Het zorgplan heeft (nog) geen termijn: er kan niets geboekt worden.")
    span = f"{_d(first)} t/m {_d(last)}"
    if day < first:
        return Refusal(
            "outside_term",
            f"De datum {_d(day)} valt vóór de termijn ({span}): {_days((first - day).days)} te vroeg.",
        )
    if day > last:
        hint = "" if figures.extended else " Verleng het budget eerst (eenmaal mogelijk)."
        return Refusal(
            "outside_term",
            f"De datum {_d(day)} valt na de termijn ({span}): {_days((day - last).days)} te laat.{hint}",
        )
    return None


def check_booking(figures: Figures, entries: Iterable[Entry], booking: Booking) -> list[Refusal]:
    """Every rule the booking would break (empty: it may be booked)."""
    refusals = check_plan(figures)
    if refusals:
        return refusals
    if booking.kind not in BOOKING_KINDS:
        return [
            Refusal("invalid_kind", "Kies als soort boeking 'commitment' (vastlegging) of 'spend' (uitgave).")
        ]
    if booking.amount_cents <= 0:
        return [Refusal("invalid_amount", "Het bedrag moet groter zijn dan € 0,00.")]
    if (term := check_term(figures, booking.occurs_on)) is not None:
        refusals.append(term)
    now = totals(entries)
    if booking.kind == COMMITMENT:
        total = figures.total_granted_cents
        would_be = now.committed_cents + booking.amount_cents
        if would_be > total:
            excess = would_be - total
            refusals.append(
                Refusal(
                    "budget_exceeded",
                    f"Vastgelegd zou {format_eur(would_be)} zijn, toegekend is {format_eur(total)}: "
                    f"{format_eur(excess)} te veel.",
                    excess,
                )
            )
        if booking.residential:
            cap = figures.residential_cap_cents
            would_be = now.residential_committed_cents + booking.amount_cents
            if would_be > cap:
                excess = would_be - cap
                refusals.append(
                    Refusal(
                        "residential_cap_exceeded",
                        f"Verblijf zou {format_eur(would_be)} zijn, max. {RESIDENTIAL_CAP_PERCENT}% = "
                        f"{format_eur(cap)}: {format_eur(excess)} te veel.",
                        excess,
                    )
                )
    else:
        service = now.for_service(booking.service_id)
        would_be = service.spent_cents + booking.amount_cents
        if would_be > service.committed_cents:
            excess = would_be - service.committed_cents
            refusals.append(
                Refusal(
                    "spend_exceeds_commitment",
                    f"Uitgaven voor {booking.service_label} zouden {format_eur(would_be)} zijn, vastgelegd "
                    f"is {format_eur(service.committed_cents)}: {format_eur(excess)} te veel.",
                    excess,
                )
            )
    return refusals


def check_reversal(
    entries: Iterable[Entry], entry_id: int, *, service_label: str = "deze dienst"
) -> list[Refusal]:
    """Every rule a reversal of ``entry_id`` would break (empty: it may be reversed)."""
    entries = list(entries)
    target = next((e for e in entries if e.id == entry_id), None)
    if target is None:
        return [Refusal("unknown_entry", f"Boeking {entry_id} bestaat niet in dit budget.")]
    if target.kind == REVERSAL:
        return [
            Refusal(
                "reversal_of_reversal",
                f"Boeking {entry_id} is zelf een correctie en kan niet gecorrigeerd worden; boek opnieuw.",
            )
        ]
    now = totals(entries)
    if entry_id in now.reversed_by:
        return [
            Refusal(
                "already_reversed",
                f"Boeking {entry_id} werd al gecorrigeerd (correctie {now.reversed_by[entry_id]}).",
            )
        ]
    if target.kind == COMMITMENT:
        service = now.for_service(target.service_id)
        remaining = service.committed_cents - target.amount_cents
        if service.spent_cents > remaining:
            excess = service.spent_cents - remaining
            return [
                Refusal(
                    "reversal_breaks_spend",
                    f"Na deze correctie zou voor {service_label} {format_eur(remaining)} vastgelegd zijn, "
                    f"maar er is al {format_eur(service.spent_cents)} uitgegeven: {format_eur(excess)} te "
                    "veel. Corrigeer eerst de uitgaven.",
                    excess,
                )
            ]
    return []


def check_extension(figures: Figures) -> list[Refusal]:
    """Every rule an extension would break (empty: it may be granted)."""
    refusals = check_plan(figures)
    if refusals:
        return refusals
    if figures.extended:
        until = f" (tot {_d(figures.extended_until)})" if figures.extended_until else ""
        return [
            Refusal(
                "second_extension",
                f"Het budget werd al eenmaal verlengd{until}; een tweede verlenging is niet toegestaan.",
            )
        ]
    if figures.term_ends_on is None:
        return [Refusal("outside_term", "Het zorgplan heeft (nog) geen termijn om te verlengen.")]
    return []


def extension_cents(granted_cents: int) -> int:
    """The extension's budget: half the original, rounded down to the cent."""
    return granted_cents // 2


def extended_until(term_ends_on: date, months: int = EXTENSION_MONTHS) -> date:
    """The last day of the extension: ``months`` months after the first term, inclusive."""
    return add_months(term_ends_on + timedelta(days=1), months) - timedelta(days=1)
