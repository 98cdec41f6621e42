"""The persistent model (SQLAlchemy 2, typed). Personal data lives here and only here."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from zorgtafel.crypto import EncryptedDate, EncryptedJSON, EncryptedText, blind_index
from zorgtafel.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Agency(Base):
    """A partner organisation (pleegzorg, CKG, hospital, ...)."""

    __tablename__ = "agency"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64))
    experts: Mapped[list[Expert]] = relationship(back_populates="agency")


class Expert(Base):
    """A member of the Werf 2 pool, employed by a partner agency."""

    __tablename__ = "expert"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(EncryptedText)
    email: Mapped[str] = mapped_column(EncryptedText)
    # Blind index of the address (zorgtafel.crypto): unique, and how a sender is recognised.
    email_bidx: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    # Codes from the expertise vocabulary (ExpertiseTerm).
    expertise: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_invited_at: Mapped[datetime | None]
    # Personal meeting hours ("mon-thu 09:00-17:00"), within the region's; None = the region's.
    meeting_hours: Mapped[str | None] = mapped_column(String(200))
    # Zorgtafels per ISO week at most; None = the region's default (ZT_DEFAULT_WEEKLY_CAP).
    weekly_cap: Mapped[int | None] = mapped_column(Integer)
    # An iCalendar free/busy or event feed the expert's agency publishes (imported as busy time).
    availability_feed_url: Mapped[str | None] = mapped_column(String(1000))
    availability_synced_at: Mapped[datetime | None]
    availability_error: Mapped[str | None] = mapped_column(String(500))
    # apprise URLs for notices and reminders (Teams, Slack, ntfy, SMS gateways, webhooks).
    notify_urls: Mapped[list[Any]] = mapped_column(EncryptedJSON, default=list)
    # Private calendar feed: only a hash of the secret token is stored.
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    agency: Mapped[Agency] = relationship(back_populates="experts")
    absences: Mapped[list[Absence]] = relationship(
        back_populates="expert", order_by="Absence.starts_on", cascade="all, delete-orphan"
    )

    @validates("email")
    def _index_email(self, _: str, value: str) -> str:
        self.email_bidx = blind_index(value)  # type: ignore[assignment]
        return value


class CaseManager(Base):
    """Holds the regie of a case; must have a professional (SKJ-style) registration."""

    __tablename__ = "case_manager"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(EncryptedText)
    email: Mapped[str] = mapped_column(EncryptedText)
    email_bidx: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    registration_number: Mapped[str] = mapped_column(EncryptedText)
    region: Mapped[str] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_urls: Mapped[list[Any]] = mapped_column(EncryptedJSON, default=list)
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    @validates("email")
    def _index_email(self, _: str, value: str) -> str:
        self.email_bidx = blind_index(value)  # type: ignore[assignment]
        return value


class BusyPeriod(Base):
    """Time in which an expert or case manager cannot meet."""

    __tablename__ = "busy_period"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ordered"),
        CheckConstraint("(expert_id IS NULL) <> (case_manager_id IS NULL)", name="exactly_one_owner"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("expert.id"), index=True)
    case_manager_id: Mapped[int | None] = mapped_column(ForeignKey("case_manager.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # entered | feed (replaced as a whole by every successful import of the expert's feed)
    source: Mapped[str] = mapped_column(String(32), default="entered")


class Case(Base):
    """A registration (aanmelding) and the route that follows it."""

    __tablename__ = "case"
    __table_args__ = (
        CheckConstraint(
            "(birth_date IS NOT NULL) OR (expected_delivery_date IS NOT NULL)", name="child_dated"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    region: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime]
    zorgtafel_deadline: Mapped[datetime]

    registrant_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    # The account that registered the case (a registrant sees the status of their own).
    registered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    registrant_name: Mapped[str] = mapped_column(EncryptedText)
    registrant_email: Mapped[str] = mapped_column(EncryptedText)
    registrant_phone: Mapped[str | None] = mapped_column(EncryptedText)
    registrant_notify_urls: Mapped[list[Any]] = mapped_column(EncryptedJSON, default=list)
    case_manager_id: Mapped[int | None] = mapped_column(ForeignKey("case_manager.id"), index=True)

    child_name: Mapped[str | None] = mapped_column(EncryptedText)
    birth_date: Mapped[date | None] = mapped_column(EncryptedDate)
    expected_delivery_date: Mapped[date | None] = mapped_column(EncryptedDate)
    concerns: Mapped[list[Any]] = mapped_column(default=list)
    placement_threatened: Mapped[bool] = mapped_column(Boolean)
    willingness: Mapped[str] = mapped_column(String(16))
    municipality: Mapped[str] = mapped_column(String(100))
    registration_note: Mapped[str | None] = mapped_column(EncryptedText)

    # The 48-hour watch (issue 3): when both experts had accepted, when and why the case was put
    # at risk and the coordinator warned, and a missed deadline with its reason.
    confirmed_at: Mapped[datetime | None]
    at_risk_since: Mapped[datetime | None]
    risk_reason: Mapped[str | None] = mapped_column(String(64))
    escalated_at: Mapped[datetime | None]
    deadline_missed_at: Mapped[datetime | None]
    deadline_missed_reason: Mapped[str | None] = mapped_column(String(64))
    # Retention: personal data removed, what the reports need kept.
    anonymised_at: Mapped[datetime | None]

    eligible: Mapped[bool] = mapped_column(Boolean)
    screening: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # Orchestration bookkeeping: the route is started through Prefect after the case is stored.
    route_flow_run_id: Mapped[str | None] = mapped_column(String(64))
    route_started_at: Mapped[datetime | None]
    route_start_attempts: Mapped[int] = mapped_column(Integer, default=0)
    route_start_error: Mapped[str | None] = mapped_column(String(500))

    registrant_agency: Mapped[Agency] = relationship()
    case_manager: Mapped[CaseManager | None] = relationship()
    family: Mapped[list[FamilyMember]] = relationship(
        back_populates="case", order_by="FamilyMember.id", cascade="all, delete-orphan"
    )
    zorgtafel: Mapped[Zorgtafel | None] = relationship(back_populates="case", uselist=False)
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )


class FamilyMember(Base):
    """A parent or someone from the family's network; a participant, not a user."""

    __tablename__ = "family_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    name: Mapped[str] = mapped_column(EncryptedText)
    relation: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    preferred_channel: Mapped[str] = mapped_column(String(32))
    consent_to_contact: Mapped[bool] = mapped_column(Boolean)
    notify_urls: Mapped[list[Any]] = mapped_column(EncryptedJSON, default=list)
    case: Mapped[Case] = relationship(back_populates="family")


