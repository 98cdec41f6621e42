"""A real CalDAV server (Radicale, in a subprocess) stores an invitation and its update.

METHOD is stripped before storage. RFC 4791 §4.1: calendar object resources in a calendar
collection "MUST NOT specify the iCalendar METHOD property" — METHOD belongs to the iTIP
message (the mail), not to the stored event. Radicale 3.9 is lenient: measured, it accepts a
PUT with METHOD:REQUEST (201) and keeps it in the stored object. Stricter servers refuse such
a PUT, so we test the conforming form.

Radicale's time-range REPORT is evaluated by the server with its own vobject/dateutil reading
of our VTIMEZONE, so it is a second, server-side check that the local time means the instant
we meant. (Radicale's vobject caches the first VTIMEZONE it sees per TZID per process: each
test module starts its own server, and only our VTIMEZONE is ever sent to it.)
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from notifications.imip import Meeting, build_calendar
from tests.notifications.test_imip import BRUSSELS, DTSTAMP, make_meeting, parse_calendar

DAV = "{DAV:}"
CALENDAR_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VEVENT">
        <C:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/>
      </C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>
"""


@dataclass(frozen=True)
class Radicale:
    client: httpx.Client
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    folder = tmp_path_factory.mktemp("radicale")
    port = free_port()
    log = folder / "radicale.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "radicale",
                "--config",
                "",
                "--server-hosts",
                f"127.0.0.1:{port}",
                "--auth-type",
                "none",
                "--storage-filesystem-folder",
                str(folder / "storage"),
                "--logging-level",
                "warning",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    # auth-type none accepts any credentials; the user name decides which collections are ours.
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=("zorgtafel", "x"), timeout=5)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                pytest.fail(f"Radicale exited with {process.returncode}:\n{log.read_text()}")
            try:
                client.get("/")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Radicale did not answer within 15 s:\n{log.read_text()}")
                time.sleep(0.05)
        yield Radicale(client=client, log=log)
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stored_form(meeting: Meeting) -> bytes:
    data = build_calendar(meeting, method="REQUEST", dtstamp=DTSTAMP)
    assert data.count(b"METHOD:REQUEST\r\n") == 1
    return data.replace(b"METHOD:REQUEST\r\n", b"")


def hrefs_in_range(radicale: Radicale, collection: str, start: datetime, end: datetime) -> set[str]:
    response = radicale.client.request(
        "REPORT",
        collection,
        content=CALENDAR_QUERY.format(start=start, end=end).encode(),
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
    )
    assert response.status_code == 207, response.text
    tree = ET.fromstring(response.content)
    return {href.text or "" for href in tree.iter(f"{DAV}href")}


def test_update_replaces_time_and_sequence(radicale: Radicale) -> None:
    client = radicale.client
    collection = "/zorgtafel/invitations/"
    response = client.request("MKCALENDAR", collection)
    assert response.status_code == 201, response.text

    original = make_meeting()  # Tuesday 24 Nov 2026 14:00 CET = 13:00 UTC
    href = f"{collection}zt-2026-7kq4mx.ics"
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    created = client.put(href, content=stored_form(original), headers=headers)
    assert created.status_code == 201, f"{created.status_code} {created.text}"
    first_etag = created.headers["ETag"]

    stored = parse_calendar(client.get(href).content)
    assert stored.vevent.dtstart.value.astimezone(UTC) == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    assert int(stored.vevent.sequence.value) == 0

    # Moved to the Monday after the switch to summer time: 09:00 CEST = 07:00 UTC.
    moved = make_meeting(
        sequence=1,
        starts_at=datetime(2027, 3, 29, 9, 0, tzinfo=BRUSSELS),
        ends_at=datetime(2027, 3, 29, 10, 0, tzinfo=BRUSSELS),
    )
    updated = client.put(href, content=stored_form(moved), headers={**headers, "If-Match": first_etag})
    assert updated.status_code in (200, 204), f"{updated.status_code} {updated.text}"
    assert updated.headers["ETag"] != first_etag

    fetched = client.get(href)
    assert fetched.status_code == 200
    calendar = parse_calendar(fetched.content)
    event = calendar.vevent
    assert len(calendar.contents["vevent"]) == 1
    assert event.uid.value == original.uid
    assert int(event.sequence.value) == 1
    assert event.dtstart.value.astimezone(UTC) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert event.dtend.value.astimezone(UTC) == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
    assert b"DTSTART;TZID=Europe/Brussels:20270329T090000" in fetched.content
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in fetched.content

    # Radicale's own reading of the time, via server-side time-range filtering.
    def found(start: datetime) -> bool:
        return href in hrefs_in_range(radicale, collection, start, start + timedelta(minutes=10))

    assert found(datetime(2027, 3, 29, 7, 10, tzinfo=UTC))
    assert not found(datetime(2027, 3, 29, 8, 10, tzinfo=UTC))  # would be CET misread
    assert not found(datetime(2027, 3, 29, 6, 10, tzinfo=UTC))
    assert not found(datetime(2026, 11, 24, 13, 10, tzinfo=UTC))  # the old time is gone


def test_winter_and_summer_instants_as_radicale_sees_them(radicale: Radicale) -> None:
    client = radicale.client
    collection = "/zorgtafel/seasons/"
    assert client.request("MKCALENDAR", collection).status_code == 201
    cases = {
        "winter": datetime(2027, 1, 12, 10, 0, tzinfo=BRUSSELS),  # 09:00 UTC
        "summer": datetime(2027, 7, 6, 10, 0, tzinfo=BRUSSELS),  # 08:00 UTC
        "after-october-switch": datetime(2027, 10, 31, 3, 30, tzinfo=BRUSSELS),  # 02:30 UTC
    }
    for name, starts_at in cases.items():
        meeting = make_meeting(
            uid=f"{name}@zorgtafel.example",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
        )
        response = client.put(
            f"{collection}{name}.ics",
            content=stored_form(meeting),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        )
        assert response.status_code == 201, response.text

    for name, starts_at in cases.items():
        instant = starts_at.astimezone(UTC)
        href = f"{collection}{name}.ics"
        just_after_start = instant + timedelta(minutes=5)
        inside = hrefs_in_range(
            radicale, collection, just_after_start, just_after_start + timedelta(minutes=5)
        )
        assert inside == {href}, name
        an_hour_off = instant + timedelta(hours=1, minutes=5)
        assert href not in hrefs_in_range(
            radicale, collection, an_hour_off, an_hour_off + timedelta(minutes=5)
        ), name
