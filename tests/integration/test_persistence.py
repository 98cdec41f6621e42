"""Persistence on the real backend (SQLite or PostgreSQL): migrations match the model, and times
come back aware and in UTC."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from zorgtafel.db.models import Base, BusyPeriod, Expert
from zorgtafel.db.session import get_engine, unit_of_work


def test_migrations_create_exactly_the_model():
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_times_are_stored_in_utc_and_come_back_aware():
    local = datetime(2026, 7, 1, 14, 30, tzinfo=ZoneInfo("Europe/Brussels"))
    with unit_of_work() as session:
        expert = session.scalars(select(Expert).limit(1)).one()
        busy = BusyPeriod(expert_id=expert.id, starts_at=local, ends_at=local.replace(hour=16))
        session.add(busy)
        session.flush()
        busy_id = busy.id
    with unit_of_work() as session:
        row = session.get_one(BusyPeriod, busy_id)
        assert row.starts_at == local
        assert row.starts_at.utcoffset().total_seconds() == 0
        assert row.starts_at.hour == 12
        session.delete(row)


def test_naive_datetimes_are_refused_before_they_reach_the_database():
    with pytest.raises(StatementError, match="naive datetime refused"), unit_of_work() as session:
        expert = session.scalars(select(Expert).limit(1)).one()
        session.add(
            BusyPeriod(
                expert_id=expert.id, starts_at=datetime(2026, 7, 1, 14), ends_at=datetime(2026, 7, 1, 15)
            )
        )
        session.flush()
