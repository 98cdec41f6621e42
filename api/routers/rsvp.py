"""The personal answer page behind the link in an invitation (no login; the link is the key).

GET only shows; answering is a POST, so mail scanners that follow links cannot answer for
someone."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, status
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import RouteStarterDep, SessionDep, SettingsDep
from api.route_starter import watch_idempotency_key
from api.security import public
from notifications.render import ZONE_LABELS, format_period
from zorgtafel import rsvp
from zorgtafel.clock import utcnow
from zorgtafel.settings import Settings
from zorgtafel.tokens import TokenRefused

router = APIRouter(tags=["rsvp"], include_in_schema=True)
_pages = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "templates"), autoescape=select_autoescape()
)
DONE = {
    "accepted": "Bedankt, u hebt de uitnodiging aanvaard. U vindt de zorgtafel ook in uw agenda.",
    "declined": "Bedankt voor uw antwoord. We nodigen zo snel mogelijk iemand anders uit.",
}


def _page(*, status_code: int = 200, **context: object) -> HTMLResponse:
    html = _pages.get_template("rsvp.html").render(title="Uitnodiging zorgtafel", **context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def _meeting(v: rsvp.RsvpView, settings: Settings) -> dict[str, str]:
    tz = settings.tz
    period = format_period(v.starts_at.astimezone(tz), v.ends_at.astimezone(tz))
    when = f"{period} ({ZONE_LABELS[settings.timezone]})"
    return {"reference": v.reference, "when": when, "location": v.location, "role_label": v.role_label}


def _refused(exc: TokenRefused) -> HTMLResponse:
    code = status.HTTP_410_GONE if exc.code in ("expired", "used", "superseded", "cancelled") else 404
    return _page(status_code=code, error=exc.message)


@router.get(
    "/rsvp/{token}",
    response_class=HTMLResponse,
    summary="The answer page of a personal invitation link",
    dependencies=[public()],
)
def show(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    try:
        v = rsvp.view(session, token, secret=settings.require_secret(), now=utcnow())
    except TokenRefused as exc:
        return _refused(exc)
    return _page(
        meeting=_meeting(v, settings),
        can_answer=True,
        accept_url=f"/rsvp/{token}/accept",
        decline_url=f"/rsvp/{token}/decline",
    )


@router.post(
    "/rsvp/{token}/{action}",
    response_class=HTMLResponse,
    summary="Accept or decline via the link",
    dependencies=[public()],
)
def answer(
    token: str, action: str, session: SessionDep, settings: SettingsDep, starter: RouteStarterDep
) -> HTMLResponse:
    try:
        with session.begin():
            v = rsvp.answer(session, token, action, secret=settings.require_secret(), now=utcnow())
    except TokenRefused as exc:
        return _refused(exc)
    if v.state == "declined":
        # A replacement is invited right away; the scheduled zorgtafel-watch is the safety net.
        digest = hashlib.sha256(token.encode()).hexdigest()[:24]
        starter.kick_watch(v.reference, key=watch_idempotency_key(v.reference, f"link-{digest}"))
    return _page(meeting=_meeting(v, settings), done=DONE[v.state])
