"""Signed, single-purpose, expiring tokens for links that work without a login (RSVP links).

A token is ``base64url(json payload) . base64url(HMAC-SHA256)``; the payload names its purpose,
its subject and its expiry, and carries a random id so that a used token can be refused when it
comes back (see UsedToken). Secret tokens that are stored (calendar feeds) are kept as hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Any


class TokenRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(purpose: str, claims: dict[str, Any], *, expires_at: datetime, secret: str) -> str:
    payload = {"p": purpose, "exp": int(expires_at.timestamp()), "jti": secrets.token_hex(16), **claims}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(token: str, *, purpose: str, secret: str, now: datetime) -> dict[str, Any]:
    """The token's claims, or TokenRefused saying why (forged, other purpose, expired)."""
    try:
        body, mac = token.split(".")
        expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise ValueError("bad mac")
        claims = json.loads(_unb64(body))
    except (ValueError, json.JSONDecodeError) as exc:
        raise TokenRefused("invalid_token", "Deze link is ongeldig.") from exc
    if claims.get("p") != purpose:
        raise TokenRefused("wrong_purpose", "Deze link is niet bedoeld voor deze handeling.")
    if datetime.fromtimestamp(claims["exp"], UTC) <= now:
        raise TokenRefused("expired", "Deze link is verlopen.")
    return claims


def new_secret_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
