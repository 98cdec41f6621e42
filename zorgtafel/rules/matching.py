"""Choosing the pair of pool experts and the slot of a zorgtafel: an exact search.

Hard constraints (a *feasible* pair and slot):

- two different experts of two different agencies; neither agency in ``excluded_agency_ids``, no
  expert in ``excluded_expert_ids``; the pair contains every id of ``fixed_expert_ids`` (pinned or
  already accepted experts). If a fixed expert is unknown, excluded or cannot meet at all, or the two
  fixed experts share an agency, there is no match.
- the start ``t`` lies on the step grid (whole steps after 2000-01-01 00:00 UTC, as in
  :mod:`zorgtafel.rules.slots`) with ``not_before <= t <= latest_start``;
- ``[t, t + duration)`` lies inside one window of the region's meeting hours, and neither the local
  date of its start nor of its end is in ``closed`` (public holidays);
- for an expert with personal ``hours``, the whole meeting also lies inside one personal window;
- it overlaps no busy interval of the case manager or of either expert once every busy interval is
  widened by ``buffer`` on both sides (intervals are half open; an empty or inverted interval is no
  busy time and is not widened);
- neither the local date of the start nor of the end is inside an absence of either expert;
- for an expert with a ``weekly_cap``: ``week_loads[Monday of the start's local ISO week] < weekly_cap``
  (a missing week counts as 0).

The documented order: among all feasible (pair, slot) the best is the one with

1. the most of the case's concerns covered by the pair (a concern is covered when either expert has
   an expertise code in ``concern_map[concern]``; a concern missing from the map is covered by nobody);
2. the lowest pair load ``load_a + load_b``, then the lowest ``max(load_a, load_b)``;
3. the earliest start;
4. the least recently invited pair: the later of the two ``last_invited_at`` is compared, never
   invited (``None``) counts as earlier than any moment, so a pair of two never-invited experts
   comes first;
5. the lowest ``(min id, max id)``.

:func:`order_key` spells this order out as a sort key. :func:`best_match` returns the minimum of
that order exactly, i.e. the same pair and start as the reference :func:`brute_force_match`, which
tries every grid start with every pair. In the returned :class:`Match` the fixed experts come first
(in the order of ``fixed_expert_ids``); otherwise the better-ranked expert comes first: the lower
``(load, last_invited_at (never first), expert_id)``.

How :func:`best_match` is fast: for each person a boolean vector over the grid starts marks the
starts at which that person alone can take the meeting (region and personal hours, closed days,
absences, weekly cap, own busy time widened by the buffer, and the case manager's busy time).
Experts with no such start are dropped. The vectors are packed into 64-bit words; a pair is feasible
when the AND of its two vectors is not zero. The best (coverage, load sum, load max) group is
selected with numpy over all feasible pairs, and only inside that group the earliest common start
(the lowest set bit of the AND) and the tie breaks are computed.

All arithmetic is done on instants (UTC, integer microseconds), so the DST changes need no special
care; naive datetimes are refused with ``ValueError``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from zorgtafel.rules.meeting_hours import MeetingHours
from zorgtafel.rules.slots import GRID_EPOCH

Interval = tuple[datetime, datetime]  # aware datetimes

_US = timedelta(microseconds=1)
_NEVER = np.iinfo(np.int64).min  # "never invited", earlier than any moment


@dataclass(frozen=True)
class ExpertView:
    """What the matching needs to know of one pool expert (no personal data)."""

    expert_id: int
    agency_id: int
    expertise: frozenset[str]  # expertise codes
    busy: tuple[Interval, ...] = ()  # entered + imported busy time + zorgtafels already planned (aware)
    absences: tuple[tuple[date, date], ...] = ()  # whole local days, inclusive ranges
    hours: MeetingHours | None = None  # personal meeting hours (on top of the region's); None = region's only
    weekly_cap: int | None = None  # max zorgtafels per ISO week (local), None = no cap
    week_loads: Mapping[date, int] = field(default_factory=dict)  # Monday (local) -> zorgtafels that week
    load: int = 0  # zorgtafels in the rolling fairness window
    last_invited_at: datetime | None = None


@dataclass(frozen=True)
class MatchRequest:
    not_before: datetime  # aware
    latest_start: datetime  # aware (the 48-hour deadline)
    duration: timedelta
    step: timedelta  # slot grid, aligned as in slots.py (UTC quarter hours)
    hours: MeetingHours  # region meeting hours
    tz: ZoneInfo
    concerns: frozenset[str] = frozenset()
    concern_map: Mapping[str, frozenset[str]] = field(default_factory=dict)  # concern -> expertise codes
    case_manager_busy: tuple[Interval, ...] = ()
    closed: frozenset[date] = frozenset()  # local dates with no meetings (public holidays)
    buffer: timedelta = timedelta(0)  # kept free each side of every busy interval of every person
    excluded_agency_ids: frozenset[int] = frozenset()  # the registrant's agency
    excluded_expert_ids: frozenset[int] = frozenset()  # excluded by a coordinator, decliners
    fixed_expert_ids: tuple[int, ...] = ()  # pinned or already-accepted experts (0, 1 or 2)


@dataclass(frozen=True)
class Match:
    expert_ids: tuple[int, int]  # fixed first, else the better-ranked first
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    covered: frozenset[str]  # the case's concerns the pair covers
    load: int  # pair load (load_a + load_b) used for fairness


# --------------------------------------------------------------------------- small public helpers


def coverage(
    concerns: Iterable[str],
    concern_map: Mapping[str, frozenset[str]],
    expertise_a: Iterable[str],
    expertise_b: Iterable[str],
) -> frozenset[str]:
    """The concerns covered by a pair: those with an expertise code of either expert in the map."""
    codes = frozenset(expertise_a) | frozenset(expertise_b)
    return frozenset(c for c in concerns if codes & frozenset(concern_map.get(c, ())))


def gini(loads: Sequence[int]) -> float:
    """Gini coefficient of the loads: 0 = perfectly even, (n-1)/n = everything on one of n.
    Mean absolute difference over all ordered pairs divided by twice the mean; 0 for no load."""
    if any(x < 0 for x in loads):
        raise ValueError("gini: loads cannot be negative")
    n, total = len(loads), sum(loads)
    if n == 0 or total == 0:
        return 0.0
    ranked = sum(i * x for i, x in enumerate(sorted(loads), start=1))
    return 2 * ranked / (n * total) - (n + 1) / n


def _recency(a: datetime | None, b: datetime | None) -> tuple[bool, datetime]:
    """The pair's most recent invitation as a sort key; never invited sorts first."""
    invited = [x.astimezone(UTC) for x in (a, b) if x is not None]
    return (True, max(invited)) if invited else (False, GRID_EPOCH)


