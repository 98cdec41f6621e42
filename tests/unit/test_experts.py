"""Choosing pool experts: fairness order and pairs from two different agencies."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from zorgtafel.rules.experts import Candidate, candidate_pairs, fairness_order

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def c(expert_id: int, agency_id: int, days_ago: float | None = None, active: bool = True) -> Candidate:
    last = None if days_ago is None else T0 - timedelta(days=days_ago)
    return Candidate(expert_id, agency_id, last, active)


def ids(cands: list[Candidate]) -> list[int]:
    return [x.expert_id for x in cands]


def pair_ids(pairs: Iterator[tuple[Candidate, Candidate]]) -> list[tuple[int, int]]:
    return [(a.expert_id, b.expert_id) for a, b in pairs]


# --------------------------------------------------------------------------- fairness_order


def test_inactive_experts_are_excluded():
    got = fairness_order([c(1, 10), c(2, 11, active=False), c(3, 12, 5, active=False)], None)
    assert ids(got) == [1]


def test_registrant_agency_is_excluded():
    got = fairness_order([c(1, 10), c(2, 11), c(3, 10, 3), c(4, 12, 1)], exclude_agency_id=10)
    assert ids(got) == [2, 4]


def test_no_exclusion_when_agency_is_none():
    assert ids(fairness_order([c(2, 10), c(1, 11)], None)) == [1, 2]


def test_exclusion_of_an_agency_without_candidates_changes_nothing():
    assert ids(fairness_order([c(2, 10), c(1, 11)], 99)) == [1, 2]


def test_never_invited_first_by_id_then_least_recently_invited():
    cands = [
        c(7, 1, days_ago=1),  # most recent
        c(9, 2),  # never
        c(3, 3, days_ago=30),  # longest ago
        c(5, 4),  # never
        c(1, 5, days_ago=10),
    ]
    assert ids(fairness_order(cands, None)) == [5, 9, 3, 1, 7]


def test_ties_on_last_invited_are_broken_by_id():
    cands = [c(8, 1, 2), c(2, 2, 2), c(5, 3, 2), c(4, 4, 1)]
    assert ids(fairness_order(cands, None)) == [2, 5, 8, 4]


def test_a_very_old_invitation_still_comes_after_never_invited():
    cands = [c(1, 1, days_ago=365 * 50), c(2, 2)]
    assert ids(fairness_order(cands, None)) == [2, 1]


def test_invitation_times_compare_as_instants_across_zones():
    bxl = ZoneInfo("Europe/Brussels")
    a = Candidate(1, 1, datetime(2026, 6, 1, 10, 0, tzinfo=bxl))  # 08:00Z
    b = Candidate(2, 2, datetime(2026, 6, 1, 9, 0, tzinfo=UTC))  # 09:00Z
    assert ids(fairness_order([b, a], None)) == [1, 2]


def test_empty_and_all_excluded():
    assert fairness_order([], None) == []
    assert fairness_order([c(1, 10, active=False), c(2, 11)], 11) == []


def test_fairness_order_does_not_change_its_input():
    cands = [c(3, 1), c(1, 2), c(2, 3, active=False)]
    before = list(cands)
    fairness_order(cands, None)
    assert cands == before


# --------------------------------------------------------------------------- candidate_pairs


def test_pairs_come_from_two_different_agencies_in_fairness_order():
    cands = [
        c(1, 10),  # never invited
        c(2, 10),  # never invited, same agency as 1
        c(3, 11, days_ago=20),
        c(4, 12, days_ago=5),
        c(5, 11, days_ago=1),
    ]
    # fairness order: 1, 2, 3, 4, 5
    assert pair_ids(candidate_pairs(cands, None)) == [
        (1, 3),
        (1, 4),
        (1, 5),
        (2, 3),
        (2, 4),
        (2, 5),
        (3, 4),
        (4, 5),
    ]


def test_pairs_skip_inactive_and_registrant_agency():
    cands = [c(1, 10), c(2, 11, active=False), c(3, 12), c(4, 13, 2), c(5, 10, 9)]
    assert pair_ids(candidate_pairs(cands, exclude_agency_id=10)) == [(3, 4)]


def test_first_pair_is_first_candidate_with_first_later_other_agency():
    cands = [c(1, 10), c(2, 10, 9), c(3, 10, 8), c(4, 11, 1)]
    assert next(candidate_pairs(cands, None)) == (cands[0], cands[3])


def test_no_pair_when_all_share_one_agency():
    assert list(candidate_pairs([c(1, 10), c(2, 10, 3), c(3, 10, 1)], None)) == []


def test_no_pair_with_fewer_than_two_candidates():
    assert list(candidate_pairs([], None)) == []
    assert list(candidate_pairs([c(1, 10)], None)) == []


def test_no_pair_when_the_only_other_agency_is_the_registrants():
    assert list(candidate_pairs([c(1, 10), c(2, 11), c(3, 11)], exclude_agency_id=10)) == []


def test_pairs_are_lazy():
    gen = candidate_pairs([c(i, i % 3) for i in range(1, 200)], None)
    assert iter(gen) is gen
    assert next(gen)[0].expert_id == 1


# --------------------------------------------------------------------------- properties

AGENCIES = st.integers(1, 4)
TIMES = st.one_of(st.none(), st.sampled_from([T0 - timedelta(days=d) for d in (0, 1, 1, 7, 30)]))


@st.composite
def candidate_lists(draw: st.DrawFn) -> list[Candidate]:
    expert_ids = draw(st.lists(st.integers(1, 60), unique=True, max_size=9))
    return [
        Candidate(i, draw(AGENCIES), draw(TIMES), draw(st.booleans() | st.just(True))) for i in expert_ids
    ]


def fairness_key(x: Candidate) -> tuple:
    # never invited (as far back as possible), then by time, then by id
    t = x.last_invited_at
    return (0 if t is None else 1, t.timestamp() if t else 0.0, x.expert_id)


@settings(max_examples=300, deadline=None)
@given(cands=candidate_lists(), exclude=st.none() | AGENCIES)
def test_fairness_order_property(cands, exclude):
    got = fairness_order(cands, exclude)
    expected = sorted((x for x in cands if x.active and x.agency_id != exclude), key=fairness_key)
    assert got == expected
    # independent of the order the candidates come in
    assert fairness_order(list(reversed(cands)), exclude) == got


@settings(max_examples=300, deadline=None)
@given(cands=candidate_lists(), exclude=st.none() | AGENCIES)
def test_candidate_pairs_property(cands, exclude):
    order = fairness_order(cands, exclude)
    rank = {x.expert_id: i for i, x in enumerate(order)}
    pairs = list(candidate_pairs(cands, exclude))

    # every pair: two eligible experts from two different agencies, in fairness order within the pair
    for a, b in pairs:
        assert a.agency_id != b.agency_id
        assert a.active and b.active
        assert exclude not in (a.agency_id, b.agency_id)
        assert rank[a.expert_id] < rank[b.expert_id]

    # pairs come in fairness order (lexicographic by rank), each exactly once, and none is missing
    keys = [(rank[a.expert_id], rank[b.expert_id]) for a, b in pairs]
    assert keys == sorted(set(keys))
    expected = [(a, b) for a, b in itertools.combinations(order, 2) if a.agency_id != b.agency_id]
    assert pairs == expected

    # the first pair: first candidate in fairness order + first later candidate of another agency
    if order and any(x.agency_id != order[0].agency_id for x in order):
        first = order[0]
        second = next(x for x in order[1:] if x.agency_id != first.agency_id)
        assert pairs[0] == (first, second)
    else:
        assert pairs == []

    # no pair at all exactly when the eligible candidates share one agency (or are fewer than two)
    assert (pairs == []) == (len({x.agency_id for x in order}) < 2)
