"""The few citizen-facing texts the gateway itself says (everything else is Rasa's).

These are said when the dialogue cannot speak: plain language, what happened, that
nothing is lost, and where to get help now.
"""

from __future__ import annotations

from assistant.language import Language

_TEXTS: dict[str, dict[Language, str]] = {
    # Under a checklist (assistant/actions/packages.py); left out when it is texted.
    "choose_for_details": {
        "ko": "번호를 고르시면 자세히 알려 드립니다.",
        "en": "Choose a number for the details.",
    },
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
    # ---- a web chat opened by a continuation link (assistant/continuation.py) ----------
    "continued_from_voice": {
        "ko": "전화 상담을 여기서 글로 이어 갑니다.",
        "en": "This carries on from your phone call, in writing.",
    },
    "continued_from_sms": {
        "ko": "문자 상담을 여기서 이어 갑니다.",
        "en": "This carries on from your text messages.",
    },
    "continued_from_other": {
        "ko": "앞선 상담을 여기서 이어 갑니다.",
        "en": "This carries on from your earlier conversation.",
    },
    "continued_services": {
        "ko": "앞에서 안내한 민원: {services}.",
        "en": "We talked about: {services}.",
    },
    "continued_ask": {
        "ko": "궁금한 것을 아래에 적어 보내 주세요.",
        "en": "Write your question below.",
    },
    # ---- SMS channel (issue 4): keywords, paging, limits; each fits one or two SMS ----
    "sms_stopped": {
        "ko": "소통 문자를 더 보내지 않겠습니다. 다시 받으시려면 '시작'이라고 보내 주세요.",
        "en": "Sotong will send you no more texts. To get them again, reply START.",
    },
    "sms_started": {
        "ko": (
            "소통 문자를 다시 보내 드립니다. 궁금한 민원을 적어 보내 주세요. "
            "그만 받으시려면 '중지'라고 보내 주세요."
        ),
        "en": "Sotong texts are on again. Text your question. To stop, reply STOP.",
    },
    "sms_help": {
        "ko": (
            "소통은 민원 안내 문자입니다. 궁금한 민원을 적어 보내 주세요. "
            "이사 같은 일에 할 일은 '생활 속 큰일'을 보내 주세요. "
            "받을 수 있는 복지는 '서비스 찾기'를 보내 주세요. "
            "사람 상담은 '상담원', 기한 알림은 '알림'을 보내 주세요. "
            "그만 받으려면 '중지'를 보내 주세요."
        ),
        "en": (
            "Sotong answers questions about public services. Text your question. "
            "Text LIFE EVENTS for what to do after a move or a birth. "
            "Text SERVICES FOR ME to find benefits you can get. "
            "Text PERSON for a person, REMINDERS for deadline reminders, STOP to stop."
        ),
    },
    "sms_profile_saved": {
        "ko": (
            "이 번호의 언어와 필요한 도움을 기억하겠습니다. "
            "다음에 연락하시면 그대로 안내합니다. 지우려면 '삭제'를 보내 주세요."
        ),
        "en": (
            "I will remember your language and needs for this number. To erase them, reply FORGET."
        ),
    },
    "sms_profile_forgotten": {
        "ko": "이 번호의 대화 기록과 저장된 정보, 기한 알림을 모두 지웠습니다.",
        "en": "I erased everything kept for this number: conversations, details and reminders.",
    },
    # After the link that opens an SMS "자세히" answer (the link is a message of its own,
    # first: alone it is plain ASCII, which fits whole; assistant/continuation.py).
    "sms_web_link": {
        "ko": "함께 보낸 링크를 누르면 이 답을 웹에서 한 번에 봅니다({hours}시간 안에 한 번).",
        "en": (
            "The link sent with this shows the whole answer on the web "
            "(once, within {hours} hours)."
        ),
    },
    "sms_more_hint": {
        "ko": "더 보려면 '더보기'라고 보내 주세요.",
        "en": "Reply MORE for the rest.",
    },
    "sms_more_none": {
        "ko": "더 보내 드릴 내용이 없습니다. 궁금한 것을 새로 적어 보내 주세요.",
        "en": "There is nothing more to send. Please text a new question.",
    },
    "sms_rate_limited": {
        "ko": "문자가 한꺼번에 많이 와서 잠시 답을 멈춥니다. 1분 뒤에 다시 보내 주세요.",
        "en": "You sent many texts at once, so I will pause. Please text again in a minute.",
    },
    "sms_opted_out": {
        "ko": (
            "문자 수신을 멈추셔서 답을 보내지 않고 있습니다. "
            "다시 받으시려면 '시작'이라고 보내 주세요."
        ),
        "en": "You asked for no more texts, so I am not answering. To start again, reply START.",
    },
    "sms_media": {
        "ko": "사진이나 파일은 아직 읽지 못합니다. 궁금한 것을 글로 적어 보내 주세요.",
        "en": "I cannot read pictures or files yet. Please send your question as text.",
    },
    "sms_empty": {
        "ko": "빈 문자를 받았습니다. 궁금한 것을 글로 적어 보내 주세요.",
        "en": "Your text was empty. Please write your question.",
    },
}


def say(key: str, language: str) -> str:
    """The text ``key`` in ``language`` (Korean if the language is unknown)."""
    texts = _TEXTS[key]
    return texts["en"] if language == "en" else texts["ko"]


def all_texts() -> list[tuple[str, str, str]]:
    """Every (key, language, text), for the plain-language lint."""
    return [(key, lang, text) for key, texts in _TEXTS.items() for lang, text in texts.items()]
