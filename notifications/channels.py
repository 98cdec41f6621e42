"""Short notices on people's other channels (Teams, Slack, ntfy, SMS gateways, webhooks) via apprise.

Invitations themselves go by mail (``notifications.imip``); this module only sends the short
notice that points to them. A notice carries a case reference, a time, a place and a link — the
caller builds ``title``/``body``; nothing here adds personal data.

Privacy: apprise URLs hold tokens, topics and phone numbers. Nothing in this module logs, returns
or raises a URL: errors name the service (``describe_notify_url``) and an HTTP status at most.
apprise's own log records are kept out of the logs while we validate or send (see
``_ApprisePrivacyFilter``): several plugins log the full target URL (ntfy logs it at INFO on
success and at WARNING on a connection error).

Notes on apprise 1.13 (checked against its source):

* Throttle. ``URLBase.throttle()`` (``apprise/url.py``) is called by every plugin right before
  each HTTP request. It remembers the time of the previous request *on the plugin instance* and
  sleeps until ``request_rate_per_sec`` seconds have passed. ``NotifyBase`` sets that to 5.5 s;
  many plugins keep it (ntfy, Teams Workflows, e-mail), others lower it (Slack 1.2 s, Telegram
  0.001 s) or set 0 (JSON, Form, XML, Discord). The first request of an instance never waits.
  ``throttle(wait=…)`` — a wait the *server* asked for (Discord, Mastodon… rate-limit headers) —
  is honoured whatever ``request_rate_per_sec`` says.
* Status codes. ``notify()`` returns only a bool (caronc/apprise#538, #1611). On an HTTP error
  almost every plugin (133 of 151 call ``http_response_code_lookup``) logs a WARNING ending in
  ``error=<status>.``; that record is the only place the status is exposed, so we read it from
  the log record (of our own thread only). ntfy reports its own codes (``40301`` = HTTP 403 +
  detail): a five-digit code is read as its first three digits. Connection errors and timeouts
  carry no status; apprise logs their exception only at DEBUG, together with the URL, so we do
  not tell them apart: both are transient.
* ``msteams://`` (Office 365 connectors, retired by Microsoft) is not in apprise 1.13.1
  (caronc/apprise#1565): Teams is reached through Power Automate Workflows (``workflow://``).
* Concurrency: ``Apprise.notify`` itself sends to several services from a thread pool
  (``AppriseAsset.async_mode``, on by default), one plugin instance per thread; we do the same.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

import apprise
from apprise.manager_plugins import NotificationManager
from apprise.plugins.base import NotifyBase

log = logging.getLogger(__name__)

__all__ = [
    "ALLOWED_SCHEMES",
    "ChannelError",
    "NoticeResult",
    "describe_notify_url",
    "send_notice",
    "validate_notify_url",
]

# Network notification services that fit a short, non-public notice to one person or team.
# Everything apprise knows but that is not listed here is refused with "not_allowed_scheme":
# extend this set deliberately, one reviewed service at a time.
ALLOWED_SCHEMES: frozenset[str] = frozenset(
    {
        # generic webhooks (own systems, e.g. a care organisation's message hub)
        "json", "jsons", "form", "forms", "xml", "xmls",
        # push
        "ntfy", "ntfys", "gotify", "gotifys", "pover", "pbul", "psafer", "psafers",
        # team chat and messengers
        "workflow", "workflows",  # Microsoft Teams via Power Automate
        "slack", "mmost", "mmosts", "rocket", "rockets", "matrix", "matrixs", "nctalk", "nctalks",
        "zulip", "gchat", "wxteams", "webex", "synology", "synologys", "humhub", "humhubs",
        "discord", "tgram", "signal", "signals", "threema", "whatsapp",
        # SMS gateways
        "twilio", "vonage", "nexmo", "msgbird", "sinch", "plivo", "clicksend", "bulksms",
        "46elks", "elks", "seven", "smseagle", "smseagles", "httpsms", "d7sms", "sns",
        # on-call / alerting
        "pagerduty", "opsgenie", "signl4",
    }
)  # fmt: skip

_MAIL_SCHEMES = frozenset(
    {
        "mailto", "mailtos", "sendgrid", "mailgun", "ses", "sparkpost", "postmark", "o365",
        "azure", "resend", "brevo", "smtp2go", "mailersend", "sendpulse",
    }
)  # fmt: skip
_LOCAL_SCHEMES = frozenset(
    {
        "file", "syslog", "windows", "macosx", "dbus", "qt", "kde", "glib", "gio", "gnome",
        "blink1", "growl", "kodi", "kodis", "xbmc", "xbmcs", "emby", "embys", "jellyfin",
        "jellyfins", "enigma2", "enigma2s", "lametric", "lametrics",
    }
)  # fmt: skip
_PUBLIC_SCHEMES = frozenset(
    {
        "twitter", "x", "tweet", "mastodon", "mastodons", "toot", "toots", "bsky", "bluesky",
        "reddit", "misskey", "misskeys", "strmlabs", "irc", "ircs",
    }
)  # fmt: skip
_RELAY_SCHEMES = frozenset({"apprise", "apprises", "ifttt"})
_RETIRED = {"msteams": "workflow://"}

# apprise's plugin registry (a process-wide singleton; loads its plugins once, under a lock).
_PLUGINS = NotificationManager()

_SCHEME_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]{0,31})://")
_STATUS_RE = re.compile(r"\berror=(\d{3}|\d{5})\b")
_MAX_URL_LENGTH = 4096
_MAX_WORKERS = 8


class ChannelError(ValueError):
    """A notification URL that cannot be used. ``code`` is for machines, ``message_nl`` for people;
    neither contains any part of the URL except its scheme or service name."""

    def __init__(self, code: str, message_nl: str) -> None:
        super().__init__(message_nl)
        self.code = code
        self.message_nl = message_nl

    @property
    def message(self) -> str:
        """Alias of ``message_nl`` (the API layer reads ``exc.message``)."""
        return self.message_nl


@dataclass(frozen=True, slots=True)
class NoticeResult:
    """Outcome of one notice. ``label`` is ``describe_notify_url``'s privacy-safe label; ``error``
    (Dutch, no URL) is set when not ``ok``; ``permanent`` means retrying will not help."""

    label: str
    ok: bool
    permanent: bool = False
    status: int | None = None
    error: str | None = None


# --- apprise's log records: kept out of the logs, read for the HTTP status -----------------------


class _ApprisePrivacyFilter(logging.Filter):
    """Installed once on the ``apprise`` logger. While a thread is inside ``_captured()``, every
    apprise record emitted by *that* thread is kept in its capture list and dropped (a logger
    filter that returns False stops the record before any handler or parent logger sees it).
    Other threads — Prefect's own apprise use, for instance — are left alone. Levels are not
    touched: only records the apprise logger already emits are seen (WARNING and up by default,
    which is where the ``error=<status>`` records are)."""

    zorgtafel_privacy_filter = True

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        sink: list[logging.LogRecord] | None = getattr(self._local, "sink", None)
        if sink is None:
            return True
        sink.append(record)
        return False

    @contextmanager
    def captured(self) -> Iterator[list[logging.LogRecord]]:
        previous = getattr(self._local, "sink", None)
        sink: list[logging.LogRecord] = []
        self._local.sink = sink
        try:
            yield sink
        finally:
            self._local.sink = previous


def _install_filter() -> _ApprisePrivacyFilter:
    apprise_logger = logging.getLogger("apprise")
    for old in [f for f in apprise_logger.filters if getattr(f, "zorgtafel_privacy_filter", False)]:
        apprise_logger.removeFilter(old)  # a reloaded module replaces its predecessor's filter
    new = _ApprisePrivacyFilter()
    apprise_logger.addFilter(new)
    return new


_FILTER = _install_filter()


def _status_from(records: Sequence[logging.LogRecord]) -> int | None:
    for record in reversed(records):
        if record.levelno < logging.WARNING:
            continue
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break a send
            continue
        match = _STATUS_RE.search(message)
        if match:
            code = int(match.group(1))
            if code >= 10000:  # ntfy: 40301 = HTTP 403, detail 01
                code //= 100
            if 100 <= code <= 599:
                return code
    return None


# --- validation ----------------------------------------------------------------------------------


def _scheme_of(url: str) -> str:
    match = _SCHEME_RE.match(url)
    if not match:
        raise ChannelError(
            "invalid_url", "Dit is geen geldige kanaal-URL: verwacht iets als 'ntfys://…' of 'slack://…'."
        )
    return match.group(1).lower()


def _protocols(plugin: NotifyBase, attribute: str) -> set[str]:
    value = getattr(plugin, attribute, None)
    if not value:
        return set()
    return {value.lower()} if isinstance(value, str) else {str(v).lower() for v in value}


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _instantiate(url: str) -> NotifyBase:
    """Scheme policy plus apprise's own parsing; raises ChannelError, never logs the URL."""
    if not isinstance(url, str) or not url.strip():
        raise ChannelError("invalid_url", "De kanaal-URL is leeg.")
    url = url.strip()
    if len(url) > _MAX_URL_LENGTH:
        raise ChannelError("invalid_url", "De kanaal-URL is te lang.")
    scheme = _scheme_of(url)
    if scheme in _MAIL_SCHEMES:
        raise ChannelError(
            "not_allowed_scheme",
            "E-mail is geen apart kanaal: uitnodigingen gaan per mail via de eigen mailserver van "
            "zorgtafel, met agenda-uitnodiging. Voeg hier een chat-, push- of sms-kanaal toe.",
        )
    if scheme in _LOCAL_SCHEMES:
        raise ChannelError(
            "not_allowed_scheme",
            f"'{scheme}://' schrijft naar of toont op een apparaat of bestand, niet naar een persoon "
            "via het netwerk; dat is niet toegestaan.",
        )
    if scheme in _PUBLIC_SCHEMES:
        raise ChannelError(
            "not_allowed_scheme",
            f"'{scheme}://' publiceert openbaar of in een open kanaal; dat is niet toegestaan voor "
            "berichten over een zorgtafel.",
        )
    if scheme in _RELAY_SCHEMES:
        raise ChannelError(
            "not_allowed_scheme",
            f"'{scheme}://' stuurt berichten door naar diensten die zorgtafel niet kan controleren; "
            "voeg de eigenlijke dienst rechtstreeks toe.",
        )
    if scheme in _RETIRED:
        raise ChannelError(
            "unknown_scheme",
            f"'{scheme}://' wordt niet meer ondersteund (Microsoft heeft deze koppeling beëindigd); "
            f"gebruik '{_RETIRED[scheme]}' (Power Automate Workflows).",
        )
    if scheme not in _PLUGINS:
        raise ChannelError("unknown_scheme", f"Onbekend kanaaltype '{scheme}://'.")
    service = _PLUGINS[scheme].service_name or scheme
    if scheme not in ALLOWED_SCHEMES:
        raise ChannelError(
            "not_allowed_scheme",
            f"De dienst '{service}' is niet toegestaan voor zorgtafelberichten. Toegestaan zijn "
            "onder meer Teams (workflow://), Slack, Mattermost, Matrix, Signal, ntfy, sms-diensten "
            "en webhooks (jsons://).",
        )
    with _FILTER.captured():
        try:
            plugin = apprise.Apprise.instantiate(url)
        except Exception:  # apprise suppresses plugin errors itself; this is a safety net
            plugin = None
    if plugin is None:
        raise ChannelError(
            "invalid_url",
            f"De URL voor '{service}' is onvolledig of ongeldig (controleer token, kanaal of nummer).",
        )
    return plugin


