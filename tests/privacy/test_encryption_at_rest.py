"""Personal data at rest: what is stored is ciphertext (a plain SQL dump of the database holds
none of a registered case's names, addresses, phones or note), and key rotation re-encrypts
every value with the current key, also legacy plaintext, idempotently."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import Text, select, text, type_coerce

from api.routers.registrations import to_core
from api.schemas import RegistrationIn
from tests.privacy import distinct
from zorgtafel import crypto, keys
from zorgtafel.clock import utcnow
from zorgtafel.db.models import Base, Case, CaseEvent, Expert, FamilyMember
from zorgtafel.db.session import unit_of_work
from zorgtafel.registration import register_case
from zorgtafel.route import load_case
from zorgtafel.settings import get_settings


def register(body: dict) -> str:
    with unit_of_work() as session:
        case, _ = register_case(
            session, to_core(RegistrationIn.model_validate(body)), now=utcnow(), settings=get_settings()
        )
        return case.reference


def raw_dump() -> str:
    """Every row of every table, as the database returns it (no decryption)."""
    lines = []
    with unit_of_work() as session:
        for table in Base.metadata.sorted_tables:
            cols = [
                type_coerce(c, Text()) if isinstance(c.type, keys.ENCRYPTED_TYPES) else c for c in table.c
            ]
            for row in session.execute(select(*cols)):
                lines.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(lines)


def test_registered_personal_data_is_not_in_the_stored_bytes():
    body = distinct.body()
    ref = register(body)
    dump = raw_dump()
    assert ref in dump  # the dump does hold the case
    forbidden = [*distinct.forbidden(body), body["registrant"]["email"]]
    assert distinct.leaks(dump, forbidden) == []
    # ... while the application reads it back.
    with unit_of_work() as session:
        case = load_case(session, ref)
        assert (case.child_name, case.registration_note) == (distinct.CHILD, distinct.NOTE)
        assert [m.name for m in case.family] == [distinct.MOTHER, distinct.FATHER, distinct.NETWORK]
        assert case.birth_date == distinct.birth_date()


def raw(session, model, column, row_id) -> str | None:
    col = model.__table__.c[column]
    return session.scalar(select(type_coerce(col, Text())).where(model.__table__.c.id == row_id))


def set_raw(session, model, column, row_id, value) -> None:
    session.execute(
        text(f'UPDATE "{model.__tablename__}" SET "{column}" = :v WHERE id = :i'), {"v": value, "i": row_id}
    )


def old_ring() -> crypto.Keyring:
    """The test keyring with k0 as the current key: values written as before a rotation."""
    ring = crypto.keyring()
    assert ring.current_id == "k1" and "k0" in ring.keys  # tests/conftest.py
    return crypto.Keyring("k0", ring.keys, ring.index_key)


def case_rows(ref: str) -> list[tuple[type, str, int]]:
    """(model, column, id) of every encrypted value of one case."""
    out = []
    with unit_of_work() as session:
        case = load_case(session, ref)
        for column in ("registrant_name", "registrant_email", "registrant_phone", "child_name", "birth_date",
                       "registration_note", "registrant_notify_urls"):  # fmt: skip
            out.append((Case, column, case.id))
        for m in case.family:
            out += [(FamilyMember, c, m.id) for c in ("name", "email", "phone", "notify_urls")]
        out += [(CaseEvent, "summary", e.id) for e in case.events]
    return out


def test_rotation_reencrypts_old_key_and_plaintext_values_and_is_idempotent():
    body = distinct.body()
    ref = register(body)
    with unit_of_work() as session:
        keys.rotate(session)  # everything else on the current key first: exact counts below
    rows = case_rows(ref)
    ring, old = crypto.keyring(), old_ring()
    originals: dict[tuple, str] = {}
    plaintext = {(Case, "registration_note"), (FamilyMember, "name")}
    with unit_of_work() as session:
        for model, column, row_id in rows:
            stored = raw(session, model, column, row_id)
            if stored is None:
                continue
            originals[(model, column, row_id)] = plain = crypto.decrypt(stored, ring)
            legacy = (model, column) in plaintext
            set_raw(session, model, column, row_id, plain if legacy else crypto.encrypt(plain, old))
    expect_plain = sum(1 for (m, c, _) in originals if (m, c) in plaintext)
    expect_old = len(originals) - expect_plain
    assert expect_plain >= 4 and expect_old >= 10
    with unit_of_work() as session:
        assert keys.remaining_on_old_keys(session) == len(originals)

    with unit_of_work() as session:
        counts = keys.rotate(session, batch_size=7)  # several batches per table
    assert sum(c.plaintext for c in counts.values()) == expect_plain
    assert sum(c.old_key for c in counts.values()) == expect_old
    assert {k for c in counts.values() for k in c.old_key_ids} == {"k0"}
    assert sum(c.old_key_ids.get("k0", 0) for c in counts.values()) == expect_old
    assert counts["case"].plaintext == 1 and counts["family_member"].plaintext == 3
    assert counts["case"].rows >= 1 and counts["case"].rows_rewritten == 1

    with unit_of_work() as session:
        for (model, column, row_id), plain in originals.items():
            stored = raw(session, model, column, row_id)
            assert stored.startswith("zt1$k1$"), (model.__tablename__, column)
            assert crypto.decrypt(stored, ring) == plain
        assert keys.remaining_on_old_keys(session) == 0
        case = load_case(session, ref)  # and the application reads them as before
        assert case.registration_note == distinct.NOTE and case.birth_date == distinct.birth_date()
        assert [m.name for m in case.family] == [distinct.MOTHER, distinct.FATHER, distinct.NETWORK]

    with unit_of_work() as session:
        again = keys.rotate(session)
    assert sum(c.rotated + c.reindexed + c.rows_rewritten for c in again.values()) == 0


def test_every_encrypted_column_is_found_by_the_scan():
    found = {(t, c.name) for t, cols in keys.encrypted_columns().items() for c in cols}
    assert {("case", "child_name"), ("case", "birth_date"), ("family_member", "name"),
            ("outbox_message", "payload"), ("care_plan", "closure"), ("case_event", "summary"),
            ("app_user", "email"), ("expert", "notify_urls")} <= found  # fmt: skip
    assert all(t != "audit_event" for t, _ in found)


def test_rotation_recomputes_a_stale_blind_index():
    with unit_of_work() as session:
        expert = session.scalars(select(Expert).order_by(Expert.id)).first()
        expert_id, email, right = expert.id, expert.email, expert.email_bidx
        set_raw(session, Expert, "email_bidx", expert_id, "0" * 64)
    with unit_of_work() as session:
        counts = keys.rotate(session)
    assert counts["expert"].reindexed == 1
    with unit_of_work() as session:
        assert (
            session.scalar(select(Expert.id).where(Expert.email_bidx == crypto.blind_index(email)))
            == expert_id
        )
        assert session.get_one(Expert, expert_id).email_bidx == right


def test_a_value_under_an_unknown_key_stops_the_rotation_and_changes_nothing():
    ref = register(distinct.body())
    stranger = crypto.Keyring("kx", {"kx": b"\x01" * 32}, b"\x00" * 32)
    with unit_of_work() as session:
        case = load_case(session, ref)
        case_id, old_note = case.id, raw(session, Case, "registration_note", case.id)
        set_raw(session, Case, "child_name", case_id, crypto.encrypt("Onbekend", stranger))
        set_raw(session, Case, "registration_note", case_id, crypto.encrypt("x", old_ring()))
    with (
        pytest.raises(crypto.DataKeyError, match=rf"case id={case_id}\.child_name: .*'kx'"),
        unit_of_work() as s,
    ):
        keys.rotate(s)
    with unit_of_work() as session:
        assert crypto.key_id(raw(session, Case, "registration_note", case_id)) == "k0"  # rolled back
        set_raw(session, Case, "child_name", case_id, crypto.encrypt(distinct.CHILD))
        set_raw(session, Case, "registration_note", case_id, old_note)


def test_rotate_keys_command(tmp_path):
    ref = register(distinct.body())
    with unit_of_work() as session:
        case_id = load_case(session, ref).id
        set_raw(session, Case, "child_name", case_id, crypto.encrypt(distinct.CHILD, old_ring()))
    cli = [sys.executable, "-m", "infra.cli", "rotate-keys"]
    dry = subprocess.run([*cli, "--dry-run"], capture_output=True, text=True, env=os.environ, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 1 values would be re-encrypted" in dry.stdout
    with unit_of_work() as session:
        assert crypto.key_id(raw(session, Case, "child_name", case_id)) == "k0"
    real = subprocess.run(cli, capture_output=True, text=True, env=os.environ, timeout=120)
    assert real.returncode == 0, real.stderr
    assert "values left on old keys or in plaintext: 0" in real.stdout
    assert any(
        line.startswith("case ") and "old key     1 (k0: 1)" in line for line in real.stdout.splitlines()
    )
    with unit_of_work() as session:
        assert crypto.key_id(raw(session, Case, "child_name", case_id)) == "k1"
