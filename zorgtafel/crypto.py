"""Personal data at rest: authenticated encryption of columns, and blind indexes for lookups.

Every personal column (names, contact details, free text, birth dates) is stored as
``zt1$<key id>$<base64(nonce + AES-256-GCM ciphertext)>``. The keys come from ``ZT_DATA_KEYS``
(``"<id>:<base64 32 bytes>;<id>:<...>"``): the first key encrypts, every listed key decrypts. To
rotate: put a new key first, keep the old ones, run ``zorgtafel rotate-keys`` (it re-encrypts
every row with the first key), then drop the old keys. A value without the prefix is legacy
plaintext from before encryption; ``rotate-keys`` encrypts it too.

Equality lookups (a reply's sender, a case manager's e-mail address) use a blind index: an
HMAC-SHA256 of the normalised value under ``ZT_INDEX_KEY`` (by default derived from
``ZT_SECRET_KEY``), stored next to the encrypted value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "zt1$"


class DataKeyError(RuntimeError):
    """The data keys are missing or malformed, or a value was encrypted with an unknown key."""


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]
    index_key: bytes


def parse_keys(spec: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for part in spec.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not kid or "$" in kid:
            raise DataKeyError(f"ZT_DATA_KEYS: cannot read {kid!r}; expected '<id>:<base64 key>'")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise DataKeyError(f"ZT_DATA_KEYS: key {kid!r} is not base64") from exc
        if len(raw) != 32:
            raise DataKeyError(f"ZT_DATA_KEYS: key {kid!r} must be 32 bytes (AES-256), got {len(raw)}")
        if kid in keys:
            raise DataKeyError(f"ZT_DATA_KEYS: key id {kid!r} appears twice")
        keys[kid] = raw
    if not keys:
        raise DataKeyError("ZT_DATA_KEYS is empty: personal data cannot be encrypted")
    return keys


def new_key_spec(kid: str = "k1") -> str:
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


@lru_cache(maxsize=8)
def _keyring_for(data_keys: str, index_secret: str) -> Keyring:
    keys = parse_keys(data_keys)
    index_key = hashlib.sha256(b"zorgtafel blind index\x00" + index_secret.encode()).digest()
    return Keyring(next(iter(keys)), keys, index_key)


def keyring() -> Keyring:
    from zorgtafel.settings import get_settings

    settings = get_settings()
    if not settings.data_keys:
        raise DataKeyError("ZT_DATA_KEYS is not set: personal data cannot be encrypted or read")
    index_secret = settings.index_key or settings.secret_key
    if not index_secret:
        raise DataKeyError("ZT_INDEX_KEY (or ZT_SECRET_KEY) is not set: blind indexes cannot be computed")
    return _keyring_for(settings.data_keys, index_secret)


def encrypt(plain: str, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    nonce = os.urandom(12)
    ct = AESGCM(ring.keys[ring.current_id]).encrypt(nonce, plain.encode(), None)
    return f"{PREFIX}{ring.current_id}${base64.b64encode(nonce + ct).decode()}"


def decrypt(stored: str, ring: Keyring | None = None) -> str:
    if not stored.startswith(PREFIX):
        return stored  # legacy plaintext, encrypted by `zorgtafel rotate-keys`
    ring = ring or keyring()
    kid, _, b64 = stored[len(PREFIX) :].partition("$")
    key = ring.keys.get(kid)
    if key is None:
        raise DataKeyError(f"value encrypted with key {kid!r}, which is not in ZT_DATA_KEYS")
    raw = base64.b64decode(b64)
    return AESGCM(key).decrypt(raw[:12], raw[12:], None).decode()


def key_id(stored: str | None) -> str | None:
    if stored is None or not stored.startswith(PREFIX):
        return None
    return stored[len(PREFIX) :].partition("$")[0]


def blind_index(value: str | None) -> str | None:
    """Deterministic keyed digest of a normalised value (trimmed, lower case) for equality lookups."""
    if value is None:
        return None
    normal = value.strip().lower()
    return hmac.new(keyring().index_key, normal.encode(), hashlib.sha256).hexdigest()


class EncryptedText(TypeDecorator[str]):
    """A string column stored encrypted."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value (list or dict) stored encrypted."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):  # a legacy JSON column read through a native JSON type
            return value
        return json.loads(decrypt(value))


class EncryptedDate(TypeDecorator[date]):
    """A date (a birth date) stored encrypted as ISO text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: date | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value.isoformat())

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        if value is None:
            return None
        if isinstance(value, date):
            return value
        return date.fromisoformat(decrypt(value))
