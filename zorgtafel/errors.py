"""Refusals the core raises; adapters turn them into HTTP answers or run states."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    loc: tuple[str | int, ...]  # path to the field, e.g. ("family", 0, "email")
    code: str  # machine-readable rule name
    message: str  # Dutch, for the person who sent it


class ValidationFailed(Exception):
    """Input that breaks a rule; nothing was stored."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.code}" for p in problems))
        self.problems = problems


class IdempotencyConflict(Exception):
    """The same Idempotency-Key was used with a different request body."""


class NotFound(Exception):
    pass
