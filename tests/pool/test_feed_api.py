"""Availability feeds over the API: uploaded files, and feeds fetched from a real HTTP server that
serves valid data, then broken data, then 404, then nothing at all. A feed that fails never
touches the busy time imported before; the error is recorded and shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from notifications.availability_fetch import FetchError, fetch_feed, sync_all
from tests.pool.feed_server import FeedServer, events_feed, feed_server, local_day
from tests.pool.helpers import POOL, new_expert
from zorgtafel import availability

CALENDAR = {"Content-Type": "text/calendar; charset=utf-8"}


@pytest.fixture
def server() -> FeedServer:
    with feed_server() as s:
        yield s


@pytest.fixture
def expert(client, coordinator) -> dict:
    return new_expert(client, coordinator)


def _spans(day: int, *hours: tuple[int, int]) -> list[tuple[datetime, datetime]]:
    midnight = local_day(day)
    return [(midnight + timedelta(hours=a), midnight + timedelta(hours=b)) for a, b in hours]


def _feed_busy(client: TestClient, headers: dict, expert_id: int) -> list[tuple[str, str]]:
    response = client.get(f"{POOL}/experts/{expert_id}/busy", params={"source": "feed"}, headers=headers)
    assert response.status_code == 200
    return [(b["starts_at"], b["ends_at"]) for b in response.json()]


def _iso(spans: list[tuple[datetime, datetime]]) -> list[tuple[str, str]]:
    return [(a.isoformat(), b.isoformat()) for a, b in spans]


def _broken(spans: list[tuple[datetime, datetime]]) -> tuple[bytes, int]:
    """A valid feed with the SUMMARY of its last event broken (no colon); and that line's number."""
    lines = events_feed(*spans).decode().split("\r\n")
    number = max(i for i, line in enumerate(lines) if line.startswith("SUMMARY:"))
    lines[number] = "SUMMARY Huisbezoek bij familie"
    return "\r\n".join(lines).encode(), number + 1


def _status(client: TestClient, headers: dict, expert_id: int) -> dict:
    return client.get(f"{POOL}/experts/{expert_id}", headers=headers).json()["availability_feed"]


