"""Key rotation for personal data at rest (``zorgtafel rotate-keys``).

The procedure (README, "Personal data, audit trail, retention, key rotation"):

1. Generate a new key and put it FIRST in ``ZT_DATA_KEYS``, keeping the old ones after it
   (``"k2:<new>;k1:<old>"``); restart the processes (they now encrypt with k2, read both).
2. Run ``zorgtafel rotate-keys``: every encrypted value of every table is read raw, decrypted with
   whichever listed key wrote it (legacy plaintext too) and written back encrypted with the first
   key. One transaction: it rotates everything or nothing. Running it again changes nothing.
3. When it reports ``0`` values left on old keys, remove the old key from ``ZT_DATA_KEYS``.

The same run recomputes the blind indexes (``*_bidx``) with the current index key, so a changed
``ZT_INDEX_KEY`` is rotated the same way.

The encrypted columns are found by scanning the model's metadata for the Encrypted* types, so a
new personal column is rotated without touching this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Column, Table, Text, select, text, type_coerce
from sqlalchemy.orm import Session

from zorgtafel import crypto
from zorgtafel.db.models import Base

ENCRYPTED_TYPES = (crypto.EncryptedText, crypto.EncryptedJSON, crypto.EncryptedDate)
BATCH_SIZE = 500


@dataclass
class TableRotation:
    rows: int = 0  # rows scanned
    values: int = 0  # non-null encrypted values seen
    plaintext: int = 0  # values that were not encrypted yet (legacy)
    old_key: int = 0  # values encrypted with a key other than the current one
    rows_rewritten: int = 0
    reindexed: int = 0  # blind index values recomputed
    old_key_ids: dict[str, int] = field(default_factory=dict)

    @property
    def rotated(self) -> int:
        return self.plaintext + self.old_key


def encrypted_columns() -> dict[str, list[Column]]:
    """Table name -> its encrypted columns, from the model's metadata."""
    out: dict[str, list[Column]] = {}
    for table in Base.metadata.sorted_tables:
        cols = [c for c in table.columns if isinstance(c.type, ENCRYPTED_TYPES)]
        if cols:
            out[table.name] = cols
    return out


def _index_pairs(table: Table) -> list[tuple[Column, Column]]:
    """(blind index column, the encrypted column it indexes), by the ``<name>_bidx`` convention."""
    pairs = []
    for c in table.columns:
        if c.name.endswith("_bidx"):
            source = table.columns.get(c.name.removesuffix("_bidx"))
            if source is not None and isinstance(source.type, ENCRYPTED_TYPES):
                pairs.append((c, source))
    return pairs


def _batches(session: Session, table: Table, cols: list[Column], size: int) -> Iterator[list[tuple]]:
    pk_cols = list(table.primary_key.columns)
    if len(pk_cols) != 1:
        raise RuntimeError(f"{table.name}: key rotation needs a single-column primary key")
    pk = pk_cols[0]
    # type_coerce to Text: the raw stored strings, not the decrypted values.
    raw = [type_coerce(c, Text()).label(c.name) for c in cols]
    last = None
    while True:
        q = select(pk, *raw).order_by(pk).limit(size)
        if last is not None:
            q = q.where(pk > last)
        rows = [tuple(r) for r in session.execute(q)]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _row_changes(
    where: str, values: dict[str, str | None], cols: list[Column], pairs: list[tuple[Column, Column]],
    ring: crypto.Keyring, stats: TableRotation,
) -> dict[str, str | None]:  # fmt: skip
    """The raw values to write for one row: re-encrypted columns and recomputed blind indexes."""
    changes: dict[str, str | None] = {}
    plain: dict[str, str] = {}
    for c in cols:
        stored = values[c.name]
        if stored is None:
            continue
        stats.values += 1
        kid = crypto.key_id(stored)
        try:
            plain[c.name] = crypto.decrypt(stored, ring)
        except crypto.DataKeyError as exc:
            raise crypto.DataKeyError(f"{where}.{c.name}: {exc}") from exc
        if kid == ring.current_id:
            continue
        if kid is None:
            stats.plaintext += 1
        else:
            stats.old_key += 1
            stats.old_key_ids[kid] = stats.old_key_ids.get(kid, 0) + 1
        changes[c.name] = crypto.encrypt(plain[c.name], ring)
    for index_col, source in pairs:
        wanted = crypto.blind_index(plain.get(source.name))
        if values[index_col.name] != wanted:
            stats.reindexed += 1
            changes[index_col.name] = wanted
    return changes


def rotate(
    session: Session, *, batch_size: int = BATCH_SIZE, dry_run: bool = False
) -> dict[str, TableRotation]:
    """Re-encrypt every personal value with the current (first) key; recompute blind indexes.

    Runs in the caller's transaction (commit it to keep the result), reading and writing in
    batches. Raises DataKeyError, naming the row, when a value was written with a key that is no
    longer listed. ``dry_run`` counts without writing.
    """
    ring = crypto.keyring()
    quote = session.get_bind().dialect.identifier_preparer.quote
    result: dict[str, TableRotation] = {}
    for name, cols in encrypted_columns().items():
        table = Base.metadata.tables[name]
        pk = next(iter(table.primary_key.columns))
        pairs = _index_pairs(table)
        read = cols + [i for i, _ in pairs]
        stats = result.setdefault(name, TableRotation())
        for rows in _batches(session, table, read, batch_size):
            updates = []
            for row in rows:
                stats.rows += 1
                values = dict(zip([c.name for c in read], row[1:], strict=True))
                changes = _row_changes(f"{name} id={row[0]}", values, cols, pairs, ring, stats)
                if changes:
                    stats.rows_rewritten += 1
                    updates.append((row[0], changes))
            if dry_run:
                continue
            for row_id, changes in updates:
                assignments = ", ".join(f"{quote(k)} = :{k}" for k in changes)
                sql = f"UPDATE {quote(name)} SET {assignments} WHERE {quote(pk.name)} = :_id"
                session.execute(text(sql), {**changes, "_id": row_id})
    return result


def remaining_on_old_keys(session: Session) -> int:
    """How many stored values are not (yet) encrypted with the current key."""
    current = crypto.keyring().current_id
    left = 0
    for name, cols in encrypted_columns().items():
        table = Base.metadata.tables[name]
        for rows in _batches(session, table, cols, BATCH_SIZE):
            left += sum(1 for row in rows for v in row[1:] if v is not None and crypto.key_id(v) != current)
    return left
