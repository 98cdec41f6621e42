"""Does a service of the catalogue fit this family? The eligibility rules the sources give.

Plain functions over plain data: ``assess(FitFacts) -> list[Fit]``, one ``Fit`` per service, each
with a verdict and Dutch reasons that quote the fact and the rule ("VoorZorg: moeder is 27, de
regel is maximaal 25"). Nothing here is stored or logged: the facts are personal data.

How a verdict is made: every rule of a service is checked on the facts; a rule that is broken
makes the service ``does_not_fit``; otherwise a rule whose fact is unknown (``None``) makes it
``unknown``; otherwise it ``fits``. The reasons list the broken rules first, then the unknown
ones (or, when it fits, the rules that were met), then notes that are no condition but matter
(a maximum of hours, who selects).

Decisions (where the sources leave room):

- **The reference date** is ``assessed_on``, else ``registered_on``; ages and the child's stage
  (unborn, days or months old) are counted on it. Without either, date rules are ``unknown``.
- **The child** is born when a birth date is known and not after the reference date; otherwise,
  with an expected delivery date, the mother is pregnant.
- **Pregnancy weeks at the start** (VoorZorg) are the given figure, or else derived from the
  expected delivery date (40 weeks = 280 days): completed weeks, so 28 weeks and 6 days is 28.
- **Education** is an ordered Dutch vocabulary (``Education``); "maximaal VMBO-t" (VoorZorg)
  is at most ``vmbo_t``. Stevig Ouderschap's "lage opleiding" is read as no starting
  qualification (startkwalificatie): at most ``mbo_1``.
- **"Young mother"** (Stevig Ouderschap) has no figure in the source; the only age bound the
  sources give is VoorZorg's 25, so it is used here too (``YOUNG_MOTHER_MAX_AGE``).
- **"About one year"** (BabythuisZorg) is up to and including the first birthday; **"a baby"**
  (Bijzonder Klein) is a child younger than 12 months.
- **Nazorg** fits from before the end of the product ("aansluitend") until 3 months after it,
  while fewer than 13 hours have been used; hours used must be given (0 when none).
- **Beschermd wonen / begeleid wonen** have access rules (psychiatric or severe psychosocial
  problems in the foreground, 24/7 supervision needed) that only the municipality assesses; they
  are outside these facts, so the verdict is ``unknown`` with that reason.
- **ZEVMB services** (logeren, dagbesteding, deeltijdwonen of seed 003) are for children with
  severe multiple disabilities: one extra fact, ``child_zevmb``.
- Services without conditions in the sources ``fit`` with the reason "geen bijzondere
  voorwaarden in de bronnen".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from zorgtafel.catalogue_data import SERVICES, SERVICES_BY_CODE
from zorgtafel.rules.eligibility import add_months


class Verdict(StrEnum):
    FITS = "fits"
    DOES_NOT_FIT = "does_not_fit"
    UNKNOWN = "unknown"


class Education(StrEnum):
    """Highest completed education of the mother, lowest first (Dutch system, as in seed 002)."""

    GEEN = "geen"
    BASISONDERWIJS = "basisonderwijs"
    PRAKTIJKONDERWIJS = "praktijkonderwijs"
    VMBO_B = "vmbo_b"
    VMBO_K = "vmbo_k"
    VMBO_G = "vmbo_g"
    VMBO_T = "vmbo_t"
    MBO_1 = "mbo_1"
    MBO_2 = "mbo_2"
    MBO_3 = "mbo_3"
    MBO_4 = "mbo_4"
    HAVO = "havo"
    VWO = "vwo"
    HBO = "hbo"
    WO = "wo"

    @property
    def rank(self) -> int:
        return _EDUCATION_ORDER.index(self)


_EDUCATION_ORDER: tuple[Education, ...] = tuple(Education)

EDUCATION_LABELS_NL: dict[Education, str] = {
    Education.GEEN: "geen afgeronde opleiding",
    Education.BASISONDERWIJS: "basisonderwijs",
    Education.PRAKTIJKONDERWIJS: "praktijkonderwijs",
    Education.VMBO_B: "VMBO-b",
    Education.VMBO_K: "VMBO-k",
    Education.VMBO_G: "VMBO-g",
    Education.VMBO_T: "VMBO-t",
    Education.MBO_1: "MBO-1",
    Education.MBO_2: "MBO-2",
    Education.MBO_3: "MBO-3",
    Education.MBO_4: "MBO-4",
    Education.HAVO: "HAVO",
    Education.VWO: "VWO",
    Education.HBO: "HBO",
    Education.WO: "WO",
}

VOORZORG_MAX_WEEKS = 28
VOORZORG_MAX_AGE = 25
VOORZORG_MAX_EDUCATION = Education.VMBO_T
YOUNG_MOTHER_MAX_AGE = VOORZORG_MAX_AGE
LOW_EDUCATION_MAX = Education.MBO_1
STEVIG_OUDERSCHAP_CHILD_MONTHS = 6
KRAAMZORG_MAX_DAYS = 10
KRAAMZORG_MAX_HOURS = 80
BABYTHUISZORG_MONTHS = 12
BABY_MONTHS = 12
NAZORG_MAX_HOURS = 13
NAZORG_WINDOW_MONTHS = 3
BIJZONDER_KLEIN_PLACES = 3
BIJZONDER_KLEIN_STAY_MONTHS = 4
PREGNANCY_DAYS = 280


@dataclass(frozen=True)
class FitFacts:
    """What is known about the family; ``None`` is unknown. Personal data: never store or log it."""

    registered_on: date | None = None
    assessed_on: date | None = None  # the day the fit is judged; by default the registration day
    birth_date: date | None = None
    expected_delivery_date: date | None = None
    pregnancy_weeks_at_start: int | None = None
    first_child: bool | None = None
    mother_age: int | None = None
    mother_education: Education | None = None
    mother_speaks_dutch: bool | None = None
    family_accepts_help: bool | None = None
    family_motivated: bool | None = None
    in_intramural_living: bool | None = None  # now in intramural beschermd or begeleid wonen
    product_ended_on: date | None = None  # end of the beschermd/begeleid wonen product (nazorg)
    nazorg_hours_used: Decimal | int | None = None
    child_zevmb: bool | None = None  # severe multiple disabilities (seed 003)

    @property
    def reference_date(self) -> date | None:
        return self.assessed_on or self.registered_on


@dataclass(frozen=True)
class Fit:
    service_code: str
    verdict: Verdict
    reasons: tuple[str, ...]


# --- building blocks -------------------------------------------------------------------------


class _State(StrEnum):
    MET = "met"
    BROKEN = "broken"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class _Check:
    state: _State
    text: str


def _met(fact: str, rule: str) -> _Check:
    return _Check(_State.MET, f"{fact}, de regel is {rule}")


def _broken(fact: str, rule: str) -> _Check:
    return _Check(_State.BROKEN, f"{fact}, de regel is {rule}")


def _unknown(fact: str, rule: str) -> _Check:
    # "zwangerschapsduur onbekend", but "onbekend of het gezin de hulp aanvaardt"
    text = f"onbekend {fact}" if fact.startswith("of ") else f"{fact} onbekend"
    return _Check(_State.UNKNOWN, f"{text}; de regel is {rule}")


def _yes_no(value: bool | None, *, yes: str, no: str, unknown: str, rule: str) -> _Check:
    if value is None:
        return _unknown(unknown, rule)
    return _met(yes, rule) if value else _broken(no, rule)


def _verdict(name: str, checks: list[_Check], notes: Iterable[str] = ()) -> tuple[Verdict, tuple[str, ...]]:
    broken = [c.text for c in checks if c.state is _State.BROKEN]
    unknown = [c.text for c in checks if c.state is _State.UNKNOWN]
    met = [c.text for c in checks if c.state is _State.MET]
    if broken:
        verdict, texts = Verdict.DOES_NOT_FIT, broken + unknown
    elif unknown:
        verdict, texts = Verdict.UNKNOWN, unknown
    else:
        verdict, texts = Verdict.FITS, met
    return verdict, tuple(f"{name}: {t}" for t in [*texts, *notes])


def _months_between(start: date, end: date) -> int:
    """Completed months from ``start`` to ``end`` (end >= start)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months


