"""Rule-based VTIMEZONE components for the zones invitations are written in.

icalendar's ``add_missing_timezones()`` writes a VTIMEZONE as a long RDATE list. Outlook
ignores it (and the spring transition came out an hour late), after which vobject put summer
events an hour off (see stack-notes). Calendar clients all understand the classic shape that
Outlook and Google write themselves: one STANDARD and one DAYLIGHT sub-component, each with a
yearly RRULE. That is what this module produces.

The rules are the EU rules in force since 1996: summer time from the last Sunday of March at
01:00 UTC (02:00 local) to the last Sunday of October at 01:00 UTC (03:00 local summer time).
Dates before 1996 are not described correctly, which is fine: we only ever invite to meetings
in the future. ``tests/notifications/test_vtimezone.py`` checks every hour of 2026–2040 against
``zoneinfo``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

SUPPORTED_TZIDS: tuple[str, ...] = ("Europe/Brussels", "Europe/Amsterdam")

_CET = timedelta(hours=1)
_CEST = timedelta(hours=2)

# DTSTART of a VTIMEZONE sub-component is the local time *before* the transition, in the
# TZOFFSETFROM offset (RFC 5545 §3.6.5). 1970 is the conventional epoch anchor that Outlook
# and Google also use; the first real occurrence is the RRULE's first match on or after it.
_DAYLIGHT_ANCHOR = datetime(1970, 3, 29, 2, 0, 0)  # last Sunday of March 1970
_STANDARD_ANCHOR = datetime(1970, 10, 25, 3, 0, 0)  # last Sunday of October 1970


def vtimezone(tzid: str) -> Timezone:
    """Return a rule-based VTIMEZONE for ``tzid``.

    Raises ``ValueError`` for zones without a hand-written rule set, rather than silently
    emitting something a calendar client would misread.
    """
    if tzid not in SUPPORTED_TZIDS:
        raise ValueError(
            f"Unsupported time zone {tzid!r}: a rule-based VTIMEZONE exists only for "
            f"{', '.join(SUPPORTED_TZIDS)}."
        )

    timezone = Timezone()
    timezone.add("tzid", tzid)

    daylight = TimezoneDaylight()
    daylight.add("dtstart", _DAYLIGHT_ANCHOR)
    daylight.add("tzoffsetfrom", _CET)
    daylight.add("tzoffsetto", _CEST)
    daylight.add("tzname", "CEST")
    daylight.add("rrule", vRecur(freq="YEARLY", bymonth=3, byday="-1SU"))

    standard = TimezoneStandard()
    standard.add("dtstart", _STANDARD_ANCHOR)
    standard.add("tzoffsetfrom", _CEST)
    standard.add("tzoffsetto", _CET)
    standard.add("tzname", "CET")
    standard.add("rrule", vRecur(freq="YEARLY", bymonth=10, byday="-1SU"))

    timezone.add_component(daylight)
    timezone.add_component(standard)
    return timezone
