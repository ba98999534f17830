"""SMS keywords in Korean and English: opt-out, opt-in, help and "more".

Only a message that is exactly a keyword counts, after normalising away what phones and
people add around it: surrounding and inner spaces, case, punctuation and symbols
("STOP!", "[중지]"), and full-width forms ("ＳＴＯＰ"). So "중지" stops messages but
"등본 발급 중지하고 싶어요" goes to the dialogue like any other question.

How this meets Twilio's own keyword handling
--------------------------------------------
On long codes Twilio filters the standard English keywords itself (and with Advanced
Opt-Out of a Messaging Service, whatever keywords the operator configured, in which case
the webhook carries ``OptOutType`` = STOP, START or HELP):

- STOP family: Twilio answers with its own confirmation, records a block and still
  forwards the message to us. A TwiML reply of ours would be refused with error 21610
  (the number has opted out), so for the words Twilio handles we answer with an empty
  ``<Response/>`` and only persist the opt-out, which our outbox honours. Korean words
  (중지, 수신거부) are not in Twilio's list: Twilio does not block, so we persist the
  opt-out and confirm it ourselves, and that confirmation is the last message we send.
- START family: Twilio lifts its block and confirms; a second confirmation from us would
  only repeat it, so for Twilio's words we persist the opt-in and stay silent. Twilio
  also lifts its block on YES, which in a dialogue is an ordinary answer: we read YES as
  an opt-in only from a number that has opted out, so our record never disagrees with
  Twilio's.
- HELP family: Twilio's default help text is generic and says nothing about Sotong or
  how to reach a person, and a HELP reply is never blocked, so we always send ours,
  unless Twilio reports (``OptOutType=HELP``) that the operator configured a custom help
  reply in Advanced Opt-Out: then that reply is the one the citizen gets.

Whether Twilio filters the English words is a property of the number (long code vs.
standalone short code), so it is a setting (``SOTONG_SMS_PROVIDER_KEYWORDS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from assistant.language import Language, keyword_form


class Keyword(StrEnum):
    """What a keyword asks for."""

    STOP = "stop"
    START = "start"
    HELP = "help"
    MORE = "more"
    SAVE = "save"  # consent: keep this number's language and needs (a profile)
    FORGET = "forget"  # erase the profile and reminders of this number


# Written as people type them; normalised below like incoming messages are. "그만" is not
# a stop word: in a conversation it means "stop this" (a screening, a list), and reading it
# as an opt-out would silence a citizen who only wanted to end the current question.
_WORDS: Final[dict[Keyword, tuple[str, ...]]] = {
    Keyword.STOP: (
        "STOP",
        "STOPALL",
        "STOP ALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "중지",
        "수신거부",
        "수신 거부",
    ),
    Keyword.START: ("START", "UNSTOP", "시작", "수신동의", "수신 동의"),
    Keyword.HELP: ("HELP", "INFO", "도움말", "도움"),
    Keyword.MORE: ("MORE", "더보기", "더 보기", "다음"),
    Keyword.SAVE: ("SAVE", "REMEMBER ME", "저장", "내 정보 저장", "정보 저장"),
    Keyword.FORGET: ("FORGET", "FORGET ME", "DELETE ME", "삭제", "내 정보 삭제", "정보 삭제"),
}

# The English words Twilio's default filtering on long codes answers by itself
# (https://help.twilio.com/articles/223134027). HELP and INFO are not listed: we answer
# them anyway (see the module docstring).
_PROVIDER_ANSWERS: Final = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
    | {"start", "unstop", "yes"}
)

# Twilio lifts its block on these too; we only read them as opt-in from an opted-out
# number, because otherwise they are answers in the dialogue.
_OPT_IN_WHEN_OPTED_OUT: Final = frozenset({"yes"})

# Twilio's OptOutType values (Advanced Opt-Out).
_OPT_OUT_TYPES: Final = {"STOP": Keyword.STOP, "START": Keyword.START, "HELP": Keyword.HELP}

_LOOKUP: Final[dict[str, Keyword]] = {
    keyword_form(word): keyword for keyword, words in _WORDS.items() for word in words
}


@dataclass(frozen=True)
class KeywordMatch:
    """A message that is a keyword.

    ``provider_answered`` is True when Twilio has already answered it (so a TwiML reply
    of ours would repeat it, or for STOP be refused with error 21610).
    """

    keyword: Keyword
    word: str  # normalised
    language: Language | None  # the keyword's own language; None for an OptOutType only
    provider_answered: bool


def _language_of(word: str) -> Language:
    return "en" if word.isascii() else "ko"


def match_keyword(
    body: str,
    *,
    opt_out_type: str | None = None,
    opted_out: bool = False,
    provider_keywords: bool = True,
) -> KeywordMatch | None:
    """The keyword ``body`` is, or None.

    ``opt_out_type`` is Twilio's ``OptOutType`` field: when present, Twilio matched the
    message to a keyword of its own configuration and already answered it; its verdict
    wins, so our record of opt-outs follows Twilio's. ``opted_out`` says whether the
    number has opted out (YES then opts in, as it does at Twilio). ``provider_keywords``
    says whether Twilio filters the standard English keywords on this number.
    """
    word = keyword_form(body)
    keyword = _LOOKUP.get(word)
    if keyword is None and opted_out and word in _OPT_IN_WHEN_OPTED_OUT:
        keyword = Keyword.START
    language = _language_of(word) if keyword is not None else None
    twilio_type = _OPT_OUT_TYPES.get((opt_out_type or "").strip().upper())
    if twilio_type is not None:
        return KeywordMatch(twilio_type, word, language, provider_answered=True)
    if keyword is None:
        return None
    answered = provider_keywords and word in _PROVIDER_ANSWERS
    return KeywordMatch(keyword, word, language, provider_answered=answered)


def keyword_words(keyword: Keyword) -> tuple[str, ...]:
    """The words of one keyword family, as documented to citizens and operators."""
    return _WORDS[keyword]
