"""The Werf 2 pool, managed by coordinators: expertise vocabulary, concern -> expertise map, experts,
absences, busy time and availability feeds (issue 3). Thin: every rule is in the core
(``zorgtafel.pool_admin``, ``zorgtafel.availability``); a refusal is a 422 with the field and the rule.
Times are shown in the region's zone with their offset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from api.schemas_pool import (
    AbsenceIn,
    AbsenceOut,
    AgencyRef,
    BusyIn,
    BusyOut,
    ConcernMapIn,
    ConcernMapOut,
    ExpertIn,
    ExpertiseIn,
    ExpertiseOut,
    ExpertisePatch,
    ExpertOut,
    ExpertPatch,
    FeedStatusOut,
    FeedSyncOut,
    FeedUrlIn,
)
from api.security import allow
from notifications.availability_fetch import sync_expert
from zorgtafel import availability, pool_admin
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Expert, ExpertiseTerm
from zorgtafel.errors import NotFound, ValidationFailed
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import CONCERN_LABELS_NL, Concern, Role

router = APIRouter(prefix="/api/v1/pool", tags=["pool"])

COORDINATOR = [allow(Role.COORDINATOR)]
READERS = [allow(Role.COORDINATOR, Role.ADMIN)]
CALENDAR_TYPES = {"text/calendar", "text/plain", "application/octet-stream"}
# Row ids are 32-bit integers on PostgreSQL; a larger number is no id (422, not a database error).
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


@contextmanager
def _not_found(what: str) -> Iterator[None]:
    try:
        yield
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} niet gevonden.") from None


def _local(value: datetime | None, settings: Settings) -> datetime | None:
    return value.astimezone(settings.tz) if value is not None else None


def _expertise_out(term: ExpertiseTerm, settings: Settings) -> ExpertiseOut:
    return ExpertiseOut(
        code=term.code,
        label=term.label,
        active=term.active,
        created_at=term.created_at.astimezone(settings.tz),
    )


def _concern_out(concern: str, codes: list[str]) -> ConcernMapOut:
    known = {c.value: c for c in Concern}
    label = CONCERN_LABELS_NL[known[concern]] if concern in known else concern
    return ConcernMapOut(concern=concern, label=label, expertise=sorted(codes))


def _experts_out(session: Session, experts: list[Expert], settings: Settings) -> list[ExpertOut]:
    ids = [e.id for e in experts]
    now = utcnow()
    absences = pool_admin.absence_counts(session, ids)
    busy = pool_admin.busy_counts(session, ids, after=now)
    return [
        ExpertOut(
            id=e.id,
            agency=AgencyRef(code=e.agency.code, name=e.agency.name),
            name=e.name,
            email=e.email,
            phone=e.phone,
            expertise=list(e.expertise or []),
            meeting_hours=e.meeting_hours,
            weekly_cap=e.weekly_cap,
            effective_weekly_cap=e.weekly_cap or settings.default_weekly_cap,
            active=e.active,
            last_invited_at=_local(e.last_invited_at, settings),
            absences=absences.get(e.id, 0),
            entered_busy_periods=busy.get((e.id, "entered"), 0),
            availability_feed=FeedStatusOut(
                url=pool_admin.mask_feed_url(e.availability_feed_url),
                synced_at=_local(e.availability_synced_at, settings),
                error=e.availability_error,
                busy_periods=busy.get((e.id, "feed"), 0),
            ),
        )
        for e in experts
    ]


def _expert(session: Session, expert_id: int, *, for_update: bool = False) -> Expert:
    with _not_found("Expert"):
        return pool_admin.get_expert(session, expert_id, for_update=for_update)


# --- expertise vocabulary -----------------------------------------------------------------------


@router.get(
    "/expertise", response_model=list[ExpertiseOut], dependencies=READERS, summary="Expertise vocabulary"
)
def list_expertise(
    session: SessionDep, settings: SettingsDep, include_inactive: bool = True
) -> list[ExpertiseOut]:
    return [
        _expertise_out(t, settings)
        for t in pool_admin.list_expertise(session, include_inactive=include_inactive)
    ]


@router.post(
    "/expertise",
    response_model=ExpertiseOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=COORDINATOR,
    summary="Add an expertise term",
)
def add_expertise(body: ExpertiseIn, session: SessionDep, settings: SettingsDep) -> ExpertiseOut:
    with session.begin():
        term = pool_admin.add_expertise(session, body.code, body.label, now=utcnow())
    return _expertise_out(term, settings)


@router.patch(
    "/expertise/{code}",
    response_model=ExpertiseOut,
    dependencies=COORDINATOR,
    summary="Relabel or (de)activate an expertise term",
)
def update_expertise(
    code: str, body: ExpertisePatch, session: SessionDep, settings: SettingsDep
) -> ExpertiseOut:
    with session.begin(), _not_found("Expertise"):
        term = pool_admin.update_expertise(session, code, label=body.label, active=body.active)
    return _expertise_out(term, settings)


# --- concern -> expertise -----------------------------------------------------------------------


@router.get(
    "/concern-map",
    response_model=list[ConcernMapOut],
    dependencies=READERS,
    summary="Which expertise covers which concern",
)
def get_concern_map(session: SessionDep) -> list[ConcernMapOut]:
    return [_concern_out(c, codes) for c, codes in pool_admin.get_concern_map(session).items()]


@router.put(
    "/concern-map/{concern}",
    response_model=ConcernMapOut,
    dependencies=COORDINATOR,
    summary="Set the expertise that covers a concern",
)
def set_concern_map(concern: str, body: ConcernMapIn, session: SessionDep) -> ConcernMapOut:
    with session.begin():
        codes = pool_admin.set_concern_map(session, concern, body.expertise)
    return _concern_out(concern, codes)


# --- experts ------------------------------------------------------------------------------------


@router.get("/experts", response_model=list[ExpertOut], dependencies=READERS, summary="The pool")
def list_experts(
    session: SessionDep,
    settings: SettingsDep,
    active: bool | None = None,
    agency_code: str | None = None,
    expertise: str | None = None,
) -> list[ExpertOut]:
    experts = pool_admin.list_experts(session, active=active, agency_code=agency_code, expertise=expertise)
    return _experts_out(session, experts, settings)


@router.post(
    "/experts",
    response_model=ExpertOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=COORDINATOR,
    summary="Add an expert to the pool",
)
def create_expert(body: ExpertIn, session: SessionDep, settings: SettingsDep) -> ExpertOut:
    with session.begin():
        expert = pool_admin.create_expert(
            session,
            pool_admin.ExpertIn(
                agency_code=body.agency_code,
                name=body.name,
                email=body.email,
                phone=body.phone,
                expertise=tuple(body.expertise),
                meeting_hours=body.meeting_hours,
                weekly_cap=body.weekly_cap,
                active=body.active,
            ),
            region_hours=settings.parsed_meeting_hours,
        )
    return _experts_out(session, [expert], settings)[0]


@router.get("/experts/{expert_id}", response_model=ExpertOut, dependencies=READERS, summary="One expert")
def get_expert(expert_id: Id, session: SessionDep, settings: SettingsDep) -> ExpertOut:
    return _experts_out(session, [_expert(session, expert_id)], settings)[0]


@router.patch(
    "/experts/{expert_id}",
    response_model=ExpertOut,
    dependencies=COORDINATOR,
    summary="Change an expert (only the fields given; active=false takes them out of the pool)",
)
def update_expert(expert_id: Id, body: ExpertPatch, session: SessionDep, settings: SettingsDep) -> ExpertOut:
    with session.begin():
        expert = _expert(session, expert_id, for_update=True)
        pool_admin.update_expert(
            session, expert, body.model_dump(exclude_unset=True), region_hours=settings.parsed_meeting_hours
        )
    return _experts_out(session, [expert], settings)[0]


# --- absences -----------------------------------------------------------------------------------


def _absence_out(a: Any) -> AbsenceOut:
    return AbsenceOut(id=a.id, starts_on=a.starts_on, ends_on=a.ends_on, kind=a.kind)


@router.get(
    "/experts/{expert_id}/absences",
    response_model=list[AbsenceOut],
    dependencies=READERS,
    summary="An expert's absences",
)
def list_absences(expert_id: Id, session: SessionDep) -> list[AbsenceOut]:
    return [_absence_out(a) for a in pool_admin.list_absences(session, _expert(session, expert_id))]


@router.post(
    "/experts/{expert_id}/absences",
    response_model=AbsenceOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=COORDINATOR,
    summary="Record an absence (whole local days, inclusive)",
)
def add_absence(expert_id: Id, body: AbsenceIn, session: SessionDep, settings: SettingsDep) -> AbsenceOut:
    with session.begin():
        expert = _expert(session, expert_id, for_update=True)
        absence = pool_admin.add_absence(
            session,
            expert,
            body.starts_on,
            body.ends_on,
            body.kind,
            today=utcnow().astimezone(settings.tz).date(),
        )
    return _absence_out(absence)


@router.delete(
    "/experts/{expert_id}/absences/{absence_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=COORDINATOR,
    summary="Remove an absence",
)
def delete_absence(expert_id: Id, absence_id: Id, session: SessionDep) -> Response:
    with session.begin():
        expert = _expert(session, expert_id, for_update=True)
        with _not_found("Afwezigheid"):
            pool_admin.delete_absence(session, expert, absence_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- busy time ----------------------------------------------------------------------------------


def _busy_out(b: Any, settings: Settings) -> BusyOut:
    return BusyOut(
        id=b.id,
        starts_at=b.starts_at.astimezone(settings.tz),
        ends_at=b.ends_at.astimezone(settings.tz),
        source=b.source,
    )


@router.get(
    "/experts/{expert_id}/busy",
    response_model=list[BusyOut],
    dependencies=READERS,
    summary="An expert's busy time (entered and imported); by default only what has not ended",
)
def list_busy(
    expert_id: Id,
    session: SessionDep,
    settings: SettingsDep,
    include_past: bool = False,
    source: Annotated[str | None, Query(pattern="^(entered|feed)$")] = None,
) -> list[BusyOut]:
    expert = _expert(session, expert_id)
    periods = pool_admin.list_busy(session, expert, after=None if include_past else utcnow(), source=source)
    return [_busy_out(b, settings) for b in periods]


@router.post(
    "/experts/{expert_id}/busy",
    response_model=BusyOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=COORDINATOR,
    summary="Enter busy time (ISO 8601 with offset)",
)
def add_busy(expert_id: Id, body: BusyIn, session: SessionDep, settings: SettingsDep) -> BusyOut:
    with session.begin():
        expert = _expert(session, expert_id)
        period = pool_admin.add_busy(session, expert, body.starts_at, body.ends_at, now=utcnow())
    return _busy_out(period, settings)


@router.delete(
    "/experts/{expert_id}/busy/{busy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=COORDINATOR,
    summary="Remove entered busy time",
)
def delete_busy(expert_id: Id, busy_id: Id, session: SessionDep) -> Response:
    with session.begin():
        expert = _expert(session, expert_id)
        with _not_found("Bezette periode"):
            pool_admin.delete_busy(session, expert, busy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- availability feed --------------------------------------------------------------------------


def _feed_status(session: Session, expert: Expert, settings: Settings) -> FeedStatusOut:
    return _experts_out(session, [expert], settings)[0].availability_feed


@router.put(
    "/experts/{expert_id}/availability-feed",
    response_model=FeedStatusOut,
    dependencies=COORDINATOR,
    summary="Set or remove the expert's availability feed (iCalendar free/busy or events)",
)
def set_feed(expert_id: Id, body: FeedUrlIn, session: SessionDep, settings: SettingsDep) -> FeedStatusOut:
    with session.begin():
        expert = _expert(session, expert_id, for_update=True)
        pool_admin.set_feed_url(session, expert, body.url)
    return _feed_status(session, expert, settings)


def _sync_out(expert_id: int, busy_periods: int, synced_at: datetime, settings: Settings) -> FeedSyncOut:
    start, end = availability.horizon(synced_at)
    return FeedSyncOut(
        expert_id=expert_id,
        imported_busy_periods=busy_periods,
        synced_at=synced_at.astimezone(settings.tz),
        horizon_start=start.astimezone(settings.tz),
        horizon_end=end.astimezone(settings.tz),
    )


@router.post(
    "/experts/{expert_id}/availability-feed/sync",
    response_model=FeedSyncOut,
    dependencies=COORDINATOR,
    summary="Fetch and import the feed now (422 with the reason when it fails; earlier busy time is kept)",
)
def sync_feed(expert_id: Id, session: SessionDep, settings: SettingsDep) -> FeedSyncOut:
    with _not_found("Expert"):
        result = sync_expert(expert_id, session=session, settings=settings)
    if not result.ok:
        raise ValidationFailed(result.problems)
    assert result.synced_at is not None and result.busy_periods is not None
    return _sync_out(expert_id, result.busy_periods, result.synced_at, settings)


async def _calendar_body(request: Request) -> bytes:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CALENDAR_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "Stuur een iCalendar-bestand met Content-Type text/calendar.",
        )
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"Het bestand is groter dan {availability.MAX_FEED_BYTES // (1024 * 1024)} MB.",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > availability.MAX_FEED_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > availability.MAX_FEED_BYTES:
            raise too_large
    return bytes(body)


@router.post(
    "/experts/{expert_id}/availability-feed/import",
    response_model=FeedSyncOut,
    dependencies=COORDINATOR,
    summary="Import an uploaded iCalendar file as the expert's imported busy time",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/calendar": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def import_feed(
    expert_id: Id,
    body: Annotated[bytes, Depends(_calendar_body)],
    session: SessionDep,
    settings: SettingsDep,
) -> FeedSyncOut:
    with _not_found("Expert"):
        result = availability.apply_feed(session, expert_id, body, utcnow(), tz=settings.tz)
    return _sync_out(expert_id, result.busy_periods, result.synced_at, settings)
