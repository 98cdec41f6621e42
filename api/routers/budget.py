"""The case-bound budget (casusgebonden middelen) of a case: where it stands, bookings,
corrections (reversal entries) and the one extension. The rules live in ``zorgtafel.budget``;
amounts travel as decimal strings ("1234.56") next to their cents, never as JSON numbers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.exc import IntegrityError

from api.deps import SessionDep
from api.security import Principal, allow, visible_case
from zorgtafel import budget
from zorgtafel.clock import utcnow
from zorgtafel.errors import FieldProblem, IdempotencyConflict, ValidationFailed
from zorgtafel.rules.money import MoneyError, parse_amount, to_decimal
from zorgtafel.vocabulary import Role

router = APIRouter(prefix="/api/v1", tags=["budget"])
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntryIn(Strict):
    kind: str = Field(description="commitment (vastlegging) or spend (uitgave).", examples=["commitment"])
    service_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = (
        Field(description="A service of the catalogue.")
    )
    amount: str = Field(
        max_length=40, description="Euro as a decimal string, at most 2 decimals.", examples=["1234.56"]
    )
    currency: str = Field("EUR", max_length=10, description="Only EUR.")
    occurs_on: date = Field(description="The day the service is delivered; within the plan's term.")
    note: Text | None = None


class ReverseIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)] = Field(
        description="Why the entry is corrected (stays on the ledger, not on the timeline)."
    )


class EntryOut(BaseModel):
    id: int
    kind: str
    service_code: str
    service_name: str
    residential: bool
    amount: str
    amount_cents: int
    occurs_on: date
    reverses_id: int | None
    reversed_by: int | None
    recorded_at: datetime
    actor: str
    note: str | None


class ServiceLineOut(BaseModel):
    code: str
    name: str
    residential: bool
    committed: str
    committed_cents: int
    spent: str
    spent_cents: int


class BudgetOut(BaseModel):
    reference: str
    currency: str
    granted: str
    granted_cents: int
    extension: str
    extension_cents: int
    total_granted: str
    total_granted_cents: int
    committed: str
    committed_cents: int
    spent: str
    spent_cents: int
    remaining: str
    remaining_cents: int
    residential_committed: str
    residential_committed_cents: int
    residential_cap: str
    residential_cap_cents: int
    residential_remaining: str
    residential_remaining_cents: int
    residential_share_pct: str
    extension_used: bool
    starts_on: date | None
    term_ends_on: date | None
    extended_until: date | None
    services: list[ServiceLineOut]
    entries: list[EntryOut]


def _amount(cents: int) -> str:
    return str(to_decimal(cents))


def _entry_out(e: budget.EntryView) -> EntryOut:
    return EntryOut(
        id=e.id,
        kind=e.kind,
        service_code=e.service_code,
        service_name=e.service_name,
        residential=e.residential,
        amount=_amount(e.amount_cents),
        amount_cents=e.amount_cents,
        occurs_on=e.occurs_on,
        reverses_id=e.reverses_id,
        reversed_by=e.reversed_by,
        recorded_at=e.recorded_at,
        actor=e.actor,
        note=e.note,
    )


def _budget_out(s: budget.BudgetSummary, entries: list[budget.EntryView]) -> BudgetOut:
    figures = {}
    for name in budget.FIGURES:
        cents = getattr(s, f"{name}_cents")
        figures[name], figures[f"{name}_cents"] = _amount(cents), cents
    return BudgetOut(
        reference=s.reference,
        currency=s.currency,
        **figures,
        residential_share_pct=str(s.residential_share_pct),
        extension_used=s.extension_used,
        starts_on=s.starts_on,
        term_ends_on=s.term_ends_on,
        extended_until=s.extended_until,
        services=[
            ServiceLineOut(
                code=line.code,
                name=line.name,
                residential=line.residential,
                committed=_amount(line.committed_cents),
                committed_cents=line.committed_cents,
                spent=_amount(line.spent_cents),
                spent_cents=line.spent_cents,
            )
            for line in s.per_service
        ],
        entries=[_entry_out(e) for e in entries],
    )


def _no_budget() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "Dit dossier heeft geen casusgebonden budget.")


@router.get("/cases/{reference}/budget", response_model=BudgetOut, summary="The case-bound budget")
def get_budget(
    reference: str,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> BudgetOut:
    with session.begin():
        visible_case(session, principal, reference, action="read", request=request)
        try:
            return _budget_out(budget.summary(session, reference), budget.entry_views(session, reference))
        except budget.NoBudget:
            raise _no_budget() from None


@router.post(
    "/cases/{reference}/budget/entries",
    status_code=status.HTTP_201_CREATED,
    response_model=EntryOut,
    summary="Book a commitment or spend",
    responses={
        201: {
            "description": "Booked; a replay of the same Idempotency-Key returns the same entry "
            "with the header Idempotent-Replayed: true"
        },
        422: {"description": "Refused: each rule it breaks, and by how much; nothing was stored"},
    },
)
def create_entry(
    reference: str,
    body: EntryIn,
    request: Request,
    session: SessionDep,
    response: Response,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> EntryOut:
    try:
        cents = parse_amount(body.amount, body.currency)
    except MoneyError as exc:
        raise ValidationFailed([FieldProblem((exc.field,), exc.code, exc.message_nl)]) from None
    for attempt in (1, 2):
        try:
            with session.begin():
                visible_case(session, principal, reference, action="change", request=request)
                entry, created = budget.book_or_replay(
                    session,
                    reference,
                    kind=body.kind,
                    service_code=body.service_code,
                    amount_cents=cents,
                    occurs_on=body.occurs_on,
                    actor=principal.actor,
                    note=body.note,
                    idempotency_key=idempotency_key,
                    now=utcnow(),
                )
                out = _entry_out(budget.entry_views(session, reference, [entry.id])[0])
            break
        except budget.NoBudget:
            raise _no_budget() from None
        except IdempotencyConflict:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [
                    {
                        "type": "idempotency_key_reused",
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "Deze Idempotency-Key werd al gebruikt voor een andere boeking.",
                    }
                ],
            ) from None
        except IntegrityError:
            # Lost a race on the same Idempotency-Key (another case): the replay finds the winner.
            if attempt == 2 or idempotency_key is None:
                raise
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return out


@router.post(
    "/cases/{reference}/budget/entries/{entry_id}/reverse",
    status_code=status.HTTP_201_CREATED,
    response_model=EntryOut,
    summary="Correct an entry with a reversal entry (history is never rewritten)",
)
def reverse_entry(
    reference: str,
    entry_id: int,
    body: ReverseIn,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> EntryOut:
    try:
        with session.begin():
            visible_case(session, principal, reference, action="change", request=request)
            entry = budget.reverse(
                session, reference, entry_id, reason=body.reason, actor=principal.actor, now=utcnow()
            )
            return _entry_out(budget.entry_views(session, reference, [entry.id])[0])
    except budget.NoBudget:
        raise _no_budget() from None
    except budget.EntryNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Boeking niet gevonden in dit budget.") from None


@router.post(
    "/cases/{reference}/budget/extension",
    response_model=BudgetOut,
    summary="The one extension: half the original budget, 3 more months",
)
def extend_budget(
    reference: str,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, allow(Role.CASE_MANAGER, Role.COORDINATOR)],
) -> BudgetOut:
    try:
        with session.begin():
            visible_case(session, principal, reference, action="change", request=request)
            budget.extend(session, reference, actor=principal.actor, now=utcnow())
            return _budget_out(budget.summary(session, reference), budget.entry_views(session, reference))
    except budget.NoBudget:
        raise _no_budget() from None
