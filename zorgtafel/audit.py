"""The audit trail (NEN 7513-style): every access to case data, who, in which role, on whose
behalf, when, what and from where. Append-only.

- ``record`` writes one AuditEvent in a transaction of its own, so a request that is refused or
  rolls back still leaves its trace. On SQLite, when the caller's connection already holds the
  write lock (it wrote something in its open transaction), a second connection cannot write until
  that transaction ends; the event is then written the moment the caller's transaction ends,
  committed or rolled back (never inside it).
- The trail cannot be changed through the application: an ORM guard refuses any UPDATE or DELETE
  of an AuditEvent (flush, bulk statement or textual SQL through a Session); on PostgreSQL a
  trigger (migration 0005) refuses it for every client.
- ``detail`` carries route names, codes and ids only: a value that looks like free text (spaces,
  an ``@``, longer than an identifier) is replaced by ``"<redacted>"`` before it is stored.

The guard is installed when this module is imported; every process that touches case data
imports it (the API through api.security, the flows and the CLI through the modules they use).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, SessionTransaction, object_session
from sqlalchemy.sql.elements import TextClause

from zorgtafel.clock import utcnow
from zorgtafel.db.models import Agency, AppUser, AuditEvent, Case

log = logging.getLogger(__name__)

ACTIONS = frozenset({"create", "read", "change", "export", "search", "login", "logout"})
OUTCOMES = frozenset({"allowed", "denied", "failed"})
ANONYMOUS = "anonymous"
REDACTED = "<redacted>"

ROLE_LABELS_NL = {
    "registrant": "aanmelder",
    "case_manager": "casemanager",
    "coordinator": "coördinator zorggarantie",
    "expert": "expert (Werf 2-pool)",
    "admin": "beheerder",
    "system": "systeem",
    ANONYMOUS: "niet aangemeld",
}
ACTION_LABELS_NL = {
    "create": "aangemaakt",
    "read": "ingezien",
    "change": "gewijzigd",
    "export": "geëxporteerd",
    "search": "gezocht",
    "login": "aangemeld",
    "logout": "afgemeld",
}
OUTCOME_LABELS_NL = {"allowed": "toegestaan", "denied": "geweigerd", "failed": "mislukt"}

_PENDING = "zt_audit_pending"
_SAFE_TEXT = re.compile(r"^[\w./{}:\-#]{0,200}$")
_TEXT_WRITE = re.compile(r"^\s*(update|delete\s+from|truncate(\s+table)?)\s+\"?audit_event\b", re.IGNORECASE)


class AuditActor(Protocol):
    """Who acts (api.security.Principal fits)."""

    @property
    def user_id(self) -> int | None: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> Any: ...
    @property
    def on_behalf_of(self) -> str | None: ...


class AuditTrailImmutable(RuntimeError):
    """Someone tried to change or delete an audit event."""


# --- Writing -------------------------------------------------------------------------------------


def _clip(value: str | None, length: int) -> str | None:
    """At most ``length`` characters, without NUL (PostgreSQL refuses it in text): whatever a
    caller sends, its trace must be storable."""
    return None if value is None else str(value).replace("\x00", "\ufffd")[:length]


def _safe_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if _SAFE_TEXT.match(value) else REDACTED
    if isinstance(value, list | tuple):
        return [_safe_value(v) for v in value][:50]
    return REDACTED


def safe_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    """Keep identifiers, codes and route names; replace anything that looks like free text."""
    out: dict[str, Any] = {}
    for key, value in (detail or {}).items():
        if not _SAFE_TEXT.match(str(key)):
            continue
        safe = _safe_value(value)
        if safe == REDACTED or (isinstance(safe, list) and REDACTED in safe):
            log.warning("audit detail %r held something other than an identifier; redacted", key)
        out[str(key)] = safe
    return out


def _event(
    *,
    principal: AuditActor | None,
    action: str,
    outcome: str,
    resource: str,
    case: Case | None,
    case_reference: str | None,
    region: str | None,
    method: str | None,
    client_ip: str | None,
    user_agent: str | None,
    detail: dict[str, Any] | None,
) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if case is not None:
        case_reference = case_reference or case.reference
        region = region or case.region
    role = ANONYMOUS if principal is None else str(getattr(principal.role, "value", principal.role))
    return {
        "at": utcnow(),
        "user_id": None if principal is None else principal.user_id,
        "username": None if principal is None else _clip(principal.username, 64),
        "role": _clip(role, 24),
        "on_behalf_of": None if principal is None else _clip(principal.on_behalf_of, 120),
        "action": action,
        "outcome": outcome,
        "case_id": None if case is None else case.id,
        "case_reference": _clip(case_reference, 32),
        "region": _clip(region, 64),
        "resource": _clip(resource, 200) or "",
        "method": _clip(method.upper() if method else None, 8),
        "client_ip": _clip(client_ip, 64),
        "user_agent": _clip(user_agent, 300),
        "detail": safe_detail(detail),
    }


def _write(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    with Session(engine, expire_on_commit=False) as own, own.begin():
        own.add_all(AuditEvent(**row) for row in rows)


def _holds_sqlite_write_lock(session: Session) -> bool:
    """True when the caller's SQLite connection has an open write transaction (another
    connection would wait for it: a deadlock when the caller waits for us)."""
    if not session.in_transaction():
        return False
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return False
    return bool(getattr(conn.connection.dbapi_connection, "in_transaction", False))


def record(
    session: Session,
    *,
    principal: AuditActor | None,
    action: str,
    outcome: str,
    resource: str,
    case: Case | None = None,
    case_reference: str | None = None,
    region: str | None = None,
    method: str | None = None,
    client_ip: str | None = None,
    user_agent: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit event in its own transaction (on the caller's database).

    ``principal`` None is an anonymous caller. ``detail`` holds ids and codes, never personal data.
    """
    row = _event(
        principal=principal,
        action=action,
        outcome=outcome,
        resource=resource,
        case=case,
        case_reference=case_reference,
        region=region,
        method=method,
        client_ip=client_ip,
        user_agent=user_agent,
        detail=detail,
    )
    bind = session.get_bind()
    engine = bind.engine if hasattr(bind, "engine") else bind
    if _holds_sqlite_write_lock(session):
        session.info.setdefault(_PENDING, []).append((engine, row))
        return
    _write(engine, [row])


