"""The catalogue, its tariffs, the service-fit check and the waiting list (thin: the rules live in
``zorgtafel.catalogue``, ``zorgtafel.rules.fit`` and ``zorgtafel.waiting_list``).

Money crosses this edge as decimal strings in euros ("56.00"); inside it is integer cents.
The service-fit facts are used for one answer and stored nowhere.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from api.security import Principal, allow, visible_case
from zorgtafel import catalogue, waiting_list
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Service, WaitingListEntry
from zorgtafel.rules.fit import Education, FitFacts, Verdict
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import Role

router = APIRouter(prefix="/api/v1", tags=["catalogue"])
CENT = Decimal("0.01")

Euros = Annotated[Decimal, Field(max_digits=12, decimal_places=2, examples=["56.00"])]
Region = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=250)]


def euros(cents: int | None) -> str | None:
    return None if cents is None else str((Decimal(cents) / 100).quantize(CENT))


def cents(amount: Decimal | None) -> int | None:
    # Two decimal places at most (checked by the schema): exact.
    return None if amount is None else int(amount.scaleb(2))


# --- catalogue and tariffs -------------------------------------------------------------------


class TariffOut(BaseModel):
    region: str
    year: int = Field(description="The year the tariff was set for.")
    requested_year: int
    fallback: bool = Field(description="True when an earlier year's tariff applies.")
    currency: str = "EUR"
    amount: str = Field(description="Euros, e.g. '56.00'; the low end of a range.")
    max_amount: str | None = Field(None, description="The high end of a range (e.g. ambulant support).")


class ServiceOut(BaseModel):
    code: str
    name: str
    description: str
    unit: str
    residential: bool = Field(description="Counts against the 50% verblijf cap of a case budget.")
    tracks: list[str]
    max_units: int | None
    capacity: int | None
    active: bool
    tariff: TariffOut | None


class TariffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Euros = Field(description="Euros per unit, as a decimal string ('56.00').")
    max_amount: Euros | None = Field(None, description="High end of a range, when the tariff is one.")
    region: Region | None = Field(None, description="By default the region of this installation.")


def _tariff_out(quote: catalogue.TariffQuote | None) -> TariffOut | None:
    if quote is None:
        return None
    return TariffOut(
        region=quote.region,
        year=quote.year,
        requested_year=quote.requested_year,
        fallback=quote.fallback,
        amount=euros(quote.amount_cents) or "",
        max_amount=euros(quote.max_amount_cents),
    )


def _service_out(service: Service, quote: catalogue.TariffQuote | None) -> ServiceOut:
    return ServiceOut(
        code=service.code,
        name=service.name,
        description=service.description,
        unit=service.unit,
        residential=service.residential,
        tracks=list(service.tracks),
        max_units=service.max_units,
        capacity=service.capacity,
        active=service.active,
        tariff=_tariff_out(quote),
    )


def _this_year(settings: Settings) -> int:
    return utcnow().astimezone(settings.tz).year


@router.get(
    "/services",
    response_model=list[ServiceOut],
    summary="The catalogue with current tariffs",
    dependencies=[allow(Role.REGISTRANT, Role.CASE_MANAGER, Role.COORDINATOR, Role.ADMIN)],
)
def list_services(
    session: SessionDep,
    settings: SettingsDep,
    region: Annotated[str | None, Query(max_length=64)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[ServiceOut]:
    items = catalogue.list_catalogue(session, region or settings.region, year or _this_year(settings))
    return [_service_out(i.service, i.tariff) for i in items]


@router.put(
    "/services/{code}/tariffs/{year}",
    response_model=TariffOut,
    summary="Set a service's tariff for a year (and region)",
)
def put_tariff(
    code: str,
    year: int,
    body: TariffIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.ADMIN, Role.COORDINATOR)],
) -> TariffOut:
    region = body.region or settings.region
    if principal.role == Role.COORDINATOR and region != principal.region:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "Een coördinator zet alleen tarieven voor de eigen regio."
        )
    with session.begin():
        catalogue.set_tariff(session, code, region, year, cents(body.amount) or 0, cents(body.max_amount))
        quote = catalogue.tariff_for(session, code, region, year)
    out = _tariff_out(quote)
    assert out is not None
    return out


# --- service fit -----------------------------------------------------------------------------


class FitIn(BaseModel):
    """The facts the case does not hold. Leave out what is unknown. Nothing of it is stored."""

    model_config = ConfigDict(extra="forbid")
    assessed_on: date | None = Field(None, description="The day to judge on; by default today.")
    pregnancy_weeks_at_start: int | None = Field(None, ge=0, le=45)
    first_child: bool | None = None
    mother_age: int | None = Field(None, ge=10, le=70)
    mother_education: Education | None = Field(None, description="Highest completed education.")
    mother_speaks_dutch: bool | None = None
    family_accepts_help: bool | None = None
    family_motivated: bool | None = None
    in_intramural_living: bool | None = Field(
        None, description="The parent lives in intramural beschermd or begeleid wonen now."
    )
    product_ended_on: date | None = Field(
        None, description="When beschermd or begeleid wonen ended (or ends), for nazorg."
    )
    nazorg_hours_used: Annotated[Decimal, Field(ge=0, le=1000, decimal_places=2)] | None = None
    child_zevmb: bool | None = Field(None, description="Severe multiple disabilities (ZEVMB).")


class FitOut(BaseModel):
    code: str
    name: str
    verdict: Verdict
    reasons: list[str]


class ServiceFitOut(BaseModel):
    assessed_on: date
    services: list[FitOut]


@router.post(
    "/cases/{reference}/service-fit",
    response_model=ServiceFitOut,
    summary="Which services fit this family (verdict and reasons per service; stores nothing)",
)
def service_fit(
    reference: str,
    body: FitIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> ServiceFitOut:
    with session.begin():
        visible_case(session, principal, reference, action="read", request=request)
    today = utcnow().astimezone(settings.tz).date()
    facts = FitFacts(**body.model_dump())
    answers = catalogue.fit_for_case(session, reference, facts, tz=settings.tz, today=today)
    return ServiceFitOut(
        assessed_on=body.assessed_on or today,
        services=[
            FitOut(code=s.code, name=s.name, verdict=f.verdict, reasons=list(f.reasons)) for s, f in answers
        ],
    )


# --- waiting list ----------------------------------------------------------------------------


class WaitingEntryOut(BaseModel):
    id: int
    service_code: str
    service_name: str
    status: str = Field(description="waiting | placed | talk | withdrawn")
    on_hold: bool = Field(description="Waiting days stand still after a refusal without a valid reason.")
    waiting_days: int
    refusals_without_reason: int
    listed_at: datetime
    bridging: str | None = Field(description="The ambulant support arranged while waiting.")


class ListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class RefusalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    valid_reason: bool = Field(description="The waiting-list managers judged the reason valid.")
    reason: Reason


class BridgingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bridging: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


def _entry_out(session: Session, entry: WaitingListEntry, settings: Settings) -> WaitingEntryOut:
    service = session.get_one(Service, entry.service_id)
    return WaitingEntryOut(
        id=entry.id,
        service_code=service.code,
        service_name=service.name,
        status=entry.status,
        on_hold=waiting_list.on_hold(entry),
        waiting_days=waiting_list.waiting_days(entry, utcnow()),
        refusals_without_reason=entry.refusals_without_reason,
        listed_at=entry.listed_at.astimezone(settings.tz),
        bridging=entry.bridging,
    )


PREFIX = "/cases/{reference}/waiting-list"


@router.get(PREFIX, response_model=list[WaitingEntryOut], summary="The case's waiting-list entries")
def list_entries(
    reference: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> list[WaitingEntryOut]:
    visible_case(session, principal, reference, action="read", request=request)
    return [_entry_out(session, e, settings) for e in waiting_list.entries_for_case(session, reference)]


@router.post(
    PREFIX,
    response_model=WaitingEntryOut,
    status_code=status.HTTP_201_CREATED,
    summary="Put the case on a service's waiting list (services with places only; once per service)",
)
def put_on_list(
    reference: str,
    body: ListIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> WaitingEntryOut:
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        entry = waiting_list.put_on_list(
            session, reference, body.service_code, now=utcnow(), actor=principal.actor
        )
        return _entry_out(session, entry, settings)


@router.post(
    PREFIX + "/{entry_id}/refusals",
    response_model=WaitingEntryOut,
    summary="An offered place was refused (with or without a valid reason)",
)
def refuse(
    reference: str,
    entry_id: int,
    body: RefusalIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> WaitingEntryOut:
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        entry = waiting_list.offer_and_refuse(
            session,
            entry_id,
            valid_reason=body.valid_reason,
            reason=body.reason,
            now=utcnow(),
            actor=principal.actor,
            case_reference=reference,
        )
        return _entry_out(session, entry, settings)


@router.post(
    PREFIX + "/{entry_id}/resume",
    response_model=WaitingEntryOut,
    summary="After the talk the service still fits: waiting days count again",
)
def resume(
    reference: str,
    entry_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> WaitingEntryOut:
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        entry = waiting_list.resume_counting(
            session, entry_id, now=utcnow(), actor=principal.actor, case_reference=reference
        )
        return _entry_out(session, entry, settings)


@router.post(
    PREFIX + "/{entry_id}/placement",
    response_model=WaitingEntryOut,
    summary="The family takes a place (refused when every place is taken)",
)
def place(
    reference: str,
    entry_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> WaitingEntryOut:
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        entry = waiting_list.place(
            session, entry_id, now=utcnow(), actor=principal.actor, case_reference=reference
        )
        return _entry_out(session, entry, settings)


@router.put(
    PREFIX + "/{entry_id}/bridging",
    response_model=WaitingEntryOut,
    summary="The ambulant support that bridges the wait",
)
def set_bridging(
    reference: str,
    entry_id: int,
    body: BridgingIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> WaitingEntryOut:
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        entry = waiting_list.set_bridging(
            session,
            entry_id,
            bridging=body.bridging,
            now=utcnow(),
            actor=principal.actor,
            case_reference=reference,
        )
        return _entry_out(session, entry, settings)


@router.post(
    PREFIX + "/{entry_id}/withdrawal",
    response_model=WaitingEntryOut,
    summary="Off the list, or the stay ended (a placed entry frees its place)",
)
def withdraw(
    reference: str,
    entry_id: int,
    body: WithdrawIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> WaitingEntryOut:
    with session.begin():
        visible_case(session, principal, reference, action="change", request=request)
        entry = waiting_list.withdraw(
            session,
            entry_id,
            reason=body.reason,
            now=utcnow(),
            actor=principal.actor,
            case_reference=reference,
        )
        return _entry_out(session, entry, settings)