def validate_notify_url(url: str, *, allow_insecure: bool = False) -> str:
    """Check an apprise URL when it is saved and return its normalised form.

    Refuses with ``ChannelError``: ``invalid_url`` (no URL, or apprise cannot parse it for its
    service), ``unknown_scheme`` (apprise has no such service, or it was retired),
    ``not_allowed_scheme`` (mail, local or device, public, relay, or not on ``ALLOWED_SCHEMES``),
    ``insecure_transport`` (plain http or ``verify=no`` to anything but this machine, unless
    ``allow_insecure``: a notice's link carries a token).

    The result is apprise's ``url(privacy=False)``: equal configurations compare equal, and
    validating the result again returns it unchanged. It still contains the secrets: store it,
    never log or show it (use ``describe_notify_url``)."""
    plugin = _instantiate(url)
    scheme = _scheme_of(plugin.url(privacy=True))
    local = _is_loopback(getattr(plugin, "host", None))
    if not allow_insecure and not local:
        secure = _protocols(plugin, "secure_protocol")
        if scheme in _protocols(plugin, "protocol") and scheme not in secure:
            hint = f" ('{sorted(secure)[0]}://')" if secure else ""
            raise ChannelError(
                "insecure_transport",
                "Een onversleutelde verbinding (http) is niet toegestaan: de link in een bericht "
                f"geeft toegang. Gebruik de versleutelde variant{hint}.",
            )
        if getattr(plugin, "verify_certificate", True) is False:
            raise ChannelError(
                "insecure_transport",
                "Het uitschakelen van de certificaatcontrole (verify=no) is niet toegestaan.",
            )
    return str(plugin.url(privacy=False))


