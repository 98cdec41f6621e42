"""Target-group screening of a registration (domain.md, 'The route' step 1)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from zorgtafel.vocabulary import Willingness


@dataclass(frozen=True)
class Finding:
    code: str
    message: str  # Dutch, shown to the registrant


@dataclass(frozen=True)
class Screening:
    eligible: bool
    reasons: tuple[Finding, ...] = ()  # why not eligible
    notes: tuple[Finding, ...] = field(default=())  # recorded, not a rejection


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def screen(
    *,
    registered_on: date,
    birth_date: date | None,
    expected_delivery_date: date | None,
    placement_threatened: bool,
    willingness: Willingness,
    concern_count: int,
    max_age_months: int = 36,
    max_months_before_birth: int = 9,
) -> Screening:
    """Decide whether a registration belongs to the crisis route's target group.

    Input that cannot be true (a birth date in the future, a delivery date in the past) is
    refused earlier, by validation; this function only decides on plausible facts.
    """
    reasons: list[Finding] = []
    notes: list[Finding] = []
    if birth_date is not None:
        limit = add_months(birth_date, max_age_months)
        if registered_on > limit:
            reasons.append(
                Finding(
                    "age_above_limit",
                    f"Het kind is ouder dan {max_age_months // 12} jaar; de crisisroute is er voor "
                    f"kinderen van {max_months_before_birth} maanden voor de geboorte tot "
                    f"{max_age_months // 12} jaar.",
                )
            )
    elif expected_delivery_date is not None:
        # Forward from the registration, as the message says: going back from the delivery
        # date would let month-end clamping pass a date just over the limit.
        if expected_delivery_date > add_months(registered_on, max_months_before_birth):
            reasons.append(
                Finding(
                    "pregnancy_too_early",
                    f"De verwachte bevallingsdatum ligt meer dan {max_months_before_birth} maanden "
                    f"na de aanmelding; de crisisroute start vanaf {max_months_before_birth} maanden "
                    "voor de geboorte.",
                )
            )
    if not placement_threatened:
        reasons.append(
            Finding(
                "no_threatened_placement",
                "Er dreigt geen uithuisplaatsing; de crisisroute is er voor gezinnen waar de "
                "veiligheid thuis ook met het netwerk niet gegarandeerd kan worden.",
            )
        )
    if willingness is Willingness.NONE:
        notes.append(
            Finding(
                "no_willingness",
                "De ouders tonen (nog) geen bereidheid; de zorgtafel bespreekt hoe die te winnen is.",
            )
        )
    if concern_count == 1:
        notes.append(
            Finding(
                "single_concern",
                "Slechts één zorg aangeduid; de doelgroep is een multifactoriële precaire situatie.",
            )
        )
    return Screening(eligible=not reasons, reasons=tuple(reasons), notes=tuple(notes))
