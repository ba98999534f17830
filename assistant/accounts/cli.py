"""``sotong accounts``: create and manage console accounts from the command line.

Passwords never come from the command line (it ends up in shell history and in every
user's process list): they are asked for twice, or read from ``SOTONG_NEW_PASSWORD``
for scripts and tests. Interpreter and staff accounts also get their row in the
handoff queue's ``interpreters`` table (id = username), which says what requests they
take and when.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from assistant.accounts.records import Account, AccountError, Role, check_role
from assistant.accounts.sql import SqlAccountStore
from assistant.handoff import SKILL_KSL, SKILL_PERSON, Interpreter, SqlHandoffQueue
from assistant.handoff.phone_numbers import read_number
from assistant.handoff.records import parse_work_hours

PASSWORD_ENV = "SOTONG_NEW_PASSWORD"  # noqa: S105 (a variable name, not a password)
KNOWN_SKILLS = (SKILL_KSL, SKILL_PERSON)
DEFAULT_SKILLS: dict[Role, tuple[str, ...]] = {
    Role.INTERPRETER: (SKILL_KSL, SKILL_PERSON),
    Role.STAFF: (SKILL_PERSON,),
}

T = TypeVar("T")

accounts_app = typer.Typer(
    help="Console accounts: interpreters, community-centre staff, administrators.",
    no_args_is_help=True,
)


def parse_hours(text: str) -> tuple[int, int]:
    """ "09:00-18:00" as minutes of the day (540, 1080); "22:00-06:00" wraps midnight."""
    try:
        return parse_work_hours(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def parse_skills(text: str) -> tuple[str, ...]:
    """ "ksl,person" as ("ksl", "person"); only known skills, at least one."""
    skills = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [skill for skill in skills if skill not in KNOWN_SKILLS]
    if unknown or not skills:
        raise typer.BadParameter(f"skills are a comma-separated list of {', '.join(KNOWN_SKILLS)}")
    return skills


def parse_phone(text: str) -> str:
    """A phone number as people write it ("010-1234-5678") in E.164 form; else an error."""
    number = read_number(text)
    if number is None:
        raise typer.BadParameter("a phone number looks like 010-1234-5678 or +821012345678")
    return number


def _new_password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    password: str = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    return password


def _run(work: Callable[[SqlAccountStore, SqlHandoffQueue], Awaitable[T]]) -> T:
    """Migrate the configured database, then run ``work`` with its stores."""
    from assistant.config import Settings
    from assistant.store.migrate import upgrade
    from assistant.store.sql import create_engine

    url = Settings().resolved_database_url

    async def main() -> T:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        try:
            return await work(SqlAccountStore(engine), SqlHandoffQueue(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except AccountError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc


def _describe(account: Account) -> str:
    state = "active" if account.active else "disabled"
    where = " / ".join(part for part in (account.centre, account.region) if part) or "-"
    return f"{account.username}\t{account.role.value}\t{state}\t{account.name}\t{where}"


@accounts_app.command()
def create(
    username: Annotated[str, typer.Option(help="3–64 of a-z 0-9 . _ -")],
    name: Annotated[str, typer.Option(help="The person's name as consoles show it")],
    role: Annotated[str, typer.Option(help="interpreter, staff or admin")],
    centre: Annotated[str | None, typer.Option(help="Community centre (행정복지센터)")] = None,
    region: Annotated[str | None, typer.Option(help="Region whose requests they take")] = None,
    skills: Annotated[
        str | None,
        typer.Option(help="Requests they take: ksl,person (default by role)"),
    ] = None,
    capacity: Annotated[int, typer.Option(min=0, help="Sessions held at once")] = 1,
    hours: Annotated[
        str | None, typer.Option(help="Working hours in Seoul time, e.g. 09:00-18:00")
    ] = None,
    phone: Annotated[
        str | None,
        typer.Option(help="Their own phone, rung first when they call a citizen back"),
    ] = None,
) -> None:
    """Create an account (the password is asked for, or read from SOTONG_NEW_PASSWORD)."""
    try:
        account_role = check_role(role)
    except AccountError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from None
    takes_sessions = account_role in DEFAULT_SKILLS
    if not takes_sessions and (skills is not None or hours is not None or phone is not None):
        raise typer.BadParameter(
            "--skills, --hours and --phone are for interpreter and staff accounts"
        )
    own_phone = parse_phone(phone) if phone is not None else None
    chosen_skills = parse_skills(skills) if skills is not None else None
    work_hours = parse_hours(hours) if hours is not None else None
    password = _new_password()

    async def work(accounts: SqlAccountStore, queue: SqlHandoffQueue) -> Account:
        account = await accounts.create(username, password, name, account_role, centre, region)
        if takes_sessions:
            await queue.upsert_interpreter(
                Interpreter(
                    id=account.username,
                    name=account.name,
                    centre=account.centre,
                    region=account.region,
                    skills=chosen_skills or DEFAULT_SKILLS[account_role],
                    capacity=capacity,
                    work_start=work_hours[0] if work_hours else None,
                    work_end=work_hours[1] if work_hours else None,
                    phone=own_phone,
                )
            )
        return account

    account = _run(work)
    typer.echo(f"created {_describe(account)}")


@accounts_app.command("list")
def list_accounts() -> None:
    """Every account: username, role, state, name, centre / region."""

    async def work(accounts: SqlAccountStore, _: SqlHandoffQueue) -> list[Account]:
        return await accounts.list_accounts()

    for account in _run(work):
        typer.echo(_describe(account))


@accounts_app.command()
def disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable an account: it cannot sign in, its sessions end, it gets no requests."""

    async def work(accounts: SqlAccountStore, queue: SqlHandoffQueue) -> Account:
        account = await accounts.set_active(username, False)
        await queue.set_availability(username, False)  # False too when they have no row
        return account

    typer.echo(f"disabled {_describe(_run(work))}")