def _mask(segment: str) -> str:
    if "..." in segment or "*" in segment:  # apprise already masked it
        return "***"
    shown = min(3, len(segment) // 2)
    return segment[:shown] + "***"


def describe_notify_url(url: str) -> str:
    """A label safe to show in the API/UI and logs: service name and a masked target, e.g.
    ``ntfy (…/zt-***)`` or ``JSON (hooks.example.org/not***)``. Secrets apprise knows about are
    masked by ``url(privacy=True)``; of the rest only a server name (one with a dot, not masked by
    apprise) and the first characters of the last path part are shown; user names, phone numbers
    in the host part, query parameters are never shown. Never raises."""
    try:
        plugin = _instantiate(url)
    except ChannelError as exc:
        try:
            scheme = _scheme_of(url)
        except ChannelError:
            return "ongeldig kanaal"
        state = {"invalid_url": "ongeldig", "unknown_scheme": "onbekend"}.get(exc.code, "niet toegestaan")
        return f"{scheme}:// ({state})"
    return _label(plugin)


def _label(plugin: NotifyBase) -> str:
    name = plugin.service_name or "?"
    try:
        parts = urlsplit(str(plugin.url(privacy=True)))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return f"{name} (…)"
    segments = [unquote(s) for s in parts.path.split("/") if s]
    show_host = bool(host) and "..." not in host and ("." in host or ":" in host or host == "localhost")
    if not show_host and not segments and host:
        segments = [unquote(host)]  # the host is the target (ntfy cloud topic, phone number …)
    server = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "") if show_host else "…"
    tail = f"/{_mask(segments[-1])}" if segments else ""
    return f"{name} ({server}{tail})"


