"""A registration with personal data no other part of the system could produce by chance, and
every notation in which it could leak (names, first and last names, the birth date in the usual
Dutch and ISO forms, phones with and without spaces, e-mail addresses, the free-text note)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import uuid4

CHILD = "Xandrijnus Quibbelmans"
MOTHER = "Brunhilde Quibbelmans-Vrouwtjes"
FATHER = "Ferdinandus Quibbelmans"
NETWORK = "Gijsbrechta Olmenkrabbe"
REGISTRANT = "Ottoline Zwiebelhuber"
NOTE = "Zwavelmelk-incident op de Kwakkelsteeg 17; oma Perpetua Snoeckaert helpt soms."
NOTE_WORDS = ("Zwavelmelk", "Kwakkelsteeg", "Perpetua", "Snoeckaert")
PHONES = ("+32 471 98 76 54", "+32 11 87 65 43")
MONTHS_NL = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]


def birth_date() -> date:
    """About 20 months ago: inside the target group, and no other date the route produces."""
    return date.today() - timedelta(days=611)


def body(tag: str | None = None) -> dict[str, Any]:
    tag = tag or uuid4().hex[:8]
    return {
        "registrant": {
            "agency_code": "ziekenhuis-hasselt",
            "name": REGISTRANT,
            "email": f"aanmelder.{tag}@ziekenhuis.example",
            "phone": PHONES[1],
        },
        "child": {"birth_date": birth_date().isoformat(), "name": CHILD},
        "family": [
            {
                "name": MOTHER,
                "relation": "mother",
                "consent_to_contact": True,
                "preferred_channel": "email",
                "email": f"ouder1.{tag}@gezin.example",
                "phone": PHONES[0],
            },
            {
                "name": FATHER,
                "relation": "father",
                "consent_to_contact": True,
                "preferred_channel": "sms",
                "phone": "+32 472 13 57 91",
            },
            {
                "name": NETWORK,
                "relation": "network",
                "consent_to_contact": False,
                "preferred_channel": "email",
                "email": f"netwerk.{tag}@netwerk.example",
            },
        ],
        "concerns": ["parental_mental_health", "housing", "threatened_attachment"],
        "placement_threatened": True,
        "willingness": "minimal",
        "municipality": "Hasselt",
        "note": NOTE,
    }


def date_forms(d: date) -> list[str]:
    return [
        d.isoformat(),
        d.strftime("%d-%m-%Y"),
        d.strftime("%d/%m/%Y"),
        d.strftime("%d.%m.%Y"),
        d.strftime("%Y%m%d"),
        f"{d.day}-{d.month}-{d.year}",
        f"{d.day} {MONTHS_NL[d.month - 1]} {d.year}",
    ]


def forbidden(b: dict[str, Any]) -> list[str]:
    """Every string from ``b`` that must not leave the database."""
    names = [CHILD, MOTHER, FATHER, NETWORK, REGISTRANT]
    parts = {p for n in names for p in n.replace("-", " ").split()}
    phones = [m.get("phone") for m in b["family"]] + [b["registrant"].get("phone")]
    phones = [p for p in phones if p]
    emails = [m["email"] for m in b["family"] if m.get("email")]
    return sorted(
        {
            *names,
            *parts,
            *NOTE_WORDS,
            b["note"],
            *phones,
            *(p.replace(" ", "") for p in phones),
            *(p.replace(" ", "").removeprefix("+32") for p in phones),
            *emails,
            *date_forms(date.fromisoformat(b["child"]["birth_date"])),
        }
    )


def leaks(text: str, strings: list[str]) -> list[str]:
    lowered = text.lower()
    return [s for s in strings if s.lower() in lowered]