def _hours(value: Decimal) -> str:
    """Hours as a Dutch number: 12, 12,5."""
    text = f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"
    return text.replace(".", ",")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass(frozen=True)
class _Child:
    """The child's stage on the reference date: unborn, born (with its age), or unknown."""

    known: bool
    born: bool = False
    days: int = 0
    months: int = 0
    birth_date: date | None = None

    def age_text(self) -> str:
        if self.days < 31:
            return f"het kind is {_plural(self.days, 'dag', 'dagen')} oud"
        return f"het kind is {_plural(self.months, 'maand', 'maanden')} oud"


def _child(facts: FitFacts) -> _Child:
    on = facts.reference_date
    if on is None:
        return _Child(known=False)
    if facts.birth_date is not None and facts.birth_date <= on:
        return _Child(
            known=True,
            born=True,
            days=(on - facts.birth_date).days,
            months=_months_between(facts.birth_date, on),
            birth_date=facts.birth_date,
        )
    if facts.expected_delivery_date is not None or facts.birth_date is not None:
        return _Child(known=True, born=False)
    return _Child(known=False)


def _child_unknown_fact(facts: FitFacts) -> str:
    if facts.reference_date is None:
        return "datum van beoordeling (of aanmelding)"
    return "geboortedatum of verwachte bevallingsdatum"


