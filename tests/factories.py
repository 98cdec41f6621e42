"""Request bodies for tests, with distinctive personal data that must never leave the database."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import uuid4

FAMILY_NAMES = ("Xanthippe Quarendonck", "Ysbrand Quarendonck", "Zebedeus Vlierbeekhof")
CHILD_NAME = "Wolfaria Quarendonck"
CHILD_BIRTH = date.today() - timedelta(days=200)


def registration(**overrides: Any) -> dict[str, Any]:
    tag = uuid4().hex[:8]
    body: dict[str, Any] = {
        "registrant": {
            "agency_code": "ziekenhuis-hasselt",
            "name": "Renate Registrantia",
            "email": f"aanmelder.{tag}@ziekenhuis.example",
            "phone": "+32 11 00 00 00",
        },
        "child": {"birth_date": CHILD_BIRTH.isoformat(), "name": CHILD_NAME},
        "family": [
            {
                "name": FAMILY_NAMES[0],
                "relation": "mother",
                "consent_to_contact": True,
                "preferred_channel": "email",
                "email": f"mama.{tag}@gezin.example",
            },
            {
                "name": FAMILY_NAMES[1],
                "relation": "father",
                "consent_to_contact": True,
                "preferred_channel": "sms",
                "phone": "+32 470 00 00 00",
            },
            {
                "name": FAMILY_NAMES[2],
                "relation": "network",
                "consent_to_contact": False,
                "preferred_channel": "email",
                "email": f"buur.{tag}@netwerk.example",
            },
        ],
        "concerns": ["parental_mental_health", "housing", "threatened_attachment"],
        "placement_threatened": True,
        "willingness": "minimal",
        "municipality": "Hasselt",
        "note": "Moeder Xanthippe Quarendonck in crisis na bevalling.",
    }
    body.update(overrides)
    return body
