"""One settings object for every process (API, flows, CLI), read from ``ZT_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zorgtafel.rules.meeting_hours import MeetingHours, parse_meeting_hours


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZT_", extra="ignore")

    # Persistence: SQLite is the embedded default, PostgreSQL the production choice.
    database_url: str = "sqlite:///var/zorgtafel.db"

    # The region this installation serves; the zone people see times in.
    region: str = "Limburg"
    timezone: str = "Europe/Brussels"

    # Target group (domain.md, seed 004): from 9 months before birth to 3 years.
    max_age_months: int = 36
    max_months_before_birth: int = 9

    # The 48-hour clock (clock hours; it does not pause on weekends, see README "Decisions").
    zorgtafel_deadline_hours: int = 48
    # Meeting hours in which a zorgtafel may be planned, e.g. "mon-fri 08:00-19:00; sat-sun 09:00-17:00".
    meeting_hours: str = "mon-fri 08:00-19:00; sat-sun 09:00-17:00"
    zorgtafel_duration_minutes: int = 90
    # Participants need time to arrange to come: earliest start after the moment of planning.
    min_lead_minutes: int = 120
    slot_step_minutes: int = 15
    # Invitees are asked to answer within this window (and before the meeting starts), so a
    # decline leaves time to invite someone else.
    response_window_minutes: int = 240
    default_location: str = "Kantoor casemanager (adres volgt via casemanager)"

    # The expert pool (issue 3). Public holidays on which no zorgtafel is planned: ISO country
    # codes, comma separated ("BE", or "BE,NL" near the border).
    public_holidays: str = "BE"
    # Travel/buffer time kept free before and after every busy period of every participant.
    travel_buffer_minutes: int = Field(default=0, ge=0, le=240)
    # Zorgtafels per ISO week an expert takes at most, unless their own cap is set.
    default_weekly_cap: int = Field(default=2, ge=1)
    # Fairness: zorgtafels per expert are counted over this rolling window.
    fairness_window_days: int = Field(default=28, ge=1)
    # Escalate to the coordinator when no confirmed pair exists this long before the deadline.
    escalation_hours_before_deadline: int = Field(default=12, ge=0)
    # The scheduled watcher (answers, silence, replacements, escalation) runs this often.
    watch_interval_seconds: int = Field(default=300, ge=30)
    watch_deployment: str = "zorgtafel-watch/zorgtafel-watch"
    # Coordinators are warned on these apprise URLs and this address (in addition to the
    # coordinator accounts of the case's region).
    coordinator_notify_urls: list[str] = Field(default_factory=list)
    coordinator_email: str | None = None
    # Availability feeds published by agencies are fetched this often and with this timeout.
    availability_sync_minutes: int = Field(default=30, ge=5)
    availability_fetch_timeout_seconds: float = 10.0

    # Mail.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    # The organizer mailbox: replies (iTIP REPLY/COUNTER) are delivered here by the MTA (LMTP or SMTP).
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 8026
    inbound_lmtp: bool = False
    organizer_email: str = "zorgtafel@zorgtafel.example"
    organizer_label: str = "Zorgtafel coördinatie"
    mail_domain: str = "zorgtafel.example"
    public_base_url: str = "http://127.0.0.1:8000"
    regular_help_url: str = "https://www.kindengezin.be/nl/ondersteuning"

    # After the zorgtafel (seed 004): the case-bound budget of this region (the source gives no
    # amount), the plan's term, and evaluations every 6 weeks at this local time.
    case_budget_cents: int = Field(default=1_000_000, gt=0)
    plan_term_months: int = 3
    evaluation_interval_weeks: int = 6
    evaluation_time: str = "10:00"
    evaluation_duration_minutes: int = 60
    # An evaluation not held this long after its time shows as overdue.
    evaluation_overdue_hours: int = 48
    # The evaluation's run starts this long before it, sends reminders, then waits for the outcome.
    evaluation_reminder_hours: int = 48

    # The outbox: a claim not reported back within this lease belongs to a dead dispatcher.
    outbox_claim_lease_seconds: int = 120
    outbox_dispatch_interval_seconds: int = 60

    # Orchestration.
    route_deployment: str = "crisis-route/crisis-route"
    dispatch_deployment: str = "outbox-dispatcher/outbox-dispatcher"
    route_start_timeout_seconds: float = 5.0
    route_sweep_seconds: float = 10.0

    var_dir: Path = Field(default=Path("var"))

    # Signs the personal RSVP links; `zorgtafel run` generates one into var/ when it is not set.
    secret_key: str | None = None
    # Personal data at rest (zorgtafel.crypto): "<id>:<base64 32 bytes>;..." - the first encrypts,
    # all decrypt. `zorgtafel run` generates one into var/ when it is not set.
    data_keys: str | None = None
    # Key of the blind indexes (e-mail lookups); derived from the secret key when not set.
    index_key: str | None = None

    # Authentication (issue 6): session tokens from the password flow expire after this long;
    # API tokens for systems after this many days. Both can be revoked.
    access_token_minutes: int = Field(default=60, ge=1)
    api_token_days: int = Field(default=365, ge=1)
    # Retention: closed cases are anonymised this many days after closure.
    retention_days: int = Field(default=730, ge=1)
    retention_deployment: str = "retention/retention"

    def require_secret(self) -> str:
        if not self.secret_key or len(self.secret_key) < 16:
            raise RuntimeError("ZT_SECRET_KEY is not set (at least 16 characters): links cannot be signed")
        return self.secret_key

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("meeting_hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        parse_meeting_hours(value)
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def parsed_meeting_hours(self) -> MeetingHours:
        return parse_meeting_hours(self.meeting_hours)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