def _first_child(facts: FitFacts) -> _Check:
    return _yes_no(
        facts.first_child,
        yes="het gaat om een eerste kind",
        no="het gaat niet om een eerste kind",
        unknown="of het om een eerste kind gaat",
        rule="een eerste kind",
    )


def _mother_age(facts: FitFacts, max_age: int, rule: str) -> _Check:
    if facts.mother_age is None:
        return _unknown("leeftijd van de moeder", rule)
    fact = f"moeder is {facts.mother_age}"
    return _met(fact, rule) if facts.mother_age <= max_age else _broken(fact, rule)


def _education(facts: FitFacts, highest: Education, rule: str) -> _Check:
    if facts.mother_education is None:
        return _unknown("opleidingsniveau van de moeder", rule)
    fact = f"opleiding van de moeder is {EDUCATION_LABELS_NL[facts.mother_education]}"
    return _met(fact, rule) if facts.mother_education.rank <= highest.rank else _broken(fact, rule)


# --- the rules, one function per service -----------------------------------------------------


def voorzorg(facts: FitFacts) -> list[_Check]:
    """VoorZorg (seed 002, "Inzet zorgvoorziening" and "Criteria"): "het moet gaan om een eerste
    kind. Bij aanvang mag de moeder maximaal 28 weken zwanger zijn. Verder is de moeder maximaal
    25 jaar, opleidingsniveau maximaal VMBO-t en moet zij de Nederlandse taal beheersen."
    """
    weeks_rule = f"maximaal {VOORZORG_MAX_WEEKS} weken bij de start"
    weeks: int | None = facts.pregnancy_weeks_at_start
    child = _child(facts)
    derived = False
    if weeks is None and child.known and not child.born and facts.expected_delivery_date is not None:
        on = facts.reference_date
        assert on is not None  # a known child implies a reference date
        weeks = max(0, PREGNANCY_DAYS - (facts.expected_delivery_date - on).days) // 7
        derived = True
    if weeks is not None:
        fact = f"zwanger van {weeks} weken bij de start" + (
            " (berekend uit de verwachte bevallingsdatum)" if derived else ""
        )
        pregnancy = _met(fact, weeks_rule) if weeks <= VOORZORG_MAX_WEEKS else _broken(fact, weeks_rule)
    elif child.born:
        pregnancy = _broken("het kind is al geboren", f"een start tijdens de zwangerschap, {weeks_rule}")
    else:
        pregnancy = _unknown("zwangerschapsduur", weeks_rule)
    return [
        _first_child(facts),
        pregnancy,
        _mother_age(facts, VOORZORG_MAX_AGE, f"maximaal {VOORZORG_MAX_AGE}"),
        _education(facts, VOORZORG_MAX_EDUCATION, "maximaal VMBO-t"),
        _yes_no(
            facts.mother_speaks_dutch,
            yes="moeder beheerst het Nederlands",
            no="moeder beheerst het Nederlands niet",
            unknown="of de moeder het Nederlands beheerst",
            rule="dat de moeder de Nederlandse taal beheerst",
        ),
    ]


