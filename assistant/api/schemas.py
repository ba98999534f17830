"""Shapes that several routes share: message text from a browser, a console account,
a quick-reply button."""

from __future__ import annotations

from typing import Annotated, Any

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


class ErrorOut(BaseModel):
    """A refusal: a sentence in plain words (FastAPI's own 422 gives a list of what was
    wrong with each field instead)."""

    detail: str | list[Any]


_REFUSALS: dict[int, str] = {
    400: "Malformed request",
    401: "Not signed in, or the wrong username or password",
    403: "Refused: unsigned or wrongly signed, the wrong role, or no CSRF token",
    404: "No such thing here (or not yours)",
    409: "Taken by someone else, or not in a state that allows it",
    410: "The link was used or has expired",
    413: "The request body is too large",
    415: "Not the content type this route takes",
    422: "A value is missing or not allowed",
    429: "Too many requests: try again after Retry-After seconds",
    503: "Not available just now: try again after Retry-After seconds",
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The refusals an operation may answer, for its OpenAPI (``responses=``): every
    status a route can send is declared, which tests/integration/test_openapi_fuzz.py
    checks against the running gateway."""
    return {code: {"model": ErrorOut, "description": _REFUSALS[code]} for code in codes}
