"""What a service name found in a Korean message is doing there.

A name usually says what is asked ("기초연금 신청"), but two kinds of mention do not:

- a **condition**: the name describes the citizen, not the request — "기초연금수급자
  통신요금 할인", "생계급여 받으시다가 돌아가셨는데 장례비", "장애 판정을 받으셔서 주차
  표지". The service is something they already have;
- a **refusal**: "등본 말고 다른 서류" — the citizen says it is *not* that one.

Both are read from the words right after the name, which is where Korean puts them
(the status noun, the verb of having received, 말고). Only clear markers count: "기초연금
받는 방법" and "기초연금 받을 수 있나요" ask for the pension and are not conditions.
"""

from __future__ import annotations

import re

# Right after a name, with an optional particle and space: a status noun (수급자, 수급
# 중, 대상자) or "received/receiving" in a past or ongoing form (받고 있는, 받다가,
# 받았는데, 받으셔서, 판정 받은). Forms that ask (받을, 받으려면, 받는 방법) are left out.
_CONDITION = re.compile(
    r"^(?:을|를|이|가|은|는|도)?\s?"
    r"(?:수급\s?(?:자|권자|가구|중)|대상자"
    r"|받(?:고\s?있|고있|다가|으시다가|던|으시던|았|으셨|아서|으셔서|은\s?(?:분|사람|집|가구))"
    r"|판정\s?(?:을\s?)?받(?:았|은|으셨|아서|으셔서))"
)
# "자" at the end of the name itself: the alias is already the status (기초생활수급자).
_STATUS_NAME = re.compile(r"수급(?:권)?자$")
_REFUSAL = re.compile(r"^(?:은|는)?\s?(?:말고|빼고|아니고|아니라|말구)")


def is_condition(text: str, start: int, end: int) -> bool:
    """True when the name at ``text[start:end]`` describes the citizen's status."""
    if _STATUS_NAME.search(text[start:end]):
        return True
    return _CONDITION.match(text[end:]) is not None


def is_refusal(text: str, end: int) -> bool:
    """True when the name ending at ``end`` is followed by "말고" (not that one)."""
    return _REFUSAL.match(text[end:].lstrip()) is not None
