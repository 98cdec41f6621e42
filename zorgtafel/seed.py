"""Demo data for the embedded stack: the partner agencies named in the Werf 2 slides (seed 004),
a few pool experts each, and case managers. Idempotent: running it twice changes nothing.
All people are fictional."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zorgtafel.catalogue import seed_demo_catalogue
from zorgtafel.db.models import Agency, CaseManager, Expert
from zorgtafel.pool_admin import seed_pool_vocabulary

AGENCIES: list[tuple[str, str, str]] = [
    ("crisishulp-aan-huis", "Crisishulp aan Huis", "crisis_help"),
    ("crisismeldpunt", "Crisismeldpunt", "crisis_help"),
    ("ooc-kompas", "OOC Kompas", "observation_centre"),
    ("cig-de-zeshoek", "CIG De Zeshoek", "youth_care"),
    ("ziekenhuis-hasselt", "Ziekenhuis (materniteit en pediatrie) Hasselt", "hospital"),
    ("kinderpsychiatrie", "Kinderpsychiatrische voorziening", "child_psychiatry"),
    ("kind-en-gezin", "Kind en Gezin", "kind_en_gezin"),
    ("wit-gele-kruis", "Wit-Gele Kruis (kraamzorg)", "kraamzorg"),
    ("pleegzorg-limburg", "Pleegzorg Limburg", "foster_care"),
    ("ckg-molenberg", "CKG Molenberg", "ckg"),
    ("ckg-de-stap", "CKG De Stap", "ckg"),
    ("ckg-de-hummeltjes", "CKG De Hummeltjes", "ckg"),
    ("ovbj-de-wiekslag", "OVBJ De Wiekslag", "youth_care"),
    ("de-oever", "De Oever", "youth_care"),
    ("st-vincentius", "St.-Vincentius", "youth_care"),
    ("caw-limburg", "CAW Limburg", "caw"),
    ("ons-kinderhuis", "Ons Kinderhuis", "youth_care"),
    ("jeugdzorgcentrum", "Jeugdzorgcentrum", "youth_care"),
    ("ligant", "LIGANT", "network"),
    ("ggz-volwassenen", "GGZ volwassenen", "adult_mental_health"),
    ("ocj", "Ondersteuningscentrum Jeugdzorg (OCJ)", "mandated"),
    ("osd", "Sociale dienst jeugdrechtbank (OSD)", "mandated"),
]

# Agencies that send experts to the Werf 2 pool, with the expertise they bring.
POOL: dict[str, list[str]] = {
    "crisishulp-aan-huis": ["crisis_intervention", "safety_planning"],
    "pleegzorg-limburg": ["foster_care", "network_placement"],
    "ckg-molenberg": ["residential_young_child", "parenting_support"],
    "ckg-de-stap": ["residential_young_child", "attachment"],
    "ckg-de-hummeltjes": ["residential_young_child", "parenting_support"],
    "wit-gele-kruis": ["maternity_care", "infant_health"],
    "kinderpsychiatrie": ["infant_mental_health", "attachment"],
    "ggz-volwassenen": ["adult_mental_health", "addiction"],
    "caw-limburg": ["housing", "finances", "domestic_violence"],
    "ooc-kompas": ["observation_diagnostics"],
    "kind-en-gezin": ["infant_health", "parenting_support"],
    "ligant": ["attachment", "network_coordination"],
}

_FIRST = [
    "An",
    "Bram",
    "Chloë",
    "Dries",
    "Els",
    "Femke",
    "Gert",
    "Hanne",
    "Ilse",
    "Joris",
    "Katrien",
    "Lotte",
]
_LAST = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "Vermeulen",
]

CASE_MANAGERS = [
    (
        "Sofie Vandeput",
        "sofie.vandeput@zorgtafel.example",
        "SKJ-100201",
        "Zorgtafelhuis Hasselt, Kolonel Dusartplein 1",
    ),
    ("Tom Lemmens", "tom.lemmens@zorgtafel.example", "SKJ-100202", "Zorgtafelhuis Genk, Stadsplein 5"),
    (
        "Nele Geerts",
        "nele.geerts@zorgtafel.example",
        "SKJ-100203",
        "Zorgtafelhuis Sint-Truiden, Veemarkt 3",
    ),
]


def seed_demo(session: Session, region: str = "Limburg", experts_per_agency: int = 3) -> dict[str, int]:
    agencies = {a.code: a for a in session.scalars(select(Agency))}
    for code, name, kind in AGENCIES:
        if code not in agencies:
            agencies[code] = Agency(code=code, name=name, kind=kind, region=region)
            session.add(agencies[code])
    session.flush()
    known_experts = set(session.scalars(select(Expert.email)))
    for n, (code, expertise) in enumerate(POOL.items()):
        for k in range(experts_per_agency):
            first = _FIRST[(n * 5 + k) % len(_FIRST)]
            last = _LAST[(n * 3 + k * 7) % len(_LAST)]
            email = f"{first.lower().replace('ë', 'e')}.{last.lower()}.{code}@partners.example"
            if email not in known_experts:
                session.add(
                    Expert(
                        agency=agencies[code],
                        name=f"{first} {last}",
                        email=email,
                        expertise=expertise,
                        active=True,
                    )
                )
                known_experts.add(email)
    known_managers = set(session.scalars(select(CaseManager.email)))
    for name, email, registration, location in CASE_MANAGERS:
        if email not in known_managers:
            session.add(
                CaseManager(
                    name=name,
                    email=email,
                    registration_number=registration,
                    region=region,
                    location=location,
                    active=True,
                )
            )
    session.flush()
    counts = {
        "agencies": len(agencies),
        "experts": len(known_experts),
        "case_managers": len(known_managers | {m[1] for m in CASE_MANAGERS}),
    }
    counts |= seed_demo_catalogue(session, region)
    counts |= seed_pool_vocabulary(session)
    return counts
