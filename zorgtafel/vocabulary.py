"""Controlled vocabularies with their Dutch labels (what the API accepts and the pages show)."""

from __future__ import annotations

from enum import StrEnum


class Concern(StrEnum):
    """Concerns behind a registration (the 'verontrusting'); several may apply (multifactorial)."""

    PARENTAL_MENTAL_HEALTH = "parental_mental_health"
    PARENTAL_ADDICTION = "parental_addiction"
    DOMESTIC_VIOLENCE = "domestic_violence"
    PARENTAL_INTELLECTUAL_DISABILITY = "parental_intellectual_disability"
    NEGLECT = "neglect"
    MALTREATMENT = "maltreatment"
    THREATENED_ATTACHMENT = "threatened_attachment"
    MEDICAL_VULNERABILITY_CHILD = "medical_vulnerability_child"
    PRENATAL_RISK = "prenatal_risk"
    HOUSING = "housing"
    FINANCES = "finances"
    SOCIAL_ISOLATION = "social_isolation"
    YOUNG_PARENT = "young_parent"
    JUSTICE = "justice"


CONCERN_LABELS_NL: dict[Concern, str] = {
    Concern.PARENTAL_MENTAL_HEALTH: "psychische problemen bij een ouder",
    Concern.PARENTAL_ADDICTION: "verslaving bij een ouder",
    Concern.DOMESTIC_VIOLENCE: "intrafamiliaal geweld / partnergeweld",
    Concern.PARENTAL_INTELLECTUAL_DISABILITY: "verstandelijke beperking bij een ouder",
    Concern.NEGLECT: "verwaarlozing",
    Concern.MALTREATMENT: "mishandeling",
    Concern.THREATENED_ATTACHMENT: "bedreigde hechting",
    Concern.MEDICAL_VULNERABILITY_CHILD: "medische kwetsbaarheid van het kind (o.a. prematuriteit)",
    Concern.PRENATAL_RISK: "prenatale risico's",
    Concern.HOUSING: "huisvesting / dakloosheid",
    Concern.FINANCES: "financiële problemen",
    Concern.SOCIAL_ISOLATION: "sociaal isolement / beperkt netwerk",
    Concern.YOUNG_PARENT: "zeer jonge ouder",
    Concern.JUSTICE: "justitiële problematiek",
}


class Willingness(StrEnum):
    """The parents' willingness to accept help; recorded, never a hard rejection (domain.md)."""

    NONE = "none"
    MINIMAL = "minimal"
    WILLING = "willing"
    UNKNOWN = "unknown"


class Channel(StrEnum):
    """How a family member prefers to be reached."""

    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    VIA_CASE_MANAGER = "via_case_manager"


class Relation(StrEnum):
    MOTHER = "mother"
    FATHER = "father"
    PARENT = "parent"
    PARTNER = "partner"
    GRANDPARENT = "grandparent"
    OTHER_FAMILY = "other_family"
    NETWORK = "network"


class CaseStatus(StrEnum):
    REGISTERED = "registered"
    NOT_ELIGIBLE = "not_eligible"
    CONVENING = "convening"
    ZORGTAFEL_PLANNED = "zorgtafel_planned"
    AT_RISK = "at_risk"
    ZORGTAFEL_CANCELLED = "zorgtafel_cancelled"
    PLAN_ACTIVE = "plan_active"
    CLOSED = "closed"


class ParticipantRole(StrEnum):
    CASE_MANAGER = "case_manager"
    REGISTRANT = "registrant"
    EXPERT = "expert"
    FAMILY = "family"


class InvitationState(StrEnum):
    PENDING = "pending"  # decided, not yet sent
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"
    NO_CONSENT = "no_consent"  # family member who did not consent to be contacted
    VIA_CASE_MANAGER = "via_case_manager"  # no mail channel: the case manager invites in person
    REPLACED = "replaced"  # an expert who declined or stayed silent, replaced by another (CANCEL sent)


class Role(StrEnum):
    """Who a user is to the system (issue 6)."""

    REGISTRANT = "registrant"
    CASE_MANAGER = "case_manager"
    COORDINATOR = "coordinator"
    EXPERT = "expert"
    ADMIN = "admin"


class Track(StrEnum):
    """What a zorgtafel decides (seed 004)."""

    CASE_BUDGET = "case_budget"  # casusgebonden middelen
    REGULAR = "regular"  # reguliere opstart
    NONE = "none"  # no further route


class LifeDomain(StrEnum):
    """Leefgebieden to write goals against (seed 001)."""

    HOUSING = "housing"
    PHYSICAL_HEALTH = "physical_health"
    MENTAL_HEALTH = "mental_health"
    DAYTIME_ACTIVITY = "daytime_activity"
    FINANCES = "finances"
    SOCIAL_NETWORK = "social_network"
    SOCIAL_PARTICIPATION = "social_participation"
    JUSTICE = "justice"
    ADDICTION = "addiction"
    DAILY_LIVING = "daily_living"
    CHILD_DEVELOPMENT = "child_development"  # "the child's own needs are named" (seed 004)


LIFE_DOMAIN_LABELS_NL: dict[LifeDomain, str] = {
    LifeDomain.HOUSING: "wonen",
    LifeDomain.PHYSICAL_HEALTH: "lichamelijke gezondheid",
    LifeDomain.MENTAL_HEALTH: "psychische gezondheid",
    LifeDomain.DAYTIME_ACTIVITY: "dagbesteding en vrije tijd",
    LifeDomain.FINANCES: "financiën",
    LifeDomain.SOCIAL_NETWORK: "sociaal netwerk",
    LifeDomain.SOCIAL_PARTICIPATION: "maatschappelijke participatie",
    LifeDomain.JUSTICE: "justitie",
    LifeDomain.ADDICTION: "verslaving",
    LifeDomain.DAILY_LIVING: "algemene dagelijkse levensverrichtingen",
    LifeDomain.CHILD_DEVELOPMENT: "ontwikkeling en veiligheid van het kind",
}


class EvaluationOutcome(StrEnum):
    CONTINUE = "continue"
    ADJUST = "adjust"
    EXTEND = "extend"  # once, at the end of the first term
    REGULAR = "regular"  # move to the regular track
    CLOSE = "close"
