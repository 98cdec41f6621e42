"""The resume forms coordinators fill in the Prefect UI (enums become choices). They carry the
decision, not personal data: goals are written without names; the UI is shared by all its users."""

from __future__ import annotations

from prefect.input import RunInput
from pydantic import Field

from zorgtafel.care_plan import CHILD_LIVES, ClosureIn, EvaluationIn, OutcomeIn
from zorgtafel.vocabulary import EvaluationOutcome, Track


class OutcomeForm(RunInput):
    """Uitkomst van de zorgtafel."""

    track: Track = Field(
        description="Spoor: case_budget (casusgebonden middelen), regular (reguliere opstart), none"
    )
    reasons: str = Field(description="Onderbouwing van de beslissing (zonder namen).")
    goals: str = Field(
        default="",
        description="Eén doel per regel als 'leefgebied: doel', bv. 'housing: stabiele woonplek'.",
    )
    services: str = Field(default="", description="Codes van gekozen diensten, gescheiden door komma's.")

    def to_core(self) -> OutcomeIn:
        goals = []
        for line in self.goals.splitlines():
            if line.strip():
                domain, _, text = line.partition(":")
                goals.append((domain.strip(), text.strip()))
        return OutcomeIn(
            track=self.track.value,
            reasons=self.reasons,
            goals=tuple(goals),
            service_codes=tuple(c.strip() for c in self.services.split(",") if c.strip()),
        )


class EvaluationForm(RunInput):
    """Uitkomst van de evaluatie."""

    outcome: EvaluationOutcome = Field(description="continue, adjust, extend (eenmalig), regular, close")
    note: str = Field(default="", description="Korte toelichting (zonder namen).")
    child_lives: str = Field(default="", description=f"Bij afsluiten: {', '.join(CHILD_LIVES)}")
    continuing_services: str = Field(
        default="", description="Bij afsluiten: codes van diensten die doorlopen."
    )

    def to_core(self, number: int) -> EvaluationIn:
        closure = None
        if self.outcome is EvaluationOutcome.CLOSE:
            closure = ClosureIn(
                child_lives=self.child_lives.strip(),
                continuing_services=tuple(
                    c.strip() for c in self.continuing_services.split(",") if c.strip()
                ),
                note=self.note or None,
            )
        return EvaluationIn(number=number, outcome=self.outcome.value, note=self.note, closure=closure)