class Zorgtafel(Base):
    """The care-table meeting; its ``uid`` is the iCalendar UID for ever."""

    __tablename__ = "zorgtafel"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True, default=lambda: str(uuid.uuid4()))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    location: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    planned_at: Mapped[datetime]
    case: Mapped[Case] = relationship(back_populates="zorgtafel")
    participants: Mapped[list[Participant]] = relationship(
        back_populates="zorgtafel", order_by="Participant.id", cascade="all, delete-orphan"
    )


class Participant(Base):
    """Someone around the table, with the state of their invitation."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("zorgtafel_id", "party_key", name="party"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    zorgtafel_id: Mapped[int] = mapped_column(ForeignKey("zorgtafel.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    # "expert:12", "family:3", "case_manager:1", "registrant": one row per party per zorgtafel.
    party_key: Mapped[str] = mapped_column(String(64))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("expert.id"))
    family_member_id: Mapped[int | None] = mapped_column(ForeignKey("family_member.id"))
    email: Mapped[str | None] = mapped_column(EncryptedText)
    email_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(200))  # role label shown in calendars, no name
    invitation_state: Mapped[str] = mapped_column(String(24))
    invited_sequence: Mapped[int | None] = mapped_column(Integer)
    invited_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    # When the current answer was given (a reply's DTSTAMP, or the moment of a link answer):
    # a reply written earlier but delivered later must not overwrite it.
    answered_at: Mapped[datetime | None]
    # Experts answer before this moment; silence after it gets them replaced (issue 3).
    response_due_at: Mapped[datetime | None]
    # Set when a decliner or a silent expert was replaced (state "replaced"): they are no longer
    # an attendee and were sent a CANCEL.
    replaced_at: Mapped[datetime | None]
    zorgtafel: Mapped[Zorgtafel] = relationship(back_populates="participants")

    @validates("email")
    def _index_email(self, _: str, value: str | None) -> str | None:
        self.email_bidx = blind_index(value)
        return value


class CaseEvent(Base):
    """The case timeline: every step the system (or a person) takes leaves one."""

    __tablename__ = "case_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(EncryptedText)  # Dutch, for the case file (may hold free text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    case: Mapped[Case] = relationship(back_populates="events")


class OutboxMessage(Base):
    """Something the system promised to send, written with the change that caused it."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    recipient: Mapped[str] = mapped_column(EncryptedText)
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    # Backoff: a failed intent is not claimed again before this moment.
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]
    attempt_log: Mapped[list[OutboxAttempt]] = relationship(
        back_populates="message", order_by="OutboxAttempt.id", cascade="all, delete-orphan"
    )


