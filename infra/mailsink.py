"""A local SMTP sink (aiosmtpd) that keeps every message as an .eml file: the mail server of the
embedded stack, so invitations can be opened in any mail client from ``var/mail/``."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class EmlWriter:
    """Writes one file per message and recipient: ``<ns>-<n>-<rcpt>.eml``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._n = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        with self._lock:
            self._n += 1
            n = self._n
        stamp = time.time_ns()
        for rcpt in envelope.rcpt_tos:
            safe = "".join(ch if ch.isalnum() or ch in "@._-" else "_" for ch in rcpt)
            path = self.directory / f"{stamp}-{n:05d}-{safe}.eml"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.rename(path)  # readers never see half a message
        return "250 Message accepted for delivery"


def start_mail_sink(directory: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    controller = Controller(EmlWriter(directory), hostname=host, port=port)
    controller.start()
    return controller


def serve_forever(directory: Path, host: str, port: int) -> None:
    controller = start_mail_sink(directory, host, port)
    print(f"SMTP sink on {host}:{port}, writing to {directory}/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def read_all(directory: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(directory.glob("*.eml"))]


__all__: list[Any] = ["EmlWriter", "read_all", "serve_forever", "start_mail_sink"]
