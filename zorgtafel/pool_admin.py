"""Managing the Werf 2 pool (issue 3): the expertise vocabulary, which expertise covers which concern,
the experts with their hours and weekly cap, their absences and entered busy time.

Every function validates everything first and raises :class:`ValidationFailed` with one
:class:`FieldProblem` per broken rule (Dutch message, field path, rule code); nothing is written
then. The caller owns the transaction (the API's request session, or ``unit_of_work``).

Decisions (documented here and in the README):

- **Expertise codes** match ``^[a-z][a-z0-9_]{1,63}$`` and carry a Dutch label. A term is never
  deleted, only deactivated: experts keep the codes they have (history), but an inactive term can
  not be given to an expert or put in the concern map, and it is refused while the concern map
  still uses it (so an inactive code never silently covers a concern).
- **Personal meeting hours** must parse (``zorgtafel.rules.meeting_hours``) and every personal
  window must lie inside a window of the region's meeting hours on the same weekday: a window
  outside them could never be used (the matching takes the intersection), so it is refused as a
  mistake rather than stored. If the region later narrows its hours, stored personal hours stay
  valid data; the intersection simply shrinks.
- **Weekly cap**: ``None`` = the region's default (``ZT_DEFAULT_WEEKLY_CAP``), else 1..50.
- **Absences** are whole local days, inclusive. Refused: end before start; overlapping another
  absence of the same expert (the other period is named; adjacent periods are fine); ending before
  yesterday (entirely in the past: it can no longer matter for planning, and is most likely a
  typing error in the year). An absence that started earlier and still runs may be entered.
- **Entered busy time** needs timezone-aware start and end (a time without offset is ambiguous
  across the DST change), end after start, and must not have ended already. Busy periods imported
  from a feed (``source="feed"``) are replaced by every successful import
  (:mod:`zorgtafel.availability`) and cannot be deleted one by one.
- **Deactivating** an expert (``active=False``) keeps everything (absences, busy time, past
  invitations); there is no delete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from zorgtafel.clock import utcnow
from zorgtafel.crypto import blind_index
from zorgtafel.db.models import Absence, Agency, BusyPeriod, ConcernExpertise, Expert, ExpertiseTerm
from zorgtafel.errors import FieldProblem, NotFound, ValidationFailed
from zorgtafel.rules.meeting_hours import MeetingHours, parse_meeting_hours
from zorgtafel.vocabulary import Concern

Loc = tuple[str | int, ...]

EXPERTISE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
PHONE = re.compile(r"^\+?[0-9 ()./-]{6,20}$")
MAX_WEEKLY_CAP = 50
ABSENCE_KINDS = ("leave", "training", "other")
BUSY_SOURCES = ("entered", "feed")
MAX_FEED_URL_LENGTH = 1000

DAY_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")


# --- the seeded vocabulary and the default concern map ------------------------------------------

#: Expertise vocabulary seeded with the demo pool: every code used in ``zorgtafel.seed.POOL``.
SEED_EXPERTISE: dict[str, str] = {
    "crisis_intervention": "crisisinterventie",
    "safety_planning": "veiligheidsplanning",
    "foster_care": "pleegzorg",
    "network_placement": "netwerkplaatsing",
    "residential_young_child": "residentiële opvang jonge kinderen (CKG)",
    "parenting_support": "opvoedingsondersteuning",
    "attachment": "hechting",
    "maternity_care": "kraamzorg",
    "infant_health": "zuigelingenzorg en preventieve gezondheidszorg",
    "infant_mental_health": "infant mental health (kinderpsychiatrie 0-3 jaar)",
    "adult_mental_health": "geestelijke gezondheidszorg volwassenen",
    "addiction": "verslavingszorg",
    "housing": "huisvesting",
    "finances": "financiële hulpverlening en schuldhulp",
    "domestic_violence": "intrafamiliaal geweld",
    "observation_diagnostics": "observatie en diagnostiek",
    "network_coordination": "netwerkcoördinatie",
}

#: The default concern -> expertise mapping (the source gives none: domain.md "Open points").
#: A concern is covered by a pool expert who has at least one of these codes. Coordinators change it
#: with ``PUT /api/v1/pool/concern-map/{concern}``; seeding only fills an empty table, so their
#: changes survive a re-seed.
#:
#: | concern                           | expertise                                                 |
#: |-----------------------------------|-----------------------------------------------------------|
#: | parental_mental_health            | adult_mental_health, infant_mental_health                 |
#: | parental_addiction                | addiction, adult_mental_health                            |
#: | domestic_violence                 | domestic_violence, safety_planning                        |
#: | parental_intellectual_disability  | parenting_support, network_coordination                   |
#: | neglect                           | parenting_support, safety_planning, residential_young_child |
#: | maltreatment                      | safety_planning, observation_diagnostics, foster_care     |
#: | threatened_attachment             | attachment, infant_mental_health                          |
#: | medical_vulnerability_child       | infant_health, maternity_care                             |
#: | prenatal_risk                     | maternity_care, infant_health                             |
#: | housing                           | housing                                                   |
#: | finances                          | finances                                                  |
#: | social_isolation                  | network_coordination, network_placement                   |
#: | young_parent                      | parenting_support, maternity_care                         |
#: | justice                           | crisis_intervention, safety_planning                      |
DEFAULT_CONCERN_MAP: dict[Concern, tuple[str, ...]] = {
    Concern.PARENTAL_MENTAL_HEALTH: ("adult_mental_health", "infant_mental_health"),
    Concern.PARENTAL_ADDICTION: ("addiction", "adult_mental_health"),
    Concern.DOMESTIC_VIOLENCE: ("domestic_violence", "safety_planning"),
    Concern.PARENTAL_INTELLECTUAL_DISABILITY: ("parenting_support", "network_coordination"),
    Concern.NEGLECT: ("parenting_support", "safety_planning", "residential_young_child"),
    Concern.MALTREATMENT: ("safety_planning", "observation_diagnostics", "foster_care"),
    Concern.THREATENED_ATTACHMENT: ("attachment", "infant_mental_health"),
    Concern.MEDICAL_VULNERABILITY_CHILD: ("infant_health", "maternity_care"),
    Concern.PRENATAL_RISK: ("maternity_care", "infant_health"),
    Concern.HOUSING: ("housing",),
    Concern.FINANCES: ("finances",),
    Concern.SOCIAL_ISOLATION: ("network_coordination", "network_placement"),
    Concern.YOUNG_PARENT: ("parenting_support", "maternity_care"),
    Concern.JUSTICE: ("crisis_intervention", "safety_planning"),
}


def seed_pool_vocabulary(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Add the seed expertise terms that are missing, and the default concern map when the map is
    still empty. Idempotent; never changes a label, an active flag or a mapping a coordinator set."""
    now = now or utcnow()
    known = set(session.scalars(select(ExpertiseTerm.code)))
    added = 0
    for code, label in SEED_EXPERTISE.items():
        if code not in known:
            session.add(ExpertiseTerm(code=code, label=label, active=True, created_at=now))
            added += 1
    session.flush()
    mapped = 0
    if session.scalar(select(func.count()).select_from(ConcernExpertise)) == 0:
        active = set(session.scalars(select(ExpertiseTerm.code).where(ExpertiseTerm.active.is_(True))))
        for concern, codes in DEFAULT_CONCERN_MAP.items():
            for code in (c for c in codes if c in active):  # a term a coordinator retired stays out
                session.add(ConcernExpertise(concern=concern.value, expertise_code=code))
                mapped += 1
        session.flush()
    return {"expertise_terms_added": added, "concern_links_added": mapped}


