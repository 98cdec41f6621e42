"""Request and response bodies of the pool endpoints (shape only: the rules and their Dutch
messages live in ``zorgtafel.pool_admin`` and ``zorgtafel.availability``, so the types here are
deliberately loose where a rule has to speak, e.g. a time without offset is accepted here and
refused by the core with a message that says how to write it)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- expertise and the concern map --------------------------------------------------------------


class ExpertiseIn(Strict):
    code: str = Field(
        description="2-64 characters: lower-case letters, digits and '_', starting with a letter."
    )
    label: str = Field(description="Dutch label.")


class ExpertisePatch(Strict):
    label: str | None = None
    active: bool | None = Field(
        None, description="false retires the term (refused while the concern map still uses it)."
    )


class ExpertiseOut(BaseModel):
    code: str
    label: str
    active: bool
    created_at: datetime


class ConcernMapIn(Strict):
    expertise: list[str] = Field(
        max_length=50, description="Expertise codes that cover this concern; empty: nobody covers it."
    )


class ConcernMapOut(BaseModel):
    concern: str
    label: str
    expertise: list[str]


# --- experts ------------------------------------------------------------------------------------


class ExpertIn(Strict):
    agency_code: str = Field(description="See GET /api/v1/agencies.")
    name: str
    email: str
    phone: str | None = None
    expertise: list[str] = Field(default_factory=list, max_length=30, description="Codes of the vocabulary.")
    meeting_hours: str | None = Field(
        None,
        description="Personal meeting hours within the region's, e.g. 'mon-thu 09:00-17:00'; "
        "empty: the region's.",
    )
    weekly_cap: int | None = Field(
        None, description="Zorgtafels per week at most; empty: the region's default."
    )
    active: bool = True


class ExpertPatch(Strict):
    agency_code: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    expertise: list[str] | None = Field(None, max_length=30)
    meeting_hours: str | None = None
    weekly_cap: int | None = None
    active: bool | None = Field(
        None, description="false takes the expert out of the pool; nothing is deleted."
    )


class AgencyRef(BaseModel):
    code: str
    name: str


class FeedStatusOut(BaseModel):
    url: str | None = Field(
        description="The feed URL, masked (path and query hidden: they often hold a token)."
    )
    synced_at: datetime | None = Field(description="Last successful import.")
    error: str | None = Field(description="Why the last attempt failed (the earlier busy time is kept).")
    busy_periods: int = Field(description="Imported busy periods that have not ended yet.")


class ExpertOut(BaseModel):
    id: int
    agency: AgencyRef
    name: str
    email: str
    phone: str | None
    expertise: list[str]
    meeting_hours: str | None = Field(description="Personal meeting hours; null: the region's.")
    weekly_cap: int | None = Field(description="Own cap; null: the region's default.")
    effective_weekly_cap: int
    active: bool
    last_invited_at: datetime | None
    absences: int = Field(description="Number of recorded absences (past ones included).")
    entered_busy_periods: int = Field(description="Entered busy periods that have not ended yet.")
    availability_feed: FeedStatusOut


# --- absences and busy time ---------------------------------------------------------------------


class AbsenceIn(Strict):
    starts_on: date
    ends_on: date = Field(description="Inclusive.")
    kind: str = Field("leave", description="leave | training | other")


class AbsenceOut(BaseModel):
    id: int
    starts_on: date
    ends_on: date
    kind: str


class BusyIn(Strict):
    starts_at: datetime = Field(description="ISO 8601 with offset, e.g. 2026-12-01T10:00:00+01:00.")
    ends_at: datetime


class BusyOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    source: str = Field(description="entered | feed (imported; replaced by every successful sync)")


# --- the availability feed ----------------------------------------------------------------------


class FeedUrlIn(Strict):
    url: str | None = Field(
        description="http(s) (or webcal) URL of an iCalendar free/busy or event feed; null removes the feed "
        "and the busy time imported from it."
    )


class FeedSyncOut(BaseModel):
    expert_id: int
    imported_busy_periods: int = Field(description="Busy periods (merged) within the horizon.")
    synced_at: datetime
    horizon_start: datetime
    horizon_end: datetime
