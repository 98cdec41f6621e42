"""Invitations as an independent reader (vobject + dateutil) and the stdlib MIME parser see them."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject
import vobject.icalendar

from notifications.imip import Attendee, Meeting, build_calendar, build_imip_message
from notifications.render import render_invitation, render_not_eligible_notice

BRUSSELS = ZoneInfo("Europe/Brussels")
DTSTAMP = datetime(2026, 11, 20, 9, 15, 30, tzinfo=UTC)
REFERENCE = "ZT-2026-7KQ4MX"


def parse_calendar(data: bytes) -> Any:
    """Read a calendar with vobject, using the VTIMEZONE inside it.

    vobject keeps a process-wide TZID -> tzinfo registry: the first VTIMEZONE it sees for a
    name wins, and for an unregistered TZID it silently falls back to pytz. Clearing the
    registry makes every parse depend on this calendar's own VTIMEZONE only.
    """
    registry: dict[str, Any] = vars(vobject.icalendar)["__tzidMap"]
    for tzid in [name for name in registry if name != "UTC"]:
        del registry[tzid]
    calendar = vobject.readOne(data.decode("utf-8"))
    start_tz = calendar.vevent.dtstart.value.tzinfo
    assert type(start_tz).__module__.startswith("dateutil"), f"not our VTIMEZONE: {start_tz!r}"
    return calendar


def make_meeting(**changes: Any) -> Meeting:
    meeting = Meeting(
        uid="3f6c2a9e-0d1b-4c53-9a51-5d2f0f6e2b11@zorgtafel.example",
        sequence=0,
        reference=REFERENCE,
        starts_at=datetime(2026, 11, 24, 14, 0, tzinfo=BRUSSELS),
        ends_at=datetime(2026, 11, 24, 15, 30, tzinfo=BRUSSELS),
        location="Huis van het Kind, Zaal 2, Hasselt",
        organizer_email="zorgtafel@zorgtafel.example",
        organizer_label="Zorgtafel (coördinatie)",
        attendees=(
            Attendee("casemanager@cm.example", "Casemanager"),
            Attendee("expert@pleegzorg.example", "Expert (Pleegzorg Limburg)"),
            Attendee("gezin@mail.example", "Gezin", role="OPT-PARTICIPANT"),
        ),
        summary=f"Zorgtafel {REFERENCE}",
        description="Zorgtafel binnen de crisisroute; geen gegevens over het gezin.",
        url="https://zorgtafel.example/zorgtafels/ZT-2026-7KQ4MX",
    )
    return replace(meeting, **changes)


def make_message(meeting: Meeting | None = None, method: str = "REQUEST") -> EmailMessage:
    meeting = meeting or make_meeting()
    texts = render_invitation(
        reference=meeting.reference,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        location=meeting.location,
        role_label="Expert (Pleegzorg Limburg)",
        respond_by=datetime(2026, 11, 21, 12, 0, tzinfo=BRUSSELS),
        sequence=meeting.sequence,
    )
    return build_imip_message(
        meeting,
        method=method,
        recipient_email="expert@pleegzorg.example",
        sender="Zorgtafel <zorgtafel@zorgtafel.example>",
        message_id="<invite-42-expert@zorgtafel.example>",
        dtstamp=DTSTAMP,
        subject=texts.subject,
        text_body=texts.text,
        html_body=texts.html,
    )


# --- the calendar ------------------------------------------------------------------------


def test_request_calendar_reads_back() -> None:
    meeting = make_meeting(sequence=3)
    data = build_calendar(meeting, method="REQUEST", dtstamp=DTSTAMP)
    calendar = parse_calendar(data)

    assert calendar.method.value == "REQUEST"
    assert calendar.prodid.value == "-//zorgtafel//zorgtafel//NL"
    assert calendar.version.value == "2.0"
    assert calendar.calscale.value == "GREGORIAN"
    assert len(calendar.contents["vevent"]) == 1
    event = calendar.vevent
    assert event.uid.value == meeting.uid
    assert int(event.sequence.value) == 3
    assert event.dtstamp.value == DTSTAMP
    assert event.dtstamp.value.utcoffset() == timedelta(0)
    assert b"DTSTAMP:20261120T091530Z\r\n" in data
    assert event.summary.value == f"Zorgtafel {REFERENCE}"
    assert event.location.value == "Huis van het Kind, Zaal 2, Hasselt"
    assert event.status.value == "CONFIRMED"
    assert event.transp.value == "OPAQUE"
    assert event.url.value == meeting.url
    assert event.organizer.value == "mailto:zorgtafel@zorgtafel.example"
    assert event.organizer.params["CN"] == ["Zorgtafel (coördinatie)"]

    alarm = event.valarm
    assert alarm.action.value == "DISPLAY"
    assert alarm.trigger.value == timedelta(minutes=-30)


def test_start_and_end_are_local_time_with_tzid() -> None:
    data = build_calendar(make_meeting(), method="REQUEST", dtstamp=DTSTAMP)
    assert b"DTSTART;TZID=Europe/Brussels:20261124T140000\r\n" in data
    assert b"DTEND;TZID=Europe/Brussels:20261124T153000\r\n" in data
    event = parse_calendar(data).vevent
    # vobject moves TZID from the parameters into the tzinfo it built from the VTIMEZONE.
    tzinfo = event.dtstart.value.tzinfo
    assert vobject.icalendar.TimezoneComponent.pickTzid(tzinfo) == "Europe/Brussels"
    assert event.dtstart.value.replace(tzinfo=None) == datetime(2026, 11, 24, 14, 0)


@pytest.mark.parametrize(
    ("starts_at", "local_text", "utc_instant"),
    [
        pytest.param(  # winter time, given in UTC
            datetime(2026, 11, 24, 13, 0, tzinfo=UTC),
            b"20261124T140000",
            datetime(2026, 11, 24, 13, 0, tzinfo=UTC),
            id="winter",
        ),
        pytest.param(  # summer time, given in another zone altogether
            datetime(2027, 6, 15, 4, 0, tzinfo=ZoneInfo("America/New_York")),
            b"20270615T100000",
            datetime(2027, 6, 15, 8, 0, tzinfo=UTC),
            id="summer",
        ),
        pytest.param(  # 2027-03-28 is the last Sunday of March: 03:00 CEST is the first hour
            datetime(2027, 3, 28, 1, 0, tzinfo=UTC),
            b"20270328T030000",
            datetime(2027, 3, 28, 1, 0, tzinfo=UTC),
            id="right-after-march-switch",
        ),
        pytest.param(  # the Monday morning after the switch
            datetime(2027, 3, 29, 9, 0, tzinfo=BRUSSELS),
            b"20270329T090000",
            datetime(2027, 3, 29, 7, 0, tzinfo=UTC),
            id="monday-after-march-switch",
        ),
        pytest.param(  # the day before the March switch is still winter time
            datetime(2027, 3, 27, 9, 0, tzinfo=BRUSSELS),
            b"20270327T090000",
            datetime(2027, 3, 27, 8, 0, tzinfo=UTC),
            id="saturday-before-march-switch",
        ),
        pytest.param(  # right after the October switch back
            datetime(2026, 10, 25, 3, 0, tzinfo=BRUSSELS),
            b"20261025T030000",
            datetime(2026, 10, 25, 2, 0, tzinfo=UTC),
            id="right-after-october-switch",
        ),
    ],
)
def test_local_time_converts_to_the_right_instant(
    starts_at: datetime, local_text: bytes, utc_instant: datetime
) -> None:
    meeting = make_meeting(starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    data = build_calendar(meeting, method="REQUEST", dtstamp=DTSTAMP)
    assert b"DTSTART;TZID=Europe/Brussels:" + local_text + b"\r\n" in data
    event = parse_calendar(data).vevent
    assert event.dtstart.value.astimezone(UTC) == utc_instant
    assert event.dtend.value.astimezone(UTC) == utc_instant + timedelta(hours=1)


def test_amsterdam_zone_is_written_and_read() -> None:
    meeting = make_meeting(tzid="Europe/Amsterdam")
    data = build_calendar(meeting, method="REQUEST", dtstamp=DTSTAMP)
    assert b"TZID:Europe/Amsterdam\r\n" in data
    assert b"DTSTART;TZID=Europe/Amsterdam:20261124T140000\r\n" in data
    event = parse_calendar(data).vevent
    assert event.dtstart.value.astimezone(UTC) == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


def test_attendees_are_asked_to_respond() -> None:
    event = parse_calendar(build_calendar(make_meeting(), method="REQUEST", dtstamp=DTSTAMP)).vevent
    attendees = {a.value: a.params for a in event.attendee_list}
    assert set(attendees) == {
        "mailto:casemanager@cm.example",
        "mailto:expert@pleegzorg.example",
        "mailto:gezin@mail.example",
    }
    for params in attendees.values():
        assert params["PARTSTAT"] == ["NEEDS-ACTION"]
        assert params["RSVP"] == ["TRUE"]
        assert params["CUTYPE"] == ["INDIVIDUAL"]
    assert attendees["mailto:expert@pleegzorg.example"]["CN"] == ["Expert (Pleegzorg Limburg)"]
    assert attendees["mailto:expert@pleegzorg.example"]["ROLE"] == ["REQ-PARTICIPANT"]
    assert attendees["mailto:gezin@mail.example"]["ROLE"] == ["OPT-PARTICIPANT"]


def test_cancel() -> None:
    meeting = make_meeting(sequence=2, status="CANCELLED")
    data = build_calendar(meeting, method="CANCEL", dtstamp=DTSTAMP)
    calendar = parse_calendar(data)
    assert calendar.method.value == "CANCEL"
    assert calendar.vevent.status.value == "CANCELLED"
    assert calendar.vevent.uid.value == meeting.uid
    assert int(calendar.vevent.sequence.value) == 2
    assert "valarm" not in calendar.vevent.contents
    # A CANCEL is a cancellation even if the caller forgot to flip the status.
    again = parse_calendar(build_calendar(make_meeting(), method="CANCEL", dtstamp=DTSTAMP))
    assert again.vevent.status.value == "CANCELLED"


def test_same_input_gives_same_bytes() -> None:
    first = build_calendar(make_meeting(), method="REQUEST", dtstamp=DTSTAMP)
    assert build_calendar(make_meeting(), method="REQUEST", dtstamp=DTSTAMP) == first
    assert make_message().as_bytes() == make_message().as_bytes()


@pytest.mark.parametrize(
    ("changes", "method", "message"),
    [
        ({"starts_at": datetime(2026, 11, 24, 14, 0)}, "REQUEST", "starts_at must be timezone"),
        ({"ends_at": datetime(2026, 11, 24, 15, 0)}, "REQUEST", "ends_at must be timezone"),
        (
            {"ends_at": datetime(2026, 11, 24, 14, 0, tzinfo=BRUSSELS)},
            "REQUEST",
            "must be after",
        ),
        ({"attendees": ()}, "REQUEST", "at least one attendee"),
        ({}, "PUBLISH", "Unsupported iTIP method"),
        ({"tzid": "Europe/London"}, "REQUEST", "Unsupported time zone"),
        ({"reference": "Jan Peeters"}, "REQUEST", "case reference"),
        ({"status": "CANCELLED"}, "REQUEST", "method CANCEL"),
        ({"sequence": -1}, "REQUEST", "sequence"),
        ({"organizer_email": "not an address"}, "REQUEST", "organizer_email"),
        (  # 02:30 on 2026-10-25 happens twice; the second one has no TZID spelling
            {
                "starts_at": datetime(2026, 10, 25, 2, 30, tzinfo=BRUSSELS, fold=1),
                "ends_at": datetime(2026, 10, 25, 4, 0, tzinfo=BRUSSELS),
            },
            "REQUEST",
            "repeated hour",
        ),
    ],
)
def test_invalid_input_is_refused(changes: dict[str, Any], method: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_calendar(make_meeting(**changes), method=method, dtstamp=DTSTAMP)


def test_naive_dtstamp_is_refused() -> None:
    with pytest.raises(ValueError, match="dtstamp must be timezone-aware"):
        build_calendar(make_meeting(), method="REQUEST", dtstamp=datetime(2026, 11, 20, 9, 0))


# --- the mail ----------------------------------------------------------------------------


def test_mime_layout_is_what_outlook_and_gmail_expect() -> None:
    meeting = make_meeting()
    built = make_message(meeting)
    raw = built.as_bytes()
    received = email.message_from_bytes(raw, policy=email.policy.default)

    layout = [part.get_content_type() for part in received.walk()]
    assert layout == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    parts = list(received.walk())
    alternative = parts[1]
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    plain, html, inline_calendar, attachment = parts[2:]
    assert plain.get_content_charset() == "utf-8"
    assert html.get_content_charset() == "utf-8"

    # The exact header form Google and Office 365 send.
    assert b"Content-Type: text/calendar; method=REQUEST; charset=utf-8" in raw
    assert inline_calendar.get_param("method") == "REQUEST"
    assert inline_calendar.get_content_charset() == "utf-8"
    assert inline_calendar.get_content_disposition() is None

    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_param("name") == "invite.ics"

    expected = build_calendar(meeting, method="REQUEST", dtstamp=DTSTAMP)
    assert inline_calendar.get_payload(decode=True) == expected
    assert attachment.get_payload(decode=True) == expected
    assert parse_calendar(inline_calendar.get_payload(decode=True)).method.value == "REQUEST"


def test_headers() -> None:
    received = email.message_from_bytes(make_message().as_bytes(), policy=email.policy.default)
    assert received["From"] == "Zorgtafel <zorgtafel@zorgtafel.example>"
    assert received["To"] == "expert@pleegzorg.example"
    assert received["Subject"] == "Uitnodiging zorgtafel ZT-2026-7KQ4MX – di 24 nov 2026 14:00"
    assert received["Message-ID"] == "<invite-42-expert@zorgtafel.example>"
    assert received["Date"].datetime == DTSTAMP
    assert received["MIME-Version"] == "1.0"
    assert received["Content-Language"] == "nl"
    assert received["Auto-Submitted"] == "auto-generated"
    # Only the top level carries MIME-Version.
    assert all("MIME-Version" not in part for part in list(received.walk())[1:])


def test_cancel_mail_says_method_cancel() -> None:
    meeting = make_meeting(sequence=1, status="CANCELLED")
    raw = make_message(meeting, method="CANCEL").as_bytes()
    assert b"Content-Type: text/calendar; method=CANCEL; charset=utf-8" in raw
    received = email.message_from_bytes(raw, policy=email.policy.default)
    inline_calendar = next(p for p in received.walk() if p.get_content_type() == "text/calendar")
    assert parse_calendar(inline_calendar.get_payload(decode=True)).vevent.status.value == ("CANCELLED")


def test_bodies_carry_no_case_content_and_are_dutch() -> None:
    received = email.message_from_bytes(make_message().as_bytes(), policy=email.policy.default)
    plain = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    for body in (plain, html):
        assert "Werf 2" in body
        assert "dinsdag 24 november 2026, 14:00–15:30 (Brussel-tijd)" in body
        assert "Huis van het Kind, Zaal 2, Hasselt" in body
        assert "Expert (Pleegzorg Limburg)" in body
        assert "aanvaarden of weigeren" in body
        assert "Om privacyredenen bevat deze uitnodiging geen gegevens over het gezin" in body
        assert "zaterdag 21 november 2026 om 12:00" in body


def test_bad_message_id_is_refused() -> None:
    meeting = make_meeting()
    with pytest.raises(ValueError, match="message_id"):
        build_imip_message(
            meeting,
            method="REQUEST",
            recipient_email="expert@pleegzorg.example",
            sender="zorgtafel@zorgtafel.example",
            message_id="no-brackets",
            dtstamp=DTSTAMP,
            subject="x",
            text_body="x",
            html_body="x",
        )


# --- the texts ---------------------------------------------------------------------------


def test_update_subject_says_gewijzigd() -> None:
    texts = render_invitation(
        reference=REFERENCE,
        starts_at=datetime(2027, 3, 29, 9, 0, tzinfo=BRUSSELS),
        ends_at=datetime(2027, 3, 29, 10, 0, tzinfo=BRUSSELS),
        location="Online",
        role_label="Casemanager",
        respond_by=datetime(2027, 3, 26, 17, 0, tzinfo=BRUSSELS),
        sequence=1,
    )
    assert texts.subject == "Gewijzigd: Uitnodiging zorgtafel ZT-2026-7KQ4MX – ma 29 mrt 2027 09:00"
    assert texts.summary == "Zorgtafel ZT-2026-7KQ4MX"
    assert "gewijzigd" in texts.text
    assert "Casemanager" not in texts.description  # one calendar object serves every attendee


def test_html_is_escaped() -> None:
    texts = render_invitation(
        reference=REFERENCE,
        starts_at=datetime(2026, 11, 24, 14, 0, tzinfo=BRUSSELS),
        ends_at=datetime(2026, 11, 24, 15, 0, tzinfo=BRUSSELS),
        location="Zaal <b>2</b> & co",
        role_label="Expert",
        respond_by=datetime(2026, 11, 21, 12, 0, tzinfo=BRUSSELS),
        sequence=0,
    )
    assert "Zaal &lt;b&gt;2&lt;/b&gt; &amp; co" in texts.html
    assert "Zaal <b>2</b> & co" in texts.text


def test_render_refuses_naive_times_and_non_references() -> None:
    kwargs: dict[str, Any] = {
        "reference": REFERENCE,
        "starts_at": datetime(2026, 11, 24, 14, 0, tzinfo=BRUSSELS),
        "ends_at": datetime(2026, 11, 24, 15, 0, tzinfo=BRUSSELS),
        "location": "Online",
        "role_label": "Expert",
        "respond_by": datetime(2026, 11, 21, 12, 0, tzinfo=BRUSSELS),
        "sequence": 0,
    }
    with pytest.raises(ValueError, match="respond_by must be timezone-aware"):
        render_invitation(**{**kwargs, "respond_by": datetime(2026, 11, 21, 12, 0)})
    with pytest.raises(ValueError, match="case reference"):
        render_invitation(**{**kwargs, "reference": "Familie Peeters"})


def test_not_eligible_notice() -> None:
    url = "https://www.opgroeien.be/hulp?regio=limburg&x=1"
    notice = render_not_eligible_notice(reference=REFERENCE, regular_help_url=url)
    assert REFERENCE in notice.subject
    assert "buiten de doelgroep" in notice.text
    assert "status van de aanmelding" in notice.text
    assert url in notice.text
    assert 'href="https://www.opgroeien.be/hulp?regio=limburg&amp;x=1"' in notice.html
    with pytest.raises(ValueError, match="http"):
        render_not_eligible_notice(reference=REFERENCE, regular_help_url="javascript:alert(1)")