def stevig_ouderschap(facts: FitFacts) -> list[_Check]:
    """Stevig Ouderschap (seed 002): "richt zich op jonge vrouwen die zwanger zijn van hun eerste
    kind, met een lage opleiding [...] gezinnen met een kind jonger dan zes maanden die zijn
    geselecteerd op basis van een aantal risicofactoren." "Young" has no figure in the source:
    at most ``YOUNG_MOTHER_MAX_AGE``; "low education": at most ``LOW_EDUCATION_MAX``.
    """
    child_rule = f"een kind jonger dan {STEVIG_OUDERSCHAP_CHILD_MONTHS} maanden (of zwanger)"
    child = _child(facts)
    if not child.known:
        stage = _unknown(_child_unknown_fact(facts), child_rule)
    elif not child.born:
        stage = _met("de moeder is zwanger", child_rule)
    else:
        assert child.birth_date is not None and facts.reference_date is not None
        young = facts.reference_date < add_months(child.birth_date, STEVIG_OUDERSCHAP_CHILD_MONTHS)
        stage = (_met if young else _broken)(child.age_text(), child_rule)
    return [
        _first_child(facts),
        _mother_age(
            facts,
            YOUNG_MOTHER_MAX_AGE,
            f"een jonge moeder (maximaal {YOUNG_MOTHER_MAX_AGE}, zoals bij VoorZorg)",
        ),
        _education(facts, LOW_EDUCATION_MAX, "een lage opleiding (maximaal MBO-1, geen startkwalificatie)"),
        stage,
    ]


def kraamzorg(facts: FitFacts) -> list[_Check]:
    """Kraamzorg (seed 002, "Criteria"): "Maximaal 80 uur en maximaal tot 10 dagen na geboorte".
    Day 10 after the birth still fits, day 11 does not.
    """
    rule = f"tot {KRAAMZORG_MAX_DAYS} dagen na de geboorte"
    child = _child(facts)
    if not child.known:
        return [_unknown(_child_unknown_fact(facts), rule)]
    if not child.born:
        return [_met("het kind is nog niet geboren (kraamzorg start bij de geboorte)", rule)]
    fact = child.age_text()
    return [_met(fact, rule) if child.days <= KRAAMZORG_MAX_DAYS else _broken(fact, rule)]


def babythuiszorg(facts: FitFacts) -> list[_Check]:
    """BabythuisZorg (seed 002): "indien nodig vanaf de zwangerschap totdat het kindje ongeveer
    één jaar oud is"; "Gezinnen die in aanmerking komen [...] accepteren deze ondersteuning en zijn
    gemotiveerd tot verandering." Up to and including the first birthday.
    """
    rule = "vanaf de zwangerschap tot ongeveer 1 jaar na de geboorte"
    child = _child(facts)
    if not child.known:
        stage = _unknown(_child_unknown_fact(facts), rule)
    elif not child.born:
        stage = _met("de moeder is zwanger", rule)
    else:
        assert child.birth_date is not None and facts.reference_date is not None
        within = facts.reference_date <= add_months(child.birth_date, BABYTHUISZORG_MONTHS)
        stage = (_met if within else _broken)(child.age_text(), rule)
    return [
        stage,
        _yes_no(
            facts.family_accepts_help,
            yes="het gezin aanvaardt de hulp",
            no="het gezin aanvaardt de hulp niet",
            unknown="of het gezin de hulp aanvaardt",
            rule="dat het gezin de ondersteuning aanvaardt",
        ),
        _yes_no(
            facts.family_motivated,
            yes="het gezin is gemotiveerd tot verandering",
            no="het gezin is niet gemotiveerd tot verandering",
            unknown="of het gezin gemotiveerd is",
            rule="dat het gezin gemotiveerd is tot verandering",
        ),
    ]


