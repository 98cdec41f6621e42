"""Choosing the two pool experts for a zorgtafel (the simple, fair rule of the first release).

Candidates are active experts outside the registrant's agency. They are ordered least recently
invited first (never invited before anyone, ties by id), and pairs are tried in that order,
requiring two different agencies. The first pair that also has a common free slot wins.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Candidate:
    expert_id: int
    agency_id: int
    last_invited_at: datetime | None
    active: bool = True


def fairness_order(candidates: Sequence[Candidate], exclude_agency_id: int | None) -> list[Candidate]:
    eligible = [c for c in candidates if c.active and c.agency_id != exclude_agency_id]
    return sorted(
        eligible,
        key=lambda c: (c.last_invited_at is not None, c.last_invited_at or datetime.min, c.expert_id),
    )


def candidate_pairs(
    candidates: Sequence[Candidate], exclude_agency_id: int | None
) -> Iterator[tuple[Candidate, Candidate]]:
    ordered = fairness_order(candidates, exclude_agency_id)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.agency_id != first.agency_id:
                yield first, second