def order_key(
    covered: int,
    load_a: int,
    load_b: int,
    start: datetime,
    last_invited_a: datetime | None,
    last_invited_b: datetime | None,
    id_a: int,
    id_b: int,
) -> tuple:
    """Sort key of a feasible (pair, slot); lower is better (see the module docstring).

    ``covered`` is the number of the case's concerns the pair covers, ``start`` the aware start."""
    return (
        -covered,
        load_a + load_b,
        max(load_a, load_b),
        start,
        _recency(last_invited_a, last_invited_b),
        min(id_a, id_b),
        max(id_a, id_b),
    )


def _ordered_pair(a: ExpertView, b: ExpertView, fixed: Sequence[int]) -> tuple[int, int]:
    """Fixed experts first (in their given order), else the better-ranked expert first."""
    if a.expert_id in fixed or b.expert_id in fixed:
        pos = {x: i for i, x in enumerate(fixed)}
        if pos.get(b.expert_id, len(fixed)) < pos.get(a.expert_id, len(fixed)):
            return b.expert_id, a.expert_id
        return a.expert_id, b.expert_id

    def rank(x: ExpertView) -> tuple:
        invited = x.last_invited_at
        return (x.load, invited is not None, invited.astimezone(UTC) if invited else GRID_EPOCH, x.expert_id)

    return (a.expert_id, b.expert_id) if rank(a) <= rank(b) else (b.expert_id, a.expert_id)


def _make_match(
    req: MatchRequest, a: ExpertView, b: ExpertView, start: datetime, *, as_given: bool = False
) -> Match:
    """The Match of a pair; ``as_given`` keeps a before b (the baseline's list order)."""
    start = start.astimezone(UTC)
    return Match(
        expert_ids=(a.expert_id, b.expert_id) if as_given else _ordered_pair(a, b, _fixed_ids(req)),
        starts_at=start,
        ends_at=start + req.duration,
        covered=coverage(req.concerns, req.concern_map, a.expertise, b.expertise),
        load=a.load + b.load,
    )


def _fixed_ids(req: MatchRequest) -> tuple[int, ...]:
    return tuple(dict.fromkeys(req.fixed_expert_ids))  # duplicates mean the same expert


