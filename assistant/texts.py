"""The few citizen-facing texts the gateway itself says (everything else is Rasa's).

These are said when the dialogue cannot speak: plain language, what happened, that
nothing is lost, and where to get help now.
"""

from __future__ import annotations

from assistant.language import Language

_TEXTS: dict[str, dict[Language, str]] = {
    "dialogue_unavailable": {
        "ko": (
            "죄송합니다. 지금 잠깐 답을 드리기 어렵습니다. "
            "보내신 말씀은 잘 받아 두었습니다. 준비되는 대로 여기로 답을 드리겠습니다. "
            "급하시면 국번 없이 110번(정부민원안내콜센터)으로 전화해 주세요."
        ),
        "en": (
            "Sorry, I cannot answer right now. "
            "I have kept your message. I will answer here as soon as I can. "
            "If it is urgent, call 110, the government help line."
        ),
    },
    "no_answer": {
        "ko": (
            "죄송합니다. 알맞은 답을 찾지 못했습니다. "
            '다른 말로 말씀해 주세요. "상담원"이라고 하시면 사람이 도와드립니다.'
        ),
        "en": (
            "Sorry, I could not find an answer. "
            'Please say it in other words. Say "person" and a person will help you.'
        ),
    },
}


def say(key: str, language: str) -> str:
    """The text ``key`` in ``language`` (Korean if the language is unknown)."""
    texts = _TEXTS[key]
    return texts["en"] if language == "en" else texts["ko"]


def all_texts() -> list[tuple[str, str, str]]:
    """Every (key, language, text), for the plain-language lint."""
    return [(key, lang, text) for key, texts in _TEXTS.items() for lang, text in texts.items()]
