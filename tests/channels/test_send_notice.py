"""send_notice against a real HTTP peer on 127.0.0.1 (conftest.py). Nothing leaves this machine."""

from __future__ import annotations

import logging
import socket
import threading
from urllib.parse import parse_qs

import apprise
import apprise.url
import pytest

from notifications.channels import NoticeResult, send_notice

TITLE = "Zorgtafel ZT-2026-0042 — uitnodiging"
BODY = "Do 12 maart 10:00, Huis van het Kind, zaal 2. Reageer via https://zt.example/r/abc – één klik."


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed when the socket closes: nothing listens there


# --- delivery ------------------------------------------------------------------------------------


def test_json_webhook_receives_title_and_body(peer):
    (result,) = send_notice([f"json://{peer.base}/hook"], title=TITLE, body=BODY)
    assert result == NoticeResult(label=f"JSON ({peer.base}/ho***)", ok=True)
    (got,) = peer.received
    assert got.path == "/hook"
    assert got.content_type == "application/json"
    payload = got.json()
    assert payload["title"] == TITLE
    assert payload["message"] == BODY
    assert payload["type"] == "info"


def test_form_webhook_receives_title_and_body(peer):
    (result,) = send_notice([f"form://{peer.base}/form"], title=TITLE, body=BODY)
    assert result.ok
    (got,) = peer.received
    assert got.path == "/form"
    assert got.content_type == "application/x-www-form-urlencoded"
    fields = parse_qs(got.body.decode())
    assert fields["title"] == [TITLE]
    assert fields["message"] == [BODY]


def test_ntfy_on_a_plain_http_host_publishes_as_json(peer):
    # ntfy://host:port/topic is apprise's "private" mode: it POSTs JSON to the server root.
    (result,) = send_notice([f"ntfy://{peer.base}/zt-team"], title=TITLE, body=BODY)
    assert result.ok
    (got,) = peer.received
    assert got.path == "/"
    assert got.content_type == "application/json"
    assert got.json() | {"topic": "zt-team", "title": TITLE, "message": BODY} == got.json()


def test_several_urls_are_sent_concurrently_and_results_keep_their_order(peer):
    peer.status["/broken"] = 500
    urls = [f"json://{peer.base}/a", f"json://{peer.base}/broken", f"form://{peer.base}/c"]
    results = send_notice(urls, title=TITLE, body=BODY)
    assert [(r.ok, r.status) for r in results] == [(True, None), (False, 500), (True, None)]
    assert sorted(r.path for r in peer.received) == ["/a", "/broken", "/c"]


def test_no_urls_no_results():
    assert send_notice([], title=TITLE, body=BODY) == []


# --- failures: what can be told apart ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (500, False),
        (502, False),
        (503, False),
        (429, False),
        (404, True),
        (401, True),
        (403, True),
        (400, True),
    ],
)
def test_http_status_decides_permanence(peer, status, permanent):
    peer.status["/hook"] = status
    (result,) = send_notice([f"json://{peer.base}/hook"], title=TITLE, body=BODY)
    assert not result.ok
    assert result.status == status
    assert result.permanent is permanent
    assert result.error and f"HTTP {status}" in result.error
    assert len(peer.received) == 1  # apprise's own retries are not used: the dispatcher retries


def test_ntfy_error_codes_are_read_as_http_status(peer):
    # ntfy answers {"code": 40301, "http": 403, ...}; apprise logs error=40301.
    peer.status["/"] = 403
    peer.bodies["/"] = b'{"code":40301,"http":403,"error":"forbidden"}'
    (result,) = send_notice([f"ntfy://{peer.base}/zt-team"], title=TITLE, body=BODY)
    assert (result.ok, result.status, result.permanent) == (False, 403, True)


def test_closed_port_is_not_ok_and_transient():
    (result,) = send_notice([f"json://127.0.0.1:{closed_port()}/hook"], title=TITLE, body=BODY)
    assert (result.ok, result.permanent, result.status) == (False, False, None)
    assert result.error


def test_no_answer_within_timeout_is_not_ok_and_transient(peer):
    (result,) = send_notice([f"json://{peer.base}/slow"], title=TITLE, body=BODY, timeout=0.3)
    assert (result.ok, result.permanent, result.status) == (False, False, None)
    assert "0,3 s" in (result.error or "")


def test_refused_url_is_permanent_and_does_not_stop_the_others(peer):
    results = send_notice(
        ["mailto://a:b@zorg.example", "garbage", f"json://{peer.base}/ok"], title=TITLE, body=BODY
    )
    assert [(r.ok, r.permanent) for r in results] == [(False, True), (False, True), (True, False)]
    assert results[0].label == "mailto:// (niet toegestaan)"
    assert len(peer.received) == 1


