"""The catalogue of services a zorgtafel chooses from or refers to, and their tariffs.

Use cases on the database (each runs inside the caller's unit of work; none commits):

- ``seed_catalogue`` writes ``catalogue_data.SERVICES`` and their default tariffs;
- ``set_tariff`` records a coordinator's tariff for a region and year;
- ``tariff_for`` finds the tariff that applies in a year, falling back to an earlier one;
- ``list_catalogue`` gives the services with the tariff that applies;
- ``fit_for_case`` answers "which services fit this family" from the case and the facts asked.

Decisions:

- **Seeding is an upsert by code.** The facts of a service (name, description, unit,
  residential, tracks, maximum, capacity) follow ``catalogue_data``, so a correction there
  reaches every installation on the next seed; ``active`` is left as an installation set it.
  Tariffs are only *added* for (service, region, year) when none exists: a tariff a
  coordinator changed is never overwritten. Services no longer in the data are left alone.
- **Tariffs are per region and year**, in integer cents (a range as amount .. max amount).
  ``tariff_for`` uses the requested year, else the latest earlier year of the same region (a
  2023 tariff applies in 2026 until a 2026 one is set), and says which year it used. A later
  year never applies to an earlier one. Without any, there is no tariff (``None``).
- **Money** is integer cents here; euros as ``Decimal`` only at the edges (the API).
- **The fit check stores nothing.** The facts asked are personal data: they are used for one
  answer and dropped, never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from zorgtafel.catalogue_data import DEFAULT_TARIFF_YEAR, SERVICES
from zorgtafel.db.models import Case, Service, Tariff
from zorgtafel.errors import FieldProblem, NotFound, ValidationFailed
from zorgtafel.rules.fit import Fit, FitFacts, assess

log = logging.getLogger(__name__)

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_AMOUNT_CENTS = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL


@dataclass(frozen=True)
class TariffQuote:
    """The tariff that applies: ``year`` is the year it was set for (maybe earlier than asked)."""

    service_code: str
    region: str
    requested_year: int
    year: int
    amount_cents: int
    max_amount_cents: int | None

    @property
    def fallback(self) -> bool:
        return self.year != self.requested_year


@dataclass(frozen=True)
class CatalogueItem:
    service: Service
    tariff: TariffQuote | None


# --- seeding ---------------------------------------------------------------------------------


def seed_catalogue(session: Session, region: str, year: int = DEFAULT_TARIFF_YEAR) -> dict[str, int]:
    """Write the catalogue and its default tariffs for ``region`` and ``year``. Idempotent."""
    existing = {s.code: s for s in session.scalars(select(Service))}
    added = updated = tariffs_added = 0
    for spec in SERVICES:
        facts = {
            "name": spec.name,
            "description": spec.description,
            "unit": spec.unit.value,
            "residential": spec.residential,
            "tracks": [t.value for t in spec.tracks],
            "max_units": spec.max_units,
            "capacity": spec.capacity,
        }
        service = existing.get(spec.code)
        if service is None:
            service = Service(code=spec.code, active=True, **facts)
            session.add(service)
            existing[spec.code] = service
            added += 1
        elif any(getattr(service, k) != v for k, v in facts.items()):
            for k, v in facts.items():
                setattr(service, k, v)
            updated += 1
    session.flush()
    have = set(session.scalars(select(Tariff.service_id).where(Tariff.region == region, Tariff.year == year)))
    for spec in SERVICES:
        service = existing[spec.code]
        if spec.tariff is not None and service.id not in have:
            session.add(
                Tariff(
                    service_id=service.id,
                    region=region,
                    year=year,
                    amount_cents=spec.tariff.amount_cents,
                    max_amount_cents=spec.tariff.max_amount_cents,
                )
            )
            tariffs_added += 1
    session.flush()
    return {
        "services": len(SERVICES),
        "services_added": added,
        "services_updated": updated,
        "tariffs_added": tariffs_added,
    }


def seed_demo_catalogue(session: Session, region: str) -> dict[str, int]:
    """The catalogue for the demo stack (``zorgtafel seed`` / ``make run``): the 2023 defaults."""
    return seed_catalogue(session, region)


# --- services and tariffs --------------------------------------------------------------------


def service_by_code(session: Session, code: str, *, loc: tuple[str | int, ...] = ("code",)) -> Service:
    """The service with this code; an unknown code is refused, naming the field."""
    service = session.scalar(select(Service).where(Service.code == code))
    if service is None:
        raise ValidationFailed([FieldProblem(loc, "unknown_service", f"Onbekende dienst '{code}'.")])
    return service


def set_tariff(
    session: Session,
    code: str,
    region: str,
    year: int,
    amount_cents: int,
    max_amount_cents: int | None = None,
) -> Tariff:
    """Record the tariff of a service for a region and year (a new one, or a change)."""
    problems: list[FieldProblem] = []
    service = session.scalar(select(Service).where(Service.code == code))
    if service is None:
        problems.append(FieldProblem(("code",), "unknown_service", f"Onbekende dienst '{code}'."))
    if not region.strip():
        problems.append(FieldProblem(("region",), "region_required", "Geef de regio van het tarief."))
    if not MIN_YEAR <= year <= MAX_YEAR:
        problems.append(
            FieldProblem(
                ("year",), "year_out_of_range", f"Het jaar moet tussen {MIN_YEAR} en {MAX_YEAR} liggen."
            )
        )
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        problems.append(
            FieldProblem(("amount",), "not_positive", "Het tarief moet een bedrag groter dan nul zijn.")
        )
    elif amount_cents > MAX_AMOUNT_CENTS:
        problems.append(FieldProblem(("amount",), "too_large", "Het tarief is te groot."))
    elif max_amount_cents is not None:
        if isinstance(max_amount_cents, bool) or not isinstance(max_amount_cents, int):
            problems.append(FieldProblem(("max_amount",), "not_a_number", "Geef het maximum als bedrag."))
        elif max_amount_cents < amount_cents:
            problems.append(
                FieldProblem(
                    ("max_amount",),
                    "range_inverted",
                    "Het maximum van de tariefvork is kleiner dan het minimum.",
                )
            )
        elif max_amount_cents > MAX_AMOUNT_CENTS:
            problems.append(FieldProblem(("max_amount",), "too_large", "Het maximum is te groot."))
    if problems:
        raise ValidationFailed(problems)
    assert service is not None
    tariff = session.scalar(
        select(Tariff).where(Tariff.service_id == service.id, Tariff.region == region, Tariff.year == year)
    )
    if tariff is None:
        tariff = Tariff(service_id=service.id, region=region, year=year)
        session.add(tariff)
    tariff.amount_cents = amount_cents
    tariff.max_amount_cents = max_amount_cents
    session.flush()
    log.info("tariff set: service=%s region=%s year=%s", code, region, year)
    return tariff


def _quote(code: str, region: str, requested: int, tariff: Tariff) -> TariffQuote:
    return TariffQuote(
        service_code=code,
        region=region,
        requested_year=requested,
        year=tariff.year,
        amount_cents=tariff.amount_cents,
        max_amount_cents=tariff.max_amount_cents,
    )


def tariff_for(session: Session, code: str, region: str, year: int) -> TariffQuote | None:
    """The tariff of ``year``, else of the latest earlier year in the region; ``None`` if none."""
    service = service_by_code(session, code)
    tariff = session.scalar(
        select(Tariff)
        .where(Tariff.service_id == service.id, Tariff.region == region, Tariff.year <= year)
        .order_by(Tariff.year.desc())
        .limit(1)
    )
    return None if tariff is None else _quote(code, region, year, tariff)


def list_catalogue(
    session: Session, region: str, year: int, *, include_inactive: bool = False
) -> list[CatalogueItem]:
    """Every (active) service, in catalogue order, with the tariff that applies in ``year``."""
    query = select(Service).order_by(Service.id)
    if not include_inactive:
        query = query.where(Service.active.is_(True))
    services = list(session.scalars(query))
    latest: dict[int, Tariff] = {}
    for tariff in session.scalars(
        select(Tariff).where(Tariff.region == region, Tariff.year <= year).order_by(Tariff.year)
    ):
        latest[tariff.service_id] = tariff  # ordered by year: the last one wins
    return [
        CatalogueItem(s, _quote(s.code, region, year, latest[s.id]) if s.id in latest else None)
        for s in services
    ]


# --- which services fit ----------------------------------------------------------------------


def fit_for_case(
    session: Session, case_reference: str, facts: FitFacts, *, tz: ZoneInfo, today: date | None = None
) -> list[tuple[Service, Fit]]:
    """Every active service with its verdict for this case. The case gives the registration day
    and the child's dates; ``facts`` the rest. Nothing is stored.

    The fit is judged on ``facts.assessed_on``, else ``today`` (the caller's clock), else the
    registration day.
    """
    case = session.scalar(select(Case).where(Case.reference == case_reference))
    if case is None:
        raise NotFound(case_reference)
    complete = replace(
        facts,
        registered_on=_local_date(case.registered_at, tz),
        assessed_on=facts.assessed_on or today,
        birth_date=case.birth_date,
        expected_delivery_date=case.expected_delivery_date,
    )
    services = list(session.scalars(select(Service).where(Service.active.is_(True)).order_by(Service.id)))
    fits = assess(complete, [s.code for s in services])
    return list(zip(services, fits, strict=True))


def _local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()
