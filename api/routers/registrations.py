from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.channels import validated_urls
from api.deps import RouteStarterDep, SessionDep, SettingsDep
from api.presenters import registration_out
from api.schemas import RegistrationIn, RegistrationOut
from api.security import Principal, allow, audit, visible_case
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Agency, Case
from zorgtafel.errors import FieldProblem, ValidationFailed
from zorgtafel.registration import (
    ChildIn,
    FamilyMemberIn,
    NewRegistration,
    RegistrantIn,
    register_case,
)
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import Role

router = APIRouter(prefix="/api/v1", tags=["registrations"])


def to_core(body: RegistrationIn) -> NewRegistration:
    """The core's input, with every channel URL validated (and normalised) as it is saved."""
    problems: list[FieldProblem] = []

    def urls(values: list[str], loc: tuple[str | int, ...]) -> tuple[str, ...]:
        try:
            return tuple(validated_urls(values, loc))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
            return ()

    registrant = RegistrantIn(
        **{
            **body.registrant.model_dump(),
            "notify_urls": urls(body.registrant.notify_urls, ("registrant", "notify_urls")),
        }
    )
    family = tuple(
        FamilyMemberIn(**{**m.model_dump(), "notify_urls": urls(m.notify_urls, ("family", i, "notify_urls"))})
        for i, m in enumerate(body.family)
    )
    if problems:
        raise ValidationFailed(problems)
    return NewRegistration(
        registrant=registrant,
        child=ChildIn(**body.child.model_dump()),
        family=family,
        concerns=tuple(body.concerns),
        placement_threatened=body.placement_threatened,
        willingness=body.willingness,
        municipality=body.municipality,
        case_manager_email=body.case_manager_email,
        note=body.note,
    )


@router.post(
    "/registrations",
    status_code=status.HTTP_201_CREATED,
    response_model=RegistrationOut,
    summary="Register a case (aanmelding); starts the crisis route",
    responses={
        201: {
            "description": "Stored; a replay with the same Idempotency-Key returns the same case "
            "with the header Idempotent-Replayed: true"
        },
    },
)
def create_registration(
    body: RegistrationIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    response: Response,
    principal: Annotated[Principal, allow(Role.REGISTRANT, Role.CASE_MANAGER, Role.COORDINATOR)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> RegistrationOut:
    reg = to_core(body)
    if principal.role == Role.REGISTRANT:
        _own_agency_only(session, principal, body)
    for attempt in (1, 2):
        try:
            with session.begin():
                case, created = register_case(
                    session,
                    reg,
                    now=utcnow(),
                    settings=settings,
                    idempotency_key=idempotency_key,
                    registered_by_user_id=principal.user_id,
                )
            break
        except IntegrityError:
            # Lost a race on the same Idempotency-Key: the replay now finds the winner's case.
            if attempt == 2 or idempotency_key is None:
                raise
    audit(
        session,
        request,
        principal,
        action="create" if created else "read",
        outcome="allowed",
        case=case,
        detail=None if created else {"idempotent_replay": True},
    )
    if created:
        starter.kick(case.reference)
    else:
        response.headers["Idempotent-Replayed"] = "true"
    return registration_out(case, settings)


def _own_agency_only(session: SessionDep, principal: Principal, body: RegistrationIn) -> None:
    """A registrant's account belongs to an organisation: it registers on behalf of that one."""
    with session.begin():
        code = session.scalar(select(Agency.code).where(Agency.id == principal.agency_id))
    if code is None or body.registrant.agency_code != code:
        raise ValidationFailed(
            [
                FieldProblem(
                    ("registrant", "agency_code"),
                    "not_your_agency",
                    "U kunt alleen aanmelden namens de organisatie van uw account"
                    + (f" ({code})." if code else "."),
                )
            ]
        )


class RegistrationStatusOut(BaseModel):
    """What a registrant may follow of a case they registered: its status and the zorgtafel's
    date. Nothing about the family or the plan."""

    reference: str
    status: str
    registered_at: datetime
    zorgtafel_deadline: datetime
    zorgtafel_starts_at: datetime | None = Field(description="Set while a zorgtafel is planned or held.")


def _status_out(case: Case, settings: Settings) -> RegistrationStatusOut:
    z = case.zorgtafel
    starts = z.starts_at.astimezone(settings.tz) if z is not None and z.status != "cancelled" else None
    return RegistrationStatusOut(
        reference=case.reference,
        status=case.status,
        registered_at=case.registered_at.astimezone(settings.tz),
        zorgtafel_deadline=case.zorgtafel_deadline.astimezone(settings.tz),
        zorgtafel_starts_at=starts,
    )


@router.get(
    "/registrations",
    response_model=list[RegistrationStatusOut],
    summary="A registrant's own registrations and their status (newest first)",
)
def my_registrations(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.REGISTRANT)],
) -> list[RegistrationStatusOut]:
    with session.begin():
        cases = session.scalars(
            select(Case)
            .where(Case.registered_by_user_id == principal.user_id)
            .order_by(Case.registered_at.desc(), Case.id.desc())
            .limit(200)
        ).all()
        out = [_status_out(c, settings) for c in cases]
    audit(session, request, principal, action="search", outcome="allowed", detail={"results": len(out)})
    return out


@router.get(
    "/registrations/{reference}/status",
    response_model=RegistrationStatusOut,
    summary="The status of a registration and the date of its zorgtafel",
)
def registration_status(
    reference: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.REGISTRANT, Role.CASE_MANAGER, Role.COORDINATOR)],
) -> RegistrationStatusOut:
    with session.begin():
        case = visible_case(session, principal, reference, action="status", request=request)
        return _status_out(case, settings)