@event.listens_for(Session, "after_transaction_end")
def _write_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or not session.info.get(_PENDING):
        return
    pending = session.info.pop(_PENDING)
    by_engine: dict[Engine, list[dict[str, Any]]] = {}
    for engine, row in pending:
        by_engine.setdefault(engine, []).append(row)
    for engine, rows in by_engine.items():
        _write(engine, rows)


# --- The append-only guard -----------------------------------------------------------------------


def _refuse(what: str) -> AuditTrailImmutable:
    return AuditTrailImmutable(f"the audit trail is append-only: {what} refused")


@event.listens_for(AuditEvent, "before_update")
def _no_update(_mapper: Mapper[Any], _conn: Any, target: AuditEvent) -> None:
    session = object_session(target)
    if session is None or session.is_modified(target, include_collections=False):
        raise _refuse("UPDATE")


@event.listens_for(AuditEvent, "before_delete")
def _no_delete(_mapper: Mapper[Any], _conn: Any, target: AuditEvent) -> None:
    raise _refuse("DELETE")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_change(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, TextClause):
        if _TEXT_WRITE.match(statement.text):
            raise _refuse("textual UPDATE/DELETE")
        return
    if not (state.is_update or state.is_delete):
        return
    table = getattr(statement, "table", None)
    if getattr(table, "name", None) == AuditEvent.__tablename__ or any(
        m.class_ is AuditEvent for m in state.all_mappers
    ):
        raise _refuse("bulk UPDATE" if state.is_update else "bulk DELETE")


# --- Reading -------------------------------------------------------------------------------------


