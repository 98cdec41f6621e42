"""Reading the pool for the matching (zorgtafel.rules.matching): who may be invited, when people
are busy, how loaded they are, what the coordinator decided for a case, and how evenly the work
is spread. Plain data out; the rules stay pure.

Definitions (also in the README):

- *A participation that counts*: an expert (or case manager) participant of a zorgtafel that is
  planned or held, who was not replaced and did not decline. It is busy time, it counts towards
  the weekly cap and towards the fairness load.
- *Load* of an expert: participations that count in zorgtafels starting from ``now`` minus
  ``ZT_FAIRNESS_WINDOW_DAYS`` on, including the ones already planned after ``now`` (an invitation
  for tomorrow is work already given).
- *Week load*: participations that count per local ISO week (keyed by its Monday).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from zorgtafel.db.models import (
    Absence,
    Agency,
    BusyPeriod,
    CaseExpertDirective,
    ConcernExpertise,
    Expert,
    Participant,
    Zorgtafel,
)
from zorgtafel.rules.closed_days import closed_dates
from zorgtafel.rules.matching import ExpertView, gini
from zorgtafel.rules.meeting_hours import parse_meeting_hours
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import InvitationState

Interval = tuple[datetime, datetime]

# Zorgtafels that take someone's time.
COUNTED_STATUSES = ("planned", "held")
# Participants who are not (or no longer) coming.
NOT_COMING = (InvitationState.DECLINED, InvitationState.REPLACED)


def _counts():
    """The filter of a participation that counts (see the module docstring)."""
    return and_(
        Zorgtafel.status.in_(COUNTED_STATUSES),
        Participant.replaced_at.is_(None),
        Participant.invitation_state.not_in(NOT_COMING),
    )


def holiday_countries(settings: Settings) -> tuple[str, ...]:
    """``ZT_PUBLIC_HOLIDAYS`` ("BE" or "BE,NL") as country codes."""
    return tuple(c.strip().upper() for c in settings.public_holidays.split(",") if c.strip())


def closed_days(settings: Settings, start: datetime, end: datetime) -> frozenset[date]:
    """Public holidays (local dates) around [start, end)."""
    tz = settings.tz
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    return closed_dates(first, last, holiday_countries(settings))


def concern_map(session: Session) -> dict[str, frozenset[str]]:
    """Concern -> the expertise codes that cover it (ConcernExpertise, set by coordinators)."""
    out: dict[str, set[str]] = defaultdict(set)
    for concern, code in session.execute(select(ConcernExpertise.concern, ConcernExpertise.expertise_code)):
        out[concern].add(code)
    return {k: frozenset(v) for k, v in out.items()}


def busy_intervals(
    session: Session,
    *,
    expert_ids: Sequence[int] = (),
    case_manager_ids: Sequence[int] = (),
    start: datetime,
    end: datetime,
    ignore_zorgtafel_id: int | None = None,
) -> dict[tuple[str, int], list[Interval]]:
    """Busy time per person overlapping [start, end): entered and imported busy periods, and
    zorgtafels planned or held where the person's participation counts. ``ignore_zorgtafel_id``
    leaves one zorgtafel out (the one being re-planned)."""
    out: dict[tuple[str, int], list[Interval]] = {("expert", i): [] for i in expert_ids}
    out.update({("case_manager", i): [] for i in case_manager_ids})
    if not out:
        return out
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
    q = (
        select(Participant.party_key, Zorgtafel.starts_at, Zorgtafel.ends_at)
        .join(Zorgtafel, Participant.zorgtafel_id == Zorgtafel.id)
        .where(_counts(), Zorgtafel.starts_at < end, Zorgtafel.ends_at > start)
    )
    if ignore_zorgtafel_id is not None:
        q = q.where(Zorgtafel.id != ignore_zorgtafel_id)
    for r in session.execute(q).all():
        kind, _, ident = r.party_key.partition(":")
        if kind in ("expert", "case_manager") and ident.isdigit():
            key = (kind, int(ident))
            if key in out:
                out[key].append((r.starts_at, r.ends_at))
    return out


def case_manager_busy(
    session: Session,
    case_manager_id: int,
    *,
    start: datetime,
    end: datetime,
    ignore_zorgtafel_id: int | None = None,
) -> tuple[Interval, ...]:
    busy = busy_intervals(
        session,
        case_manager_ids=[case_manager_id],
        start=start,
        end=end,
        ignore_zorgtafel_id=ignore_zorgtafel_id,
    )
    return tuple(busy[("case_manager", case_manager_id)])


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def loads(
    session: Session,
    expert_ids: Iterable[int] | None,
    *,
    now: datetime,
    settings: Settings,
    ignore_zorgtafel_id: int | None = None,
) -> dict[int, int]:
    """Fairness load per expert (see the module docstring); experts without any are left out."""
    since = now - timedelta(days=settings.fairness_window_days)
    q = (
        select(Participant.expert_id, Zorgtafel.id)
        .join(Zorgtafel, Participant.zorgtafel_id == Zorgtafel.id)
        .where(_counts(), Participant.expert_id.is_not(None), Zorgtafel.starts_at >= since)
    )
    if expert_ids is not None:
        q = q.where(Participant.expert_id.in_(list(expert_ids)))
    if ignore_zorgtafel_id is not None:
        q = q.where(Zorgtafel.id != ignore_zorgtafel_id)
    out: dict[int, int] = defaultdict(int)
    for expert_id, _ in session.execute(q):
        out[expert_id] += 1
    return dict(out)


def expert_views(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    settings: Settings,
    expert_ids: Iterable[int] | None = None,
    ignore_zorgtafel_id: int | None = None,
) -> list[ExpertView]:
    """What the matching needs of every active expert (or of those in ``expert_ids``) for a
    search between ``start`` and ``end`` (the latest end of a meeting)."""
    q = select(Expert).where(Expert.active.is_(True)).order_by(Expert.id)
    if expert_ids is not None:
        q = q.where(Expert.id.in_(list(expert_ids)))
    experts = list(session.scalars(q))
    if not experts:
        return []
    ids = [e.id for e in experts]
    tz = settings.tz
    buffer = timedelta(minutes=settings.travel_buffer_minutes)
    busy = busy_intervals(
        session,
        expert_ids=ids,
        start=start - buffer,
        end=end + buffer,
        ignore_zorgtafel_id=ignore_zorgtafel_id,
    )
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    absences: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for a in session.scalars(
        select(Absence).where(
            Absence.expert_id.in_(ids), Absence.ends_on >= first_day, Absence.starts_on <= last_day
        )
    ):
        absences[a.expert_id].append((a.starts_on, a.ends_on))

    # Week loads over the local ISO weeks the search touches.
    week_from = datetime.combine(_monday(first_day), time(0), tz)
    week_to = datetime.combine(_monday(last_day) + timedelta(days=7), time(0), tz)
    wq = (
        select(Participant.expert_id, Zorgtafel.starts_at)
        .join(Zorgtafel, Participant.zorgtafel_id == Zorgtafel.id)
        .where(
            _counts(),
            Participant.expert_id.in_(ids),
            Zorgtafel.starts_at >= week_from,
            Zorgtafel.starts_at < week_to,
        )
    )
    if ignore_zorgtafel_id is not None:
        wq = wq.where(Zorgtafel.id != ignore_zorgtafel_id)
    week_loads: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for expert_id, starts_at in session.execute(wq):
        week_loads[expert_id][_monday(starts_at.astimezone(tz).date())] += 1

    load = loads(session, ids, now=now, settings=settings, ignore_zorgtafel_id=ignore_zorgtafel_id)
    views = []
    for e in experts:
        hours = None
        if e.meeting_hours:
            try:
                hours = parse_meeting_hours(e.meeting_hours)
            except ValueError:
                hours = None  # validated when saved; an unreadable value falls back to the region's
        views.append(
            ExpertView(
                expert_id=e.id,
                agency_id=e.agency_id,
                expertise=frozenset(e.expertise or ()),
                busy=tuple(busy[("expert", e.id)]),
                absences=tuple(absences.get(e.id, ())),
                hours=hours,
                weekly_cap=e.weekly_cap if e.weekly_cap is not None else settings.default_weekly_cap,
                week_loads=dict(week_loads.get(e.id, {})),
                load=load.get(e.id, 0),
                last_invited_at=e.last_invited_at,
            )
        )
    return views


def candidate_ids(
    session: Session, *, exclude_agency_id: int | None, excluded: Iterable[int] = ()
) -> list[int]:
    """Active experts outside the registrant's agency that the coordinator did not exclude."""
    q = select(Expert.id).where(Expert.active.is_(True)).order_by(Expert.id)
    if exclude_agency_id is not None:
        q = q.where(Expert.agency_id != exclude_agency_id)
    skip = set(excluded)
    return [i for i in session.scalars(q) if i not in skip]


