"""Stateful property test over the real service functions and the configured database: no
sequence of bookings (commitments and spend, verblijf and ambulant, in and outside the term),
corrections and extension attempts breaks a cap, changes a written entry, or leaves a trace of
a refused step. An independent model (written from the rules, not from zorgtafel.rules.ledger)
predicts every acceptance and every refusal."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from sqlalchemy import select

from tests.budget.conftest import START, Snapshot, budget_case, new_service, snapshot
from zorgtafel import budget
from zorgtafel.db.models import CarePlan, Case, LedgerEntry
from zorgtafel.db.session import unit_of_work
from zorgtafel.errors import ValidationFailed

COLUMNS = [c.name for c in LedgerEntry.__table__.columns]
FIRST_END, EXTENDED_END = date(2027, 3, 31), date(2027, 6, 30)
NOW = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


class LedgerMachine(RuleBasedStateMachine):
    services: ClassVar[list[tuple[str, bool]]] = []  # (code, residential), set by the test

    def __init__(self) -> None:
        super().__init__()
        self.ref: str | None = None
        self.granted = 0
        self.extended = False
        self.model: list[dict[str, Any]] = []  # id, kind, service, residential, amount, reverses
        self.last: Snapshot | None = None  # after the previous step (the invariant takes it)
        self.refused_last = False

    # --- the model -----------------------------------------------------------------------

    def total(self) -> int:
        return self.granted + (self.granted // 2 if self.extended else 0)

    def figures(self) -> tuple[int, int, int, dict[str, list[int]], set[int]]:
        committed = spent = residential = 0
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        by_id = {e["id"]: e for e in self.model}
        reversed_ids = {e["reverses"] for e in self.model if e["kind"] == "reversal"}
        for e in self.model:
            sign, kind = 1, e["kind"]
            if kind == "reversal":
                sign, kind = -1, by_id[e["reverses"]]["kind"]
            amount = sign * e["amount"]
            if kind == "commitment":
                committed += amount
                per[e["service"]][0] += amount
                residential += amount if e["residential"] else 0
            else:
                spent += amount
                per[e["service"]][1] += amount
        return committed, spent, residential, per, reversed_ids

    def refused(self, fn: Any, *args: Any, **kwargs: Any) -> set[str] | Any:
        """Run one unit of work; on a refusal check that nothing changed and return the codes."""
        try:
            with unit_of_work() as session:
                return fn(session, *args, **kwargs)
        except ValidationFailed as exc:
            self.refused_last = True  # the invariant compares with the snapshot before this step
            return {p.code for p in exc.problems}

    # --- steps ---------------------------------------------------------------------------

    @initialize(granted=st.one_of(st.integers(1, 400_000), st.sampled_from([1, 2, 3, 100_001])))
    def open_budget(self, granted: int) -> None:
        if not LedgerMachine.services:  # two verblijf and two ambulant services, shared by all runs
            LedgerMachine.services = [
                (new_service(residential=res), res) for res in (True, True, False, False)
            ]
        self.ref = budget_case(granted_cents=granted)
        self.granted = granted
        self.last = snapshot(self.ref)

    days = st.one_of(st.integers(0, 180), st.sampled_from([-1, 89, 90, 180, 181]))

    @rule(
        kind=st.sampled_from(["commitment", "commitment", "spend"]),
        service=st.integers(0, 3),
        amount=st.one_of(st.integers(1, 250_000), st.sampled_from([1, 99, 5_000, 50_000])),
        day=days,
    )
    def book(self, kind: str, service: int, amount: int, day: int) -> None:
        code, residential = self.services[service]
        self._book(kind, code, residential, amount, day)

    @rule(service=st.integers(0, 3), pct=st.integers(1, 60), day=days)
    def commit_a_share(self, service: int, pct: int, day: int) -> None:
        """A commitment sized to the budget, so that bookings fit as often as they break a cap."""
        code, residential = self.services[service]
        self._book("commitment", code, residential, max(1, self.total() * pct // 100), day)

    @rule(pick=st.integers(0, 100), pct=st.integers(1, 120), day=days)
    def spend_a_share(self, pick: int, pct: int, day: int) -> None:
        """Spend on a service with a commitment: mostly within it, sometimes just over."""
        per = self.figures()[3]
        committed = [(code, c, s) for code, (c, s) in sorted(per.items()) if c > 0]
        if not committed:
            return
        code, c, s = committed[pick % len(committed)]
        residential = dict(self.services)[code]
        self._book("spend", code, residential, max(1, (c - s) * pct // 100), day)

    def _book(self, kind: str, code: str, residential: bool, amount: int, day: int) -> None:
        on = START + timedelta(days=day)
        committed, _, res, per, _ = self.figures()
        expected: set[str] = set()
        if on < START or on > (EXTENDED_END if self.extended else FIRST_END):
            expected.add("outside_term")
        if kind == "commitment":
            if committed + amount > self.total():
                expected.add("budget_exceeded")
            if residential and (res + amount) * 2 > self.total():
                expected.add("residential_cap_exceeded")
        elif per[code][1] + amount > per[code][0]:
            expected.add("spend_exceeds_commitment")
        result = self.refused(
            budget.book,
            self.ref,
            kind=kind,
            service_code=code,
            amount_cents=amount,
            occurs_on=on,
            actor="machine",
            now=NOW,
        )
        event(f"{kind}: {', '.join(sorted(result)) if isinstance(result, set) else 'booked'}")
        if isinstance(result, set):
            assert result == expected, (result, expected)
        else:
            assert not expected, f"booked although {expected}"
            self.model.append(
                {"id": result.id, "kind": kind, "service": code, "residential": residential, "amount": amount}
                | {"reverses": None}
            )

    @rule(pick=st.integers(0, 10_000))
    def reverse(self, pick: int) -> None:
        if not self.model:
            return
        target = self.model[pick % len(self.model)]
        _, _, _, per, reversed_ids = self.figures()
        expected: set[str] = set()
        if target["kind"] == "reversal":
            expected.add("reversal_of_reversal")
        elif target["id"] in reversed_ids:
            expected.add("already_reversed")
        elif target["kind"] == "commitment":
            committed, spent = per[target["service"]]
            if spent > committed - target["amount"]:
                expected.add("reversal_breaks_spend")
        result = self.refused(budget.reverse, self.ref, target["id"], reason="Correctie.", actor="m", now=NOW)
        event(f"reversal: {', '.join(sorted(result)) if isinstance(result, set) else 'booked'}")
        if isinstance(result, set):
            assert result == expected, (result, expected)
        else:
            assert not expected, f"reversed although {expected}"
            self.model.append({**target, "id": result.id, "kind": "reversal", "reverses": target["id"]})

    @rule()
    def extend(self) -> None:
        def grant(session: Any) -> Any:
            case = session.scalars(select(Case).where(Case.reference == self.ref)).one()
            plan = session.scalars(select(CarePlan).where(CarePlan.case_id == case.id)).one()
            return budget.grant_extension(session, plan, actor="m", now=NOW)

        result = self.refused(grant)
        event(f"extension: {', '.join(sorted(result)) if isinstance(result, set) else 'granted'}")
        if isinstance(result, set):
            assert self.extended and result == {"second_extension"}, result
        else:
            assert not self.extended
            assert result.extension_cents == self.granted // 2
            self.extended = True

    # --- invariants, from the stored rows --------------------------------------------------

    @invariant()
    def caps_hold_and_history_is_kept(self) -> None:
        if self.ref is None or self.last is None:
            return
        now = snapshot(self.ref)
        if self.refused_last:
            assert now == self.last, "a refused step changed the ledger, the budget or the timeline"
            self.refused_last = False
        assert now.entries[: len(self.last.entries)] == self.last.entries, "an entry was updated or deleted"
        rows = [dict(zip(COLUMNS, r, strict=True)) for r in now.entries]
        granted, extension, _, _ = now.budget
        total = granted + extension
        by_id = {r["id"]: r for r in rows}
        committed = residential = 0
        per: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for r in rows:
            sign, kind = (-1, by_id[r["reverses_id"]]["kind"]) if r["kind"] == "reversal" else (1, r["kind"])
            if kind == "commitment":
                committed += sign * r["amount_cents"]
                residential += sign * r["amount_cents"] if r["residential"] else 0
                per[r["service_id"]][0] += sign * r["amount_cents"]
            else:
                per[r["service_id"]][1] += sign * r["amount_cents"]
        assert 0 <= committed <= total
        assert residential >= 0
        assert residential * 2 <= total  # verblijf <= 50% of the total granted
        for c, s in per.values():
            assert 0 <= s <= c
        assert len({r["reverses_id"] for r in rows if r["reverses_id"]}) == sum(
            1 for r in rows if r["reverses_id"]
        )
        assert (now.extended_until is not None) == self.extended
        assert extension == (self.granted // 2 if self.extended else 0)
        assert committed == self.figures()[0]
        self.last = now


LedgerMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestNoSequenceBreaksACap = LedgerMachine.TestCase
