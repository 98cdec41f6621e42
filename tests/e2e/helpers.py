from __future__ import annotations

import email
import time
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any

import httpx

from tests.auth_helpers import auth_headers
from zorgtafel.vocabulary import Role


def wait_for(
    predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.25, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def auth() -> dict[str, str]:
    """A coordinator's bearer token for the region (made in the test database, which the API
    under test reads too)."""
    return auth_headers(Role.COORDINATOR)


def case(api_url: str, reference: str) -> dict[str, Any]:
    r = httpx.get(f"{api_url}/api/v1/cases/{reference}", headers=auth(), timeout=10)
    r.raise_for_status()
    return r.json()


def invitations_settled(api_url: str, reference: str) -> dict[str, Any] | None:
    c = case(api_url, reference)
    z = c["zorgtafel"]
    if z and all(p["invitation_state"] != "pending" for p in z["participants"]):
        return c
    return None


def mails_about(mail_dir: Path, reference: str) -> list[tuple[Path, bytes, Message]]:
    out = []
    for path in sorted(mail_dir.glob("*.eml")):
        raw = path.read_bytes()
        msg = email.message_from_bytes(raw)
        subject = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
        if reference in subject:
            out.append((path, raw, msg))
    return out


def decoded_text(msg: Message) -> str:
    """Every part decoded, so a scan sees what a reader sees (not base64 or quoted-printable)."""
    parts = [str(email.header.make_header(email.header.decode_header(v))) for _, v in msg.items()]
    for part in msg.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            parts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return "\n".join(parts)


def calendar_part(msg: Message) -> tuple[Message, bytes]:
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return part, part.get_payload(decode=True)
    raise AssertionError("no text/calendar part")