# --- sending -------------------------------------------------------------------------------------


def _error_for(status: int | None, timeout: float) -> tuple[bool, str]:
    """(permanent, Dutch error text) for a failed send."""
    if status is None:
        seconds = f"{timeout:g}".replace(".", ",")
        return False, (
            f"Niet afgeleverd: geen verbinding, geen antwoord binnen {seconds} s of een onverwacht "
            "antwoord van de dienst. Wordt later opnieuw geprobeerd."
        )
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    code = f"HTTP {status}" + (f" ({phrase})" if phrase else "")
    if status in (401, 403):
        return True, f"{code}: de dienst weigert de toegang; controleer token of wachtwoord."
    if status in (404, 410):
        return True, f"{code}: de dienst kent deze bestemming niet (verwijderd of verkeerd adres)."
    if status in (408, 425, 429):
        return False, f"{code}: de dienst vraagt later opnieuw te proberen."
    if 400 <= status < 500:
        return True, f"{code}: de dienst weigert het bericht."
    return False, f"{code}: storing bij de dienst. Wordt later opnieuw geprobeerd."


def _prepare(plugin: NotifyBase, timeout: float) -> None:
    """Make one fresh plugin instance fit for a one-shot send.

    ``request_rate_per_sec = 0`` on the *instance* switches off apprise's courtesy throttle
    (``URLBase.throttle``: up to 5.5 s of sleep before every request after the first one of the
    same instance). The class attribute is left alone, so apprise users elsewhere in the process
    (Prefect) keep their behaviour. This is safe for us because
    * each notice gets its own fresh instance (``_instantiate`` per send), so the throttle had
      no previous request to space from anyway — the attribute matters for URLs with several
      targets (e.g. two ntfy topics, several Slack channels), which send one request per target;
    * waits the *server* demands (``throttle(wait=…)`` from rate-limit headers) are still honoured;
    * pacing and retries belong to our outbox dispatcher: every notice is an intent with its own
      backoff, so a service that answers 429 or 5xx gets a transient failure and a later retry,
      not a process asleep for minutes in front of a burst.
    apprise's own per-URL retries (``?retry=N&wait=S``) are bypassed too: we call the plugin's
    ``notify()`` directly, not ``Apprise.notify()``, for the same reason."""
    plugin.request_rate_per_sec = 0
    plugin.socket_connect_timeout = timeout
    plugin.socket_read_timeout = timeout