@dataclass(frozen=True)
class Directives:
    """A coordinator's standing choices for one case (revoked ones left out)."""

    pinned: tuple[int, ...]  # in the order they were made
    excluded: frozenset[int]


def directives(session: Session, case_id: int) -> Directives:
    rows = session.scalars(
        select(CaseExpertDirective)
        .where(CaseExpertDirective.case_id == case_id, CaseExpertDirective.revoked_at.is_(None))
        .order_by(CaseExpertDirective.created_at, CaseExpertDirective.id)
    ).all()
    return Directives(
        pinned=tuple(dict.fromkeys(r.expert_id for r in rows if r.kind == "pin")),
        excluded=frozenset(r.expert_id for r in rows if r.kind == "exclude"),
    )


@dataclass(frozen=True)
class ExpertLoad:
    expert_id: int
    agency_code: str
    load: int


@dataclass(frozen=True)
class BalanceReport:
    """How evenly the zorgtafels are spread over the active pool (no names)."""

    window_days: int
    since: datetime
    until: datetime  # now: the window runs up to it, planned zorgtafels after it are included
    gini: float  # 0 = perfectly even
    total: int
    experts: list[ExpertLoad]


def balance_report(session: Session, now: datetime, settings: Settings) -> BalanceReport:
    rows = session.execute(
        select(Expert.id, Agency.code)
        .join(Agency, Expert.agency_id == Agency.id)
        .where(Expert.active.is_(True))
        .order_by(Expert.id)
    ).all()
    load = loads(session, [r.id for r in rows], now=now, settings=settings)
    experts = [ExpertLoad(r.id, r.code, load.get(r.id, 0)) for r in rows]
    values = [e.load for e in experts]
    return BalanceReport(
        window_days=settings.fairness_window_days,
        since=now - timedelta(days=settings.fairness_window_days),
        until=now,
        gini=round(gini(values), 4),
        total=sum(values),
        experts=experts,
    )
