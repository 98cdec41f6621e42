"""Reading iTIP answers out of whole mails: vobject-built replies, Outlook and Gmail layouts,
counter proposals resolved to the right instant, and every malformed case with its code."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from dateutil.tz import UTC as DATEUTIL_UTC  # vobject cannot name datetime.UTC

from notifications.itip_inbound import ItipParseError, parse_itip
from tests.inbound.mails import (
    BRUSSELS,
    ORGANIZER,
    custom_vtimezone,
    gmail_calendar,
    gmail_mail,
    outlook_calendar,
    outlook_mail,
    plain_calendar_mail,
    vobject_calendar,
)
from zorgtafel.replies import ItipIn

UID = "6f1c2b1e-0d4e-4d0e-9a55-0f8e3c1d2a77@zorgtafel.example"
WHO = "expert.een@agentschap.example"


@pytest.mark.parametrize("partstat", ["ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION", "DELEGATED"])
def test_vobject_reply_is_read_with_its_partstat(partstat):
    raw = plain_calendar_mail(
        vobject_calendar(uid=UID, attendee=WHO, partstat=partstat, sequence=3), sender=WHO
    )
    msg = parse_itip(raw)
    assert (msg.method, msg.uid, msg.sequence, msg.attendee_email, msg.partstat) == (
        "REPLY",
        UID,
        3,
        WHO,
        partstat,
    )
    assert msg.sender == WHO
    assert msg.recurrence_id is None and msg.proposed_start is None and msg.proposed_end is None
    assert msg.dtstamp == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


def test_reply_without_sequence_is_sequence_zero_and_unknown_partstat_is_needs_action():
    cal = vobject_calendar(uid=UID, attendee=WHO, partstat="X-MAYBE")
    cal = cal.replace(b"SEQUENCE:0\r\n", b"")
    msg = parse_itip(plain_calendar_mail(cal, sender=WHO))
    assert msg.sequence == 0
    assert msg.partstat == "NEEDS-ACTION"  # RFC 5545 §3.2.12


def test_reply_to_one_occurrence_carries_its_recurrence_id_as_an_aware_instant():
    occurrence = datetime(2027, 1, 12, 14, 0, tzinfo=BRUSSELS)
    raw = plain_calendar_mail(
        vobject_calendar(uid=UID, attendee=WHO, partstat="DECLINED", recurrence_id=occurrence), sender=WHO
    )
    msg = parse_itip(raw)
    assert msg.partstat == "DECLINED"
    assert msg.recurrence_id == datetime(2027, 1, 12, 13, 0, tzinfo=UTC)
    assert msg.recurrence_id.tzinfo is not None


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_outlook_reply_upper_case_mailto_windows_zone_inside_multipart_alternative(encoding):
    cal = outlook_calendar(uid=UID, attendee="Expert.Een@Agentschap.EXAMPLE", partstat="TENTATIVE")
    assert b"MAILTO:Expert.Een@" in cal and b"TZID=Romance Standard Time" in cal
    msg = parse_itip(outlook_mail(cal, sender=WHO, encoding=encoding))
    assert msg.method == "REPLY"
    assert msg.attendee_email == WHO  # lower case, without MAILTO:
    assert msg.sender == WHO
    assert msg.partstat == "TENTATIVE"
    assert msg.comment is None  # Outlook's "COMMENT:\n" is no comment


def test_outlook_reply_to_an_occurrence_resolves_the_windows_zone():
    cal = outlook_calendar(uid=UID, attendee=WHO, recurrence_local="20260715T140000")
    msg = parse_itip(outlook_mail(cal, sender=WHO))
    assert msg.recurrence_id == datetime(2026, 7, 15, 12, 0, tzinfo=UTC)  # CEST, +02:00


def test_outlook_calendar_as_the_whole_body_is_read_too():
    cal = outlook_calendar(uid=UID, attendee=WHO)
    msg = EmailMessage()
    msg["From"] = WHO
    msg.set_content(cal, maintype="text", subtype="calendar", cte="base64", params={"method": "REPLY"})
    assert parse_itip(msg.as_bytes()).attendee_email == WHO


@pytest.mark.parametrize(("inline", "attachment"), [(True, True), (False, True), (True, False)])
def test_gmail_layout_inline_part_and_or_invite_ics(inline, attachment):
    cal = gmail_calendar(uid=UID, attendee=WHO, partstat="DECLINED", sequence=1)
    msg = parse_itip(gmail_mail(cal, sender=WHO, inline=inline, attachment=attachment))
    assert (msg.method, msg.uid, msg.sequence, msg.attendee_email, msg.partstat) == (
        "REPLY",
        UID,
        1,
        WHO,
        "DECLINED",
    )


def test_gmail_layout_with_a_vobject_calendar():
    cal = vobject_calendar(uid=UID, attendee=WHO, partstat="ACCEPTED")
    assert parse_itip(gmail_mail(cal, sender=WHO)).partstat == "ACCEPTED"


def test_an_unreadable_inline_part_falls_back_to_the_attachment():
    good = gmail_calendar(uid=UID, attendee=WHO)
    raw = gmail_mail(good, sender=WHO).replace(
        b"Content-Transfer-Encoding: 7bit\r\n\r\nBEGIN:VCALENDAR",
        b"Content-Transfer-Encoding: 7bit\r\n\r\nxx",
        1,
    )
    assert parse_itip(raw).uid == UID


@pytest.mark.parametrize(
    ("start", "end", "utc_start", "utc_end"),
    [
        # summer: CEST (+02:00)
        ("20260715T140000", "20260715T153000", datetime(2026, 7, 15, 12, 0), datetime(2026, 7, 15, 13, 30)),
        # winter: CET (+01:00)
        ("20261124T140000", "20261124T153000", datetime(2026, 11, 24, 13, 0), datetime(2026, 11, 24, 14, 30)),
        # the week after the switch to summer time
        ("20270329T090000", "20270329T103000", datetime(2027, 3, 29, 7, 0), datetime(2027, 3, 29, 8, 30)),
    ],
)
def test_outlook_counter_is_resolved_through_its_vtimezone(start, end, utc_start, utc_end):
    cal = outlook_calendar(
        uid=UID,
        attendee=WHO,
        method="COUNTER",
        partstat="TENTATIVE",
        start_local=start,
        end_local=end,
        comment="Kan pas later.\\n",
    )
    msg = parse_itip(outlook_mail(cal, sender=WHO, method="COUNTER"))
    assert msg.method == "COUNTER"
    assert msg.proposed_start == utc_start.replace(tzinfo=UTC)
    assert msg.proposed_end == utc_end.replace(tzinfo=UTC)
    assert msg.comment == "Kan pas later."


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (datetime(2026, 7, 15, 14, 0, tzinfo=BRUSSELS), datetime(2026, 7, 15, 12, 0, tzinfo=UTC)),
        (datetime(2026, 11, 24, 14, 0, tzinfo=BRUSSELS), datetime(2026, 11, 24, 13, 0, tzinfo=UTC)),
        (datetime(2026, 11, 24, 13, 0, tzinfo=DATEUTIL_UTC), datetime(2026, 11, 24, 13, 0, tzinfo=UTC)),
    ],
)
def test_vobject_counter_proposed_times_in_summer_winter_and_utc(local, utc):
    from datetime import timedelta

    cal = vobject_calendar(
        uid=UID, attendee=WHO, method="COUNTER", dtstart=local, dtend=local + timedelta(minutes=90)
    )
    msg = parse_itip(plain_calendar_mail(cal, sender=WHO, method="COUNTER"))
    assert msg.proposed_start == utc
    assert msg.proposed_end == utc + timedelta(minutes=90)


def test_counter_with_duration_instead_of_dtend():
    cal = outlook_calendar(uid=UID, attendee=WHO, method="COUNTER", start_local="20261124T160000")
    cal = cal.replace(b"DTEND;TZID=Romance Standard Time:20261124T153000", b"DURATION:PT1H30M")
    msg = parse_itip(outlook_mail(cal, sender=WHO, method="COUNTER"))
    assert msg.proposed_start == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert msg.proposed_end == datetime(2026, 11, 24, 16, 30, tzinfo=UTC)


def test_counter_listing_every_attendee_is_attributed_to_the_sender():
    cal = vobject_calendar(
        uid=UID,
        attendee=WHO,
        method="COUNTER",
        dtstart=datetime(2026, 11, 24, 16, 0, tzinfo=BRUSSELS),
        extra_attendees=("casemanager@zorgtafel.example", "ander@agentschap.example"),
    )
    msg = parse_itip(plain_calendar_mail(cal, sender=f"Expert <{WHO.upper()}>", method="COUNTER"))
    assert msg.attendee_email == WHO


def test_each_message_uses_its_own_vtimezone_not_a_cached_one():
    """icalendar caches the first VTIMEZONE per unknown TZID for the whole process; two Outlook
    users with different 'Customized Time Zone's must each be read with their own."""
    for standard, daylight, utc_hour in (
        ("+0500", "+0600", 8),
        ("+0100", "+0200", 12),
        ("-0300", "-0200", 16),
    ):
        cal = outlook_calendar(
            uid=UID,
            attendee=WHO,
            method="COUNTER",
            start_local="20260715T140000",
            end_local="20260715T150000",
            tzid="Customized Time Zone",
            vtimezone=custom_vtimezone("Customized Time Zone", standard, daylight),
        )
        msg = parse_itip(outlook_mail(cal, sender=WHO, method="COUNTER"))
        assert msg.proposed_start == datetime(2026, 7, 15, utc_hour, 0, tzinfo=UTC), standard


def test_windows_zone_without_vtimezone_falls_back_to_the_olson_zone():
    cal = outlook_calendar(uid=UID, attendee=WHO, method="COUNTER", vtimezone="")
    cal = cal.replace(b"VERSION:2.0\r\n\r\n", b"VERSION:2.0\r\n")
    msg = parse_itip(outlook_mail(cal, sender=WHO, method="COUNTER"))
    assert msg.proposed_start == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # Europe/Paris


def test_converts_to_the_core_input():
    cal = outlook_calendar(uid=UID, attendee=WHO, method="COUNTER", comment="Liever later")
    core = parse_itip(outlook_mail(cal, sender=WHO, method="COUNTER")).to_core()
    assert isinstance(core, ItipIn)
    assert (core.method, core.uid, core.attendee_email, core.sender, core.comment) == (
        "COUNTER",
        UID,
        WHO,
        WHO,
        "Liever later",
    )
    assert core.proposed_start == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


# -- malformed --------------------------------------------------------------------------------


def _mail(calendar_text: str) -> bytes:
    return plain_calendar_mail(calendar_text.replace("\n", "\r\n").encode(), sender=WHO)


EVENT = "BEGIN:VEVENT\nUID:{uid}\nSEQUENCE:0\nDTSTAMP:20261120T101500Z\n{attendees}END:VEVENT\n"


def _calendar(method: str = "REPLY", uid: str = UID, attendees: tuple[str, ...] = (WHO,)) -> str:
    lines = "".join(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{a}\n" for a in attendees)
    method_line = f"METHOD:{method}\n" if method else ""
    return (
        f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{method_line}"
        + EVENT.format(uid=uid, attendees=lines)
        + "END:VCALENDAR\n"
    )


def _plain_mail(text: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = WHO
    msg["To"] = ORGANIZER
    msg["Subject"] = "Vraag over de zorgtafel"
    msg.set_content(text)
    return msg.as_bytes()


def _bounce_quoting_our_invitation() -> bytes:
    original = EmailMessage()
    original["From"] = ORGANIZER
    original["To"] = WHO
    original.set_content(
        _calendar(method="REQUEST").replace("\n", "\r\n").encode(),
        maintype="text",
        subtype="calendar",
        params={"method": "REQUEST"},
    )
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@agentschap.example"
    bounce["To"] = ORGANIZER
    bounce.set_content("Delivery failed")
    bounce.add_attachment(original)
    return bounce.as_bytes()


def _outlook_rich_text_reply() -> bytes:
    msg = EmailMessage()
    msg["From"] = WHO
    msg["To"] = ORGANIZER
    msg["Subject"] = "Geaccepteerd: Zorgtafel"
    msg.set_content("Geaccepteerd")
    msg.add_attachment(b"\x78\x9f\x3e\x22", maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return msg.as_bytes()


MALFORMED = {
    "plain text mail": (_plain_mail("Kan ik mijn partner meebrengen?"), "no_calendar"),
    "bounce quoting the REQUEST": (_bounce_quoting_our_invitation(), "no_calendar"),
    "Outlook rich text (winmail.dat only)": (_outlook_rich_text_reply(), "tnef_only"),
    "garbage calendar": (_mail("this is no calendar\n"), "unparseable"),
    "two calendars": (_mail(_calendar() + _calendar()), "unparseable"),
    "bad SEQUENCE": (_mail(_calendar().replace("SEQUENCE:0", "SEQUENCE:abc")), "unparseable"),
    "two UIDs": (
        _mail(_calendar().replace("END:VCALENDAR", EVENT.format(uid="x", attendees="") + "END:VCALENDAR")),
        "unparseable",
    ),
    "no VEVENT": (_mail("BEGIN:VCALENDAR\nVERSION:2.0\nMETHOD:REPLY\nEND:VCALENDAR\n"), "no_event"),
    "no UID": (_mail(_calendar().replace(f"UID:{UID}\n", "")), "missing_uid"),
    "no ATTENDEE": (_mail(_calendar(attendees=())), "missing_attendee"),
    "ATTENDEE without address": (
        _mail(_calendar().replace(f"mailto:{WHO}", "urn:uuid:1234")),
        "missing_attendee",
    ),
    "REPLY with two attendees": (
        _mail(_calendar(attendees=(WHO, "ander@agentschap.example"))),
        "multiple_attendees",
    ),
    "REQUEST": (_mail(_calendar(method="REQUEST")), "unknown_method"),
    "PUBLISH": (_mail(_calendar(method="PUBLISH")), "unknown_method"),
    "no METHOD anywhere": (
        plain_calendar_mail(_calendar(method="").replace("\n", "\r\n").encode(), sender=WHO, method=None),
        "unknown_method",
    ),
    "COUNTER without DTSTART": (_mail(_calendar(method="COUNTER")), "missing_proposed_time"),
    "COUNTER with an all-day date": (
        _mail(_calendar(method="COUNTER").replace("SEQUENCE:0", "SEQUENCE:0\nDTSTART;VALUE=DATE:20261124")),
        "invalid_time",
    ),
    "COUNTER with a floating time": (
        _mail(_calendar(method="COUNTER").replace("SEQUENCE:0", "SEQUENCE:0\nDTSTART:20261124T140000")),
        "invalid_time",
    ),
    "COUNTER with an unknown TZID": (
        _mail(
            _calendar(method="COUNTER").replace(
                "SEQUENCE:0", "SEQUENCE:0\nDTSTART;TZID=Mars/Olympus:20261124T140000"
            )
        ),
        "unknown_timezone",
    ),
    "COUNTER ending before it starts": (
        _mail(
            _calendar(method="COUNTER").replace(
                "SEQUENCE:0", "SEQUENCE:0\nDTSTART:20261124T140000Z\nDTEND:20261124T130000Z"
            )
        ),
        "invalid_time",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_mail_is_refused_with_its_code(case):
    raw, code = MALFORMED[case]
    with pytest.raises(ItipParseError) as info:
        parse_itip(raw)
    assert info.value.code == code
    assert info.value.message.strip()
    assert WHO not in str(info.value) and "@" not in info.value.message


def test_a_reply_without_method_in_the_calendar_uses_the_mime_method():
    raw = _mail(_calendar(method=""))  # the part still says method=REPLY
    assert parse_itip(raw).method == "REPLY"


def test_an_empty_mail_is_no_calendar():
    with pytest.raises(ItipParseError) as info:
        parse_itip(b"")
    assert info.value.code == "no_calendar"
