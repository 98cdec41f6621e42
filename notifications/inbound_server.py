"""The organizer mailbox: an SMTP or LMTP receiver (aiosmtpd) that reads the answers attendees'
calendars send to the ORGANIZER of an invitation and applies them to the zorgtafel.

Per message: parse it (notifications.itip_inbound), apply it in its own unit of work
(zorgtafel.replies.apply_itip), answer the MTA.

- ``250`` for everything that was read, whatever the business outcome: an answer recorded,
  a replay, an unknown meeting, an address that was not invited, an outdated answer, and
  also a mail that is no iTIP answer at all (an out-of-office, a question, a bounce). A
  bounce or a retry would not change any of those, and a bounce would reach the attendee.
- ``451`` (try again later) only when the database cannot be reached, so the MTA keeps the
  mail and delivers it again.

LMTP (RFC 2033) wants one reply per accepted recipient after DATA; aiosmtpd's ``LMTP`` sends
one, so in LMTP mode the handler answers with one line per recipient.

Logs carry the case reference and outcome or error codes only: never an address, a subject
or the text of a database error (SQLAlchemy puts statement parameters, addresses included,
into its messages).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from notifications.itip_inbound import ItipParseError, parse_itip
from zorgtafel.clock import utcnow
from zorgtafel.db.session import unit_of_work
from zorgtafel.replies import ReplyCode, apply_itip
from zorgtafel.settings import Settings, get_settings
from zorgtafel.vocabulary import InvitationState

log = logging.getLogger("zorgtafel.inbound")

# Parse errors that mean "this is not an iTIP answer" rather than "a broken one".
NOT_ITIP = frozenset({"no_calendar", "unknown_method"})

REPLY_OK = "250 2.0.0 OK: reply processed"
REPLY_IGNORED = "250 2.0.0 OK: accepted, not processed"
REPLY_TRY_LATER = "451 4.3.0 Temporary local problem, please try again later"
REPLY_NO_MAILBOX = "550 5.1.1 No such mailbox here"


@dataclass(frozen=True)
class InboundResult:
    """What became of one inbound mail (for logs and tests): no address, no content."""

    status: str  # processed | refused | ignored | invalid | unavailable | failed
    code: str  # the outcome code, the parse error code, or an exception class
    reference: str | None = None
    declined: bool = False  # a participant's decline was recorded: the watch runs at once

    @property
    def smtp_reply(self) -> str:
        # An error while applying (database away, or a bug) asks the MTA to retry later, so the
        # reply is not lost; what cannot be read at all would not read better later.
        if self.status in ("unavailable", "failed"):
            return REPLY_TRY_LATER
        return REPLY_OK if self.status in ("processed", "refused") else REPLY_IGNORED


class OrganizerMailbox:
    """aiosmtpd handler for the organizer mailbox (SMTP or LMTP)."""

    def __init__(
        self,
        *,
        engine: Engine | None = None,
        settings: Settings | None = None,
        lmtp: bool = False,
        recipients: Iterable[str] | None = None,
        watch_starter: Callable[[str, str], object] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or get_settings()
        self.lmtp = lmtp
        # Called with (reference, idempotency key) after a decline; default: start the
        # zorgtafel-watch deployment for the case in the background.
        self.watch_starter = watch_starter or (
            lambda ref, key: start_watch_in_background(ref, key, self.settings)
        )
        self.recipients = {r.strip().lower() for r in (recipients or [self.settings.organizer_email])}

    async def handle_RCPT(
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.strip().lower() not in self.recipients:
            return REPLY_NO_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        result = await asyncio.get_running_loop().run_in_executor(None, self.process, raw)
        reply = result.smtp_reply
        if self.lmtp:
            # RFC 2033 §4.2: one reply per recipient that was accepted at RCPT.
            return "\r\n".join([reply] * max(1, len(envelope.rcpt_tos)))
        return reply

    async def handle_exception(self, error: Exception) -> str:
        log.error("inbound mail: protocol error %s", type(error).__name__)
        return "500 5.3.0 Internal error"

    def process(self, raw: bytes) -> InboundResult:
        """Parse and apply one mail; never raises."""
        try:
            msg = parse_itip(raw)
        except ItipParseError as exc:
            status = "ignored" if exc.code in NOT_ITIP else "invalid"
            log.info("inbound mail %s: %s", status, exc.code)
            return InboundResult(status, exc.code)
        except Exception as exc:  # a parser bug must not bounce an attendee's mail
            log.error("inbound mail parse failed: %s%s", type(exc).__name__, _frames(exc))
            return InboundResult("invalid", type(exc).__name__)
        itip = msg.to_core()
        for attempt in (1, 2):
            try:
                with unit_of_work(self.engine) as session:
                    outcome = apply_itip(session, itip, now=utcnow(), settings=self.settings)
                break
            except IntegrityError as exc:
                # Two copies of one mail applied at once: the second finds the first's rows
                # on a new try. A second conflict is a real problem.
                if attempt == 2:
                    log.error("inbound itip failed: %s%s", type(exc).__name__, _frames(exc))
                    return InboundResult("failed", type(exc).__name__)
            except Exception as exc:
                if _database_unreachable(exc):
                    log.warning("inbound itip deferred, database unreachable: %s", type(exc).__name__)
                    return InboundResult("unavailable", type(exc).__name__)
                log.error("inbound itip failed: %s%s", type(exc).__name__, _frames(exc))
                return InboundResult("failed", type(exc).__name__)
        status = "processed" if outcome.applied else "refused"
        log.info(
            "inbound itip %s: method=%s outcome=%s reference=%s",
            status,
            itip.method,
            outcome.code.value,
            outcome.reference or "-",
        )
        declined = outcome.code == ReplyCode.RECORDED and outcome.state == InvitationState.DECLINED
        if declined and outcome.reference:
            # Invite a replacement now; the scheduled zorgtafel-watch is the safety net. The key
            # is the mail's digest: the same mail delivered twice starts one run.
            try:
                self.watch_starter(
                    outcome.reference, f"zorgtafel-watch:{outcome.reference}:reply-{_digest(raw)}"
                )
            except Exception as exc:  # the answer is stored; the mail is acknowledged regardless
                log.warning("watch of %s not started: %s", outcome.reference, type(exc).__name__)
        return InboundResult(status, outcome.code.value, outcome.reference, declined=declined)


class _LmtpController(Controller):
    def factory(self) -> SMTP:
        return LMTP(self.handler, **self.SMTP_kwargs)


def start_inbound_server(
    host: str,
    port: int,
    *,
    lmtp: bool,
    engine: Engine | None = None,
    settings: Settings | None = None,
    recipients: Iterable[str] | None = None,
    watch_starter: Callable[[str, str], object] | None = None,
) -> Controller:
    """Start the organizer mailbox on ``host:port`` in a thread; ``controller.stop()`` ends it.

    ``recipients`` are the addresses accepted at RCPT (default: the organizer address);
    anything else is refused with 550, so this is no open sink. aiosmtpd's own ``mail.log``
    logger is set to WARNING if nobody set its level, because at INFO it logs addresses.
    """
    # aiosmtpd logs every command line at INFO ("MAIL FROM:<address>", "recip: address"):
    # keep its protocol log to warnings unless an operator configured it on purpose.
    protocol_log = logging.getLogger("mail.log")
    if protocol_log.level == logging.NOTSET:
        protocol_log.setLevel(logging.WARNING)
    handler = OrganizerMailbox(
        engine=engine, settings=settings, lmtp=lmtp, recipients=recipients, watch_starter=watch_starter
    )
    cls = _LmtpController if lmtp else Controller
    controller = cls(handler, hostname=host, port=port)
    controller.start()
    return controller


def start_watch_in_background(reference: str, key: str, settings: Settings | None = None) -> threading.Thread:
    """Start a run of the zorgtafel-watch deployment for one case from this process (the
    organizer mailbox is a process of its own), without holding the mail transaction: a daemon
    thread, best effort; if Prefect cannot be reached the scheduled watch picks the case up."""
    settings = settings or get_settings()

    def run() -> None:
        try:
            from prefect.deployments import run_deployment

            run_deployment(
                settings.watch_deployment,
                parameters={"case_reference": reference},
                timeout=0,
                idempotency_key=key,
                flow_run_name=f"zorgtafel-watch-{reference}",
                tags=[f"case:{reference}"],
                as_subflow=False,
            )
        except Exception as exc:
            log.warning("could not start the watch of %s: %s", reference, type(exc).__name__)

    thread = threading.Thread(target=run, name=f"zorgtafel-watch-{reference}", daemon=True)
    thread.start()
    return thread


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:24]


def _database_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _frames(exc: BaseException) -> str:
    """Where it failed (file, line, code), without the exception's message or any values."""
    return "\n" + "".join(traceback.format_tb(exc.__traceback__)).rstrip()
