"""Experts' and case managers' own channels and private calendar feeds.

Who: the person themself (an expert account for its expert, a case manager account for its case
manager) or a coordinator of the person's region. Another person's settings: 403 for an expert or
case manager; 404 for a coordinator of another region (as for someone who does not exist)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.channels import validated_urls
from api.deps import SessionDep, SettingsDep
from api.security import Principal, allow, audit, public
from notifications.channels import describe_notify_url
from notifications.feed import build_feed
from zorgtafel import feeds
from zorgtafel.clock import utcnow
from zorgtafel.db.models import CaseManager, Expert
from zorgtafel.vocabulary import Role

router = APIRouter(tags=["people"])
Kind = Literal["experts", "case-managers"]
MODELS: dict[str, type[Expert] | type[CaseManager]] = {"experts": Expert, "case-managers": CaseManager}
PersonId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class NotifyUrlsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    urls: Annotated[list[str], Field(max_length=5)] = Field(
        description="apprise URLs (Teams, Slack, ntfy, SMS gateways, webhooks) for short notices."
    )


class NotifyUrlsOut(BaseModel):
    channels: list[str] = Field(description="The saved channels, shown without their secrets.")


class FeedOut(BaseModel):
    url: str
    webcal_url: str


def _person(
    session: SessionDep, kind: Kind, person_id: int, principal: Principal, request: Request
) -> Expert | CaseManager:
    """The person whose settings these are, if this principal may manage them."""
    detail = {"kind": kind, "person_id": person_id}
    own = (principal.role == Role.EXPERT and kind == "experts" and principal.expert_id == person_id) or (
        principal.role == Role.CASE_MANAGER
        and kind == "case-managers"
        and principal.case_manager_id == person_id
    )
    if principal.role != Role.COORDINATOR and not own:
        audit(session, request, principal, action="change", outcome="denied", detail=detail)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "U beheert alleen uw eigen kanalen en agenda.")
    person = session.get(MODELS[kind], person_id)
    region = None
    if isinstance(person, Expert):
        region = person.agency.region
    elif isinstance(person, CaseManager):
        region = person.region
    if person is None or (principal.role == Role.COORDINATOR and region != principal.region):
        audit(session, request, principal, action="change", outcome="denied", detail=detail)
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Niet gevonden.")
    audit(session, request, principal, action="change", outcome="allowed", detail=detail)
    return person


@router.put(
    "/api/v1/{kind}/{person_id}/notify-urls", response_model=NotifyUrlsOut, summary="Set notice channels"
)
def set_notify_urls(
    kind: Kind,
    person_id: PersonId,
    body: NotifyUrlsIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, allow(Role.EXPERT, Role.CASE_MANAGER, Role.COORDINATOR)],
) -> NotifyUrlsOut:
    with session.begin():
        person = _person(session, kind, person_id, principal, request)
        urls = validated_urls(body.urls, ("urls",))
        person.notify_urls = urls
    return NotifyUrlsOut(channels=[describe_notify_url(u) for u in urls])


@router.post(
    "/api/v1/{kind}/{person_id}/calendar-feed",
    response_model=FeedOut,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a private calendar feed URL (shown once; replaces any earlier one)",
)
def issue_feed(
    kind: Kind,
    person_id: PersonId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, allow(Role.EXPERT, Role.CASE_MANAGER, Role.COORDINATOR)],
) -> FeedOut:
    with session.begin():
        token = feeds.issue(_person(session, kind, person_id, principal, request))
    url = f"{settings.public_base_url}/feeds/{token}.ics"
    return FeedOut(url=url, webcal_url="webcal://" + url.split("://", 1)[1])


@router.delete(
    "/api/v1/{kind}/{person_id}/calendar-feed",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke the private calendar feed",
)
def revoke_feed(
    kind: Kind,
    person_id: PersonId,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, allow(Role.EXPERT, Role.CASE_MANAGER, Role.COORDINATOR)],
) -> Response:
    with session.begin():
        feeds.revoke(_person(session, kind, person_id, principal, request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/feeds/{token}.ics", summary="A private calendar feed (the token is the key)", dependencies=[public()]
)
def feed(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    owner = feeds.owner_for_token(session, token)
    if owner is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Onbekende of ingetrokken agenda-link.")
    body = build_feed(
        feeds.events(session, owner), tzid=settings.timezone, mail_domain=settings.mail_domain, now=utcnow()
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": 'inline; filename="zorgtafels.ics"',
        },
    )