@accounts_app.command()
def enable(username: Annotated[str, typer.Argument()]) -> None:
    """Enable a disabled account again."""

    async def work(accounts: SqlAccountStore, _: SqlHandoffQueue) -> Account:
        return await accounts.set_active(username, True)

    typer.echo(f"enabled {_describe(_run(work))}")


@accounts_app.command("phone")
def set_phone(
    username: Annotated[str, typer.Argument()],
    number: Annotated[
        str | None, typer.Argument(help="Their own phone, e.g. 010-1234-5678; none clears it")
    ] = None,
) -> None:
    """Set (or clear) the phone a person's call-backs ring first: their own, never shown
    to citizens (they see the service's number)."""
    own_phone = parse_phone(number) if number is not None else None

    async def work(accounts: SqlAccountStore, queue: SqlHandoffQueue) -> Account:
        account = await accounts.by_username(username)
        if account is None or not await queue.set_phone(username, own_phone):
            raise AccountError(f"no interpreter or staff account called {username!r}")
        return account

    account = _run(work)
    typer.echo(f"phone {'set' if own_phone else 'cleared'}: {_describe(account)}")


@accounts_app.command()
def password(username: Annotated[str, typer.Argument()]) -> None:
    """Set a new password (asked for, or SOTONG_NEW_PASSWORD); signs the account out."""
    new_password = _new_password()

    async def work(accounts: SqlAccountStore, _: SqlHandoffQueue) -> Account:
        return await accounts.set_password(username, new_password)

    typer.echo(f"password changed, sessions ended: {_describe(_run(work))}")


@accounts_app.command()
def totp(
    username: Annotated[str, typer.Argument()],
    off: Annotated[bool, typer.Option("--off", help="Stop asking this account for codes.")] = False,
) -> None:
    """Enrol the account in one-time codes (an authenticator app): prints the
    ``otpauth://`` address to add to the app, once. Enrolling again replaces the old
    enrolment; ``--off`` removes it. Either way the account is signed out.

    Needs SOTONG_SECRET_KEY: the app's secret is derived from it, never stored.
    """
    from assistant.accounts.totp import TotpKeys
    from assistant.config import Settings

    key = Settings().secret_key
    if key is None and not off:
        typer.secho(
            "one-time codes need SOTONG_SECRET_KEY (the same value the gateway runs with)",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    nonce = None if off else TotpKeys.new_nonce()

    async def work(accounts: SqlAccountStore, _: SqlHandoffQueue) -> Account:
        return await accounts.set_totp(username, nonce)

    account = _run(work)
    if nonce is None:
        typer.echo(f"one-time codes off, sessions ended: {_describe(account)}")
        return
    assert key is not None
    keys = TotpKeys(key.get_secret_value().encode())
    typer.echo(f"one-time codes on, sessions ended: {_describe(account)}")
    typer.echo("Add this to the authenticator app (shown once; keep it private):")
    typer.echo(keys.provisioning_uri(account.username, nonce))
    typer.echo(f"or type the key: {keys.secret(account.username, nonce)}")