# --- privacy -------------------------------------------------------------------------------------

SECRET_TOPIC = "zt-Gehe1mTopic"
SECRET_PASSWORD = "Gehe1mWachtw00rd"


def test_no_url_or_secret_in_logs_or_results(peer, caplog):
    # Turn apprise up to DEBUG: it would then log full URLs and payloads. None may get through.
    caplog.set_level(logging.DEBUG, logger="apprise")
    caplog.set_level(logging.DEBUG, logger="notifications.channels")
    peer.status["/"] = 500
    urls = [
        f"ntfy://{peer.base}/{SECRET_TOPIC}",
        f"json://zorg:{SECRET_PASSWORD}@127.0.0.1:{closed_port()}/hook",
        f"json://zorg:{SECRET_PASSWORD}@{peer.base}/{SECRET_TOPIC}",
    ]
    results = send_notice(urls, title=TITLE, body=BODY)
    assert [r.ok for r in results] == [False, False, True]
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(results)
    for secret in ("Gehe1m", BODY, "http://", "/hook"):
        assert secret not in text
    assert any("not delivered" in r.getMessage() for r in caplog.records)  # we do report, safely


def test_control_plain_apprise_would_have_logged_the_secret(peer, caplog):
    # Shows the previous test can see a leak: apprise itself logs the ntfy URL on success.
    caplog.set_level(logging.DEBUG, logger="apprise")
    assert apprise.Apprise(servers=f"ntfy://{peer.base}/{SECRET_TOPIC}").notify(body=BODY, title=TITLE)
    assert any(SECRET_TOPIC in r.getMessage() for r in caplog.records)


def test_apprise_logs_of_other_threads_are_left_alone(peer, caplog):
    caplog.set_level(logging.WARNING, logger="apprise")
    peer.status["/slow"] = 200
    sender = threading.Thread(
        target=send_notice, args=([f"json://{peer.base}/slow"],), kwargs={"title": TITLE, "body": BODY}
    )
    sender.start()
    try:
        logging.getLogger("apprise").warning("prefect-side apprise warning")
    finally:
        peer.release.set()
        sender.join(10)
    assert "prefect-side apprise warning" in caplog.text


# --- throttle: assert the mechanism, not the clock (timings: infra/bench/notice_burst.py) --------


class _FakeTime:
    """Stands in for the ``time`` module inside apprise.url only: records sleeps, never sleeps."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def throttle_spy(monkeypatch):
    fake = _FakeTime()
    calls: list[float] = []
    original = apprise.url.URLBase.throttle

    def spy(self, *args, **kwargs):
        calls.append(self.request_rate_per_sec)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(apprise.url, "time", fake)
    monkeypatch.setattr(apprise.url.URLBase, "throttle", spy)
    return calls, fake.sleeps


def test_ten_notices_through_one_plugin_instance_never_wait(peer, throttle_spy):
    calls, sleeps = throttle_spy
    # One URL with ten ntfy topics: one plugin instance, ten requests in a row.
    topics = "/".join(f"zt-{i}" for i in range(10))
    (result,) = send_notice([f"ntfy://{peer.base}/{topics}"], title=TITLE, body=BODY)
    assert result.ok
    assert sorted(r.json()["topic"] for r in peer.received) == sorted(f"zt-{i}" for i in range(10))
    assert calls == [0] * 10  # apprise's throttle ran before each request, with the rate switched off
    assert sleeps == []


def test_ten_notices_to_the_same_service_never_wait(peer, throttle_spy):
    calls, sleeps = throttle_spy
    results = send_notice([f"ntfy://{peer.base}/zt-team"] * 10, title=TITLE, body=BODY)
    assert all(r.ok for r in results)
    assert len(peer.received) == 10
    assert calls == [0] * 10
    assert sleeps == []


def test_control_plain_apprise_throttles_the_same_burst(peer, throttle_spy):
    calls, sleeps = throttle_spy
    plain = apprise.Apprise(servers=f"ntfy://{peer.base}/zt-team")
    for _ in range(10):
        assert plain.notify(body=BODY, title=TITLE)
    assert calls == [5.5] * 10
    assert len(sleeps) == 9 and all(0 < s <= 5.5 for s in sleeps)


def test_class_default_is_untouched(peer):
    assert send_notice([f"ntfy://{peer.base}/zt-team"], title=TITLE, body=BODY)[0].ok
    from apprise.plugins.base import NotifyBase
    from apprise.plugins.ntfy import NotifyNtfy

    assert NotifyBase.request_rate_per_sec == 5.5
    assert NotifyNtfy.request_rate_per_sec == 5.5