# --- expertise vocabulary -----------------------------------------------------------------------


def list_expertise(session: Session, *, include_inactive: bool = True) -> list[ExpertiseTerm]:
    stmt = select(ExpertiseTerm).order_by(ExpertiseTerm.code)
    if not include_inactive:
        stmt = stmt.where(ExpertiseTerm.active.is_(True))
    return list(session.scalars(stmt))


def _label_problems(label: Any, loc: Loc) -> list[FieldProblem]:
    if not isinstance(label, str) or not label.strip():
        return [FieldProblem(loc, "label_required", "Geef een (Nederlandstalig) label voor de expertise.")]
    if len(label.strip()) > 200:
        return [FieldProblem(loc, "label_too_long", "Het label is te lang (hoogstens 200 tekens).")]
    return []


def add_expertise(session: Session, code: str, label: str, *, now: datetime) -> ExpertiseTerm:
    """A new term of the vocabulary (active)."""
    problems: list[FieldProblem] = []
    if not isinstance(code, str) or not EXPERTISE_CODE.match(code):
        problems.append(
            FieldProblem(
                ("code",),
                "invalid_expertise_code",
                f"Code {code!r} is ongeldig: gebruik 2 tot 64 tekens, kleine letters, cijfers en '_', "
                "beginnend met een letter (bv. 'perinatale_zorg').",
            )
        )
    elif session.get(ExpertiseTerm, code) is not None:
        problems.append(
            FieldProblem(("code",), "expertise_exists", f"Expertise {code!r} bestaat al in de woordenlijst.")
        )
    problems += _label_problems(label, ("label",))
    if problems:
        raise ValidationFailed(problems)
    term = ExpertiseTerm(code=code, label=label.strip(), active=True, created_at=now)
    session.add(term)
    session.flush()
    return term