def _send_one(plugin: NotifyBase, label: str, title: str, body: str, timeout: float) -> NoticeResult:
    with _FILTER.captured() as records:
        try:
            ok = bool(plugin.notify(body=body, title=title, notify_type=apprise.NotifyType.INFO))
        except Exception as exc:  # a plugin bug must not stop the other notices
            log.warning("notice via %s raised %s", label, type(exc).__name__)
            return NoticeResult(
                label,
                ok=False,
                permanent=False,
                error=f"Interne fout in het kanaal ({type(exc).__name__}). Wordt later opnieuw geprobeerd.",
            )
    if ok:
        return NoticeResult(label, ok=True)
    status = _status_from(records)
    permanent, error = _error_for(status, timeout)
    log.warning("notice via %s not delivered (status %s, permanent %s)", label, status, permanent)
    return NoticeResult(label, ok=False, permanent=permanent, status=status, error=error)


def send_notice(urls: Sequence[str], *, title: str, body: str, timeout: float = 10) -> list[NoticeResult]:
    """Send one short notice to each URL; one ``NoticeResult`` per URL, in the same order.

    ``title``/``body`` must hold only a case reference, time, place and link (no names, birth
    dates or concerns). A URL that fails the scheme policy or apprise's parsing is not sent
    (``permanent``). ``timeout`` applies to connecting and to reading, per request.

    Several URLs are sent concurrently, each on its own fresh plugin instance: apprise itself
    does the same (``Apprise.notify`` with the default ``AppriseAsset.async_mode`` runs its
    services in a thread pool); instances share no mutable state except the logger, and
    ``requests`` is used without shared sessions. The apprise throttle is switched off per
    instance (see ``_prepare``), so a burst is not spread over minutes."""
    prepared: list[tuple[str, NotifyBase | NoticeResult]] = []
    for url in urls:
        try:
            plugin = _instantiate(url)
        except ChannelError as exc:
            label = describe_notify_url(url)
            prepared.append((label, NoticeResult(label, ok=False, permanent=True, error=exc.message_nl)))
            continue
        _prepare(plugin, timeout)
        prepared.append((_label(plugin), plugin))

    def run(item: tuple[str, NotifyBase | NoticeResult]) -> NoticeResult:
        label, target = item
        if isinstance(target, NoticeResult):
            return target
        return _send_one(target, label, title, body, timeout)

    to_send = sum(1 for _, target in prepared if not isinstance(target, NoticeResult))
    if to_send <= 1:
        return [run(item) for item in prepared]
    with ThreadPoolExecutor(max_workers=min(_MAX_WORKERS, to_send), thread_name_prefix="zt-notice") as pool:
        return list(pool.map(run, prepared))
