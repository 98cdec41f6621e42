"""Reading busy time out of iCalendar bodies: free/busy and event feeds, recurrences, all-day events,
time zones across the DST change, and what is refused (with what and where). Bodies are written by
hand in the shapes Exchange, Google and Outlook publish, and produced by vobject."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import vobject
from dateutil import tz as dateutil_tz

from zorgtafel import availability
from zorgtafel.availability import FeedError, parse_busy

BRUSSELS = ZoneInfo("Europe/Brussels")
START = datetime(2027, 3, 1, tzinfo=UTC)
END = datetime(2027, 5, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cal(*components: str) -> bytes:
    inner = "".join(components)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pooltest//NL\r\n" + inner + "END:VCALENDAR\r\n"
    ).encode()


def event(uid: str, *lines: str) -> str:
    return (
        "BEGIN:VEVENT\r\nUID:"
        + uid
        + "\r\nDTSTAMP:20270101T000000Z\r\n"
        + "".join(f"{x}\r\n" for x in lines)
        + "END:VEVENT\r\n"
    )


def busy(body: bytes, start: datetime = START, end: datetime = END) -> list[tuple[datetime, datetime]]:
    return parse_busy(body, start=start, end=end, tz=BRUSSELS)


def test_free_busy_periods():
    body = cal(
        "BEGIN:VFREEBUSY\r\n"
        "DTSTART:20270301T000000Z\r\nDTEND:20270501T000000Z\r\n"
        # two values on one line: start/duration and start/end
        "FREEBUSY:20270308T080000Z/PT1H30M,20270308T130000Z/20270308T140000Z\r\n"
        "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20270309T070000Z/PT8H\r\n"
        "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20270310T090000Z/PT30M\r\n"
        "FREEBUSY;FBTYPE=FREE:20270311T090000Z/PT8H\r\n"
        "FREEBUSY;FBTYPE=X-OUT-OF-OFFICE:20270312T090000Z/PT1H\r\n"  # unknown type: busy (RFC 5545)
        # overlapping and touching periods are merged
        "FREEBUSY:20270315T090000Z/PT1H\r\nFREEBUSY:20270315T093000Z/PT1H\r\nFREEBUSY:20270315T103000Z/PT1H\r\n"
        "END:VFREEBUSY\r\n"
    )
    assert busy(body) == [
        (utc(2027, 3, 8, 8), utc(2027, 3, 8, 9, 30)),
        (utc(2027, 3, 8, 13), utc(2027, 3, 8, 14)),
        (utc(2027, 3, 9, 7), utc(2027, 3, 9, 15)),
        (utc(2027, 3, 10, 9), utc(2027, 3, 10, 9, 30)),
        (utc(2027, 3, 12, 9), utc(2027, 3, 12, 10)),
        (utc(2027, 3, 15, 9), utc(2027, 3, 15, 11, 30)),
    ]


def test_periods_are_clipped_to_the_horizon():
    body = cal(
        "BEGIN:VFREEBUSY\r\nFREEBUSY:20270228T220000Z/PT4H\r\nFREEBUSY:20270430T230000Z/PT4H\r\n"
        "FREEBUSY:20270601T080000Z/PT1H\r\nEND:VFREEBUSY\r\n"
    )
    assert busy(body) == [(START, utc(2027, 3, 1, 2)), (utc(2027, 4, 30, 23), END)]


def test_events_running_at_the_horizon_start_count_from_there():
    body = cal(
        event("leave@x", "DTSTART;VALUE=DATE:20270226", "DTEND;VALUE=DATE:20270303"),
        event("night@x", "DTSTART:20270221T220000Z", "DTEND:20270222T020000Z", "RRULE:FREQ=WEEKLY;COUNT=3"),
    )
    assert busy(body) == [(START, utc(2027, 3, 2, 23)), (utc(2027, 3, 7, 22), utc(2027, 3, 8, 2))]


def test_weekly_event_keeps_its_local_time_across_the_dst_change():
    body = cal(
        event(
            "weekly@agency",
            "SUMMARY:Teamoverleg",
            "DTSTART;TZID=Europe/Brussels:20270315T090000",
            "DTEND;TZID=Europe/Brussels:20270315T103000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6",
            "EXDATE;TZID=Europe/Brussels:20270405T090000",
        ),
        # the occurrence of 12 April moved to the afternoon, the one of 19 April cancelled
        event(
            "weekly@agency",
            "RECURRENCE-ID;TZID=Europe/Brussels:20270412T090000",
            "DTSTART;TZID=Europe/Brussels:20270412T140000",
            "DTEND;TZID=Europe/Brussels:20270412T153000",
        ),
        event(
            "weekly@agency",
            "RECURRENCE-ID;TZID=Europe/Brussels:20270419T090000",
            "DTSTART;TZID=Europe/Brussels:20270419T090000",
            "DTEND;TZID=Europe/Brussels:20270419T103000",
            "STATUS:CANCELLED",
        ),
    )
    assert busy(body) == [
        (utc(2027, 3, 15, 8), utc(2027, 3, 15, 9, 30)),  # CET: UTC+1
        (utc(2027, 3, 22, 8), utc(2027, 3, 22, 9, 30)),
        (utc(2027, 3, 29, 7), utc(2027, 3, 29, 8, 30)),  # CEST from 28 March: UTC+2
        (utc(2027, 4, 12, 12), utc(2027, 4, 12, 13, 30)),  # moved
    ]


def test_all_day_events_are_whole_local_days():
    body = cal(
        event("a@x", "DTSTART;VALUE=DATE:20270328", "DTEND;VALUE=DATE:20270329"),  # 23-hour day
        event("b@x", "DTSTART;VALUE=DATE:20270405"),  # no DTEND: that one day
        event("c@x", "DTSTART;VALUE=DATE:20270412", "DTEND;VALUE=DATE:20270415"),  # three days
        event("d@x", "DTSTART;VALUE=DATE:20270420", "DURATION:P2D"),
    )
    assert busy(body) == [
        (utc(2027, 3, 27, 23), utc(2027, 3, 28, 22)),
        (utc(2027, 4, 4, 22), utc(2027, 4, 5, 22)),
        (utc(2027, 4, 11, 22), utc(2027, 4, 14, 22)),
        (utc(2027, 4, 19, 22), utc(2027, 4, 21, 22)),
    ]


def test_free_transparent_and_cancelled_events_are_not_busy():
    body = cal(
        event("t@x", "DTSTART:20270310T090000Z", "DTEND:20270310T100000Z", "TRANSP:TRANSPARENT"),
        event("c@x", "DTSTART:20270310T110000Z", "DTEND:20270310T120000Z", "STATUS:CANCELLED"),
        event("o@x", "DTSTART:20270310T130000Z", "DTEND:20270310T140000Z", "X-MICROSOFT-CDO-BUSYSTATUS:FREE"),
        event(
            "g@x", "DTSTART;VALUE=DATE:20270311", "DTEND;VALUE=DATE:20270312", "TRANSP:TRANSPARENT"
        ),  # Google's all-day "available"
        event("z@x", "DTSTART:20270310T150000Z"),  # a moment, no duration
        event(
            "k@x", "DTSTART:20270310T160000Z", "DTEND:20270310T170000Z", "TRANSP:OPAQUE", "STATUS:CONFIRMED"
        ),
    )
    assert busy(body) == [(utc(2027, 3, 10, 16), utc(2027, 3, 10, 17))]


def test_floating_windows_and_custom_zones():
    body = cal(
        # floating: the region's wall clock
        event("f@x", "DTSTART:20270402T090000", "DTEND:20270402T100000"),
        # Outlook writes Windows zone names
        event(
            "w@x",
            "DTSTART;TZID=W. Europe Standard Time:20270403T090000",
            "DTEND;TZID=W. Europe Standard Time:20270403T100000",
        ),
        # a zone known only by its VTIMEZONE (New York rules: UTC-4 in April)
        "BEGIN:VTIMEZONE\r\nTZID:Kantoor-Overzee\r\n"
        "BEGIN:STANDARD\r\nDTSTART:20071104T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"
        "TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n"
        "BEGIN:DAYLIGHT\r\nDTSTART:20070311T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n"
        "TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n",
        event(
            "n@x",
            "DTSTART;TZID=Kantoor-Overzee:20270404T090000",
            "DTEND;TZID=Kantoor-Overzee:20270404T100000",
        ),
    )
    assert busy(body) == [
        (utc(2027, 4, 2, 7), utc(2027, 4, 2, 8)),
        (utc(2027, 4, 3, 7), utc(2027, 4, 3, 8)),
        (utc(2027, 4, 4, 13), utc(2027, 4, 4, 14)),
    ]


def test_a_calendar_written_by_vobject():
    """An independent producer: vobject writes its own VTIMEZONE (renamed here so that only the
    VTIMEZONE, not a zone database, can tell what the local times mean)."""
    brussels = dateutil_tz.gettz("Europe/Brussels")
    calendar = vobject.iCalendar()
    weekly = calendar.add("vevent")
    weekly.add("uid").value = "weekly@vobject"
    weekly.add("summary").value = "Intervisie"
    weekly.add("dtstart").value = datetime(2027, 3, 17, 13, 0, tzinfo=brussels)
    weekly.add("dtend").value = datetime(2027, 3, 17, 15, 0, tzinfo=brussels)
    weekly.add("rrule").value = "FREQ=WEEKLY;COUNT=3"
    day = calendar.add("vevent")
    day.add("uid").value = "day@vobject"
    day.add("dtstart").value = date(2027, 4, 9)
    day.add("dtend").value = date(2027, 4, 10)
    free = calendar.add("vevent")
    free.add("uid").value = "free@vobject"
    free.add("dtstart").value = datetime(2027, 3, 18, 9, 0, tzinfo=brussels)
    free.add("dtend").value = datetime(2027, 3, 18, 10, 0, tzinfo=brussels)
    free.add("transp").value = "TRANSPARENT"
    text = calendar.serialize()
    assert "TZID:CET" in text  # vobject named the zone after its abbreviation
    body = text.replace("TZID:CET", "TZID:Eigen-Zone").replace("TZID=CET", "TZID=Eigen-Zone").encode()
    assert busy(body) == [
        (utc(2027, 3, 17, 12), utc(2027, 3, 17, 14)),
        (utc(2027, 3, 24, 12), utc(2027, 3, 24, 14)),
        (utc(2027, 3, 31, 11), utc(2027, 3, 31, 13)),  # summer time
        (utc(2027, 4, 8, 22), utc(2027, 4, 9, 22)),
    ]


def test_an_endless_recurrence_is_read_within_the_horizon():
    body = cal(
        event("d@x", "DTSTART;TZID=Europe/Brussels:20200106T080000", "DURATION:PT1H", "RRULE:FREQ=DAILY")
    )
    found = busy(body, utc(2027, 3, 27), utc(2027, 3, 30))
    assert found == [
        (utc(2027, 3, 27, 7), utc(2027, 3, 27, 8)),
        (utc(2027, 3, 28, 6), utc(2027, 3, 28, 7)),
        (utc(2027, 3, 29, 6), utc(2027, 3, 29, 7)),
    ]


def test_an_empty_calendar_is_no_busy_time():
    assert busy(cal()) == []


VEVENT_AT = 4  # header lines: BEGIN:VCALENDAR, VERSION, PRODID; the event begins on line 4

BROKEN: list[tuple[str, bytes, str, int | None, str]] = [
    ("html page", b"<!DOCTYPE html>\n<html><body>Aanmelden</body></html>", "feed_not_icalendar", 1, "HTML"),
    ("empty", b"  \r\n", "feed_empty", None, "leeg"),
    ("latin-1", cal(event("x", "DTSTART:20270310T090000Z", "SUMMARY:Caf\xe9")).replace(b"\xc3\xa9", b"\xe9"),
     "feed_encoding", 8, "UTF-8"),
    ("not a content line", cal(event("x", "DTSTART:20270310T090000Z", "dit is geen regel")),
     "feed_bad_line", 8, "Regel 8"),
    ("cut off", cal(event("x", "DTSTART:20270310T090000Z"))[:-len(b"END:VEVENT\r\nEND:VCALENDAR\r\n")],
     "feed_unbalanced", VEVENT_AT, f"regel {VEVENT_AT}"),
    ("END mismatch", cal("BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20270310T090000Z\r\nEND:VTODO\r\n"),
     "feed_unbalanced", 7, "END:VTODO"),
    ("two calendars", cal() + cal(), "feed_trailing_content", 5, "END:VCALENDAR op regel 4"),
    ("bad DTSTART", cal(event("x", "DTSTART:2027-03-10 09:00")), "feed_bad_value", VEVENT_AT, "DTSTART"),
    ("bad RRULE", cal(event("x", "DTSTART:20270310T090000Z", "DURATION:PT1H", "RRULE:FREQ=SOMS")),
     "feed_bad_value", VEVENT_AT, "RRULE"),
    ("bad FREEBUSY", cal("BEGIN:VFREEBUSY\r\nFREEBUSY:morgen/overmorgen\r\nEND:VFREEBUSY\r\n"),
     "feed_bad_value", 5, "FREEBUSY"),
    ("no DTSTART", cal(event("x", "DTEND:20270310T090000Z")), "feed_missing_dtstart", VEVENT_AT, "DTSTART"),
    ("ends before it starts", cal(event("x", "DTSTART:20270310T090000Z", "DTEND:20270310T080000Z")),
     "feed_inverted_event", VEVENT_AT, "UID x"),
    ("unknown zone", cal(event("x", "DTSTART;TZID=Atlantis/Hoofdstad:20270310T090000", "DURATION:PT1H")),
     "feed_unknown_timezone", VEVENT_AT, "Atlantis/Hoofdstad"),
    ("inverted free/busy",
     cal("BEGIN:VFREEBUSY\r\nFREEBUSY:20270310T090000Z/20270310T080000Z\r\nEND:VFREEBUSY\r\n"),
     "feed_bad_value", 5, "FREEBUSY"),
    ("every minute", cal(event("x", "DTSTART:20000101T000000Z", "DURATION:PT1M", "RRULE:FREQ=MINUTELY")),
     "feed_too_many_periods", VEVENT_AT, "5000"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "code", "line", "in_msg"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_feeds_say_what_and_where(body, code, line, in_msg):
    with pytest.raises(FeedError) as caught:
        busy(body)
    assert caught.value.code == code, caught.value.message
    assert caught.value.line == line, caught.value.message
    assert in_msg in caught.value.message
    if line is not None:
        assert f"egel {line}" in caught.value.message


def test_naive_bounds_are_a_programming_error():
    with pytest.raises(ValueError, match="aware"):
        parse_busy(cal(), start=datetime(2027, 3, 1), end=datetime(2027, 4, 1), tz=BRUSSELS)


def test_the_cap_counts_all_events_together(monkeypatch):
    monkeypatch.setattr(availability, "MAX_PERIODS", 10)
    daily = [
        event(f"e{i}@x", f"DTSTART:2027030{i}T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5")
        for i in (1, 2, 3)
    ]
    assert len(busy(cal(*daily[:2]))) == 6  # 10 occurrences, merged where they meet: fine
    with pytest.raises(FeedError) as caught:
        busy(cal(*daily))
    assert caught.value.code == "feed_too_many_periods" and caught.value.line is None