def _check_request(req: MatchRequest, experts: Sequence[ExpertView]) -> None:
    for name in ("not_before", "latest_start"):
        if getattr(req, name).tzinfo is None:
            raise ValueError(f"matching needs timezone-aware datetimes ({name})")
    if req.duration <= timedelta(0) or req.step <= timedelta(0):
        raise ValueError("matching needs a positive duration and step")
    if req.buffer < timedelta(0):
        raise ValueError("matching needs a buffer of zero or more")
    ids = [e.expert_id for e in experts]
    if len(set(ids)) != len(ids):
        raise ValueError("matching: expert ids must be unique")
    for e in experts:
        if e.last_invited_at is not None and e.last_invited_at.tzinfo is None:
            raise ValueError(f"matching needs timezone-aware datetimes (last_invited_at of {e.expert_id})")
    for person in (req.case_manager_busy, *(e.busy for e in experts)):
        for s, en in person:
            if s.tzinfo is None or en.tzinfo is None:
                raise ValueError("matching needs timezone-aware datetimes (busy)")


def _eligible(req: MatchRequest, experts: Sequence[ExpertView]) -> list[ExpertView] | None:
    """Experts that may be in the pair, in list order; None if a fixed expert may not be."""
    fixed = _fixed_ids(req)
    if len(fixed) > 2:
        return None
    ok = [
        e
        for e in experts
        if e.expert_id not in req.excluded_expert_ids and e.agency_id not in req.excluded_agency_ids
    ]
    present = {e.expert_id: e for e in ok}
    if any(f not in present for f in fixed):
        return None
    if len(fixed) == 2 and present[fixed[0]].agency_id == present[fixed[1]].agency_id:
        return None
    return ok


# --------------------------------------------------------------------------- the bitmask search


def _us(t: datetime, what: str) -> int:
    """Microseconds after the grid epoch (exact integer arithmetic)."""
    try:
        return (t - GRID_EPOCH) // _US
    except TypeError:
        raise ValueError(f"matching needs timezone-aware datetimes ({what})") from None


