"""What the citizen is told about their request for a person, in plain language.

Said on every channel the same way (a web chat message, an SMS, a spoken prompt), so
each text is short sentences and fits the SMS budget of a reply. Placeholders are
``str.format`` fields; ``all_texts`` fills them with typical values for the lint.
"""

from __future__ import annotations

import datetime as dt

from assistant.handoff.records import SEOUL
from assistant.language import Language

# The 107 relay centre (손말이음센터): KSL video relay, 24 hours, every day.
RELAY_KO = (
    "지금 바로 수어 통역이 필요하면 107 손말이음센터를 이용하세요. 24시간 영상으로 통역합니다."
)
RELAY_EN = (
    "If you need sign language now, use the 107 relay centre. "
    "It interprets by video, day and night."
)

_TEXTS: dict[str, dict[Language, str]] = {
    "queued": {
        "ko": "지금 {position}번째로 기다리고 있습니다. 약 {minutes}분 걸립니다.",
        "en": "You are number {position} in the queue. It takes about {minutes} minutes.",
    },
    "queued_first": {
        "ko": "다음 차례입니다. 약 {minutes}분 안에 연결됩니다.",
        "en": "You are next. Someone will join in about {minutes} minutes.",
    },
    "while_waiting": {
        "ko": (
            "기다리는 동안 저에게 계속 물어보셔도 됩니다. 그만 기다리려면 '대기취소'라고 보내세요."
        ),
        # Not "CANCEL": carriers read it as an opt-out from every text
        # (assistant/plain_language.py refuses it). LEAVE is no carrier keyword.
        "en": "You can keep asking me while you wait. To leave the queue, send LEAVE.",
    },
    "nobody_now": {
        "ko": "지금은 연결할 수 있는 사람이 없습니다. 전화 예약이나 영상 통화 예약을 고르세요.",
        "en": "Nobody can join right now. Choose a call back or a video appointment.",
    },
    "nobody_now_no_call": {
        "ko": "지금은 연결할 수 있는 사람이 없습니다. 문자 연락이나 영상 통화 예약을 고르세요.",
        "en": "Nobody can join right now. Choose a text message or a video appointment.",
    },
    "choose_callback": {"ko": "전화 예약", "en": "Call me back"},
    "choose_text": {"ko": "문자로 연락", "en": "Text me"},
    "choose_this_number": {"ko": "이 번호로", "en": "This number"},
    "choose_other_number": {"ko": "다른 번호", "en": "Another number"},
    # Asking for a number: giving it is the consent, so the text says what it is kept for
    # and how long.
    "ask_callback_number": {
        "ko": (
            "전화받을 번호를 보내 주세요. 예: 010-1234-5678. "
            "이 번호는 이 전화에만 쓰고 {days}일 뒤에 지웁니다."
        ),
        "en": (
            "Send the number we should call, like 010-1234-5678. "
            "We use it only for this call and delete it after {days} days."
        ),
    },
    "ask_text_number": {
        "ko": (
            "문자 받을 휴대전화 번호를 보내 주세요. 예: 010-1234-5678. "
            "이 번호는 이 연락에만 쓰고 {days}일 뒤에 지웁니다."
        ),
        "en": (
            "Send the mobile number we should text, like 010-1234-5678. "
            "We use it only for this and delete it after {days} days."
        ),
    },
    "confirm_callback_number": {
        "ko": "지금 쓰시는 번호 {number}(으)로 전화드릴까요?",
        "en": "Shall we call you on {number}, the number you are using now?",
    },
    "confirm_text_number": {
        "ko": "지금 쓰시는 번호 {number}(으)로 문자드릴까요?",
        "en": "Shall we text you on {number}, the number you are using now?",
    },
    "not_a_number": {
        "ko": "전화번호를 읽지 못했습니다. 010-1234-5678처럼 숫자로 보내 주세요.",
        "en": "I could not read a phone number. Please send it in numbers, like 010-1234-5678.",
    },
    "not_a_mobile": {
        "ko": "문자는 휴대전화로만 받을 수 있습니다. 휴대전화 번호를 보내 주세요.",
        "en": "Only a mobile phone can get texts. Please send a mobile number.",
    },
    "scheduled_callback_to": {
        "ko": "{when}에 담당자가 {number}(으)로 전화드립니다. 요청은 그대로 남아 있습니다.",
        "en": "Someone will call you on {number} {when}. Your request is kept.",
    },
    "scheduled_text_to": {
        "ko": "{when}에 담당자가 {number}(으)로 문자드립니다. 요청은 그대로 남아 있습니다.",
        "en": "Someone will text you on {number} {when}. Your request is kept.",
    },
    "choose_video": {"ko": "영상 통화 예약", "en": "Video appointment"},
    "choose_cancel": {"ko": "요청 취소", "en": "Cancel request"},
    "choose_leave": {"ko": "상담 끝내기", "en": "End the chat"},
    "scheduled_callback": {
        "ko": "{when}에 담당자가 전화드립니다. 요청은 그대로 남아 있습니다.",
        "en": "Someone will call you {when}. Your request is kept.",
    },
    "callback_missed": {
        "ko": "담당자가 {time}에 전화드렸지만 연결되지 않았습니다. {when}에 다시 전화드립니다.",
        "en": "Someone called you at {time} but could not reach you. We will call again {when}.",
    },
    "callback_missed_last": {
        "ko": (
            "담당자가 {tries}번 전화드렸지만 연결되지 않았습니다. "
            "도움이 더 필요하시면 다시 연락해 주세요."
        ),
        "en": (
            "Someone tried to call you {tries} times but could not reach you. "
            "If you still need help, please contact us again."
        ),
    },
    "callback_wrong_number": {
        "ko": (
            "{number}(으)로 전화를 걸 수 없었습니다. 받을 수 있는 전화번호를 보내 주세요. "
            "예: 010-1234-5678."
        ),
        "en": "We could not call {number}. Please send a number we can call, like 010-1234-5678.",
    },
    "callback_new_number": {
        "ko": "고맙습니다. 담당자가 {number}(으)로 다시 전화드립니다.",
        "en": "Thank you. The person will call you again on {number}.",
    },
    "cancelled": {
        "ko": "사람 연결 요청을 취소했습니다. 다시 필요하면 '상담원'이라고 보내세요.",
        "en": "I cancelled your request for a person. To ask again, send PERSON.",
    },
    "nothing_to_cancel": {
        "ko": "취소할 요청이 없습니다. 무엇을 도와드릴까요?",
        "en": "There is no request to cancel. How can I help you?",
    },
    "accepted": {
        "ko": (
            "{name} 님이 연결되었습니다. 이제부터 사람이 답합니다. "
            "상담을 끝내려면 '상담종료'라고 보내세요."
        ),
        "en": "{name} has joined. A person answers you from now on. To end the chat, send LEAVE.",
    },
    "left_session": {
        "ko": "사람 상담을 끝냈습니다. 이제 다시 제가 답합니다. 무엇을 도와드릴까요?",
        "en": "The chat with the person has ended. I answer you again. How can I help?",
    },
    "timed_out": {
        "ko": (
            "담당자와 연결이 끊어져 사람 상담을 마쳤습니다. 이제 다시 제가 답합니다. "
            "사람이 다시 필요하면 '상담원'이라고 보내세요."
        ),
        "en": (
            "We lost the person who was helping you, so that chat has ended. "
            "I answer you again. To ask for a person again, send PERSON."
        ),
    },
    "refused_busy": {
        "ko": (
            "지금은 기다리는 분이 너무 많아 새 요청을 받을 수 없습니다. 잠시 후 다시 요청해 주세요."
        ),
        "en": "Too many people are waiting now to take a new request. Please ask again later.",
    },
    "refused_too_many": {
        "ko": "짧은 시간에 요청이 너무 많았습니다. 한 시간쯤 뒤에 다시 요청할 수 있습니다.",
        "en": "There were too many requests in a short time. You can ask again in about an hour.",
    },
    "passed_on": {
        "ko": "다른 담당자가 이어서 도와드립니다. 잠시만 기다려 주세요.",
        "en": "Another person will go on helping you. Please wait a moment.",
    },
    "holder_left": {
        "ko": "연결되었던 담당자가 상담을 이어갈 수 없게 되었습니다. 다른 분을 기다립니다.",
        "en": "The person helping you cannot go on. You are waiting for someone else.",
    },
    "video_link": {
        "ko": "영상 통화 링크입니다.\n{link}",
        "en": "Here is the video call link.\n{link}",
    },
    "closing_words": {
        "ko": "담당자가 남긴 말: {text}",
        "en": "From the person who helped you: {text}",
    },
    "ask_helpful": {
        "ko": "오늘 상담이 도움이 되었나요? '도움이 됐어요'나 '도움이 안 됐어요'로 답해 주세요.",
        "en": "Did today's help work for you? Answer 'Yes, it helped' or 'No, it did not'.",
    },
    "choose_helpful": {"ko": "도움이 됐어요", "en": "Yes, it helped"},
    "choose_not_helpful": {"ko": "도움이 안 됐어요", "en": "No, it did not"},
    "feedback_thanks": {
        "ko": "답해 주셔서 고맙습니다. 더 나은 안내를 만드는 데 쓰겠습니다.",
        "en": "Thank you for telling us. It helps us do better.",
    },
    "feedback_none": {
        "ko": "이미 답해 주셨습니다. 무엇을 도와드릴까요?",
        "en": "You have answered already. How can I help you?",
    },
    "ended": {
        "ko": "상담이 끝났습니다. 고맙습니다.",
        "en": "The conversation with the person has ended. Thank you.",
    },
    "appointment_booked": {
        "ko": "영상 통화를 {when}(으)로 예약했습니다. 하루 전과 10분 전에 링크를 보내 드립니다.",
        "en": (
            "Your video call is booked {when}. We send the link a day before and 10 minutes before."
        ),
    },
    "appointment_booked_soon": {
        "ko": "영상 통화를 {when}(으)로 예약했습니다. 10분 전에 링크를 보내 드립니다.",
        "en": "Your video call is booked {when}. We send the link 10 minutes before.",
    },
    "appointment_texts_to": {
        "ko": "알림은 {number}(으)로도 문자로 보냅니다.",
        "en": "We also text the reminders to {number}.",
    },
    # Reply words, never a carrier keyword (CANCEL, STOP… unsubscribe from every text).
    "appointment_words": {
        "ko": "시간을 바꾸려면 '예약변경', 취소하려면 '예약취소'라고 보내세요.",
        "en": "To change the time, send CHANGE. To call it off, send CALL OFF.",
    },
    "appointment_day": {
        "ko": "영상 통화 예약이 {when}에 있습니다. 그 시간에 이 링크를 여세요.\n{link}",
        "en": "Your video call is {when}. At that time, open this link.\n{link}",
    },
    "appointment_soon": {
        "ko": "10분 뒤 영상 통화가 시작됩니다({when}). 이 링크를 여세요.\n{link}",
        "en": "Your video call starts in 10 minutes ({when}). Open this link.\n{link}",
    },
    "appointment_choose_time": {
        "ko": "비어 있는 시간입니다. 하나를 고르세요.",
        "en": "These times are free. Choose one.",
    },
    "appointment_time_taken": {
        "ko": "그 시간은 방금 찼습니다.",
        "en": "Someone has just taken that time.",
    },
    "appointment_no_other_time": {
        "ko": "지금은 다른 빈 시간이 없습니다. 예약은 {when} 그대로입니다.",
        "en": "No other time is free now. Your video call stays {when}.",
    },
    "appointment_none_free": {
        "ko": "앞으로 2주 동안 빈 시간이 없습니다. 전화나 문자 연락을 골라 주세요.",
        "en": "No time is free in the next two weeks. Please choose a call or a text instead.",
    },
    "appointment_cancelled": {
        "ko": "영상 통화 예약을 취소했습니다. 다시 필요하면 '상담원'이라고 보내세요.",
        "en": "Your video call is called off. To ask for a person again, send PERSON.",
    },
    "appointment_missed": {
        "ko": (
            "{when} 영상 통화에 들어오지 않으셔서 예약을 마쳤습니다. "
            "다시 필요하면 '상담원'이라고 보내세요."
        ),
        "en": (
            "You did not join the video call {when}, so we closed it. "
            "To ask for a person again, send PERSON."
        ),
    },
    "ask_reminder_number": {
        "ko": (
            "알림과 링크를 문자로 받을 휴대전화 번호를 보내 주세요. 예: 010-1234-5678. "
            "이 번호는 이 예약에만 쓰고 {days}일 뒤에 지웁니다."
        ),
        "en": (
            "Send the mobile number to text the reminders and the link to, like "
            "010-1234-5678. We use it for this booking only and delete it after {days} days."
        ),
    },
    "choose_change_time": {"ko": "시간 바꾸기", "en": "Change the time"},
    "choose_call_off": {"ko": "예약 취소", "en": "Call it off"},
    "choose_remind_by_text": {"ko": "문자로 알림 받기", "en": "Text me reminders"},
    "choose_no_texts": {"ko": "문자 없이 예약 유지", "en": "Keep it without texts"},
    "expired": {
        "ko": (
            "오래 기다리셨는데 연결하지 못했습니다. 죄송합니다. "
            "다시 요청하려면 '상담원'이라고 보내세요."
        ),
        "en": "Sorry, nobody could join in time. To ask again, send PERSON.",
    },
}

