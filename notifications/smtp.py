"""Hand a built message to an SMTP server.

Deliberately small and synchronous: retries, backoff and bookkeeping belong to the outbox and
the Prefect task around it. What this module adds is a single error type that says whether a
retry can help (``permanent``), so the caller never has to know smtplib's exception zoo.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

# Servers echo the rejected address in their reply ("550 5.1.1 <x@y>: unknown user"). Error
# messages end up in logs and the Prefect UI, where no mail address of a family belongs.
_ADDRESS_RE = re.compile(r"[^\s<>\"',;:]+@[^\s<>\"',;:]+")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, starttls={self.starttls}, "
            f"username={self.username!r}, password={'***' if self.password else None}, "
            f"timeout={self.timeout})"
        )


class DeliveryError(Exception):
    """The message was not accepted by the SMTP server.

    ``permanent`` is True for a 5xx reply (retrying the same message will fail the same way)
    and for configuration problems; False for 4xx replies, refused or dropped connections and
    timeouts, which a later retry may get past.
    """

    def __init__(self, message: str, *, permanent: bool, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.smtp_code = smtp_code


def send_message(msg: EmailMessage, settings: SmtpSettings) -> None:
    """Deliver ``msg`` to the envelope recipients taken from its To/Cc/Bcc headers.

    Raises ``DeliveryError``; returns only once the server accepted the message for every
    recipient.
    """
    server = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username is not None:
                smtp.login(settings.username, settings.password or "")
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        replies = "; ".join(f"{code} {_reply(text)}" for code, text in exc.recipients.values())
        raise DeliveryError(
            f"SMTP server {server} refused every recipient: {replies}",
            permanent=all(_is_permanent(code) for code in codes),
            smtp_code=codes[0] if codes else None,
        ) from exc
    except smtplib.SMTPResponseException as exc:
        # Covers SMTPSenderRefused, SMTPDataError, SMTPAuthenticationError, SMTPHeloError.
        raise DeliveryError(
            f"SMTP server {server} answered {exc.smtp_code} {_reply(exc.smtp_error)} ({type(exc).__name__})",
            permanent=_is_permanent(exc.smtp_code),
            smtp_code=exc.smtp_code,
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        # e.g. STARTTLS or AUTH configured but not offered: retrying will not fix settings.
        raise DeliveryError(
            f"SMTP server {server} does not support what the settings ask for: {exc}",
            permanent=True,
        ) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise DeliveryError(f"SMTP server {server} closed the connection: {exc}", permanent=False) from exc
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(
            f"TLS certificate of SMTP server {server} is not trusted: {exc.verify_message}",
            permanent=True,
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        # Connection refused, DNS failure, timeout, network down: all worth a later retry.
        raise DeliveryError(
            f"Could not deliver via SMTP server {server}: {type(exc).__name__}: {exc}",
            permanent=False,
        ) from exc

    if refused:
        # Some recipients accepted, some not. Resending would duplicate the mail for the ones
        # that accepted, so this is final for this message. (We send one recipient per
        # message, so in practice a refusal arrives as SMTPRecipientsRefused above.)
        codes = [code for code, _ in refused.values()]
        raise DeliveryError(
            f"SMTP server {server} refused {len(refused)} of the recipients "
            f"({', '.join(str(code) for code in codes)}); the others accepted the message",
            permanent=True,
            smtp_code=codes[0],
        )


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


def _reply(text: bytes | str) -> str:
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return _ADDRESS_RE.sub("<address redacted>", " ".join(decoded.split()))
