"""The audit trail for coordinators: who accessed which case data, in which role, on whose behalf,
when, what and from where (their own region only), and a case's "who looked at my file" list,
also as a CSV for a parent's subject-access request. Reading the trail is itself recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import SessionDep, SettingsDep
from api.security import Principal, allow, audit, visible_case
from zorgtafel import audit as trail
from zorgtafel.vocabulary import Role

router = APIRouter(prefix="/api/v1", tags=["audit"])

Action = Literal["create", "read", "change", "export", "search", "login", "logout"]


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    username: str | None
    role: str | None
    on_behalf_of: str | None
    action: str
    outcome: str
    case_reference: str | None
    region: str | None
    resource: str
    method: str | None
    client_ip: str | None
    user_agent: str | None
    detail: dict[str, Any]


class AuditTrailOut(BaseModel):
    region: str | None
    count: int
    events: list[AuditEventOut]


class AccessOut(BaseModel):
    at: datetime
    role: str
    role_label: str
    organisation: str
    action: str
    action_label: str
    outcome: str
    on_behalf_of: str | None
    username: str | None


class CaseAccessesOut(BaseModel):
    reference: str
    accesses: list[AccessOut]


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "type": "timezone_required",
                    "loc": ["query", name],
                    "msg": "Geef een tijdstip met tijdzone, bv. 2026-11-23T09:00:00+01:00.",
                }
            ],
        )


@router.get(
    "/audit",
    response_model=AuditTrailOut,
    summary="The audit trail of the coordinator's region, newest first (reading it is recorded)",
)
def read_trail(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, allow(Role.COORDINATOR)],
    case: Annotated[
        str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9-]+$", description="A case reference.")
    ] = None,
    user: Annotated[
        str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9._@-]+$", description="An account name.")
    ] = None,
    action: Action | None = None,
    since: Annotated[datetime | None, Query(description="From this moment (with time zone).")] = None,
    until: Annotated[datetime | None, Query(description="Before this moment (with time zone).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AuditTrailOut:
    _aware("since", since)
    _aware("until", until)
    if since is not None and until is not None and until <= since:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"type": "empty_period", "loc": ["query", "until"], "msg": "'until' moet na 'since' liggen."}],
        )
    events = (
        trail.trail(
            session,
            region=principal.region,
            case_reference=case,
            username=user,
            action=action,
            since=since,
            until=until,
            limit=limit,
        )
        if principal.region is not None
        else []
    )
    filters = [k for k, v in (("case", case), ("user", user), ("action", action), ("since", since),
                              ("until", until)) if v is not None]  # fmt: skip
    audit(
        session,
        request,
        principal,
        action="read",
        outcome="allowed",
        resource="audit",
        case_reference=case,
        detail={"filters": filters, "count": len(events)},
    )
    return AuditTrailOut(
        region=principal.region,
        count=len(events),
        events=[AuditEventOut.model_validate(e, from_attributes=True) for e in events],
    )


@router.get(
    "/cases/{reference}/accesses",
    response_model=CaseAccessesOut,
    summary="Who looked at this case file: when, role and organisation, what kind of access",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv"}},
)
def case_accesses(
    reference: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.COORDINATOR)],
    format: Literal["json", "csv"] = "json",
    include_denied: bool = False,
) -> Any:
    """The answer to "who looked at my file". ``format=csv`` is the copy for the person concerned
    (local time, role and organisation, no account names or ids); it is recorded as an export."""
    case = visible_case(
        session, principal, reference, action="export" if format == "csv" else "read", request=request
    )
    accesses = trail.accesses_to_case(session, case, include_denied=include_denied)
    if format == "csv":
        return Response(
            content=trail.accesses_csv(accesses, settings.tz).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="toegang-{case.reference}.csv"',
                "Cache-Control": "no-store",
            },
        )
    return CaseAccessesOut(
        reference=case.reference,
        accesses=[
            AccessOut(
                at=a.at,
                role=a.role,
                role_label=a.role_label,
                organisation=a.organisation,
                action=a.action,
                action_label=a.action_label,
                outcome=a.outcome,
                on_behalf_of=a.on_behalf_of,
                username=a.username,
            )
            for a in accesses
        ],
    )