def update_expertise(
    session: Session, code: str, *, label: str | None = None, active: bool | None = None
) -> ExpertiseTerm:
    """Change a term's label and/or (de)activate it. Deactivating is refused while the concern map
    uses the term; experts keep it (history) but it covers nothing once out of the map."""
    term = session.get(ExpertiseTerm, code)
    if term is None:
        raise NotFound(f"expertise {code}")
    problems: list[FieldProblem] = []
    if label is not None:
        problems += _label_problems(label, ("label",))
    if active is False and term.active:
        concerns = sorted(
            session.scalars(select(ConcernExpertise.concern).where(ConcernExpertise.expertise_code == code))
        )
        if concerns:
            problems.append(
                FieldProblem(
                    ("active",),
                    "expertise_in_concern_map",
                    f"Expertise {code!r} is nog gekoppeld aan de verontrusting(en) {', '.join(concerns)}; "
                    "haal ze eerst uit die koppeling (PUT /api/v1/pool/concern-map/{verontrusting}).",
                )
            )
    if problems:
        raise ValidationFailed(problems)
    if label is not None:
        term.label = label.strip()
    if active is not None:
        term.active = active
    session.flush()
    return term


def _expertise_problems(session: Session, codes: Any, loc: Loc) -> tuple[list[str], list[FieldProblem]]:
    """The codes without duplicates (order kept), or a problem per unknown/inactive code."""
    if not isinstance(codes, list | tuple):
        return [], [FieldProblem(loc, "expertise_list", "Geef de expertise als een lijst van codes.")]
    terms = {t.code: t for t in session.scalars(select(ExpertiseTerm))}
    problems: list[FieldProblem] = []
    clean: list[str] = []
    for i, code in enumerate(codes):
        term = terms.get(code) if isinstance(code, str) else None
        if term is None:
            problems.append(
                FieldProblem(
                    (*loc, i),
                    "unknown_expertise",
                    f"Onbekende expertise {code!r}: niet in de woordenlijst (GET /api/v1/pool/expertise; "
                    "een coördinator kan ze toevoegen).",
                )
            )
        elif not term.active:
            problems.append(
                FieldProblem(
                    (*loc, i),
                    "inactive_expertise",
                    f"Expertise {code!r} is niet meer actief in de woordenlijst en kan niet gekozen worden.",
                )
            )
        elif code not in clean:
            clean.append(code)
    return clean, problems