class OutboxAttempt(Base):
    """Every try to send an intent, with its result."""

    __tablename__ = "outbox_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))  # sent | temporary | permanent
    error: Mapped[str | None] = mapped_column(String(500))
    message: Mapped[OutboxMessage] = relationship(back_populates="attempt_log")


class UsedToken(Base):
    """A single-use link that has been used (RSVP links): a replay finds it here."""

    __tablename__ = "used_token"
    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """An ``Idempotency-Key`` seen on a registration, with the case it made."""

    __tablename__ = "idempotency_record"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    created_at: Mapped[datetime]


# --- After the zorgtafel: the care plan, the catalogue, the budget ledger, evaluations ---------


class Service(Base):
    """A service a zorgtafel can choose or refer to (the catalogue; seeds 000-003)."""

    __tablename__ = "service"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(16))  # hour | traject | day | place | module
    residential: Mapped[bool] = mapped_column(Boolean)  # counts against the verblijf cap
    tracks: Mapped[list[Any]] = mapped_column(default=list)  # case_budget and/or regular
    max_units: Mapped[int | None] = mapped_column(Integer)
    capacity: Mapped[int | None] = mapped_column(Integer)  # places, where the source names them
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    tariffs: Mapped[list[Tariff]] = relationship(back_populates="service", order_by="Tariff.year")


