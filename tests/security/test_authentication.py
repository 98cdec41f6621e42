"""Logging in and tokens on the real database: the password flow, wrong passwords, unknown and
inactive accounts, expired, revoked and forged tokens, API tokens for systems, logout, and the
audit trail each leaves."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from tests.auth_helpers import account
from zorgtafel import accounts, tokens
from zorgtafel.clock import utcnow
from zorgtafel.db.models import AppUser, AuditEvent, AuthToken
from zorgtafel.db.session import unit_of_work
from zorgtafel.errors import ValidationFailed
from zorgtafel.settings import get_settings
from zorgtafel.vocabulary import Role

TOKEN_URL = "/api/v1/auth/token"
BAD_LOGIN = {"detail": "Onbekende gebruikersnaam of verkeerd wachtwoord."}


def new_user(
    role: Role = Role.COORDINATOR, *, password: str | None = "correct-horse-battery", **links
) -> str:
    username = f"u-{uuid4().hex[:12]}"
    if role == Role.COORDINATOR:
        links.setdefault("region", "Limburg")
    with unit_of_work() as session:
        accounts.create_user(session, username=username, role=role, password=password, now=utcnow(), **links)
    return username


def login(client, username: str, password: str):
    return client.post(TOKEN_URL, data={"username": username, "password": password, "grant_type": "password"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_count(username: str) -> int:
    with unit_of_work() as session:
        return (
            session.scalar(
                select(func.count()).select_from(AuthToken).join(AppUser).where(AppUser.username == username)
            )
            or 0
        )


def last_audit(**where) -> AuditEvent:
    with unit_of_work() as session:
        q = select(AuditEvent)
        for k, v in where.items():
            q = q.where(getattr(AuditEvent, k) == v)
        event = session.scalars(q.order_by(AuditEvent.id.desc()).limit(1)).first()
        assert event is not None, where
        return event


def test_password_flow_gives_a_bearer_token_that_expires_and_is_stored_only_as_a_hash(anonymous):
    username = new_user()
    before = utcnow()
    r = login(anonymous, username, "correct-horse-battery")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == get_settings().access_token_minutes * 60
    token = body["access_token"]
    me = anonymous.get("/api/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert (me.json()["username"], me.json()["role"], me.json()["region"]) == (
        username,
        "coordinator",
        "Limburg",
    )
    assert me.json()["token_kind"] == "session"
    with unit_of_work() as session:
        stored = session.scalars(select(AuthToken).join(AppUser).where(AppUser.username == username)).one()
        assert stored.token_hash == tokens.token_hash(token) != token
        assert token not in repr([getattr(stored, c.key) for c in AuthToken.__table__.columns])
        minutes = get_settings().access_token_minutes
        assert (
            before + timedelta(minutes=minutes) <= stored.expires_at <= utcnow() + timedelta(minutes=minutes)
        )
        assert stored.last_used_at is not None  # the /me call used it
        user = session.scalars(select(AppUser).where(AppUser.username == username)).one()
        assert user.password_hash.startswith("$argon2id$")
        assert "correct-horse-battery" not in user.password_hash
    event = last_audit(username=username, action="login")
    assert (event.outcome, event.role) == ("allowed", "coordinator")


@pytest.mark.parametrize(
    "case", ["wrong password", "unknown user", "impossible name", "inactive user", "no password"]
)
def test_a_bad_login_is_401_with_one_answer_for_all_and_gives_no_token(anonymous, case):
    username = new_user(password=None if case == "no password" else "correct-horse-battery")
    password = "correct-horse-battery"
    if case == "wrong password":
        password = "correct-horse-batterz"
    elif case == "unknown user":
        username = f"niemand-{uuid4().hex[:8]}"
    elif case == "impossible name":
        username = f"niemand-\x00-{uuid4().hex[:8]}"
    elif case == "inactive user":
        with unit_of_work() as session:
            session.scalars(select(AppUser).where(AppUser.username == username)).one().active = False
    audits = audit_count()
    r = login(anonymous, username, password)
    assert r.status_code == 401
    assert r.json() == BAD_LOGIN
    assert r.headers["WWW-Authenticate"] == "Bearer"
    if case != "impossible name":  # (no query can even name it on PostgreSQL)
        assert token_count(username) == 0
    assert audit_count() == audits + 1
    event = last_audit(action="login", outcome="denied")
    recorded = "<redacted>" if "\x00" in username else username  # the trail keeps identifiers only
    assert event.detail == {"reason": "bad_credentials", "username": recorded}
    assert event.user_id is None


def audit_count() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_the_login_form_must_be_complete_and_a_form(anonymous):
    r = anonymous.post(TOKEN_URL, data={"username": "x"})
    assert r.status_code == 422
    assert [(p["loc"], p["type"]) for p in r.json()["detail"]] == [(["body", "password"], "missing")]
    r = anonymous.post(TOKEN_URL, json={"username": "x", "password": "y"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "form_expected"
    r = anonymous.post(TOKEN_URL, data={"username": "x", "password": "y", "grant_type": "client_credentials"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "unsupported_grant_type"


def _issue(username: str, *, now=None, kind: str = "session") -> tuple[str, int]:
    with unit_of_work() as session:
        user = session.scalars(select(AppUser).where(AppUser.username == username)).one()
        if kind == "session":
            issued = accounts.issue_session_token(session, user, now=now or utcnow(), settings=get_settings())
        else:
            issued = accounts.issue_api_token(
                session, user, label="test", now=now or utcnow(), settings=get_settings()
            )
        return issued.token, issued.record.id


def test_an_expired_token_is_401_and_says_so(anonymous):
    username = new_user()
    token, _ = _issue(username, now=utcnow() - timedelta(minutes=get_settings().access_token_minutes + 1))
    r = anonymous.get("/api/v1/auth/me", headers=bearer(token))
    assert r.status_code == 401
    assert "verlopen" in r.json()["detail"]
    assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    event = last_audit(username=username, action="login")
    assert (event.outcome, event.detail) == ("denied", {"reason": "expired_token"})


def test_a_revoked_token_is_401_and_other_tokens_of_the_account_still_work(anonymous):
    username = new_user()
    token, token_id = _issue(username)
    other, _ = _issue(username)
    with unit_of_work() as session:
        accounts.revoke(session, token_id, now=utcnow())
    r = anonymous.get("/api/v1/auth/me", headers=bearer(token))
    assert r.status_code == 401 and "ingetrokken" in r.json()["detail"]
    assert last_audit(username=username, action="login").detail == {"reason": "revoked_token"}
    assert anonymous.get("/api/v1/auth/me", headers=bearer(other)).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer zts_" + "A" * 43,  # the right shape, never issued
        "Bearer niet-een-token",
        "Basic dXNlcjpwYXNz",  # another scheme
        "Bearer",
    ],
)
def test_a_forged_or_malformed_token_is_401_and_recorded(anonymous, header):
    audits = audit_count()
    r = anonymous.get("/api/v1/auth/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert audit_count() == audits + 1
    event = last_audit(action="login", outcome="denied")
    assert event.user_id is None and event.detail["reason"] in ("unknown_token", "missing_token")


def test_a_token_of_a_deactivated_account_stops_working(anonymous):
    username = new_user()
    token, _ = _issue(username, kind="api")
    assert anonymous.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    with unit_of_work() as session:
        session.scalars(select(AppUser).where(AppUser.username == username)).one().active = False
    r = anonymous.get("/api/v1/auth/me", headers=bearer(token))
    assert r.status_code == 401
    assert last_audit(username=username, action="login").detail == {"reason": "inactive_token"}


def test_logout_revokes_the_token_it_is_called_with(anonymous):
    username = new_user()
    token = login(anonymous, username, "correct-horse-battery").json()["access_token"]
    other = login(anonymous, username, "correct-horse-battery").json()["access_token"]
    r = anonymous.post("/api/v1/auth/logout", headers=bearer(token))
    assert r.status_code == 204
    assert anonymous.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert anonymous.get("/api/v1/auth/me", headers=bearer(other)).status_code == 200
    with unit_of_work() as session:
        revoked = session.scalars(
            select(AuthToken).where(AuthToken.token_hash == tokens.token_hash(token))
        ).one()
        assert revoked.revoked_at is not None


def test_an_admin_makes_a_system_account_with_a_labelled_api_token_shown_once(anonymous):
    admin = account(Role.ADMIN).headers
    username = f"systeem-{uuid4().hex[:8]}"
    r = anonymous.post(
        "/api/v1/admin/users",
        json={"username": username, "role": "coordinator", "region": "Limburg"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert (user["username"], user["has_password"]) == (username, False)
    issued = anonymous.post(
        f"/api/v1/admin/users/{user['id']}/api-tokens",
        json={"label": "registratiesoftware ziekenhuis", "days": 30},
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["kind"] == "api" and body["label"] == "registratiesoftware ziekenhuis"
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29, hours=23) < expires - utcnow() <= timedelta(days=30)
    token = body["token"]
    me = anonymous.get("/api/v1/auth/me", headers=bearer(token) | {"X-On-Behalf-Of": "case_manager:sofie"})
    assert me.status_code == 200
    assert (me.json()["token_kind"], me.json()["on_behalf_of"]) == ("api", "case_manager:sofie")
    listed = anonymous.get(f"/api/v1/admin/users/{user['id']}/tokens", headers=admin)
    assert listed.status_code == 200
    assert [t["label"] for t in listed.json()] == ["registratiesoftware ziekenhuis"]
    assert token not in listed.text  # shown once, at issue
    # A system account cannot log in with a password, and a lifetime above the maximum is refused.
    assert login(anonymous, username, "whatever-password").status_code == 401
    too_long = anonymous.post(
        f"/api/v1/admin/users/{user['id']}/api-tokens",
        json={"label": "x", "days": get_settings().api_token_days + 1},
        headers=admin,
    )
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["type"] == "invalid_lifetime"
    # Revoked by the administrator: it stops at once.
    assert anonymous.delete(f"/api/v1/admin/tokens/{body['id']}", headers=admin).status_code == 204
    assert anonymous.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


def test_on_behalf_of_is_recorded_for_api_tokens_and_ignored_for_session_tokens(anonymous):
    username = new_user()
    api_token, _ = _issue(username, kind="api")
    session_token, _ = _issue(username)
    anonymous.get(
        "/api/v1/registrations/ZT-1999-NOPE00/status",
        headers=bearer(api_token) | {"X-On-Behalf-Of": "ext:42"},
    )
    assert last_audit(username=username, case_reference="ZT-1999-NOPE00").on_behalf_of == "ext:42"
    me = anonymous.get("/api/v1/auth/me", headers=bearer(session_token) | {"X-On-Behalf-Of": "ext:42"})
    assert me.json()["on_behalf_of"] is None


def test_accounts_refuse_short_passwords_missing_links_and_taken_names_storing_nothing():
    with unit_of_work() as session:
        users = session.scalar(select(func.count()).select_from(AppUser))
    with pytest.raises(ValidationFailed) as refused, unit_of_work() as session:
        accounts.create_user(
            session, username="kort", role=Role.CASE_MANAGER, password="te-kort", now=utcnow()
        )
    assert {(p.loc, p.code) for p in refused.value.problems} == {
        (("password",), "password_too_short"),
        (("case_manager_id",), "link_required"),
    }
    taken = new_user()
    with pytest.raises(ValidationFailed) as refused, unit_of_work() as session:
        accounts.create_user(session, username=taken.upper(), role=Role.ADMIN, now=utcnow())
    assert [p.code for p in refused.value.problems] == ["username_taken"]
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(AppUser)) == users + 1


def test_the_admin_api_refuses_a_short_password_with_a_dutch_rule(anonymous):
    r = anonymous.post(
        "/api/v1/admin/users",
        json={"username": f"x-{uuid4().hex[:8]}", "role": "admin", "password": "kort"},
        headers=account(Role.ADMIN).headers,
    )
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "type": "password_too_short",
            "loc": ["body", "password"],
            "msg": "Het wachtwoord moet minstens 12 tekens lang zijn.",
        }
    ]


def test_a_new_role_ends_open_sessions_and_deactivation_ends_every_token(anonymous):
    admin = account(Role.ADMIN).headers
    username = new_user()
    session_token = login(anonymous, username, "correct-horse-battery").json()["access_token"]
    api_token, _ = _issue(username, kind="api")
    with unit_of_work() as session:
        user_id = session.scalars(select(AppUser.id).where(AppUser.username == username)).one()
    r = anonymous.patch(f"/api/v1/admin/users/{user_id}", json={"role": "admin"}, headers=admin)
    assert r.status_code == 200 and r.json()["role"] == "admin"
    assert anonymous.get("/api/v1/auth/me", headers=bearer(session_token)).status_code == 401
    me = anonymous.get("/api/v1/auth/me", headers=bearer(api_token))
    assert me.status_code == 200 and me.json()["role"] == "admin"  # the principal is read per request
    r = anonymous.patch(f"/api/v1/admin/users/{user_id}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert anonymous.get("/api/v1/auth/me", headers=bearer(api_token)).status_code == 401
    missing = anonymous.patch("/api/v1/admin/users/999999999", json={"active": True}, headers=admin)
    assert missing.status_code == 404


def test_last_used_is_written_at_most_once_a_minute():
    username = new_user()
    _, token_id = _issue(username)
    t0 = utcnow()

    def touched(at) -> object:
        with unit_of_work() as session:
            accounts.touch(session, token_id, now=at)
        with unit_of_work() as session:
            return session.get_one(AuthToken, token_id).last_used_at

    assert touched(t0) == t0
    assert touched(t0 + timedelta(seconds=59)) == t0
    assert touched(t0 + timedelta(seconds=61)) == t0 + timedelta(seconds=61)


def test_an_unknown_user_costs_one_argon2_verification_too(monkeypatch):
    calls: list[str] = []
    real = PasswordHasher.verify

    def counting(self, hash, password):
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    with unit_of_work() as session:
        assert accounts.authenticate(session, f"niemand-{uuid4().hex[:6]}", "correct-horse-battery") is None
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


def test_demo_accounts_one_per_role_log_in_with_their_documented_passwords(anonymous):
    with unit_of_work() as session:
        seeded = accounts.seed_demo_users(session, "Limburg", now=utcnow())
    with unit_of_work() as session:
        again = accounts.seed_demo_users(session, "Limburg", now=utcnow())  # idempotent
        assert (
            session.scalar(select(func.count()).select_from(AppUser).where(AppUser.username.like("demo-%")))
            == 5
        )
    assert seeded == again
    assert {role for _, role, _ in seeded} == set(Role)
    for username, role, password in seeded:
        assert password == f"demo-{role.value.replace('_', '')}-wachtwoord" and len(password) >= 12
        r = login(anonymous, username, password)
        assert r.status_code == 200, (username, r.text)
        me = anonymous.get("/api/v1/auth/me", headers=bearer(r.json()["access_token"])).json()
        assert me["role"] == role.value
        link = {
            Role.REGISTRANT: "agency_id",
            Role.CASE_MANAGER: "case_manager_id",
            Role.COORDINATOR: "region",
            Role.EXPERT: "expert_id",
        }.get(role)
        if link is not None:
            assert me[link] is not None, (role, me)
