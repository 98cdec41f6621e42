"""The audit trail's core on a real database: every field written, the trace survives a rolled
back request, nothing personal in ``detail``, and the trail cannot be changed (ORM guard on both
backends, the PostgreSQL trigger for any client)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.integration.test_route_steps import registered
from zorgtafel import audit
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Agency, AuditEvent
from zorgtafel.db.session import get_engine, session_factory, unit_of_work
from zorgtafel.route import load_case


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: str
    on_behalf_of: str | None = None


COORD = Actor(4101, "coord.audit", "coordinator")


def events_for(reference: str) -> list[AuditEvent]:
    with unit_of_work() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.case_reference == reference).order_by(AuditEvent.id)
            )
        )


def test_record_writes_who_role_behalf_when_what_and_from_where():
    ref = registered()
    before = utcnow()
    with unit_of_work() as session:
        case = load_case(session, ref)
        audit.record(
            session,
            principal=Actor(77, "cm.jansen", "case_manager", on_behalf_of="registrant:12"),
            action="read",
            outcome="allowed",
            resource="/api/v1/cases/{reference}",
            case=case,
            method="get",
            client_ip="203.0.113.9",
            user_agent="pytest-agent/1.0",
            detail={"route": "/api/v1/cases/{reference}", "participant_id": 5},
        )
    [e] = events_for(ref)
    assert (e.user_id, e.username, e.role, e.on_behalf_of) == (
        77,
        "cm.jansen",
        "case_manager",
        "registrant:12",
    )
    assert (e.action, e.outcome, e.resource, e.method) == (
        "read",
        "allowed",
        "/api/v1/cases/{reference}",
        "GET",
    )
    assert (e.case_id, e.case_reference, e.region) == (case.id, ref, case.region)
    assert (e.client_ip, e.user_agent) == ("203.0.113.9", "pytest-agent/1.0")
    assert e.detail == {"route": "/api/v1/cases/{reference}", "participant_id": 5}
    assert before <= e.at <= utcnow() and e.at.utcoffset() == timedelta(0)


def test_anonymous_caller_is_recorded_as_such():
    ref = registered()
    with unit_of_work() as session:
        audit.record(
            session, principal=None, action="read", outcome="denied", resource="/x", case_reference=ref
        )
    [e] = events_for(ref)
    assert (e.user_id, e.username, e.role, e.outcome) == (None, None, "anonymous", "denied")


def test_the_trace_survives_a_request_that_rolls_back_even_after_it_wrote():
    ref = registered()
    code = f"audit-rollback-{ref}"
    session = session_factory()()
    try:
        session.begin()
        # The request writes first (on SQLite its connection now holds the write lock) ...
        session.add(Agency(code=code, name="Tijdelijk", kind="test", region="Limburg"))
        session.flush()
        audit.record(
            session, principal=COORD, action="change", outcome="failed", resource="/y", case_reference=ref
        )
        # ... and then fails.
        session.rollback()
    finally:
        session.close()
    assert [e.action for e in events_for(ref)] == ["change"]
    with unit_of_work() as check:
        assert check.scalar(select(func.count()).select_from(Agency).where(Agency.code == code)) == 0


def test_the_trace_of_a_read_only_request_is_committed_at_once():
    ref = registered()
    with session_factory()() as session:
        load_case(session, ref)  # an open (read) transaction
        audit.record(
            session, principal=COORD, action="read", outcome="allowed", resource="/z", case_reference=ref
        )
        assert [e.action for e in events_for(ref)] == ["read"]  # visible before the request ends


def test_detail_keeps_identifiers_and_redacts_free_text():
    ref = registered()
    with unit_of_work() as session:
        audit.record(
            session,
            principal=COORD,
            action="search",
            outcome="allowed",
            resource="/api/v1/cases",
            case_reference=ref,
            detail={
                "filters": ["status", "region"],
                "count": 3,
                "name": "Xandrijnus Quibbelmans",
                "email": "x@gezin.example",
                "nested": {"a": 1},
            },
        )
    [e] = events_for(ref)
    assert e.detail == {
        "filters": ["status", "region"],
        "count": 3,
        "name": audit.REDACTED,
        "email": audit.REDACTED,
        "nested": audit.REDACTED,
    }


def test_unknown_action_or_outcome_is_a_programming_error():
    with unit_of_work() as session, pytest.raises(ValueError, match="action"):
        audit.record(session, principal=COORD, action="peek", outcome="allowed", resource="/")
    with unit_of_work() as session, pytest.raises(ValueError, match="outcome"):
        audit.record(session, principal=COORD, action="read", outcome="maybe", resource="/")


def test_overlong_values_are_clipped_not_refused():
    ref = registered()
    with unit_of_work() as session:
        audit.record(
            session,
            principal=Actor(1, "u" * 100, "coordinator", on_behalf_of="b" * 500),
            action="read",
            outcome="allowed",
            resource="/r" * 300,
            case_reference=ref,
            user_agent="A" * 1000,
            client_ip="1" * 100,
        )
    [e] = events_for(ref)
    assert (len(e.username), len(e.on_behalf_of), len(e.resource), len(e.user_agent), len(e.client_ip)) == (
        64,
        120,
        200,
        300,
        64,
    )


def test_a_nul_character_from_a_hostile_request_is_stored_harmlessly():
    with unit_of_work() as session:
        audit.record(
            session,
            principal=Actor(1, "x\x00y", "coordinator"),
            action="read",
            outcome="failed",
            resource="/api/v1/cases/{reference}",
            case_reference="ZT-\x00-nul",
            user_agent="agent\x00",
            detail={"reason": "not\x00found"},
        )
    [e] = events_for("ZT-\ufffd-nul")
    assert (e.username, e.user_agent, e.detail) == ("x\ufffdy", "agent\ufffd", {"reason": audit.REDACTED})


# --- Append-only ---------------------------------------------------------------------------------


def one_event() -> int:
    ref = registered()
    with unit_of_work() as session:
        audit.record(
            session, principal=COORD, action="read", outcome="allowed", resource="/a", case_reference=ref
        )
    return events_for(ref)[0].id


def test_orm_refuses_changing_an_event():
    event_id = one_event()
    with pytest.raises(audit.AuditTrailImmutable, match="UPDATE"), unit_of_work() as session:
        session.get_one(AuditEvent, event_id).outcome = "denied"
    with unit_of_work() as session:
        assert session.get_one(AuditEvent, event_id).outcome == "allowed"


def test_orm_refuses_deleting_an_event():
    event_id = one_event()
    with pytest.raises(audit.AuditTrailImmutable, match="DELETE"), unit_of_work() as session:
        session.delete(session.get_one(AuditEvent, event_id))
    with unit_of_work() as session:
        assert session.get(AuditEvent, event_id) is not None


@pytest.mark.parametrize(
    "statement",
    [
        lambda i: update(AuditEvent).where(AuditEvent.id == i).values(outcome="denied"),
        lambda i: delete(AuditEvent).where(AuditEvent.id == i),
        lambda i: AuditEvent.__table__.update().where(AuditEvent.__table__.c.id == i).values(role="x"),
        lambda i: AuditEvent.__table__.delete().where(AuditEvent.__table__.c.id == i),
        lambda i: text(f"UPDATE audit_event SET outcome = 'denied' WHERE id = {i}"),
        lambda i: text(f"  delete from audit_event WHERE id = {i}"),
    ],
    ids=["orm-update", "orm-delete", "core-update", "core-delete", "text-update", "text-delete"],
)
def test_session_refuses_bulk_and_textual_changes(statement):
    event_id = one_event()
    with pytest.raises(audit.AuditTrailImmutable), unit_of_work() as session:
        session.execute(statement(event_id))
    with unit_of_work() as session:
        assert session.get_one(AuditEvent, event_id).outcome == "allowed"


def test_reading_and_adding_are_not_refused():
    event_id = one_event()
    with unit_of_work() as session:
        e = session.get_one(AuditEvent, event_id)
        _ = e.detail, e.at  # loaded and looked at, not changed: the flush passes
        session.add(AuditEvent(at=utcnow(), action="read", outcome="allowed", resource="/b", detail={}))
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).where(AuditEvent.resource == "/b")) >= 1


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_event SET outcome = 'denied' WHERE id = :i",
        "DELETE FROM audit_event WHERE id = :i",
        "TRUNCATE audit_event",
    ],
)
def test_postgresql_trigger_refuses_raw_sql_outside_the_application(on_postgresql, sql):
    event_id = one_event()
    with get_engine().connect() as conn, pytest.raises(DBAPIError, match="append-only"):  # plain SQL
        conn.execute(text(sql), {"i": event_id})
    with unit_of_work() as session:
        assert session.get_one(AuditEvent, event_id).outcome == "allowed"


# --- Reading the trail ---------------------------------------------------------------------------


def test_trail_filters_by_region_case_user_and_time():
    ref, other = registered(), registered()
    with unit_of_work() as session:
        for principal, reference, region in (
            (COORD, ref, "Limburg"),
            (Actor(4102, "coord.antwerpen", "coordinator"), other, "Antwerpen"),
            (Actor(4103, "cm.x", "case_manager"), ref, "Limburg"),
        ):
            audit.record(
                session,
                principal=principal,
                action="read",
                outcome="allowed",
                resource="/t",
                case_reference=reference,
                region=region,
            )
    with unit_of_work() as session:
        limburg = audit.trail(session, region="Limburg", case_reference=ref)
        assert [e.username for e in limburg] == ["cm.x", "coord.audit"]  # newest first
        assert audit.trail(session, region="Antwerpen", case_reference=ref) == []
        assert [
            e.username for e in audit.trail(session, region="Limburg", case_reference=ref, user_id=4101)
        ] == ["coord.audit"]
        assert audit.trail(session, region="Limburg", case_reference=ref, since=utcnow()) == []
        assert audit.trail(session, region="Limburg", case_reference=ref, until=limburg[-1].at) == []
        assert len(audit.trail(session, region="Limburg", case_reference=ref, limit=1)) == 1