def test_upload_replaces_only_the_imported_busy_time(client, coordinator, expert):
    url = f"{POOL}/experts/{expert['id']}"
    entered = client.post(
        f"{url}/busy",
        json={
            "starts_at": local_day(3).replace(hour=8).isoformat(),
            "ends_at": local_day(3).replace(hour=9).isoformat(),
        },
        headers=coordinator,
    )
    assert entered.status_code == 201
    first = _spans(1, (9, 10), (13, 15)) + _spans(2, (9, 10))
    response = client.post(
        f"{url}/availability-feed/import", content=events_feed(*first), headers={**coordinator, **CALENDAR}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["imported_busy_periods"] == 3
    synced_at = datetime.fromisoformat(result["synced_at"])
    assert result["synced_at"].endswith(("+01:00", "+02:00"))
    assert datetime.fromisoformat(result["horizon_end"]) - synced_at == timedelta(days=60)
    assert _feed_busy(client, coordinator, expert["id"]) == _iso(first)
    status = _status(client, coordinator, expert["id"])
    assert status["busy_periods"] == 3 and status["error"] is None
    assert datetime.fromisoformat(status["synced_at"]) == synced_at

    second = _spans(4, (10, 12))
    response = client.post(
        f"{url}/availability-feed/import", content=events_feed(*second), headers={**coordinator, **CALENDAR}
    )
    assert response.status_code == 200
    assert _feed_busy(client, coordinator, expert["id"]) == _iso(second)
    entered_now = client.get(f"{url}/busy", params={"source": "entered"}, headers=coordinator).json()
    assert [b["id"] for b in entered_now] == [entered.json()["id"]]


def test_a_broken_upload_keeps_the_previous_busy_time_and_shows_the_error(client, coordinator, expert):
    url = f"{POOL}/experts/{expert['id']}"
    good = _spans(1, (9, 10), (14, 16))
    assert client.post(
        f"{url}/availability-feed/import", content=events_feed(*good), headers={**coordinator, **CALENDAR}
    ).is_success
    synced_at = _status(client, coordinator, expert["id"])["synced_at"]

    body, line = _broken(_spans(5, (9, 17), (18, 19)))
    response = client.post(
        f"{url}/availability-feed/import", content=body, headers={**coordinator, **CALENDAR}
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "feed_bad_line"
    assert problem["loc"] == ["body", "feed", f"regel {line}"]
    assert f"Regel {line}" in problem["msg"]
    assert "familie" not in problem["msg"]  # the feed's content is not echoed

    assert _feed_busy(client, coordinator, expert["id"]) == _iso(good)
    status = _status(client, coordinator, expert["id"])
    assert status["error"] == problem["msg"]
    assert status["synced_at"] == synced_at and status["busy_periods"] == 2

    fixed = _spans(6, (9, 10))
    assert client.post(
        f"{url}/availability-feed/import", content=events_feed(*fixed), headers={**coordinator, **CALENDAR}
    ).is_success
    assert _status(client, coordinator, expert["id"])["error"] is None
    assert _feed_busy(client, coordinator, expert["id"]) == _iso(fixed)


def test_upload_needs_a_calendar_of_sane_size(client, coordinator, expert, monkeypatch):
    url = f"{POOL}/experts/{expert['id']}/availability-feed/import"
    wrong = client.post(url, content=b"{}", headers={**coordinator, "Content-Type": "application/json"})
    assert wrong.status_code == 415
    monkeypatch.setattr(availability, "MAX_FEED_BYTES", 100)
    big = client.post(url, content=events_feed(*_spans(1, (9, 10))), headers={**coordinator, **CALENDAR})
    assert big.status_code == 413
    assert _status(client, coordinator, expert["id"]) == {
        "url": None,
        "synced_at": None,
        "error": None,
        "busy_periods": 0,
    }


@pytest.mark.parametrize(
    "bad",
    ["ftp://agenda.example/x.ics", "file:///etc/passwd", "javascript:alert(1)", "http://",
     "agenda.example/x.ics", "https://agenda.example/met spatie.ics", ""],
)  # fmt: skip
def test_feed_url_must_be_http(client, coordinator, expert, bad):
    url = f"{POOL}/experts/{expert['id']}/availability-feed"
    client.put(url, json={"url": "https://agenda.example/eerst.ics"}, headers=coordinator)
    response = client.put(url, json={"url": bad}, headers=coordinator)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["type"] == "invalid_feed_url" and problem["loc"] == ["body", "url"]
    assert problem["msg"].startswith("Agenda-feed:")
    assert _status(client, coordinator, expert["id"])["url"] == "https://agenda.example/eer***"


def test_feed_url_is_shown_masked(client, coordinator, expert):
    url = f"{POOL}/experts/{expert['id']}/availability-feed"
    response = client.put(
        url,
        json={
            "url": "webcal://jan:geheim@agenda.agentschap.example:8443/cal/jan.peeters%40x.be/private-9f8e7d/basic.ics?key=abc"
        },
        headers=coordinator,
    )
    assert response.status_code == 200, response.text
    shown = response.json()["url"]
    assert shown == "https://agenda.agentschap.example:8443/…/bas***?…"
    for secret in ("geheim", "jan", "9f8e7d", "abc", "peeters"):
        assert secret not in shown
    expert_out = client.get(f"{POOL}/experts/{expert['id']}", headers=coordinator).json()
    assert "geheim" not in str(expert_out) and "9f8e7d" not in str(expert_out)


def test_sync_from_a_real_server_through_good_bad_and_gone(client, coordinator, expert, server):
    url = f"{POOL}/experts/{expert['id']}"
    assert client.put(f"{url}/availability-feed", json={"url": server.url()}, headers=coordinator).is_success
    assert _status(client, coordinator, expert["id"])["url"] == f"http://127.0.0.1:{server.port}/…/bas***"

    # 1. valid data
    good = _spans(1, (8, 9)) + _spans(2, (12, 13), (13, 14))
    server.body = events_feed(*good)
    response = client.post(f"{url}/availability-feed/sync", headers=coordinator)
    assert response.status_code == 200, response.text
    assert response.json()["imported_busy_periods"] == 2  # the two touching events are one period
    assert server.requests == ["/agenda/private-s3cr3tt0ken/basic.ics"]
    expected = _iso([good[0], (good[1][0], good[2][1])])
    assert _feed_busy(client, coordinator, expert["id"]) == expected
    synced_at = _status(client, coordinator, expert["id"])["synced_at"]
    assert synced_at is not None

    # 2. broken data: refused, nothing changes but the error
    server.body, line = _broken(_spans(3, (9, 17)))
    response = client.post(f"{url}/availability-feed/sync", headers=coordinator)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "feed_bad_line" and f"Regel {line}" in problem["msg"]
    assert _feed_busy(client, coordinator, expert["id"]) == expected
    status = _status(client, coordinator, expert["id"])
    assert status["error"] == problem["msg"] and status["synced_at"] == synced_at

    # 3. the server no longer knows the calendar
    server.status, server.body = 404, b"<html>Not found</html>"
    response = client.post(f"{url}/availability-feed/sync", headers=coordinator)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "feed_http_status"
    assert f"127.0.0.1:{server.port}" in problem["msg"] and "HTTP 404 (Not Found)" in problem["msg"]
    assert "s3cr3t" not in problem["msg"]
    assert _feed_busy(client, coordinator, expert["id"]) == expected
    assert _status(client, coordinator, expert["id"])["error"] == problem["msg"]

    # 4. a server error
    server.status = 503
    response = client.post(f"{url}/availability-feed/sync", headers=coordinator)
    assert "HTTP 503" in response.json()["detail"][0]["msg"]
    assert _feed_busy(client, coordinator, expert["id"]) == expected

    # 5. an HTML login page with status 200
    server.status, server.body = 200, b"<!DOCTYPE html><html><body>Log in</body></html>"
    response = client.post(f"{url}/availability-feed/sync", headers=coordinator)
    assert response.json()["detail"][0]["type"] == "feed_not_icalendar"
    assert "HTML" in response.json()["detail"][0]["msg"]
    assert _feed_busy(client, coordinator, expert["id"]) == expected


def test_sync_when_the_server_is_unreachable(client, coordinator, expert):
    url = f"{POOL}/experts/{expert['id']}"
    with feed_server() as server:
        server.body = events_feed(*_spans(1, (9, 10)))
        client.put(f"{url}/availability-feed", json={"url": server.url()}, headers=coordinator)
        assert client.post(f"{url}/availability-feed/sync", headers=coordinator).is_success
    before = _feed_busy(client, coordinator, expert["id"])
    # the server is down now: connection refused
    response = client.post(f"{url}/availability-feed/sync", headers=coordinator)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["type"] == "feed_unreachable" and "geen verbinding" in problem["msg"]
    assert problem["loc"] == ["body", "availability_feed_url"]
    assert _feed_busy(client, coordinator, expert["id"]) == before
    assert _status(client, coordinator, expert["id"])["error"] == problem["msg"]


def test_sync_without_a_feed_and_clearing_the_feed(client, coordinator, expert, server):
    url = f"{POOL}/experts/{expert['id']}"
    response = client.post(f"{url}/availability-feed/sync", headers=coordinator)
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "no_feed_url"

    server.body = events_feed(*_spans(2, (9, 10)))
    client.put(f"{url}/availability-feed", json={"url": server.url()}, headers=coordinator)
    client.post(f"{url}/availability-feed/sync", headers=coordinator)
    assert len(_feed_busy(client, coordinator, expert["id"])) == 1
    # a new URL keeps the imported busy time until the new feed is read ...
    client.put(f"{url}/availability-feed", json={"url": server.url("/andere.ics")}, headers=coordinator)
    assert len(_feed_busy(client, coordinator, expert["id"])) == 1
    assert _status(client, coordinator, expert["id"])["synced_at"] is None
    # ... removing the feed removes it
    response = client.put(f"{url}/availability-feed", json={"url": None}, headers=coordinator)
    assert response.json() == {"url": None, "synced_at": None, "error": None, "busy_periods": 0}
    assert _feed_busy(client, coordinator, expert["id"]) == []


def test_fetch_limits(server):
    server.body = events_feed(*_spans(1, (9, 10)))
    assert fetch_feed(server.url(), 5) == server.body

    with pytest.raises(FetchError) as caught:
        fetch_feed(server.url(), 5, max_bytes=100)
    assert caught.value.code == "feed_too_large"

    server.delay = 2
    with pytest.raises(FetchError) as caught:
        fetch_feed(server.url(), 0.3)
    assert caught.value.code == "feed_timeout"
    assert f"127.0.0.1:{server.port}" in caught.value.message and "0,3 s" in caught.value.message
    server.delay = 0

    with feed_server() as target:
        target.body = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
        server.status, server.location = 302, target.url("/verhuisd.ics")
        assert fetch_feed(server.url(), 5) == target.body
        assert target.requests == ["/verhuisd.ics"]
    server.location = "ftp://elders.example/x.ics"
    with pytest.raises(FetchError) as caught:
        fetch_feed(server.url(), 5)
    assert caught.value.code == "feed_redirects"

    with pytest.raises(FetchError) as caught:
        fetch_feed("gopher://agenda.example/x", 5)
    assert caught.value.code == "invalid_feed_url"


def test_no_fetch_from_metadata_or_special_addresses(server):
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/x.ics",
        "http://0.0.0.0:8080/x",
    ):
        with pytest.raises(FetchError) as caught:
            fetch_feed(url, 2)
        assert caught.value.code == "feed_address_refused", url
    # also not through a redirect
    server.status, server.location = 302, "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(FetchError) as caught:
        fetch_feed(server.url(), 2)
    assert caught.value.code == "feed_address_refused"
    assert len(server.requests) == 1


def test_sync_all_goes_through_every_active_expert_with_a_feed(client, coordinator, server):
    ok, broken, inactive, without = (new_expert(client, coordinator) for _ in range(4))
    good = _spans(1, (9, 10))
    for e, path in ((ok, "/ok.ics"), (broken, "/broken.ics"), (inactive, "/inactive.ics")):
        client.put(
            f"{POOL}/experts/{e['id']}/availability-feed", json={"url": server.url(path)}, headers=coordinator
        )
        server.routes[path] = (200, events_feed(*good))
    client.patch(f"{POOL}/experts/{inactive['id']}", json={"active": False}, headers=coordinator)
    ours = {ok["id"], broken["id"], inactive["id"], without["id"]}

    report = sync_all(now=datetime.now(UTC))
    assert ours & set(report.synced) == {ok["id"], broken["id"]}
    assert ours & set(report.failed) == set()

    server.routes["/ok.ics"] = (200, events_feed(*_spans(2, (9, 10))))
    server.routes["/broken.ics"] = (500, b"Internal Server Error")
    report = sync_all(now=datetime.now(UTC))
    assert ours & set(report.synced) == {ok["id"]}
    assert ours & set(report.failed) == {broken["id"]}
    assert report.counts()["experts"] == len(report.synced) + len(report.failed)
    assert "/inactive.ics" not in server.requests
    assert _feed_busy(client, coordinator, ok["id"]) == _iso(_spans(2, (9, 10)))
    assert _feed_busy(client, coordinator, broken["id"]) == _iso(good)  # kept
    assert "HTTP 500" in _status(client, coordinator, broken["id"])["error"]
    assert _status(client, coordinator, inactive["id"])["synced_at"] is None