# --- concern -> expertise -----------------------------------------------------------------------


def get_concern_map(session: Session) -> dict[str, list[str]]:
    """Every concern of the vocabulary with the expertise codes that cover it (possibly none)."""
    out: dict[str, list[str]] = {c.value: [] for c in Concern}
    rows = session.execute(
        select(ConcernExpertise.concern, ConcernExpertise.expertise_code).order_by(
            ConcernExpertise.concern, ConcernExpertise.expertise_code
        )
    )
    for concern, code in rows:
        out.setdefault(concern, []).append(code)
    return out


def set_concern_map(session: Session, concern: str, codes: list[str]) -> list[str]:
    """Replace the expertise that covers ``concern``; an empty list means nobody covers it."""
    problems: list[FieldProblem] = []
    if concern not in {c.value for c in Concern}:
        problems.append(
            FieldProblem(
                ("concern",),
                "unknown_concern",
                f"Onbekende verontrusting {concern!r}; kies uit {', '.join(c.value for c in Concern)}.",
            )
        )
    clean, expertise_problems = _expertise_problems(session, codes, ("expertise",))
    problems += expertise_problems
    if problems:
        raise ValidationFailed(problems)
    session.execute(delete(ConcernExpertise).where(ConcernExpertise.concern == concern))
    for code in clean:
        session.add(ConcernExpertise(concern=concern, expertise_code=code))
    session.flush()
    return sorted(clean)


# --- experts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpertIn:
    agency_code: str
    name: str
    email: str
    phone: str | None = None
    expertise: tuple[str, ...] = ()
    meeting_hours: str | None = None
    weekly_cap: int | None = None
    active: bool = True


EXPERT_FIELDS = frozenset(
    {"agency_code", "name", "email", "phone", "expertise", "meeting_hours", "weekly_cap", "active"}
)


def _fmt_window(day: int, window: tuple[time, time]) -> str:
    return f"{DAY_NL[day]} {window[0]:%H:%M}-{window[1]:%H:%M}"


def meeting_hours_problems(spec: Any, region: MeetingHours, loc: Loc) -> list[FieldProblem]:
    """Problems with a personal meeting-hours spec: unreadable, or a window outside the region's."""
    if not isinstance(spec, str) or len(spec) > 200:
        return [
            FieldProblem(loc, "invalid_meeting_hours", "Vergaderuren: geef tekst van hoogstens 200 tekens.")
        ]
    try:
        personal = parse_meeting_hours(spec)
    except ValueError as exc:
        return [
            FieldProblem(
                loc,
                "invalid_meeting_hours",
                f"Vergaderuren {spec!r} zijn niet leesbaar ({exc}); schrijf bv. "
                "'mon-thu 09:00-17:00; fri 09:00-12:00' (dagen: mon tue wed thu fri sat sun).",
            )
        ]
    outside = []
    for day, windows in enumerate(personal.by_weekday):
        for window in windows:
            regional = region.by_weekday[day]
            if not any(o <= window[0] and window[1] <= c for o, c in regional):
                allowed = ", ".join(f"{o:%H:%M}-{c:%H:%M}" for o, c in regional) or "geen"
                outside.append(f"{_fmt_window(day, window)} (regio: {allowed})")
    if not outside:
        return []
    return [
        FieldProblem(
            loc,
            "meeting_hours_outside_region",
            f"Vergaderuren vallen buiten de vergaderuren van de regio: {'; '.join(outside)}.",
        )
    ]


def _weekly_cap_problems(cap: Any, loc: Loc) -> list[FieldProblem]:
    if cap is None:
        return []
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_WEEKLY_CAP:
        return [
            FieldProblem(
                loc,
                "invalid_weekly_cap",
                f"Het maximum aantal zorgtafels per week moet een geheel getal van 1 tot {MAX_WEEKLY_CAP} "
                f"zijn, of leeg (dan geldt het standaardmaximum van de regio); gekregen: {cap!r}.",
            )
        ]
    return []