_WEEKDAYS_KO = "월화수목금토일"


def say(key: str, language: str, **fields: object) -> str:
    """The text ``key`` in ``language`` (Korean unless English), fields filled in."""
    texts = _TEXTS[key]
    template = texts["en"] if language == "en" else texts["ko"]
    return template.format(**fields)


def relay_centre(language: str) -> str:
    """Where to get sign language at any hour: the 107 relay centre."""
    return RELAY_EN if language == "en" else RELAY_KO


def when(at: dt.datetime, language: str) -> str:
    """A time the citizen reads easily, in Seoul time: "11월 25일(수) 오전 9시"."""
    local = at.astimezone(SEOUL)
    if language == "en":
        clock = local.strftime("%I:%M %p").lstrip("0").replace(":00", "")
        return f"on {local.strftime('%A')} {local.day} {local.strftime('%B')} at {clock}"
    half = "오전" if local.hour < 12 else "오후"
    hour = local.hour % 12 or 12
    minute = f" {local.minute}분" if local.minute else ""
    weekday = _WEEKDAYS_KO[local.weekday()]
    return f"{local.month}월 {local.day}일({weekday}) {half} {hour}시{minute}"


def all_texts() -> list[tuple[str, str, str]]:
    """Every (key, language, text) with typical values, for the plain-language lint."""
    sample = dt.datetime(2026, 11, 25, 0, 0, tzinfo=dt.UTC)
    out: list[tuple[str, str, str]] = []
    for key, texts in _TEXTS.items():
        for language in texts:
            out.append(
                (
                    key,
                    language,
                    say(
                        key,
                        language,
                        position=3,
                        minutes=30,
                        when=when(sample, language),
                        name="김수어",
                        link="https://sotong.example/video/1",
                        number="010-1234-5678",
                        days=14,
                        time="14:05",
                        tries=3,
                        text="신청서를 함께 작성했습니다.",
                    ),
                )
            )
    out += [("relay", "ko", RELAY_KO), ("relay", "en", RELAY_EN)]
    return out