def trail(
    session: Session,
    *,
    region: str | None,
    case_reference: str | None = None,
    user_id: int | None = None,
    username: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    """Events of one region (None: all regions), newest first."""
    q = select(AuditEvent)
    if region is not None:
        q = q.where(AuditEvent.region == region)
    if case_reference is not None:
        q = q.where(AuditEvent.case_reference == case_reference)
    if user_id is not None:
        q = q.where(AuditEvent.user_id == user_id)
    if username is not None:
        q = q.where(AuditEvent.username == username)
    if action is not None:
        q = q.where(AuditEvent.action == action)
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    if until is not None:
        q = q.where(AuditEvent.at < until)
    return list(session.scalars(q.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Access:
    """One line of "who looked at my file": no internal ids, no account names."""

    at: datetime
    role: str
    role_label: str
    organisation: str
    action: str
    action_label: str
    outcome: str
    on_behalf_of: str | None
    # For coordinators only (not in the subject's export): the account.
    username: str | None
    user_id: int | None


def _organisation(user: AppUser | None, agencies: dict[int, str], event: AuditEvent) -> str:
    role = event.role or ANONYMOUS
    if user is not None and user.agency_id is not None and user.agency_id in agencies:
        return agencies[user.agency_id]
    if role == "coordinator":
        return f"Coördinatie zorggarantie {event.region or ''}".strip()
    if role == "case_manager":
        return f"Casemanagement {event.region or ''}".strip()
    if role == "system":
        return "Zorgtafel (automatisch)"
    return "onbekend"


def accesses_to_case(session: Session, case: Case, *, include_denied: bool = False) -> list[Access]:
    """Every recorded access to this case's data, oldest first: when, who (role and organisation),
    what kind of access. Denied attempts only with ``include_denied`` (nobody saw anything)."""
    q = select(AuditEvent).where(
        (AuditEvent.case_id == case.id) | (AuditEvent.case_reference == case.reference)
    )
    if not include_denied:
        q = q.where(AuditEvent.outcome == "allowed")
    events = list(session.scalars(q.order_by(AuditEvent.at, AuditEvent.id)))
    user_ids = {e.user_id for e in events if e.user_id is not None}
    users: dict[int, AppUser] = {}
    if user_ids:
        users = {u.id: u for u in session.scalars(select(AppUser).where(AppUser.id.in_(user_ids)))}
    agency_ids = {u.agency_id for u in users.values() if u.agency_id is not None}
    agencies = (
        {i: n for i, n in session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids)))}
        if agency_ids
        else {}
    )
    out = []
    for e in events:
        role = e.role or ANONYMOUS
        out.append(
            Access(
                at=e.at,
                role=role,
                role_label=ROLE_LABELS_NL.get(role, role),
                organisation=_organisation(users.get(e.user_id) if e.user_id else None, agencies, e),
                action=e.action,
                action_label=ACTION_LABELS_NL.get(e.action, e.action),
                outcome=e.outcome,
                on_behalf_of=e.on_behalf_of,
                username=e.username,
                user_id=e.user_id,
            )
        )
    return out


def _on_behalf_label(on_behalf_of: str | None) -> str:
    """Whom an account acted for, as a role (no account names or ids in the subject's copy)."""
    if not on_behalf_of:
        return ""
    role = on_behalf_of.split(":", 1)[0]
    return ROLE_LABELS_NL.get(role, "een andere gebruiker")


def accesses_csv(accesses: Iterable[Access], tz: ZoneInfo) -> str:
    """The subject-access rendering (for the parents): local time, role, organisation, what."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Tijdstip", "Wie (rol)", "Organisatie", "In opdracht van", "Soort toegang", "Resultaat"])
    for a in accesses:
        writer.writerow(
            [
                f"{a.at.astimezone(tz):%d-%m-%Y %H:%M:%S}",
                a.role_label,
                a.organisation,
                _on_behalf_label(a.on_behalf_of),
                a.action_label,
                OUTCOME_LABELS_NL.get(a.outcome, a.outcome),
            ]
        )
    return buf.getvalue()