@dataclass
class _Grid:
    g0: int  # first start, µs after GRID_EPOCH
    step: int
    dur: int
    buf: int
    n: int  # number of grid starts (0 = none)

    def start(self, k: int) -> datetime:
        return GRID_EPOCH + (self.g0 + k * self.step) * _US

    def range_inside(self, lo: int, hi: int) -> tuple[int, int]:
        """Grid indices k with lo <= start and start + dur <= hi, clipped (may be empty)."""
        k_lo = -((self.g0 - lo) // self.step)  # ceil((lo - g0) / step)
        k_hi = (hi - self.dur - self.g0) // self.step
        return max(k_lo, 0), min(k_hi, self.n - 1)

    def range_clashing(self, s: int, e: int) -> tuple[int, int]:
        """Grid indices whose meeting overlaps [s - buf, e + buf), clipped (may be empty)."""
        k_lo = (s - self.buf - self.dur - self.g0) // self.step + 1  # start > s - buf - dur
        k_hi = -((self.g0 - e - self.buf) // self.step) - 1  # start < e + buf
        return max(k_lo, 0), min(k_hi, self.n - 1)


def _windows_mask(grid: _Grid, hours: MeetingHours, tz: ZoneInfo, first: date, last: date) -> np.ndarray:
    inside = np.zeros(grid.n, dtype=bool)
    for _day, ws, we in hours.day_windows(first, last, tz):
        lo, hi = grid.range_inside(_us(ws, "window"), _us(we, "window"))
        if lo <= hi:
            inside[lo : hi + 1] = True
    return inside


@dataclass
class _Prepared:
    experts: list[ExpertView]  # candidates with at least one feasible start, in list order
    masks: np.ndarray  # bool, len(experts) x grid.n: the starts each candidate can take
    fixed: list[int]  # indices into experts, in the order of fixed_expert_ids
    grid: _Grid


def _prepare(req: MatchRequest, experts: Sequence[ExpertView]) -> _Prepared | None:
    """Per candidate the feasible grid starts; None when no pair can exist at all."""
    _check_request(req, experts)
    eligible = _eligible(req, experts)
    if eligible is None:
        return None
    step, dur, buf = req.step // _US, req.duration // _US, req.buffer // _US
    nb, ls = _us(req.not_before, "not_before"), _us(req.latest_start, "latest_start")
    g0 = -((-nb) // step) * step
    n = (ls - g0) // step + 1 if ls >= g0 else 0
    grid = _Grid(g0, step, dur, buf, n)
    fixed_ids = _fixed_ids(req)
    if n == 0 or len(eligible) < 2:
        return None
    tz = req.tz
    first_day = grid.start(0).astimezone(tz).date() - timedelta(days=1)
    last_day = (grid.start(n - 1) + req.duration).astimezone(tz).date() + timedelta(days=1)

    # Region: inside one window, start and end not on a closed date, case manager free.
    base = _windows_mask(grid, req.hours, tz, first_day, last_day)
    day_index: dict[date, int] = {}
    start_day = np.full(n, -1, dtype=np.int64)
    end_day = np.full(n, -1, dtype=np.int64)
    for k in np.flatnonzero(base).tolist():
        t = grid.start(k)
        d_s, d_e = t.astimezone(tz).date(), (t + req.duration).astimezone(tz).date()
        if d_s in req.closed or d_e in req.closed:
            base[k] = False
            continue
        start_day[k] = day_index.setdefault(d_s, len(day_index))
        end_day[k] = day_index.setdefault(d_e, len(day_index))
    for s, e in req.case_manager_busy:
        su, eu = _us(s, "case manager busy"), _us(e, "case manager busy")
        if eu > su:
            lo, hi = grid.range_clashing(su, eu)
            if lo <= hi:
                base[lo : hi + 1] = False
    if not base.any():
        return None
    days = sorted(day_index, key=day_index.__getitem__)
    # The local ISO week (its Monday) of each day index. The per-day arrays below get an extra
    # False entry at the end, which index -1 ("not a start in a window") picks.
    mondays = [d - timedelta(days=d.weekday()) for d in days]

    # Per expert: the static part (personal hours, absences, weekly cap).
    personal: dict[MeetingHours, np.ndarray] = {}
    rows: list[ExpertView] = []
    static: list[np.ndarray] = []
    for e in eligible:
        mask = base
        if e.hours is not None:
            pm = personal.get(e.hours)
            if pm is None:
                pm = personal[e.hours] = _windows_mask(grid, e.hours, tz, first_day, last_day)
            mask = mask & pm
        if e.absences:
            absent = np.array([*(any(a <= d <= b for a, b in e.absences) for d in days), False])
            mask = mask & ~absent[start_day] & ~absent[end_day]
        if e.weekly_cap is not None:
            full = np.array([*(e.week_loads.get(m, 0) >= e.weekly_cap for m in mondays), False])
            mask = mask & ~full[start_day]  # the week of the start counts
        if not mask.any():
            if e.expert_id in fixed_ids:
                return None
            continue
        rows.append(e)
        static.append(mask)
    if len(rows) < 2:
        return None

    # Busy time of all experts at once: the grid starts each (widened) interval blocks, marked in a
    # difference array over (row, start index). Conversion to integer microseconds is the only
    # per-interval Python work.
    masks = np.array(static)
    counts = [len(e.busy) for e in rows]
    if sum(counts):
        su = np.array([(s - GRID_EPOCH) // _US for e in rows for s, _ in e.busy], dtype=np.int64)
        eu = np.array([(x - GRID_EPOCH) // _US for e in rows for _, x in e.busy], dtype=np.int64)
        row = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
        lo = np.maximum((su - buf - dur - g0) // step + 1, 0)  # start > s - buf - dur
        hi = np.minimum(-((g0 - eu - buf) // step) - 1, n - 1)  # start < e + buf
        hit = (eu > su) & (lo <= hi)
        if hit.any():
            width, size = n + 1, len(rows) * (n + 1)
            off = row[hit] * width
            diff = np.bincount(off + lo[hit], minlength=size) - np.bincount(off + hi[hit] + 1, minlength=size)
            masks &= np.cumsum(diff.reshape(len(rows), width), axis=1)[:, :n] == 0
    keep = masks.any(axis=1)
    if not keep.all():
        if any(not keep[i] for i, e in enumerate(rows) if e.expert_id in fixed_ids):
            return None
        rows = [e for e, k in zip(rows, keep.tolist(), strict=True) if k]
        masks = masks[keep]
    if len(rows) < 2:
        return None
    index = {e.expert_id: i for i, e in enumerate(rows)}
    return _Prepared(rows, masks, [index[f] for f in fixed_ids], grid)


def _pack(masks: np.ndarray) -> np.ndarray:
    """Rows of bools -> rows of little-endian 64-bit words (bit b of word w = start 64 w + b)."""
    packed = np.packbits(masks, axis=1, bitorder="little")
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view("<u8")


def _lowest_bit(words: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit of each row of words (rows must not be all zero)."""
    nonzero = words != 0
    first = nonzero.argmax(axis=1)
    w = words[np.arange(len(words)), first]
    low = w & (~w + np.uint64(1))  # isolate the lowest set bit
    _, exp = np.frexp(low.astype(np.float64))  # powers of two convert exactly
    return first.astype(np.int64) * 64 + exp.astype(np.int64) - 1


def _candidate_pairs(p: _Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (I, J) of the pairs allowed by agencies and fixed experts (not yet by time)."""
    agency = np.array([e.agency_id for e in p.experts], dtype=np.int64)
    m = len(p.experts)
    if len(p.fixed) == 2:
        i, j = np.array([p.fixed[0]]), np.array([p.fixed[1]])
    elif len(p.fixed) == 1:
        f = p.fixed[0]
        j = np.flatnonzero(agency != agency[f])
        i = np.full(len(j), f, dtype=np.int64)
    else:
        i, j = np.triu_indices(m, k=1)
    keep = agency[i] != agency[j]
    return i[keep], j[keep]


def best_match(req: MatchRequest, experts: Sequence[ExpertView]) -> Match | None:
    """The best feasible pair and slot in the documented order, or None if there is none."""
    p = _prepare(req, experts)
    if p is None:
        return None
    i, j = _candidate_pairs(p)
    words = _pack(p.masks)
    common = (words[i] & words[j]).any(axis=1)
    i, j = i[common], j[common]
    if len(i) == 0:
        return None
    # (1) coverage
    concerns = sorted(req.concerns)
    if concerns:
        codes = [frozenset(req.concern_map.get(c, ())) for c in concerns]
        covers = np.array([[bool(e.expertise & cs) for cs in codes] for e in p.experts], dtype=bool)
        cov = (covers[i] | covers[j]).sum(axis=1)
        sel = cov == cov.max()
        i, j = i[sel], j[sel]
    # (2) load sum, then load max
    load = np.array([e.load for e in p.experts], dtype=np.int64)
    total = load[i] + load[j]
    sel = total == total.min()
    i, j = i[sel], j[sel]
    top = np.maximum(load[i], load[j])
    sel = top == top.min()
    i, j = i[sel], j[sel]
    # (3) earliest start, only within the winning group
    first = _lowest_bit(words[i] & words[j])
    sel = first == first.min()
    i, j, k = i[sel], j[sel], int(first.min())
    # (4) least recently invited pair, (5) lowest (min id, max id)
    if len(i) > 1:
        invited = np.array(
            [_NEVER if e.last_invited_at is None else _us(e.last_invited_at, "") for e in p.experts],
            dtype=np.int64,
        )
        recent = np.maximum(invited[i], invited[j])
        sel = recent == recent.min()
        i, j = i[sel], j[sel]
    if len(i) > 1:
        ids = np.array([e.expert_id for e in p.experts], dtype=np.int64)
        lo, hi = np.minimum(ids[i], ids[j]), np.maximum(ids[i], ids[j])
        pick = int(np.lexsort((hi, lo))[0])
        i, j = i[pick : pick + 1], j[pick : pick + 1]
    return _make_match(req, p.experts[int(i[0])], p.experts[int(j[0])], p.grid.start(k))


def _first_pair_per_start(p: _Prepared) -> tuple[int, int, int] | None:
    """The earliest start with a feasible pair, and there the first two experts in list order
    (fixed ones first): (k, row a, row b). Greedy is complete: if the first free expert has no
    free partner of another agency, all free experts share its agency and no pair exists."""
    masks = p.masks
    agency = np.array([e.agency_id for e in p.experts], dtype=np.int64)
    if len(p.fixed) == 2:
        both = masks[p.fixed[0]] & masks[p.fixed[1]]
        if not both.any():
            return None
        return int(both.argmax()), p.fixed[0], p.fixed[1]
    if len(p.fixed) == 1:
        f = p.fixed[0]
        partner = masks & (agency != agency[f])[:, None]
        ok = masks[f] & partner.any(axis=0)
        if not ok.any():
            return None
        k = int(ok.argmax())
        return k, f, int(partner[:, k].argmax())
    any_free = masks.any(axis=0)
    a = masks.argmax(axis=0)  # the first free expert per start (row 0 where nobody is free)
    partner = masks & (agency[:, None] != agency[a][None, :])
    ok = any_free & partner.any(axis=0)
    if not ok.any():
        return None
    k = int(ok.argmax())
    return k, int(a[k]), int(partner[:, k].argmax())


def any_feasible(req: MatchRequest, experts: Sequence[ExpertView]) -> bool:
    """Whether some feasible pair and slot exists at all."""
    p = _prepare(req, experts)
    return p is not None and _first_pair_per_start(p) is not None


def naive_match(req: MatchRequest, experts: Sequence[ExpertView]) -> Match | None:
    """Baseline: the earliest grid start at which a pair exists, and there the first free valid
    expert in list order (a fixed one first) with the next free valid expert of another agency.
    Ignores coverage, load and invitation history; the pair is returned in that list order."""
    p = _prepare(req, experts)
    if p is None:
        return None
    found = _first_pair_per_start(p)
    if found is None:
        return None
    k, a, b = found
    return _make_match(req, p.experts[a], p.experts[b], p.grid.start(k), as_given=True)


# --------------------------------------------------------------------------- the reference


def brute_force_match(req: MatchRequest, experts: Sequence[ExpertView]) -> Match | None:
    """Reference: every grid start times every pair, each constraint checked on the intervals
    themselves; the minimum of :func:`order_key`. Slow, and independent of the bitmask search."""
    _check_request(req, experts)
    fixed = _fixed_ids(req)
    if len(fixed) > 2:
        return None
    by_id = {e.expert_id: e for e in experts}
    for f in fixed:
        if f not in by_id or f in req.excluded_expert_ids or by_id[f].agency_id in req.excluded_agency_ids:
            return None
    tz = req.tz

    def utc(busy: Iterable[Interval]) -> list[Interval]:
        # Instants: arithmetic and comparisons on local datetimes of one zone use the wall clock.
        return [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in busy]

    manager_busy = utc(req.case_manager_busy)
    busy_of = {x.expert_id: utc(x.busy) for x in experts}

    def clashes(busy: Iterable[Interval], start: datetime, end: datetime) -> bool:
        return any(
            s < e and s - req.buffer < end and start < e + req.buffer  # widened, half open
            for s, e in busy
        )

    def inside(hours: MeetingHours, start: datetime, end: datetime) -> bool:
        d = start.astimezone(tz).date()
        for day in (d - timedelta(days=1), d, d + timedelta(days=1)):
            for open_at, close_at in hours.by_weekday[day.weekday()]:
                lo = datetime.combine(day, open_at, tz)
                hi = datetime.combine(day, close_at, tz)
                if lo <= start and end <= hi:
                    return True
        return False

    def expert_can(x: ExpertView, start: datetime, end: datetime) -> bool:
        d_s, d_e = start.astimezone(tz).date(), end.astimezone(tz).date()
        if x.hours is not None and not inside(x.hours, start, end):
            return False
        if any(a <= d <= b for a, b in x.absences for d in (d_s, d_e)):
            return False
        monday = d_s - timedelta(days=d_s.weekday())
        if x.weekly_cap is not None and x.week_loads.get(monday, 0) >= x.weekly_cap:
            return False
        return not clashes(busy_of[x.expert_id], start, end)

    q, r = divmod(req.not_before - GRID_EPOCH, req.step)
    start = GRID_EPOCH + (q + (1 if r else 0)) * req.step
    best: tuple | None = None
    best_match_: Match | None = None
    while start <= req.latest_start:
        end = start + req.duration
        region_ok = (
            inside(req.hours, start, end)
            and start.astimezone(tz).date() not in req.closed
            and end.astimezone(tz).date() not in req.closed
            and not clashes(manager_busy, start, end)
        )
        if region_ok:
            can = {x.expert_id: expert_can(x, start, end) for x in experts}
            for a, b in itertools.combinations(experts, 2):
                if not all(f in (a.expert_id, b.expert_id) for f in fixed):
                    continue
                if a.agency_id == b.agency_id or not (can[a.expert_id] and can[b.expert_id]):
                    continue
                if {a.agency_id, b.agency_id} & req.excluded_agency_ids:
                    continue
                if {a.expert_id, b.expert_id} & req.excluded_expert_ids:
                    continue
                covered = coverage(req.concerns, req.concern_map, a.expertise, b.expertise)
                key = order_key(
                    len(covered),
                    a.load,
                    b.load,
                    start,
                    a.last_invited_at,
                    b.last_invited_at,
                    a.expert_id,
                    b.expert_id,
                )
                if best is None or key < best:
                    best, best_match_ = key, _make_match(req, a, b, start)
        start += req.step
    return best_match_
