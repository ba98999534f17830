"""Shapes that several routes share: message text from a browser, a console account,
a quick-reply button."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel

from assistant.accounts import Account

EMPTY_MESSAGE = "the message is empty"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(EMPTY_MESSAGE)
    return value


# A message someone typed: refused (422) when it is only blanks. Each model still sets
# its own length, e.g. ``text: MessageText = Field(min_length=1, max_length=1000)``.
MessageText = Annotated[str, AfterValidator(_not_blank)]


class AccountOut(BaseModel):
    """A console account as the consoles show it (no password hash, ever)."""

    username: str
    name: str
    role: str
    centre: str | None
    region: str | None


def account_out(account: Account) -> AccountOut:
    """What a console shows of ``account``."""
    return AccountOut(
        username=account.username,
        name=account.name,
        role=account.role.value,
        centre=account.centre,
        region=account.region,
    )


# A quick reply: what it says and what choosing it sends.
class ButtonOut(BaseModel):
    title: str
    payload: str
