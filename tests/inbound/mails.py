"""Inbound iTIP mails for the tests, made independently of the code under test.

- ``vobject_calendar`` builds the calendar with vobject (a second iCalendar implementation).
- ``outlook_mail`` / ``OUTLOOK_*`` imitate Outlook / Exchange by hand: ``METHOD:REPLY``,
  ``MAILTO:`` in upper case, a Windows TZID with its own VTIMEZONE, ``X-MICROSOFT-*`` lines,
  a base64 or quoted-printable ``text/calendar`` part inside ``multipart/alternative``.
- ``gmail_mail`` imitates Google: ``multipart/mixed`` → (``multipart/alternative`` → text,
  HTML, ``text/calendar; method=REPLY``) + the calendar again as ``invite.ics``.
"""

from __future__ import annotations

import base64
import quopri
from datetime import datetime
from email.message import EmailMessage

import vobject
from dateutil import tz

BRUSSELS = tz.gettz("Europe/Brussels")
ORGANIZER = "zorgtafel@zorgtafel.example"
DOMAIN = "zorgtafel.example"


def vobject_calendar(
    *,
    uid: str,
    attendee: str,
    partstat: str = "ACCEPTED",
    method: str = "REPLY",
    sequence: int = 0,
    recurrence_id: datetime | None = None,
    dtstart: datetime | None = None,
    dtend: datetime | None = None,
    comment: str | None = None,
    extra_attendees: tuple[str, ...] = (),
) -> bytes:
    cal = vobject.iCalendar()
    cal.add("method").value = method
    event = cal.add("vevent")
    event.add("uid").value = uid
    event.add("sequence").value = str(sequence)
    event.add("dtstamp").value = datetime(2026, 11, 20, 10, 15, tzinfo=tz.UTC)
    organizer = event.add("organizer")
    organizer.value = f"mailto:{ORGANIZER}"
    organizer.params["CN"] = ["Zorgtafel coördinatie"]
    for address in (attendee, *extra_attendees):
        line = event.add("attendee")
        line.value = f"mailto:{address}"
        line.params["PARTSTAT"] = [partstat]
        line.params["CN"] = ["Deelnemer"]
    event.add("summary").value = "Zorgtafel"
    if dtstart is not None:
        event.add("dtstart").value = dtstart
    if dtend is not None:
        event.add("dtend").value = dtend
    if recurrence_id is not None:
        event.add("recurrence-id").value = recurrence_id
    if comment is not None:
        event.add("comment").value = comment
    return cal.serialize().encode("utf-8")


def plain_calendar_mail(calendar: bytes, *, sender: str, method: str | None = "REPLY") -> bytes:
    """The simplest iMIP mail: one text/calendar part (as Thunderbird and Apple Mail send it)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ORGANIZER
    msg["Subject"] = "Antwoord"
    params = {"charset": "utf-8"} | ({"method": method} if method else {})
    msg.set_content(calendar, maintype="text", subtype="calendar", cte="8bit", params=params)
    return msg.as_bytes()


def gmail_mail(
    calendar: bytes, *, sender: str, method: str = "REPLY", inline: bool = True, attachment: bool = True
) -> bytes:
    """Google's layout, byte for byte as far as the structure goes."""
    b64 = base64.encodebytes(calendar).decode("ascii")
    parts = [
        'Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes\r\n\r\n'
        "Deelnemer heeft deze uitnodiging geaccepteerd.\r\n",
        'Content-Type: text/html; charset="UTF-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        "<span>Deelnemer heeft deze uitnodiging geaccepteerd.</span>\r\n",
    ]
    if inline:
        parts.append(
            f'Content-Type: text/calendar; charset="UTF-8"; method={method}\r\n'
            "Content-Transfer-Encoding: 7bit\r\n\r\n" + calendar.decode("utf-8")
        )
    alternative = "".join(f"--00000000000alt\r\n{p}\r\n" for p in parts) + "--00000000000alt--\r\n"
    mixed = (
        "--00000000000mix\r\n"
        'Content-Type: multipart/alternative; boundary="00000000000alt"\r\n\r\n' + alternative + "\r\n"
    )
    if attachment:
        mixed += (
            "--00000000000mix\r\n"
            'Content-Type: application/ics; name="invite.ics"\r\n'
            'Content-Disposition: attachment; filename="invite.ics"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n"
        )
    mixed += "--00000000000mix--\r\n"
    head = (
        f"From: Deelnemer <{sender}>\r\n"
        f"To: {ORGANIZER}\r\n"
        "Subject: Geaccepteerd: Zorgtafel\r\n"
        "Date: Fri, 20 Nov 2026 10:15:00 +0000\r\n"
        "Message-ID: <CAGmail0001@mail.gmail.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Reply-To: Google Calendar <calendar-notification@google.com>\r\n"
        'Content-Type: multipart/mixed; boundary="00000000000mix"\r\n\r\n'
    )
    return (head + mixed).encode("utf-8")