class Tariff(Base):
    """Price per unit of a service, per region and year (2023 figures as the defaults)."""

    __tablename__ = "tariff"
    __table_args__ = (
        UniqueConstraint("service_id", "region", "year", name="service_region_year"),
        CheckConstraint("amount_cents > 0", name="positive"),
        CheckConstraint("max_amount_cents IS NULL OR max_amount_cents >= amount_cents", name="range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    region: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    # A range where the source gives one (ambulant support: EUR 60-100 per hour by intensity).
    max_amount_cents: Mapped[int | None] = mapped_column(Integer)
    service: Mapped[Service] = relationship(back_populates="tariffs")


class CarePlan(Base):
    """What a zorgtafel decided (the outcome) and the route that follows it."""

    __tablename__ = "care_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    track: Mapped[str] = mapped_column(String(16))  # case_budget | regular | none
    reasons: Mapped[str] = mapped_column(EncryptedText)  # the grounds, written down (seed 004)
    decided_at: Mapped[datetime]
    decided_by: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[date | None] = mapped_column(Date)
    term_ends_on: Mapped[date | None] = mapped_column(Date)
    extended_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | closed
    closed_at: Mapped[datetime | None]
    # Where the child lives, what continues.
    closure: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    goals: Mapped[list[PlanGoal]] = relationship(
        back_populates="care_plan", order_by="PlanGoal.id", cascade="all, delete-orphan"
    )
    services: Mapped[list[PlanService]] = relationship(
        back_populates="care_plan", order_by="PlanService.id", cascade="all, delete-orphan"
    )
    budget: Mapped[Budget | None] = relationship(back_populates="care_plan", uselist=False)
    evaluations: Mapped[list[Evaluation]] = relationship(
        back_populates="care_plan", order_by="Evaluation.number", cascade="all, delete-orphan"
    )


class PlanGoal(Base):
    """A goal, written against a life domain (leefgebied, seed 001)."""

    __tablename__ = "plan_goal"
    id: Mapped[int] = mapped_column(primary_key=True)
    care_plan_id: Mapped[int] = mapped_column(ForeignKey("care_plan.id"), index=True)
    life_domain: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(EncryptedText)
    care_plan: Mapped[CarePlan] = relationship(back_populates="goals")


class PlanService(Base):
    """A service chosen in the plan."""

    __tablename__ = "plan_service"
    id: Mapped[int] = mapped_column(primary_key=True)
    care_plan_id: Mapped[int] = mapped_column(ForeignKey("care_plan.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    note: Mapped[str | None] = mapped_column(EncryptedText)
    care_plan: Mapped[CarePlan] = relationship(back_populates="services")
    service: Mapped[Service] = relationship()


class Budget(Base):
    """The case-bound budget: granted amount, and the one extension of half of it."""

    __tablename__ = "budget"
    __table_args__ = (
        CheckConstraint("granted_cents > 0", name="positive"),
        CheckConstraint("extension_cents >= 0", name="extension_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    care_plan_id: Mapped[int] = mapped_column(ForeignKey("care_plan.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    granted_cents: Mapped[int] = mapped_column(Integer)
    extension_cents: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every booking: the guard that serialises concurrent bookings on any backend.
    version: Mapped[int] = mapped_column(Integer, default=0)
    care_plan: Mapped[CarePlan] = relationship(back_populates="budget")
    entries: Mapped[list[LedgerEntry]] = relationship(back_populates="budget", order_by="LedgerEntry.id")


class LedgerEntry(Base):
    """An append-only ledger line: a commitment (booking), a spend, or the reversal of one."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="positive"),
        CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_links"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budget.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # commitment | spend | reversal
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    residential: Mapped[bool] = mapped_column(Boolean)
    amount_cents: Mapped[int] = mapped_column(Integer)
    occurs_on: Mapped[date] = mapped_column(Date)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(EncryptedText)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    budget: Mapped[Budget] = relationship(back_populates="entries")


class Evaluation(Base):
    """An evaluation moment, every 6 weeks from the start of the plan."""

    __tablename__ = "evaluation"
    __table_args__ = (UniqueConstraint("care_plan_id", "number", name="plan_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    care_plan_id: Mapped[int] = mapped_column(ForeignKey("care_plan.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    uid: Mapped[str] = mapped_column(String(200), unique=True, default=lambda: str(uuid.uuid4()))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | held | cancelled
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(16))  # continue|adjust|extend|regular|close
    held_at: Mapped[datetime | None]
    care_plan: Mapped[CarePlan] = relationship(back_populates="evaluations")


class WaitingListEntry(Base):
    """A place asked for in a service with limited places (regular track, seed 001 rules)."""

    __tablename__ = "waiting_list_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    listed_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(24), default="waiting")  # waiting|placed|withdrawn|talk
    # Waiting time is counted in days; a first refusal without a valid reason puts it on hold,
    # a second sets it to zero.
    credited_days: Mapped[int] = mapped_column(Integer, default=0)
    counting_since: Mapped[datetime | None]
    refusals_without_reason: Mapped[int] = mapped_column(Integer, default=0)
    bridging: Mapped[str | None] = mapped_column(EncryptedText)  # the ambulant support arranged meanwhile


# --- The expert pool (issue 3) -----------------------------------------------------------------


class ExpertiseTerm(Base):
    """A term of the expertise vocabulary; coordinators extend it."""

    __tablename__ = "expertise_term"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))  # Dutch
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ConcernExpertise(Base):
    """Which expertise covers which concern (the source gives no mapping: coordinators set it)."""

    __tablename__ = "concern_expertise"
    concern: Mapped[str] = mapped_column(String(32), primary_key=True)
    expertise_code: Mapped[str] = mapped_column(ForeignKey("expertise_term.code"), primary_key=True)


class Absence(Base):
    """Whole local days an expert is away (leave, training); inclusive."""

    __tablename__ = "absence"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ordered"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32), default="leave")  # leave | training | other
    expert: Mapped[Expert] = relationship(back_populates="absences")


class CaseExpertDirective(Base):
    """A coordinator pins or excludes an expert for one case, with a reason (on the timeline)."""

    __tablename__ = "case_expert_directive"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"))
    kind: Mapped[str] = mapped_column(String(16))  # pin | exclude
    reason: Mapped[str] = mapped_column(EncryptedText)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


# --- Who may see and do what (issue 6) ---------------------------------------------------------


class AppUser(Base):
    """An account: a registrant, case manager, coordinator, pool expert, administrator or system."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # argon2id; None for system accounts that only use API tokens.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(24))
    region: Mapped[str | None] = mapped_column(String(64))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    case_manager_id: Mapped[int | None] = mapped_column(ForeignKey("case_manager.id"), unique=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("expert.id"), unique=True)
    notify_urls: Mapped[list[Any]] = mapped_column(EncryptedJSON, default=list)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class AuthToken(Base):
    """A bearer token (only its SHA-256 is stored): a session token or a long-lived API token."""

    __tablename__ = "auth_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # session | api
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    user: Mapped[AppUser] = relationship()


class AuditEvent(Base):
    """One access to case data (NEN 7513): who, in which role, on whose behalf, when, what, from
    where. Append-only: the application never updates or deletes a row, and on PostgreSQL a
    trigger refuses it."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the trail outlives accounts
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(24))
    on_behalf_of: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(16))  # create | read | change | export | search | login ...
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | denied | failed
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    case_reference: Mapped[str | None] = mapped_column(String(32), index=True)
    region: Mapped[str | None] = mapped_column(String(64), index=True)
    resource: Mapped[str] = mapped_column(String(200))  # route template or object
    method: Mapped[str | None] = mapped_column(String(8))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
