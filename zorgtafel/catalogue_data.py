"""The offer around the route as data: every service domain.md names, with its facts (seeds 000-004).

Plain data, no database: ``zorgtafel.catalogue.seed_catalogue`` writes it, ``zorgtafel.rules.fit``
reads the codes. Figures are the 2023 price level of seed 002.

Decisions (where the sources leave room):

- **Residential** means "counts against the 50 % verblijf cap" (domain.md): a CKG stay, a
  Bijzonder Klein place, beschermd wonen with the module verblijf kind bij ouder, logeren,
  crisis beds and deeltijdwonen. The three seed-001 products (beschermd wonen basis and plus,
  begeleid wonen) are stays in an accommodation of an institution (seed 001 §1.3.1; the module
  verblijf kind bij ouder speaks of "intramuraal beschermd- of begeleid wonen"), so they are
  residential too. Bijzonder Wonen (the lighter phase after Bijzonder Klein: the mother lives in
  a dwelling she rents, care is separate from housing, seed 000) and pleegzorg (a foster family,
  not a stay in a facility; in Flemish youth care "verblijf" and "pleegzorg" are distinct module
  types) are not. Everything else is ambulant.
- **Tracks**: the examples seed 004 gives for the case-bound budget (amberbegeleiding,
  veiligheidsplanning, supervisie door een SOS-trainer, ambulante dagopvang, contextbegeleiding,
  verblijf in een CKG) are ``case_budget``; the modules of a regular start (CKG, pleegzorg,
  crisishulp, volwassenenhulpverlening) and every existing service of seeds 000-003 are
  ``regular``. A CKG stay is both (seed 004 names it in both lists). The other stays domain.md
  says count against the budget's verblijf cap (a Bijzonder Klein place, verblijf kind bij ouder,
  logeren, deeltijdwonen, a crisis bed) are both too: the cap would mean nothing if a case budget
  could not pay for them, and the budget is meant for when the regular offer has no place
  (seed 004). The adult products of seed 001 (beschermd/begeleid wonen) stay ``regular``: they
  come with a municipality's decision (beschikking), not from a child's case budget.
- **Units**: per hour where the source prices or caps hours, per traject where it prices a
  traject, per day for stays and day care, per place for Bijzonder Klein's maternity places,
  per module for the seed-001 modules priced "per inwonend kind" or as an add-on.
- **Tariffs**: only where seed 002 gives one. "Gemiddeld" (BabythuisZorg) and "ongeveer"
  (Stevig Ouderschap) are taken at face value; ambulant support is a range (EUR 60-100 per hour
  by intensity), stored as ``amount_cents`` = the low end and ``max_amount_cents`` = the high end.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    HOUR = "hour"
    TRAJECT = "traject"
    DAY = "day"
    PLACE = "place"
    MODULE = "module"


class Track(StrEnum):
    CASE_BUDGET = "case_budget"
    REGULAR = "regular"


UNIT_LABELS_NL: dict[Unit, str] = {
    Unit.HOUR: "per uur",
    Unit.TRAJECT: "per traject",
    Unit.DAY: "per dag",
    Unit.PLACE: "per plaats",
    Unit.MODULE: "per module",
}

DEFAULT_TARIFF_YEAR = 2023  # the price level of seed 002


@dataclass(frozen=True)
class TariffSpec:
    amount_cents: int
    max_amount_cents: int | None = None


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    name: str  # Dutch, as the users say it
    description: str  # Dutch
    unit: Unit
    residential: bool
    tracks: tuple[Track, ...]
    source: str  # which seed(s) the facts come from
    max_units: int | None = None
    capacity: int | None = None
    tariff: TariffSpec | None = None  # 2023 price level; None where the source gives none


REGULAR = (Track.REGULAR,)
CASE_BUDGET = (Track.CASE_BUDGET,)
BOTH = (Track.CASE_BUDGET, Track.REGULAR)

SERVICES: tuple[ServiceSpec, ...] = (
    # --- Around the birth (seed 002) -------------------------------------------------------------
    ServiceSpec(
        code="kraamzorg",
        name="Kraamzorg",
        description="Kraamzorg aan huis; maximaal 80 uur en tot uiterlijk 10 dagen na de geboorte.",
        unit=Unit.HOUR,
        residential=False,
        tracks=REGULAR,
        source="seed 002",
        max_units=80,
        tariff=TariffSpec(5_600),
    ),
    ServiceSpec(
        code="babythuiszorg",
        name="BabythuisZorg",
        description=(
            "Praktische ondersteuning bij de zorg voor een baby in een kwetsbaar gezin, overdag en 's "
            "nachts, tijdelijk; vanaf de zwangerschap tot ongeveer één jaar na de geboorte. De "
            "medewerkers hebben geen SKJ-registratie: een geregistreerde casemanager houdt de regie."
        ),
        unit=Unit.TRAJECT,
        residential=False,
        tracks=REGULAR,
        source="seed 002",
        tariff=TariffSpec(690_000),
    ),
    ServiceSpec(
        code="voorzorg",
        name="VoorZorg",
        description="Huisbezoeken, gemiddeld 2 per maand tot het kind 2 jaar is.",
        unit=Unit.TRAJECT,
        residential=False,
        tracks=REGULAR,
        source="seed 002",
        tariff=TariffSpec(1_400_000),
    ),
    ServiceSpec(
        code="stevig-ouderschap",
        name="Stevig Ouderschap",
        description="6 huisbezoeken van ongeveer 90 minuten; selectie op risicofactoren.",
        unit=Unit.TRAJECT,
        residential=False,
        tracks=REGULAR,
        source="seed 002",
        tariff=TariffSpec(200_000),
    ),
    ServiceSpec(
        code="ambulante-gezinsbegeleiding",
        name="Ambulante (gezins)begeleiding",
        description=(
            "Flexibele inzet van één tot meerdere uren per week, meestal maximaal 2 jaar; "
            "tarief naargelang de intensiteit."
        ),
        unit=Unit.HOUR,
        residential=False,
        tracks=REGULAR,
        source="seed 002",
        tariff=TariffSpec(6_000, 10_000),
    ),
    # --- Supported living for mother and baby (seed 000) -----------------------------------------
    ServiceSpec(
        code="bijzonder-klein",
        name="Bijzonder Klein (kraamplek)",
        description=(
            "Begeleid wonen voor kwetsbare (aanstaande) moeders met hun baby: drie kraamplekken, de "
            "eerste 4 maanden onder intensieve begeleiding (geen 24-uurstoezicht, wel telefonisch "
            "bereikbaar). Onveilige situaties worden gemeld bij de veiligheidsdiensten. Zorg en wonen "
            "zijn gescheiden: de moeder betaalt huur."
        ),
        unit=Unit.PLACE,
        residential=True,
        tracks=BOTH,
        source="seed 000",
        capacity=3,
    ),
    ServiceSpec(
        code="bijzonder-wonen",
        name="Bijzonder Wonen",
        description=(
            "Lichtere begeleiding na Bijzonder Klein, wanneer de moeder een veilige en stabiele "
            "opvoedingssituatie kan bieden; de begeleiding wordt afgebouwd en kan weer worden "
            "geïntensiveerd."
        ),
        unit=Unit.DAY,
        residential=False,
        tracks=REGULAR,
        source="seed 000",
    ),
    # --- Protected and supported living and its modules (seed 001) -------------------------------
    ServiceSpec(
        code="beschermd-wonen-basis",
        name="Beschermd wonen Basis",
        description="Intensieve begeleiding met 24/7 toezicht; een beschikking duurt maximaal 3 jaar.",
        unit=Unit.DAY,
        residential=True,
        tracks=REGULAR,
        source="seed 001",
    ),
    ServiceSpec(
        code="beschermd-wonen-plus",
        name="Beschermd wonen Plus",
        description=(
            "Intensieve begeleiding met 24/7 toezicht en gedragsregulering; een beschikking duurt "
            "maximaal 3 jaar."
        ),
        unit=Unit.DAY,
        residential=True,
        tracks=REGULAR,
        source="seed 001",
    ),
    ServiceSpec(
        code="begeleid-wonen",
        name="Begeleid wonen",
        description="Reguliere begeleiding met 24/7 bereikbaarheid; een beschikking duurt maximaal 3 jaar.",
        unit=Unit.DAY,
        residential=True,
        tracks=REGULAR,
        source="seed 001",
    ),
    ServiceSpec(
        code="dagbesteding",
        name="Module dagbesteding",
        description="Zinvolle daginvulling naast een indicatie beschermd of begeleid wonen.",
        unit=Unit.MODULE,
        residential=False,
        tracks=REGULAR,
        source="seed 001",
    ),
    ServiceSpec(
        code="verblijf-kind-bij-ouder",
        name="Module verblijf kind bij ouder",
        description=(
            "Verblijf van een kind bij de ouder, alleen naast intramuraal beschermd of begeleid wonen; "
            "per inwonend kind."
        ),
        unit=Unit.MODULE,
        residential=True,
        tracks=BOTH,
        source="seed 001",
    ),
    ServiceSpec(
        code="nazorg",
        name="Module nazorg",
        description=(
            "Ambulante ondersteuning thuis, aansluitend op het einde van beschermd of begeleid wonen; "
            "maximaal 13 uur binnen 3 maanden."
        ),
        unit=Unit.HOUR,
        residential=False,
        tracks=REGULAR,
        source="seed 001",
        max_units=13,
    ),
    # --- Relief for families of children with severe multiple disabilities (seed 003) ------------
    ServiceSpec(
        code="logeren",
        name="Logeren (ZEVMB)",
        description=(
            "Logeeropvang voor kinderen met zeer ernstige meervoudige beperkingen, samen met de "
            "ouders vormgegeven."
        ),
        unit=Unit.DAY,
        residential=True,
        tracks=BOTH,
        source="seed 003",
    ),
    ServiceSpec(
        code="dagbesteding-zevmb",
        name="Dagbesteding (ZEVMB)",
        description="Dagbesteding voor kinderen met zeer ernstige meervoudige beperkingen.",
        unit=Unit.DAY,
        residential=False,
        tracks=REGULAR,
        source="seed 003",
    ),
    ServiceSpec(
        code="deeltijdwonen",
        name="Deeltijdwonen (ZEVMB)",
        description="Deeltijds verblijf voor kinderen met zeer ernstige meervoudige beperkingen.",
        unit=Unit.DAY,
        residential=True,
        tracks=BOTH,
        source="seed 003",
    ),
    # --- The regular start of the crisis route (seed 004) ----------------------------------------
    ServiceSpec(
        code="ckg-verblijf",
        name="Verblijf in een CKG",
        description=(
            "Verblijf in een Centrum voor Kinderzorg en Gezinsondersteuning (o.a. een kleine "
            "gezinsvervangende leefgroep)."
        ),
        unit=Unit.DAY,
        residential=True,
        tracks=BOTH,
        source="seed 004",
    ),
    ServiceSpec(
        code="pleegzorg",
        name="Pleegzorg",
        description="Opvang in een (netwerk)pleeggezin.",
        unit=Unit.DAY,
        residential=False,
        tracks=REGULAR,
        source="seed 004",
    ),
    ServiceSpec(
        code="crisishulp-aan-huis",
        name="Crisishulp aan huis",
        description="Intensieve, kortdurende crisishulp in het gezin.",
        unit=Unit.TRAJECT,
        residential=False,
        tracks=REGULAR,
        source="seed 004",
    ),
    ServiceSpec(
        code="crisisbed",
        name="Crisisopvang (crisisbed)",
        description="Een crisisbed voor kind of ouder met kind, voor een korte periode.",
        unit=Unit.DAY,
        residential=True,
        tracks=BOTH,
        source="domain.md, seed 004",
    ),
    ServiceSpec(
        code="volwassenenhulpverlening",
        name="Volwassenenhulpverlening",
        description="Hulp voor de ouder zelf, o.a. GGZ volwassenen, verslavingszorg en CAW.",
        unit=Unit.TRAJECT,
        residential=False,
        tracks=REGULAR,
        source="seed 004",
    ),
    # --- The case-bound budget's examples (seed 004) ---------------------------------------------
    ServiceSpec(
        code="amberbegeleiding",
        name="Amberbegeleiding",
        description="Flexibele, intensieve ambulante begeleiding op maat.",
        unit=Unit.HOUR,
        residential=False,
        tracks=CASE_BUDGET,
        source="seed 004",
    ),
    ServiceSpec(
        code="veiligheidsplanning",
        name="Veiligheidsplanning",
        description="Samen met gezin en netwerk een veiligheidsplan opstellen en opvolgen.",
        unit=Unit.HOUR,
        residential=False,
        tracks=CASE_BUDGET,
        source="seed 004",
    ),
    ServiceSpec(
        code="sos-supervisie",
        name="Supervisie door een SOS-trainer",
        description="Supervisie van de betrokken hulpverleners door een Signs of Safety-trainer.",
        unit=Unit.HOUR,
        residential=False,
        tracks=CASE_BUDGET,
        source="seed 004",
    ),
    ServiceSpec(
        code="ambulante-dagopvang",
        name="Ambulante dagopvang",
        description="Opvang van het kind overdag, zonder verblijf.",
        unit=Unit.DAY,
        residential=False,
        tracks=CASE_BUDGET,
        source="seed 004",
    ),
    ServiceSpec(
        code="contextbegeleiding",
        name="Contextbegeleiding",
        description="Begeleiding van het gezin in de eigen context.",
        unit=Unit.HOUR,
        residential=False,
        tracks=CASE_BUDGET,
        source="seed 004",
    ),
)

SERVICES_BY_CODE: dict[str, ServiceSpec] = {s.code: s for s in SERVICES}