def gmail_calendar(*, uid: str, attendee: str, partstat: str = "ACCEPTED", sequence: int = 0) -> bytes:
    """What Google Calendar writes in a REPLY: times in UTC, extra X- parameters."""
    return (
        "BEGIN:VCALENDAR\r\n"
        "PRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
        "VERSION:2.0\r\n"
        "CALSCALE:GREGORIAN\r\n"
        "METHOD:REPLY\r\n"
        "BEGIN:VEVENT\r\n"
        "DTSTART:20261124T130000Z\r\n"
        "DTEND:20261124T143000Z\r\n"
        "DTSTAMP:20261120T101500Z\r\n"
        f"ORGANIZER;CN=Zorgtafel coördinatie:mailto:{ORGANIZER}\r\n"
        f"UID:{uid}\r\n"
        "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;"
        f"PARTSTAT={partstat};CN=Deelnemer;X-NUM-GUESTS=0:mailto:{attendee}\r\n"
        "CREATED:20261120T091530Z\r\n"
        "LAST-MODIFIED:20261120T101500Z\r\n"
        "LOCATION:Kantoor casemanager\r\n"
        f"SEQUENCE:{sequence}\r\n"
        "STATUS:CONFIRMED\r\n"
        "SUMMARY:Zorgtafel\r\n"
        "TRANSP:OPAQUE\r\n"
        "END:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    ).encode()


ROMANCE_VTIMEZONE = (
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Romance Standard Time\r\n"
    "BEGIN:STANDARD\r\n"
    "DTSTART:16010101T030000\r\n"
    "TZOFFSETFROM:+0200\r\n"
    "TZOFFSETTO:+0100\r\n"
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\n"
    "END:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\n"
    "DTSTART:16010101T020000\r\n"
    "TZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\n"
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\n"
    "END:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\n"
)


def custom_vtimezone(tzid: str, standard: str, daylight: str) -> str:
    """A VTIMEZONE like Outlook writes for a zone it has no Windows name for."""
    return (
        ROMANCE_VTIMEZONE.replace("Romance Standard Time", tzid)
        .replace("+0100", standard)
        .replace("+0200", daylight)
    )


def outlook_calendar(
    *,
    uid: str,
    attendee: str,
    partstat: str = "ACCEPTED",
    method: str = "REPLY",
    sequence: int = 0,
    start_local: str = "20261124T140000",
    end_local: str = "20261124T153000",
    recurrence_local: str | None = None,
    comment: str = "\\n",
    tzid: str = "Romance Standard Time",
    vtimezone: str = ROMANCE_VTIMEZONE,
) -> bytes:
    """Exchange / Outlook: Windows TZID, upper-case MAILTO:, X-MICROSOFT-* and X-MS-OLK-* lines."""
    counter = method == "COUNTER"
    lines = [
        "BEGIN:VCALENDAR",
        f"METHOD:{method}",
        "PRODID:Microsoft Exchange Server 2010",
        "VERSION:2.0",
        vtimezone.rstrip("\r\n"),
        "BEGIN:VEVENT",
        f"ATTENDEE;PARTSTAT={partstat};CN=Deelnemer:MAILTO:{attendee}",
        f"COMMENT;LANGUAGE=nl-NL:{comment}",
        f"SUMMARY;LANGUAGE=nl-NL:{'Nieuwe tijd voorgesteld' if counter else 'Geaccepteerd'}: Zorgtafel",
        f"DTSTART;TZID={tzid}:{start_local}",
        f"DTEND;TZID={tzid}:{end_local}",
        f"UID:{uid}",
    ]
    if recurrence_local is not None:
        lines.append(f"RECURRENCE-ID;TZID={tzid}:{recurrence_local}")
    if counter:
        lines += [
            f"X-MS-OLK-ORIGINALSTART;TZID={tzid}:20261124T140000",
            f"X-MS-OLK-ORIGINALEND;TZID={tzid}:20261124T153000",
        ]
    lines += [
        "CLASS:PUBLIC",
        "PRIORITY:5",
        "DTSTAMP:20261120T101500Z",
        "TRANSP:OPAQUE",
        "STATUS:CONFIRMED",
        f"SEQUENCE:{sequence}",
        "LOCATION;LANGUAGE=nl-NL:Kantoor casemanager",
        f"X-MICROSOFT-CDO-APPT-SEQUENCE:{sequence}",
        "X-MICROSOFT-CDO-OWNERAPPTID:-1174802346",
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
        "X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY",
        "X-MICROSOFT-CDO-ALLDAYEVENT:FALSE",
        "X-MICROSOFT-CDO-IMPORTANCE:1",
        "X-MICROSOFT-CDO-INSTTYPE:0",
        "X-MICROSOFT-DONOTFORWARDMEETING:FALSE",
        "X-MICROSOFT-DISALLOW-COUNTER:FALSE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def outlook_mail(calendar: bytes, *, sender: str, method: str = "REPLY", encoding: str = "base64") -> bytes:
    """Outlook's layout: multipart/alternative → text, HTML, text/calendar (base64 or QP)."""
    if encoding == "base64":
        body = base64.encodebytes(calendar).decode("ascii").replace("\n", "\r\n")
    else:
        body = quopri.encodestring(calendar).decode("ascii")
    return (
        f'From: "Deelnemer" <{sender.upper()}>\r\n'
        'To: "Zorgtafel coordinatie" <zorgtafel@zorgtafel.example>\r\n'
        "Subject: Geaccepteerd: Zorgtafel\r\n"
        "Thread-Topic: Zorgtafel\r\n"
        "Date: Fri, 20 Nov 2026 10:15:00 +0000\r\n"
        "Message-ID: <AM0PR01MB0001@AM0PR01MB0001.eurprd01.prod.outlook.com>\r\n"
        "Accept-Language: nl-NL, en-US\r\n"
        "Content-Language: nl-NL\r\n"
        "X-MS-Has-Attach:\r\n"
        "X-MS-TNEF-Correlator:\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="_000_AM0PR01MB0001_"\r\n'
        "\r\n"
        "--_000_AM0PR01MB0001_\r\n"
        'Content-Type: text/plain; charset="us-ascii"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "\r\n"
        "--_000_AM0PR01MB0001_\r\n"
        'Content-Type: text/html; charset="us-ascii"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "<html><body></body></html>\r\n"
        "\r\n"
        "--_000_AM0PR01MB0001_\r\n"
        f'Content-Type: text/calendar; charset="utf-8"; method={method}\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n"
        "\r\n" + body + "\r\n"
        "--_000_AM0PR01MB0001_--\r\n"
    ).encode("ascii")
