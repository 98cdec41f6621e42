"""Fetching the availability feeds partner agencies publish (the I/O half of
``zorgtafel.availability``, which reads what is fetched here).

- Only ``http``/``https`` (``webcal://`` is read as ``https://``); never link-local, multicast or
  reserved addresses (cloud metadata endpoints), checked before every request including
  redirects; at most ``MAX_FEED_BYTES``; one
  overall deadline per fetch (a server that drips bytes does not hold a sync forever); redirects are
  followed (at most 5, http/https only).
- A failure (no connection, no answer in time, a non-2xx status, too large) is a :class:`FetchError`
  with a Dutch message that names the server (host and port, never the path or query, where feed
  tokens live) and the status.
- :func:`sync_expert` fetches without holding a transaction, then imports in one transaction; any
  failure is noted on the expert in a transaction of its own and the busy time imported earlier
  stays as it was. :func:`sync_all` does that for every active expert with a feed, one by one.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from zorgtafel.availability import MAX_FEED_BYTES, FeedRejected, apply_feed, record_feed_error
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Expert
from zorgtafel.db.session import session_factory
from zorgtafel.errors import FieldProblem, NotFound, ValidationFailed
from zorgtafel.pool_admin import normalise_feed_url
from zorgtafel.settings import Settings, get_settings

log = logging.getLogger(__name__)

USER_AGENT = "zorgtafel-availability-sync/0.1"
MAX_REDIRECTS = 5


class FetchError(Exception):
    """The feed could not be fetched; ``message`` is Dutch and names the server."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def server_of(url: str) -> str:
    """Host and port only: safe to show and to log."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "?"


def _seconds(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _refuse_special_addresses(request: httpx.Request) -> None:
    """Before every request (redirects too): no link-local (cloud metadata at 169.254.169.254),
    multicast, unspecified or reserved addresses. Loopback and private addresses stay allowed: an
    agency's calendar server may sit on an internal network, and the tests serve on 127.0.0.1."""
    host = request.url.host
    try:
        infos = socket.getaddrinfo(host, request.url.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return  # unresolvable: httpx reports it as a connection error
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved:
            raise FetchError(
                "feed_address_refused",
                f"Agenda-feed van {server_of(str(request.url))} niet opgehaald: dit adres ({address}) is "
                "niet toegestaan (link-local, multicast of gereserveerd).",
            )


def fetch_feed(url: str, timeout: float, *, max_bytes: int = MAX_FEED_BYTES) -> bytes:
    """The body of the feed at ``url``, or FetchError."""
    try:
        url = normalise_feed_url(url)
    except ValidationFailed as exc:
        raise FetchError("invalid_feed_url", exc.problems[0].message) from None
    server = server_of(url)
    prefix = f"Agenda-feed van {server} niet opgehaald"
    deadline = time.monotonic() + timeout
    try:
        with (
            httpx.Client(
                timeout=timeout,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                event_hooks={"request": [_refuse_special_addresses]},
                headers={"User-Agent": USER_AGENT, "Accept": "text/calendar, text/plain;q=0.9, */*;q=0.5"},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if not 200 <= response.status_code < 300:
                try:
                    phrase = HTTPStatus(response.status_code).phrase
                except ValueError:
                    phrase = ""
                status = f"HTTP {response.status_code}" + (f" ({phrase})" if phrase else "")
                hint = {
                    401: "de server vraagt aanmelding; is de link nog geldig?",
                    403: "de server weigert de toegang; is de link nog geldig?",
                    404: "de server kent deze agenda niet (verwijderd of verkeerd adres).",
                    410: "de agenda bestaat niet meer.",
                }.get(response.status_code, "storing bij de server; wordt later opnieuw geprobeerd.")
                raise FetchError("feed_http_status", f"{prefix}: {status}; {hint}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError("feed_too_large", f"{prefix}: groter dan {max_bytes // (1024 * 1024)} MB.")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(
                        "feed_too_large", f"{prefix}: groter dan {max_bytes // (1024 * 1024)} MB."
                    )
                if time.monotonic() > deadline:
                    raise FetchError("feed_timeout", f"{prefix}: niet volledig binnen {_seconds(timeout)} s.")
                chunks.append(chunk)
            return b"".join(chunks)
    except FetchError:
        raise
    except httpx.TimeoutException:
        raise FetchError("feed_timeout", f"{prefix}: geen antwoord binnen {_seconds(timeout)} s.") from None
    except httpx.TooManyRedirects:
        raise FetchError("feed_redirects", f"{prefix}: meer dan {MAX_REDIRECTS} doorverwijzingen.") from None
    except httpx.UnsupportedProtocol:
        raise FetchError(
            "feed_redirects", f"{prefix}: doorverwezen naar een adres dat geen http(s) is."
        ) from None
    except httpx.ConnectError:
        raise FetchError(
            "feed_unreachable",
            f"{prefix}: geen verbinding (naam onbekend, server onbereikbaar of verbinding geweigerd).",
        ) from None
    except httpx.HTTPError as exc:
        raise FetchError("feed_fetch_failed", f"{prefix}: {type(exc).__name__}.") from None


@dataclass(frozen=True)
class SyncResult:
    expert_id: int
    ok: bool
    busy_periods: int | None = None
    synced_at: datetime | None = None
    error: str | None = None
    problems: list[FieldProblem] = field(default_factory=list)


@dataclass
class SyncReport:
    synced: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    busy_periods: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "experts": len(self.synced) + len(self.failed),
            "synced": len(self.synced),
            "failed": len(self.failed),
            "busy_periods": self.busy_periods,
        }


def sync_expert(
    expert_id: int,
    *,
    session: Session | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> SyncResult:
    """Fetch and import one expert's feed. ``session`` must not be in a transaction (a new one is
    made when not given). NotFound for an unknown expert; a failed result when no URL is set."""
    settings = settings or get_settings()
    own = session is None
    session = session or session_factory()()
    try:
        with session.begin():
            expert = session.get(Expert, expert_id)
            if expert is None:
                raise NotFound(f"expert {expert_id}")
            url = expert.availability_feed_url
        if not url:
            message = "Er is geen agenda-feed ingesteld voor deze expert."
            return SyncResult(
                expert_id, False, error=message, problems=[FieldProblem(("url",), "no_feed_url", message)]
            )
        try:
            body = fetch_feed(url, settings.availability_fetch_timeout_seconds)
        except FetchError as exc:
            with session.begin():
                record_feed_error(session, expert_id, exc.message)
            return SyncResult(
                expert_id,
                False,
                error=exc.message,
                problems=[FieldProblem(("availability_feed_url",), exc.code, exc.message)],
            )
        try:
            result = apply_feed(session, expert_id, body, now or utcnow(), tz=settings.tz)
        except FeedRejected as exc:
            return SyncResult(expert_id, False, error=exc.message, problems=exc.problems)
        return SyncResult(expert_id, True, busy_periods=result.busy_periods, synced_at=result.synced_at)
    finally:
        if own:
            session.close()


def sync_all(*, settings: Settings | None = None, now: datetime | None = None) -> SyncReport:
    """Every active expert with a feed, each in transactions of its own; one failing feed (or a
    bug while reading one) does not stop the others."""
    settings = settings or get_settings()
    with session_factory()() as session, session.begin():
        ids = list(
            session.scalars(
                select(Expert.id)
                .where(Expert.active.is_(True), Expert.availability_feed_url.is_not(None))
                .order_by(Expert.id)
            )
        )
    report = SyncReport()
    for expert_id in ids:
        try:
            result = sync_expert(expert_id, settings=settings, now=now)
        except NotFound:
            continue  # removed meanwhile
        except Exception:
            log.exception("availability sync: expert %s failed unexpectedly", expert_id)
            try:
                with session_factory()() as session, session.begin():
                    record_feed_error(
                        session, expert_id, "Interne fout bij het verwerken van de agenda-feed."
                    )
            except Exception:
                log.exception("availability sync: could not record the error of expert %s", expert_id)
            report.failed.append(expert_id)
            continue
        if result.ok:
            report.synced.append(expert_id)
            report.busy_periods += result.busy_periods or 0
        else:
            report.failed.append(expert_id)
    return report
