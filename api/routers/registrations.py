from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from sqlalchemy.exc import IntegrityError

from api.channels import validated_urls
from api.deps import RouteStarterDep, SessionDep, SettingsDep
from api.presenters import registration_out
from api.schemas import RegistrationIn, RegistrationOut
from zorgtafel.clock import utcnow
from zorgtafel.errors import FieldProblem, ValidationFailed
from zorgtafel.registration import (
    ChildIn,
    FamilyMemberIn,
    NewRegistration,
    RegistrantIn,
    register_case,
)

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
    session: SessionDep,
    settings: SettingsDep,
    starter: RouteStarterDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> RegistrationOut:
    reg = to_core(body)
    for attempt in (1, 2):
        try:
            with session.begin():
                case, created = register_case(
                    session, reg, now=utcnow(), settings=settings, idempotency_key=idempotency_key
                )
            break
        except IntegrityError:
            # Lost a race on the same Idempotency-Key: the replay now finds the winner's case.
            if attempt == 2 or idempotency_key is None:
                raise
    if created:
        starter.kick(case.reference)
    else:
        response.headers["Idempotent-Replayed"] = "true"
    return registration_out(case, settings)