def _intramural(facts: FitFacts, rule: str) -> _Check:
    return _yes_no(
        facts.in_intramural_living,
        yes="de ouder woont intramuraal beschermd of begeleid",
        no="de ouder woont niet intramuraal beschermd of begeleid",
        unknown="of de ouder intramuraal beschermd of begeleid woont",
        rule=rule,
    )


def verblijf_kind_bij_ouder(facts: FitFacts) -> list[_Check]:
    """Module verblijf kind bij ouder (seed 001, Bijlage 1): "Deze module kan alleen ingezet
    worden naast het product Intramuraal Beschermd- of Begeleid wonen"; per inwonend kind.
    """
    return [_intramural(facts, "alleen naast intramuraal beschermd of begeleid wonen")]


def dagbesteding(facts: FitFacts) -> list[_Check]:
    """Module dagbesteding (seed 001, Bijlage 1, "Doelgroep"): "Inwoners met een indicatie voor
    Beschermd- of Begeleid wonen"; a local provision comes first (voorliggend).
    """
    return [_intramural(facts, "alleen naast een indicatie beschermd of begeleid wonen")]


def nazorg(facts: FitFacts) -> list[_Check]:
    """Module nazorg (seed 001, Bijlage 1): "De module nazorg kan voor maximaal 13 uur worden
    ingezet binnen een termijn van drie (3) maanden. De module nazorg is aansluitend op de afloop
    van een indicatie Beschermd- of Begeleid wonen."
    """
    window_rule = (
        f"aansluitend op het einde van beschermd of begeleid wonen, binnen {NAZORG_WINDOW_MONTHS} maanden"
    )
    hours_rule = f"maximaal {NAZORG_MAX_HOURS} uur binnen {NAZORG_WINDOW_MONTHS} maanden"
    on = facts.reference_date
    if facts.product_ended_on is None:
        window = _unknown("einddatum van beschermd of begeleid wonen", window_rule)
    elif on is None:
        window = _unknown("datum van beoordeling (of aanmelding)", window_rule)
    elif on < facts.product_ended_on:
        days = (facts.product_ended_on - on).days
        window = _met(f"het product eindigt over {_plural(days, 'dag', 'dagen')}", window_rule)
    else:
        days = (on - facts.product_ended_on).days
        fact = f"het product eindigde {_plural(days, 'dag', 'dagen')} geleden"
        within = on <= add_months(facts.product_ended_on, NAZORG_WINDOW_MONTHS)
        window = _met(fact, window_rule) if within else _broken(fact, window_rule)
    used = facts.nazorg_hours_used
    if used is None:
        hours = _unknown("aantal uren nazorg al gebruikt", hours_rule)
    else:
        left = NAZORG_MAX_HOURS - Decimal(used)
        fact = f"{_hours(Decimal(used))} uur nazorg gebruikt"
        hours = _met(f"{fact}, nog {_hours(left)} uur", hours_rule) if left > 0 else _broken(fact, hours_rule)
    return [window, hours]


def bijzonder_klein(facts: FitFacts) -> list[_Check]:
    """Bijzonder Klein (seed 000): "Begeleid wonen voor kwetsbare (toekomstige) moeders [...] drie
    kraamplekken waar toekomstige moeders de eerste 4 maanden met hun kindje kunnen verblijven".
    Pregnant or with a baby (younger than ``BABY_MONTHS``); the places are a waiting-list matter.
    """
    rule = f"zwanger of met een baby (jonger dan {BABY_MONTHS} maanden)"
    child = _child(facts)
    if not child.known:
        return [_unknown(_child_unknown_fact(facts), rule)]
    if not child.born:
        return [_met("de moeder is zwanger", rule)]
    return [(_met if child.months < BABY_MONTHS else _broken)(child.age_text(), rule)]


