"""Reading the pool: who may be invited, and when people are busy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zorgtafel.db.models import BusyPeriod, Expert, Participant, Zorgtafel
from zorgtafel.rules.experts import Candidate
from zorgtafel.rules.slots import Interval


def candidates(session: Session) -> list[Candidate]:
    rows = session.execute(select(Expert.id, Expert.agency_id, Expert.last_invited_at, Expert.active)).all()
    return [Candidate(r.id, r.agency_id, r.last_invited_at, r.active) for r in rows]


def busy_intervals(
    session: Session,
    *,
    expert_ids: Sequence[int] = (),
    case_manager_ids: Sequence[int] = (),
    start: datetime,
    end: datetime,
) -> dict[tuple[str, int], list[Interval]]:
    """Busy time per person in [start, end): entered busy periods and zorgtafels already planned."""
    out: dict[tuple[str, int], list[Interval]] = {("expert", i): [] for i in expert_ids}
    out.update({("case_manager", i): [] for i in case_manager_ids})
    rows = session.execute(
        select(
            BusyPeriod.expert_id, BusyPeriod.case_manager_id, BusyPeriod.starts_at, BusyPeriod.ends_at
        ).where(
            or_(BusyPeriod.expert_id.in_(expert_ids), BusyPeriod.case_manager_id.in_(case_manager_ids)),
            BusyPeriod.starts_at < end,
            BusyPeriod.ends_at > start,
        )
    ).all()
    for r in rows:
        key = ("expert", r.expert_id) if r.expert_id is not None else ("case_manager", r.case_manager_id)
        out[key].append((r.starts_at, r.ends_at))
    planned = session.execute(
        select(Participant.expert_id, Participant.party_key, Zorgtafel.starts_at, Zorgtafel.ends_at)
        .join(Zorgtafel, Participant.zorgtafel_id == Zorgtafel.id)
        .where(Zorgtafel.status == "planned", Zorgtafel.starts_at < end, Zorgtafel.ends_at > start)
    ).all()
    for r in planned:
        kind, _, ident = r.party_key.partition(":")
        if kind in ("expert", "case_manager") and ident:
            key = (kind, int(ident))
            if key in out:
                out[key].append((r.starts_at, r.ends_at))
    return out
