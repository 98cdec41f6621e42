"""Request and response bodies of the HTTP API (shape only; the rules live in the core)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from zorgtafel.vocabulary import Channel, Concern, Relation, Willingness

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()./-]{6,20}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistrantIn(Strict):
    agency_code: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="Code of the registrant's organisation, see GET /api/v1/agencies."
    )
    name: Name
    email: EmailStr
    phone: Phone | None = None
    notify_urls: list[str] = Field(
        default_factory=list, max_length=5, description="apprise URLs for short notices besides mail."
    )


class ChildIn(Strict):
    birth_date: date | None = Field(None, description="Birth date; leave empty for an unborn child.")
    expected_delivery_date: date | None = Field(None, description="For an unborn child.")
    name: Name | None = Field(None, description="Optional; stays in the database only.")


class FamilyMemberIn(Strict):
    name: Name
    relation: Relation
    consent_to_contact: bool = Field(description="The person agreed to be contacted for the zorgtafel.")
    preferred_channel: Channel
    email: EmailStr | None = None
    phone: Phone | None = None
    notify_urls: list[str] = Field(
        default_factory=list, max_length=5, description="apprise URLs for short notices besides mail."
    )


class RegistrationIn(Strict):
    registrant: RegistrantIn
    child: ChildIn
    family: list[FamilyMemberIn] = Field(default_factory=list, max_length=20)
    concerns: list[Concern] = Field(min_length=1, description="From the documented vocabulary.")
    placement_threatened: bool = Field(description="Uithuisplaatsing dreigt.")
    willingness: Willingness = Field(description="The parents' willingness (recorded, never a rejection).")
    municipality: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    case_manager_email: EmailStr | None = Field(
        None, description="The case manager who takes the case; by default the least loaded one."
    )
    note: Annotated[str, StringConstraints(max_length=4000)] | None = None


class FindingOut(BaseModel):
    code: str
    message: str


class RegistrationOut(BaseModel):
    reference: str
    status: str
    eligible: bool
    zorgtafel_deadline: datetime
    reasons: list[FindingOut] = []
    notes: list[FindingOut] = []
    case_url: str


class ParticipantOut(BaseModel):
    role: str
    label: str
    invitation_state: str
    invited_sequence: int | None
    invited_at: datetime | None
    responded_at: datetime | None
    response_due_at: datetime | None = Field(
        None, description="Experts answer before this; silence after it gets them replaced."
    )
    replaced: bool = Field(False, description="Declined or silent, and replaced by another expert.")
    replaced_at: datetime | None = None


class AtRiskOut(BaseModel):
    since: datetime
    reason: str = Field(description="no_feasible_pair, no_replacement, awaiting_answers, ... (README)")
    reason_label: str
    escalated_at: datetime | None = Field(description="When the coordinators were warned (once).")


class DeadlineMissedOut(BaseModel):
    at: datetime
    reason: str
    reason_label: str


class ZorgtafelOut(BaseModel):
    starts_at: datetime
    ends_at: datetime
    location: str
    status: str
    sequence: int
    within_deadline: bool
    participants: list[ParticipantOut]


class EventOut(BaseModel):
    at: datetime
    kind: str
    summary: str
    actor: str


class RouteOut(BaseModel):
    started: bool
    flow_run_id: str | None
    start_attempts: int
    last_error: str | None


class CaseOut(BaseModel):
    reference: str
    status: str
    eligible: bool
    registered_at: datetime
    zorgtafel_deadline: datetime
    reasons: list[FindingOut]
    notes: list[FindingOut]
    zorgtafel: ZorgtafelOut | None
    route: RouteOut
    timeline: list[EventOut]
    confirmed_at: datetime | None = Field(None, description="Both experts accepted.")
    at_risk: AtRiskOut | None = None
    deadline_missed: DeadlineMissedOut | None = None


class AgencyOut(BaseModel):
    code: str
    name: str
    kind: str
    region: str


class ConcernOut(BaseModel):
    code: str
    label: str