def zevmb(facts: FitFacts) -> list[_Check]:
    """Logeren, dagbesteding and deeltijdwonen (seed 003, "Wij zien je Wel"): relief for families
    of children with zeer ernstige meervoudige beperkingen (ZEVMB), designed with the parents.
    """
    return [
        _yes_no(
            facts.child_zevmb,
            yes="het kind heeft zeer ernstige meervoudige beperkingen",
            no="het kind heeft geen zeer ernstige meervoudige beperkingen",
            unknown="of het kind zeer ernstige meervoudige beperkingen heeft",
            rule="alleen voor kinderen met zeer ernstige meervoudige beperkingen (ZEVMB)",
        )
    ]


def beschermd_wonen(_: FitFacts) -> list[_Check]:
    """Beschermd wonen Basis/Plus, begeleid wonen (seed 001 §1.3.2, §1.4): psychiatric or severe
    psychosocial problems in the foreground, 24/7 support nearby needed; the municipality assesses
    it (beoordelingskader). None of it is among these facts.
    """
    return [
        _unknown(
            "de uitkomst van de toegangsbeoordeling door de gemeente",
            "psychiatrische of ernstige psychosociale problematiek op de voorgrond en nood aan "
            "24/7 ondersteuning in de nabijheid (beoordelingskader beschermd wonen)",
        )
    ]


Rule = Callable[[FitFacts], list[_Check]]

RULES: dict[str, Rule] = {
    "voorzorg": voorzorg,
    "stevig-ouderschap": stevig_ouderschap,
    "kraamzorg": kraamzorg,
    "babythuiszorg": babythuiszorg,
    "verblijf-kind-bij-ouder": verblijf_kind_bij_ouder,
    "dagbesteding": dagbesteding,
    "nazorg": nazorg,
    "bijzonder-klein": bijzonder_klein,
    "logeren": zevmb,
    "dagbesteding-zevmb": zevmb,
    "deeltijdwonen": zevmb,
    "beschermd-wonen-basis": beschermd_wonen,
    "beschermd-wonen-plus": beschermd_wonen,
    "begeleid-wonen": beschermd_wonen,
}

# Not conditions, but what the sources say matters when the service is chosen.
NOTES: dict[str, tuple[str, ...]] = {
    "kraamzorg": (f"maximaal {KRAAMZORG_MAX_HOURS} uur",),
    "babythuiszorg": (
        "de medewerkers hebben geen SKJ-registratie: een geregistreerde casemanager houdt de regie",
    ),
    "stevig-ouderschap": ("de selectie op risicofactoren gebeurt door de aanbieder",),
    "bijzonder-klein": (
        f"{BIJZONDER_KLEIN_PLACES} kraamplekken, verblijf de eerste {BIJZONDER_KLEIN_STAY_MONTHS} "
        "maanden; of er een plaats vrij is, staat op de wachtlijst",
    ),
    "ambulante-gezinsbegeleiding": ("meestal maximaal 2 jaar; elke aanbieder heeft eigen doelgroepen",),
    "dagbesteding": ("een lokale voorziening gaat voor (voorliggend)",),
}

NO_CONDITIONS = "geen bijzondere voorwaarden in de bronnen"


def assess_service(code: str, facts: FitFacts) -> Fit:
    spec = SERVICES_BY_CODE.get(code)
    name = spec.name if spec is not None else code
    rule = RULES.get(code)
    if rule is None:
        return Fit(
            code, Verdict.FITS, (f"{name}: {NO_CONDITIONS}", *(f"{name}: {n}" for n in NOTES.get(code, ())))
        )
    verdict, reasons = _verdict(name, rule(facts), NOTES.get(code, ()))
    return Fit(code, verdict, reasons)


def assess(facts: FitFacts, codes: Iterable[str] | None = None) -> list[Fit]:
    """A verdict with reasons for every service (the whole catalogue unless ``codes`` is given)."""
    return [
        assess_service(code, facts) for code in (codes if codes is not None else (s.code for s in SERVICES))
    ]