def _field_problems(
    session: Session,
    values: Mapping[str, Any],
    *,
    region_hours: MeetingHours,
    expert_id: int | None,
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Validate the given expert fields; returns the cleaned values to store."""
    clean: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for key in values:
        if key not in EXPERT_FIELDS:
            problems.append(FieldProblem((key,), "unknown_field", f"Onbekend veld {key!r}."))
    if "agency_code" in values:
        agency = session.scalar(select(Agency).where(Agency.code == values["agency_code"]))
        if agency is None:
            problems.append(
                FieldProblem(
                    ("agency_code",),
                    "unknown_agency",
                    f"Onbekende organisatie {values['agency_code']!r} (zie GET /api/v1/agencies).",
                )
            )
        else:
            clean["agency"] = agency
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            problems.append(FieldProblem(("name",), "name_required", "Geef een naam (1 tot 200 tekens)."))
        else:
            clean["name"] = name.strip()
    if "email" in values:
        email = values["email"]
        try:
            if not isinstance(email, str):
                raise EmailNotValidError("not a string")
            email = validate_email(email.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append(
                FieldProblem(("email",), "invalid_email", f"{email!r} is geen geldig e-mailadres.")
            )
        else:
            other = session.scalar(select(Expert.id).where(Expert.email_bidx == blind_index(email)))
            if other is not None and other != expert_id:
                problems.append(
                    FieldProblem(
                        ("email",),
                        "email_taken",
                        f"Dit e-mailadres hoort al bij een andere expert (id {other}).",
                    )
                )
            else:
                clean["email"] = email
    if "phone" in values:
        phone = values["phone"]
        if phone is not None and (not isinstance(phone, str) or not PHONE.match(phone.strip())):
            problems.append(
                FieldProblem(
                    ("phone",),
                    "invalid_phone",
                    "Telefoonnummer: 6 tot 20 cijfers, spaties, +()./- toegestaan.",
                )
            )
        else:
            clean["phone"] = phone.strip() if phone else None
    if "expertise" in values:
        codes, expertise_problems = _expertise_problems(session, values["expertise"], ("expertise",))
        problems += expertise_problems
        clean["expertise"] = codes
    if "meeting_hours" in values:
        spec = values["meeting_hours"]
        if spec is None or (isinstance(spec, str) and not spec.strip()):
            clean["meeting_hours"] = None
        else:
            hour_problems = meeting_hours_problems(spec, region_hours, ("meeting_hours",))
            problems += hour_problems
            clean["meeting_hours"] = spec.strip() if isinstance(spec, str) else None
    if "weekly_cap" in values:
        problems += _weekly_cap_problems(values["weekly_cap"], ("weekly_cap",))
        clean["weekly_cap"] = values["weekly_cap"]
    if "active" in values:
        if not isinstance(values["active"], bool):
            problems.append(FieldProblem(("active",), "invalid_active", "'active' is waar of onwaar."))
        clean["active"] = values["active"]
    return clean, problems


def create_expert(session: Session, data: ExpertIn, *, region_hours: MeetingHours) -> Expert:
    values = {
        "agency_code": data.agency_code,
        "name": data.name,
        "email": data.email,
        "phone": data.phone,
        "expertise": list(data.expertise),
        "meeting_hours": data.meeting_hours,
        "weekly_cap": data.weekly_cap,
        "active": data.active,
    }
    clean, problems = _field_problems(session, values, region_hours=region_hours, expert_id=None)
    if problems:
        raise ValidationFailed(problems)
    expert = Expert(**clean)
    session.add(expert)
    session.flush()
    return expert


def update_expert(
    session: Session, expert: Expert, changes: Mapping[str, Any], *, region_hours: MeetingHours
) -> Expert:
    """Change the given fields only (a missing key is left as it is; ``None`` clears an optional one)."""
    required = {"agency_code", "name", "email", "expertise", "active"}
    problems = [
        FieldProblem((key,), "required", f"{key!r} kan niet leeg gemaakt worden.")
        for key in sorted(required & changes.keys())
        if changes[key] is None
    ]
    clean, field_problems = _field_problems(
        session,
        {k: v for k, v in changes.items() if not (k in required and v is None)},
        region_hours=region_hours,
        expert_id=expert.id,
    )
    problems += field_problems
    if problems:
        raise ValidationFailed(problems)
    for key, value in clean.items():
        setattr(expert, key, value)
    session.flush()
    return expert


def get_expert(session: Session, expert_id: int, *, for_update: bool = False) -> Expert:
    """The expert, or NotFound. ``for_update`` locks the row until the transaction ends, so changes
    that check other rows first (overlapping absences, replacing imported busy time) are serialised
    per expert: ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite, which has no row locks, a no-op
    UPDATE as the first statement takes the database's write lock before anything is read (call it
    first in the transaction)."""
    if for_update and session.get_bind().dialect.name == "sqlite":
        session.execute(update(Expert).where(Expert.id == expert_id).values(active=Expert.active))
    expert = session.get(Expert, expert_id, with_for_update=for_update or None)
    if expert is None:
        raise NotFound(f"expert {expert_id}")
    return expert


def list_experts(
    session: Session,
    *,
    active: bool | None = None,
    agency_code: str | None = None,
    expertise: str | None = None,
) -> list[Expert]:
    stmt = select(Expert).options(selectinload(Expert.agency)).order_by(Expert.id)
    if active is not None:
        stmt = stmt.where(Expert.active.is_(active))
    if agency_code is not None:
        stmt = stmt.join(Agency, Expert.agency_id == Agency.id).where(Agency.code == agency_code)
    experts = list(session.scalars(stmt))
    if expertise is not None:  # a JSON list: filtered here, the same on every backend
        experts = [e for e in experts if expertise in (e.expertise or [])]
    return experts


def absence_counts(session: Session, expert_ids: Iterable[int]) -> dict[int, int]:
    ids = list(expert_ids)
    rows = session.execute(
        select(Absence.expert_id, func.count()).where(Absence.expert_id.in_(ids)).group_by(Absence.expert_id)
    )
    return {i: 0 for i in ids} | {expert_id: n for expert_id, n in rows}


def busy_counts(
    session: Session, expert_ids: Iterable[int], *, after: datetime
) -> dict[tuple[int, str], int]:
    """Busy periods ending after ``after``, per (expert, source)."""
    ids = list(expert_ids)
    rows = session.execute(
        select(BusyPeriod.expert_id, BusyPeriod.source, func.count())
        .where(BusyPeriod.expert_id.in_(ids), BusyPeriod.ends_at > after)
        .group_by(BusyPeriod.expert_id, BusyPeriod.source)
    )
    return {(expert_id, source): n for expert_id, source, n in rows}


# --- absences -----------------------------------------------------------------------------------


def _fmt_day(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def add_absence(
    session: Session, expert: Expert, starts_on: Any, ends_on: Any, kind: Any = "leave", *, today: date
) -> Absence:
    """Whole local days ``starts_on`` .. ``ends_on`` inclusive. ``today`` is the region's local date.
    Lock the expert row (``get_expert(..., for_update=True)``) so two overlapping absences entered at
    the same moment cannot both pass."""
    problems: list[FieldProblem] = []
    for field_name, value in (("starts_on", starts_on), ("ends_on", ends_on)):
        if not isinstance(value, date) or isinstance(value, datetime):
            problems.append(FieldProblem((field_name,), "invalid_date", "Geef een datum (JJJJ-MM-DD)."))
    if kind not in ABSENCE_KINDS:
        problems.append(
            FieldProblem(
                ("kind",), "invalid_kind", f"Soort afwezigheid: kies uit {', '.join(ABSENCE_KINDS)}."
            )
        )
    if problems:
        raise ValidationFailed(problems)
    if ends_on < starts_on:
        raise ValidationFailed(
            [
                FieldProblem(
                    ("ends_on",),
                    "inverted_period",
                    f"De afwezigheid eindigt ({_fmt_day(ends_on)}) voor ze begint ({_fmt_day(starts_on)}).",
                )
            ]
        )
    yesterday = today - timedelta(days=1)
    if ends_on < yesterday:
        raise ValidationFailed(
            [
                FieldProblem(
                    ("ends_on",),
                    "absence_in_past",
                    f"De afwezigheid {_fmt_day(starts_on)} t/m {_fmt_day(ends_on)} ligt helemaal in het "
                    f"verleden (vroeger dan gisteren, {_fmt_day(yesterday)}); ze telt niet meer voor de "
                    "planning.",
                )
            ]
        )
    overlapping = session.scalars(
        select(Absence)
        .where(Absence.expert_id == expert.id, Absence.starts_on <= ends_on, Absence.ends_on >= starts_on)
        .order_by(Absence.starts_on)
    ).all()
    if overlapping:
        raise ValidationFailed(
            [
                FieldProblem(
                    ("starts_on",),
                    "overlapping_absence",
                    f"De afwezigheid {_fmt_day(starts_on)} t/m {_fmt_day(ends_on)} overlapt met de "
                    f"afwezigheid {_fmt_day(other.starts_on)} t/m {_fmt_day(other.ends_on)} (id {other.id}) "
                    "van deze expert; pas die aan of verwijder ze eerst.",
                )
                for other in overlapping
            ]
        )
    absence = Absence(expert_id=expert.id, starts_on=starts_on, ends_on=ends_on, kind=kind)
    session.add(absence)
    session.flush()
    return absence


def list_absences(session: Session, expert: Expert) -> list[Absence]:
    return list(
        session.scalars(select(Absence).where(Absence.expert_id == expert.id).order_by(Absence.starts_on))
    )


def delete_absence(session: Session, expert: Expert, absence_id: int) -> None:
    absence = session.get(Absence, absence_id)
    if absence is None or absence.expert_id != expert.id:
        raise NotFound(f"absence {absence_id}")
    session.delete(absence)
    session.flush()


# --- entered busy time --------------------------------------------------------------------------


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def add_busy(session: Session, expert: Expert, starts_at: Any, ends_at: Any, *, now: datetime) -> BusyPeriod:
    """An entered busy period (``source="entered"``)."""
    problems: list[FieldProblem] = []
    for field_name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime):
            problems.append(FieldProblem((field_name,), "invalid_datetime", "Geef een tijdstip (ISO 8601)."))
        elif not _aware(value):
            problems.append(
                FieldProblem(
                    (field_name,),
                    "naive_datetime",
                    f"Tijdstip {value.isoformat()} heeft geen tijdzone; schrijf de afwijking erbij, bv. "
                    f"{value.isoformat()}+01:00 (wintertijd) of +02:00 (zomertijd), of Z voor UTC.",
                )
            )
    if problems:
        raise ValidationFailed(problems)
    try:
        start_utc, end_utc = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            [FieldProblem(("starts_at",), "invalid_datetime", "Dit tijdstip valt buiten de kalender.")]
        ) from None
    if end_utc <= start_utc:
        raise ValidationFailed(
            [
                FieldProblem(
                    ("ends_at",),
                    "inverted_period",
                    f"De bezette periode eindigt ({ends_at.isoformat()}) niet na haar begin "
                    f"({starts_at.isoformat()}).",
                )
            ]
        )
    if end_utc <= now:
        raise ValidationFailed(
            [
                FieldProblem(
                    ("ends_at",),
                    "busy_in_past",
                    f"De bezette periode is al voorbij (einde {ends_at.isoformat()}); ze telt niet meer.",
                )
            ]
        )
    period = BusyPeriod(expert_id=expert.id, starts_at=start_utc, ends_at=end_utc, source="entered")
    session.add(period)
    session.flush()
    return period


def list_busy(
    session: Session, expert: Expert, *, after: datetime | None = None, source: str | None = None
) -> list[BusyPeriod]:
    stmt = select(BusyPeriod).where(BusyPeriod.expert_id == expert.id).order_by(BusyPeriod.starts_at)
    if after is not None:
        stmt = stmt.where(BusyPeriod.ends_at > after)
    if source is not None:
        stmt = stmt.where(BusyPeriod.source == source)
    return list(session.scalars(stmt))


def delete_busy(session: Session, expert: Expert, busy_id: int) -> None:
    period = session.get(BusyPeriod, busy_id)
    if period is None or period.expert_id != expert.id:
        raise NotFound(f"busy period {busy_id}")
    if period.source != "entered":
        raise ValidationFailed(
            [
                FieldProblem(
                    ("busy_id",),
                    "imported_busy_period",
                    "Deze bezette periode komt uit de agenda-feed van de organisatie en wordt bij elke "
                    "synchronisatie vervangen; pas ze aan in die agenda.",
                )
            ]
        )
    session.delete(period)
    session.flush()


# --- availability feed URL ----------------------------------------------------------------------


def normalise_feed_url(url: Any, loc: Loc = ("url",)) -> str:
    """An http(s) URL (``webcal://`` is read as ``https://``, as calendar apps do), or ValidationFailed."""
    problem = None
    if not isinstance(url, str) or not url.strip():
        problem = "Geef een URL."
    else:
        url = url.strip()
        if len(url) > MAX_FEED_URL_LENGTH:
            problem = f"De URL is te lang (hoogstens {MAX_FEED_URL_LENGTH} tekens)."
        elif any(c.isspace() for c in url):
            problem = "De URL bevat spaties."
        else:
            try:
                parts = urlsplit(url)
                parts.port  # noqa: B018 - raises ValueError for a bad port
            except ValueError:
                parts = None
            if parts is None:
                problem = "De URL is niet leesbaar."
            else:
                scheme = parts.scheme.lower()
                if scheme == "webcal":
                    parts = parts._replace(scheme="https")
                    scheme = "https"
                if scheme not in ("http", "https"):
                    problem = (
                        f"Schema {parts.scheme + '://' if parts.scheme else '(geen)'} is niet toegestaan; "
                        "een agenda-feed moet met http:// of https:// beginnen."
                    )
                elif not parts.hostname:
                    problem = "De URL noemt geen server."
                else:
                    return urlunsplit(parts._replace(scheme=scheme, fragment=""))
    raise ValidationFailed([FieldProblem(loc, "invalid_feed_url", f"Agenda-feed: {problem}")])


def mask_feed_url(url: str | None) -> str | None:
    """Safe to show: scheme, host and port; of the path only the first characters of the last part;
    user, password and query (where feed tokens live) never."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(ongeldige URL)"
    segments = [s for s in parts.path.split("/") if s]
    tail = ""
    if segments:
        tail = ("/…" if len(segments) > 1 else "") + f"/{segments[-1][:3]}***"
    query = "?…" if parts.query else ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}{tail}{query}"


def set_feed_url(session: Session, expert: Expert, url: str | None) -> Expert:
    """Set (validated) or clear the expert's availability feed. A new URL clears the sync status;
    the busy time imported from the previous feed stays until the new one is imported successfully
    (rather busy than wrongly free). Clearing removes the imported busy time."""
    if url is None:
        expert.availability_feed_url = None
        session.execute(
            delete(BusyPeriod).where(BusyPeriod.expert_id == expert.id, BusyPeriod.source == "feed")
        )
    else:
        normalised = normalise_feed_url(url)
        if normalised == expert.availability_feed_url:
            return expert
        expert.availability_feed_url = normalised
    expert.availability_synced_at = None
    expert.availability_error = None
    session.flush()
    return expert
