"""One contract suite for every AccountStore implementation and database (SQLite and
PostgreSQL through ``migrated_url``), plus migration 0008."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from sqlalchemy import create_engine, inspect, text

from assistant.accounts import (
    AccountError,
    AccountExists,
    AccountStore,
    Passwords,
    Role,
    SqlAccountStore,
)
from assistant.accounts.base import token_hash
from assistant.privacy import RRN_MASK
from assistant.store.migrate import alembic_config
from assistant.store.models import Base
from tests.clock import ManualClock

T0 = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"
# Cheap argon2id parameters keep the suite fast; one test checks the library defaults.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def accounts(migrated_url: str, clock: ManualClock) -> AsyncIterator[AccountStore]:
    store = SqlAccountStore.from_url(migrated_url, clock=clock, passwords=Passwords(CHEAP))
    try:
        yield store
    finally:
        await store.close()


async def _raw(store: AccountStore, query: str) -> list[tuple[object, ...]]:
    """Rows straight from the database, to check what is (not) stored."""
    assert isinstance(store, SqlAccountStore)
    async with store._engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(query))).all()]


# ---- accounts and passwords ---------------------------------------------------------
async def test_create_and_read_back(accounts: AccountStore) -> None:
    kim = await accounts.create(
        "kim.suh", PASSWORD, " 김수어 ", Role.INTERPRETER, "종로구 수어통역센터", "seoul"
    )
    assert (kim.username, kim.name, kim.role, kim.centre, kim.region, kim.active) == (
        "kim.suh",
        "김수어",
        Role.INTERPRETER,
        "종로구 수어통역센터",
        "seoul",
        True,
    )
    assert kim.created_at == T0
    assert await accounts.get(kim.id) == kim
    assert await accounts.by_username("kim.suh") == kim
    assert await accounts.get(kim.id + 999) is None
    assert await accounts.by_username("nobody") is None
    park = await accounts.create("park", PASSWORD, "박주무관", "staff")  # role as a string
    admin = await accounts.create("admin-1", PASSWORD, "관리자", Role.ADMIN)
    assert [a.username for a in await accounts.list_accounts()] == ["admin-1", "kim.suh", "park"]
    assert park.role is Role.STAFF and admin.role is Role.ADMIN and park.centre is None


async def test_the_password_is_stored_only_as_an_argon2id_hash(accounts: AccountStore) -> None:
    await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    [(stored,)] = await _raw(accounts, "SELECT password_hash FROM accounts")
    assert isinstance(stored, str) and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    dump = repr(await _raw(accounts, "SELECT * FROM accounts"))
    assert PASSWORD not in dump


@pytest.mark.parametrize(
    ("username", "password", "name", "role"),
    [
        ("ab", PASSWORD, "x", "staff"),  # too short
        ("Kim", PASSWORD, "x", "staff"),  # upper case
        ("kim suh", PASSWORD, "x", "staff"),  # space
        ("a" * 65, PASSWORD, "x", "staff"),  # too long
        ("kim", "short pw", "x", "staff"),  # password < 12
        ("kim", PASSWORD, "   ", "staff"),  # no name
        ("kim", PASSWORD, "x", "superuser"),  # unknown role
    ],
)
async def test_invalid_values_are_refused(
    accounts: AccountStore, username: str, password: str, name: str, role: str
) -> None:
    with pytest.raises(AccountError):
        await accounts.create(username, password, name, role)
    assert await accounts.list_accounts() == []


async def test_a_username_is_taken_once(accounts: AccountStore) -> None:
    await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    with pytest.raises(AccountExists):
        await accounts.create("kim", PASSWORD + "!", "다른 김", Role.STAFF)
    assert len(await accounts.list_accounts()) == 1


async def test_concurrent_creation_of_one_username_succeeds_once(
    accounts: AccountStore,
) -> None:
    results = await asyncio.gather(
        *(accounts.create("kim", PASSWORD, f"김 {i}", Role.STAFF) for i in range(5)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, AccountExists) for r in results if isinstance(r, BaseException))


async def test_authenticate(accounts: AccountStore) -> None:
    kim = await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    assert await accounts.authenticate("kim", PASSWORD) == kim
    assert await accounts.authenticate("kim", PASSWORD + "x") is None
    assert await accounts.authenticate("nobody", PASSWORD) is None
    assert await accounts.authenticate("kim", "") is None
    assert await accounts.authenticate("x" * 5000, PASSWORD) is None
    assert await accounts.authenticate("kim", "y" * 5000) is None


async def test_an_unknown_username_still_spends_a_hash(
    accounts: AccountStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    original = Passwords._verify

    def counting(self: Passwords, stored_hash: str, password: str) -> bool:
        verified.append(password)
        return original(self, stored_hash, password)

    monkeypatch.setattr(Passwords, "_verify", counting)
    assert await accounts.authenticate("nobody", "some password here") is None
    assert verified == ["some password here"]


async def test_disabled_accounts_cannot_sign_in(accounts: AccountStore) -> None:
    await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    disabled = await accounts.set_active("kim", False)
    assert disabled.active is False
    assert await accounts.authenticate("kim", PASSWORD) is None
    enabled = await accounts.set_active("kim", True)
    assert enabled.active and await accounts.authenticate("kim", PASSWORD) == enabled
    with pytest.raises(AccountError):
        await accounts.set_active("nobody", False)


async def test_an_old_hash_is_replaced_on_sign_in(migrated_url: str) -> None:
    cheap = SqlAccountStore.from_url(migrated_url, passwords=Passwords(CHEAP))
    current = SqlAccountStore.from_url(migrated_url)  # the library's default parameters
    try:
        await cheap.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
        [(before,)] = await _raw(cheap, "SELECT password_hash FROM accounts")
        assert await current.authenticate("kim", PASSWORD) is not None
        [(after,)] = await _raw(cheap, "SELECT password_hash FROM accounts")
        assert after != before and isinstance(after, str) and after.startswith("$argon2id$")
        assert not PasswordHasher().check_needs_rehash(after)
        assert await cheap.authenticate("kim", PASSWORD) is not None  # still the password
    finally:
        await cheap.close()
        await current.close()


async def test_set_password(accounts: AccountStore) -> None:
    kim = await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    web = await accounts.start_session(kim)
    with pytest.raises(AccountError):
        await accounts.set_password("kim", "too short")
    assert await accounts.session(web.token) is not None  # a refused change ends nothing
    await accounts.set_password("kim", "a whole new passphrase")
    assert await accounts.authenticate("kim", PASSWORD) is None
    assert await accounts.authenticate("kim", "a whole new passphrase") is not None
    assert await accounts.session(web.token) is None  # whoever knew the old one is out
    with pytest.raises(AccountError):
        await accounts.set_password("nobody", "a whole new passphrase")


async def test_totp_enrolment_and_each_step_used_once(accounts: AccountStore) -> None:
    kim = await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    web = await accounts.start_session(kim)
    assert not kim.totp and await accounts.totp_nonce(kim) is None
    assert not await accounts.use_totp_step(kim, 100)  # not enrolled: nothing to use
    kim = await accounts.set_totp("kim", "n" * 32)
    assert kim.totp and await accounts.totp_nonce(kim) == "n" * 32
    assert await accounts.session(web.token) is None  # enrolling signs the account out
    assert (await accounts.authenticate("kim", PASSWORD) or kim).totp
    assert await accounts.use_totp_step(kim, 100)
    assert not await accounts.use_totp_step(kim, 100)  # the same code again
    assert not await accounts.use_totp_step(kim, 99)  # an older one
    assert await accounts.use_totp_step(kim, 101)
    kim = await accounts.set_totp("kim", "m" * 32)  # enrolled again: the old steps go
    assert await accounts.use_totp_step(kim, 50)
    kim = await accounts.set_totp("kim", None)
    assert not kim.totp and await accounts.totp_nonce(kim) is None
    with pytest.raises(AccountError):
        await accounts.set_totp("nobody", "n" * 32)


# ---- web sessions ---------------------------------------------------------------------
async def test_an_idle_session_ends_unless_kept_alive_never_past_its_hours(
    accounts: AccountStore, clock: ManualClock
) -> None:
    kim = await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    web = await accounts.start_session(kim, hours=1, idle_minutes=30)
    assert web.expires_at == clock.now + dt.timedelta(minutes=30)
    clock.advance(20 * 60)
    alive = await accounts.keep_alive(web, hours=1, idle_minutes=30)
    assert alive is not None and alive.expires_at == clock.now + dt.timedelta(minutes=30)
    clock.advance(25 * 60)  # 45 min after sign-in, 25 after the last activity
    assert await accounts.session(web.token) is not None
    alive = await accounts.keep_alive(web, hours=1, idle_minutes=30)
    assert alive is not None and alive.expires_at == web.expires_at + dt.timedelta(minutes=30)
    clock.advance(15 * 60)  # the hour is up whatever the activity
    assert await accounts.session(web.token) is None
    assert await accounts.keep_alive(web, hours=1, idle_minutes=30) is None
    idle = await accounts.start_session(kim, hours=1, idle_minutes=30)
    clock.advance(31 * 60)
    assert await accounts.session(idle.token) is None
    assert await accounts.keep_alive(idle, hours=1, idle_minutes=30) is None  # too late


async def test_a_session_lives_for_its_hours(accounts: AccountStore, clock: ManualClock) -> None:
    kim = await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    web = await accounts.start_session(kim, hours=2)
    assert web.expires_at == T0 + dt.timedelta(hours=2)
    assert len(web.token) >= 40 and len(web.csrf_token) >= 40 and web.token != web.csrf_token
    found = await accounts.session(web.token)
    assert found == web
    clock.advance(hours=2, seconds=-1)
    assert await accounts.session(web.token) is not None
    clock.advance(1)
    assert await accounts.session(web.token) is None


async def test_only_the_token_hash_is_stored(accounts: AccountStore) -> None:
    kim = await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    web = await accounts.start_session(kim)
    rows = await _raw(accounts, "SELECT token_hash FROM console_sessions")
    assert rows == [(token_hash(web.token),)]
    assert web.token not in repr(await _raw(accounts, "SELECT * FROM console_sessions"))


async def test_unknown_or_ended_sessions(accounts: AccountStore) -> None:
    kim = await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    one = await accounts.start_session(kim)
    two = await accounts.start_session(kim)
    assert await accounts.session("not-a-token") is None
    assert await accounts.session("") is None
    assert await accounts.session("x" * 1000) is None
    await accounts.end_session(one.token)
    assert await accounts.session(one.token) is None
    assert await accounts.session(two.token) is not None  # another browser stays in
    await accounts.end_session("not-a-token")  # nothing to end: no error


async def test_disabling_an_account_ends_its_sessions(accounts: AccountStore) -> None:
    kim = await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    park = await accounts.create("park", PASSWORD, "박주무관", Role.STAFF)
    kims = [await accounts.start_session(kim) for _ in range(2)]
    parks = await accounts.start_session(park)
    await accounts.set_active("kim", False)
    for web in kims:
        assert await accounts.session(web.token) is None
    assert await accounts.session(parks.token) is not None
    await accounts.set_active("kim", True)
    assert await accounts.session(kims[0].token) is None  # enabling brings none back


async def test_expired_sessions_are_dropped(accounts: AccountStore, clock: ManualClock) -> None:
    kim = await accounts.create("kim", PASSWORD, "김수어", Role.INTERPRETER)
    await accounts.start_session(kim, hours=1)
    clock.advance(hours=2)
    await accounts.start_session(kim, hours=1)
    assert len(await _raw(accounts, "SELECT token_hash FROM console_sessions")) == 1


# ---- audit log ------------------------------------------------------------------------
async def test_audit_masks_resident_registration_numbers(
    accounts: AccountStore, clock: ManualClock
) -> None:
    park = await accounts.create("park", PASSWORD, "박주무관", Role.STAFF, "종로1가동")
    entry = await accounts.record_audit(
        park,
        "walkin.start",
        "c" * 32,
        {"note": "주민번호 900101-1234567 확인", "nested": {"list": ["9001011234567", 3]}},
    )
    assert entry.detail == {
        "note": f"주민번호 {RRN_MASK} 확인",
        "nested": {"list": [RRN_MASK, 3]},
    }
    assert (entry.actor_id, entry.actor_username, entry.role, entry.at) == (
        park.id,
        "park",
        Role.STAFF,
        T0,
    )
    dump = repr(await _raw(accounts, "SELECT * FROM audit_log"))
    assert "1234567" not in dump
    [read] = await accounts.audit_log()
    assert read == entry


async def test_audit_log_filters_newest_first(accounts: AccountStore, clock: ManualClock) -> None:
    park = await accounts.create("park", PASSWORD, "박주무관", Role.STAFF)
    lee = await accounts.create("lee", PASSWORD, "이주무관", Role.STAFF)
    a, b = "a" * 32, "b" * 32
    await accounts.record_audit(park, "walkin.start", a, {"consent_method": "spoken"})
    clock.advance(1)
    await accounts.record_audit(park, "walkin.message", a, {"length": 12})
    await accounts.record_audit(lee, "walkin.start", b)  # same instant: id orders it
    clock.advance(1)
    await accounts.record_audit(park, "login")
    everything = await accounts.audit_log()
    assert [(e.actor_username, e.action) for e in everything] == [
        ("park", "login"),
        ("lee", "walkin.start"),
        ("park", "walkin.message"),
        ("park", "walkin.start"),
    ]
    assert [e.action for e in await accounts.audit_log(conversation_id=a)] == [
        "walkin.message",
        "walkin.start",
    ]
    starts = await accounts.audit_log(action="walkin.start", actor_id=park.id)
    assert [(e.conversation_id, e.detail) for e in starts] == [(a, {"consent_method": "spoken"})]
    assert [e.action for e in await accounts.audit_log(limit=1)] == ["login"]
    assert everything[0].conversation_id is None and everything[0].detail == {}
    with pytest.raises(ValueError):
        await accounts.record_audit(park, "")


async def test_ping(accounts: AccountStore) -> None:
    await accounts.ping()


# ---- migration ------------------------------------------------------------------------
def test_migration_0008_follows_0007_and_is_the_only_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    revision = script.get_revision("0008")
    assert revision is not None and revision.down_revision == "0007"
    assert len(script.get_heads()) == 1


def test_migration_0008_matches_the_models_and_goes_back(tmp_path: Path) -> None:
    import assistant.accounts.models  # noqa: F401  (registers the tables on Base.metadata)

    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        ours = [
            d
            for d in diffs
            if any(name in repr(d) for name in ("accounts", "console_sessions", "audit_log"))
        ]
        assert ours == []
        command.downgrade(config, "0007")
        tables = set(inspect(engine).get_table_names())
        assert not tables & {"accounts", "console_sessions", "audit_log"}
        command.upgrade(config, "head")
        assert {"accounts", "console_sessions", "audit_log"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
