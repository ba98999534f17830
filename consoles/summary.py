"""The printable easy-read summary a desk hands a walk-in citizen at the end of a visit.

Easy-read: short sentences, one step per line, big type, headings a citizen can find
again at home, a box to tick for each thing to bring. Korean first, English under it.
It names the services the conversation was about — what to bring, where to go, the
deadline and cost, from the catalog (never from the chat, which may hold mistakes) —
and what became of a request for an interpreter. It holds no personal data: no
transcript, no address, no name of the citizen, so a page left on the printer tells
nobody anything about them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from assistant.catalog import Service
from assistant.handoff.records import SEOUL, SIGN_LANGUAGE_REASON, QueueState, parse_state
from assistant.store import HandoffRequest

# The national civil-service call centre (정부민원안내콜센터), for any question later.
CALL_CENTRE = "110"
# A sentence ends at . ! ? (Korean sentences end with "다." and the like, too).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WEEKDAYS_KO = "월화수목금토일"
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# What to do next, one step per line (Korean, English).
_STEPS_FOR_SERVICES: tuple[tuple[str, str], ...] = (
    ("‘가져갈 것’을 챙기세요.", "Get the things under ‘What to bring’."),
    ("신청하는 곳에 가세요.", "Go to the place to apply."),
)
_STEP_DESK = (
    "모르는 것이 있으면 이 종이를 들고 창구에 오세요.",
    "Not sure? Bring this paper to the desk.",
)
_STEP_PHONE = (
    f"전화로 물어보려면 국번 없이 {CALL_CENTRE}번에 거세요.",
    f"To ask by phone, call {CALL_CENTRE}.",
)
_STEP_RELAY = (
    "수어 통역이 필요하면 107 손말이음센터에 영상 통화를 거세요. 24시간 됩니다.",
    "For sign language, video-call the 107 relay centre. It is open day and night.",
)
_NO_SERVICE = (
    "오늘은 특정 민원을 정하지 않았습니다.",
    "We did not settle on a particular service today.",
)


@dataclass(frozen=True)
class InterpreterNote:
    """What the summary says about the visit's request for a person."""

    sign_language: bool  # a KSL interpreter (else any staff member or person)
    state: QueueState
    scheduled_for: dt.datetime | None = None  # an appointment, when one was made

    @classmethod
    def from_request(
        cls, request: HandoffRequest, scheduled_for: dt.datetime | None = None
    ) -> InterpreterNote:
        """The note for a stored request (its newest state)."""
        return cls(
            sign_language=request.reason == SIGN_LANGUAGE_REASON,
            state=parse_state(request.status),
            scheduled_for=scheduled_for,
        )


def sentences(text: str) -> list[str]:
    """``text`` split into its sentences, one per line of the summary."""
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


def _date_ko(day: dt.date) -> str:
    return f"{day.year}년 {day.month}월 {day.day}일 ({_WEEKDAYS_KO[day.weekday()]}요일)"


def _date_en(day: dt.date) -> str:
    return f"{_WEEKDAYS_EN[day.weekday()]} {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def _time(at: dt.datetime) -> tuple[str, str]:
    local = at.astimezone(SEOUL)
    half_ko = "오전" if local.hour < 12 else "오후"
    hour = local.hour % 12 or 12
    minute_ko = f" {local.minute}분" if local.minute else ""
    minute_en = f":{local.minute:02d}" if local.minute else ""
    ko = f"{_date_ko(local.date())} {half_ko} {hour}시{minute_ko}"
    en = f"{_date_en(local.date())}, {hour}{minute_en} {'a.m.' if local.hour < 12 else 'p.m.'}"
    return ko, en


def _pair(ko: str, en: str, tag: str = "p", cls: str = "") -> str:
    """One line in Korean with its English under it."""
    attr = f' class="{cls}"' if cls else ""
    return f'<{tag}{attr}>{escape(ko)}<span class="en" lang="en">{escape(en)}</span></{tag}>'


def _heading(level: int, ko: str, en: str) -> str:
    return f'<h{level}>{escape(ko)} <span class="en" lang="en">{escape(en)}</span></h{level}>'


def _lines(ko: str, en: str) -> str:
    """Two texts as one sentence per line: paired when both have as many sentences."""
    ko_parts, en_parts = sentences(ko), sentences(en)
    if len(ko_parts) == len(en_parts):
        items = [_pair(k, e, "li") for k, e in zip(ko_parts, en_parts, strict=True)]
    else:
        items = [f"<li>{escape(k)}</li>" for k in ko_parts]
        items += [f'<li class="en" lang="en">{escape(e)}</li>' for e in en_parts]
    return '<ul class="lines">' + "".join(items) + "</ul>"


def _service_section(service: Service) -> str:
    parts = [f'<section class="service" aria-labelledby="service-{escape(service.id)}">']
    parts.append(
        f'<h2 id="service-{escape(service.id)}">{escape(service.name.ko)}'
        f' <span class="en" lang="en">{escape(service.name.en)}</span></h2>'
    )
    parts.append(_heading(3, "가져갈 것", "What to bring"))
    items = [
        _pair(ko, en, "li")
        for ko, en in zip(service.documents.ko, service.documents.en, strict=True)
    ]
    parts.append('<ul class="bring">' + "".join(items) + "</ul>")
    parts.append(_heading(3, "신청하는 곳과 방법", "Where to go and how to apply"))
    parts.append(_lines(service.how_to_apply.ko, service.how_to_apply.en))
    if service.deadline is not None:
        parts.append(_heading(3, "기한", "Deadline"))
        parts.append(
            '<ul class="lines">'
            + _pair(
                f"{service.deadline.describe('ko')}에 하세요.",
                f"Do it {service.deadline.describe('en')}.",
                "li",
            )
            + "</ul>"
        )
    parts.append(_heading(3, "비용", "Cost"))
    parts.append(_lines(service.cost("ko"), service.cost("en")))
    parts.append(_heading(3, "걸리는 시간", "How long it takes"))
    parts.append(_lines(service.processing_time.ko, service.processing_time.en))
    if service.accessibility is not None:  # "a family member can apply for you" and such
        parts.append(_heading(3, "도움을 받는 방법", "If you need help"))
        parts.append(_lines(service.accessibility.ko, service.accessibility.en))
    parts.append("</section>")
    return "\n".join(parts)


def _interpreter_lines(note: InterpreterNote) -> list[tuple[str, str]]:
    who_ko = "수어 통역사" if note.sign_language else "담당자"
    who_en = "a sign-language interpreter" if note.sign_language else "a staff member"
    state = note.state
    if note.scheduled_for is not None and not state.is_final:
        at_ko, at_en = _time(note.scheduled_for)
        return [
            (f"{who_ko}와 만날 시간을 예약했습니다.", f"We booked a time with {who_en}."),
            (f"예약 시간: {at_ko}", f"Booked for: {at_en}"),
        ]
    if state in (QueueState.WAITING, QueueState.OFFERED):
        return [(f"{who_ko}를 기다리고 있습니다.", f"You are waiting for {who_en}.")]
    if state in (QueueState.ACCEPTED, QueueState.IN_SESSION):
        return [(f"{who_ko}가 연결되었습니다.", f"{who_en.capitalize()} has joined.")]
    if state is QueueState.RESOLVED:
        return [(f"{who_ko}와 상담을 마쳤습니다.", f"You finished talking with {who_en}.")]
    if state is QueueState.ABANDONED:
        return [(f"{who_ko} 요청을 취소했습니다.", f"The request for {who_en} was cancelled.")]
    return [
        (f"{who_ko}를 연결하지 못했습니다.", f"We could not reach {who_en} in time."),
        ("창구에 다시 말씀해 주세요.", "Please ask at the desk again."),
    ]


def render_summary(
    *,
    services: Sequence[Service],
    interpreter: InterpreterNote | None,
    centre: str | None,
    helper: str,
    at: dt.datetime,
    deaf: bool = False,
) -> str:
    """The summary page as HTML (a whole document; styles in summary.css).

    ``helper`` is the staff member's name, ``centre`` their community centre, ``at`` the
    visit's date, ``deaf`` whether the citizen said they are deaf or hard of hearing
    (the 107 relay centre is then named as a next step).
    """
    day = at.astimezone(SEOUL).date()
    body: list[str] = [
        '<header class="summary-header">',
        _heading(1, "오늘 상담한 내용", "What we talked about today"),
        '<dl class="meta">',
        _pair("날짜", "Date", "dt"),
        _pair(_date_ko(day), _date_en(day), "dd"),
        _pair("장소", "Place", "dt"),
        # A centre's name is a proper name: the same in both languages.
        f"<dd>{escape(centre)}</dd>"
        if centre
        else _pair("행정복지센터", "The community centre", "dd"),
        _pair("도와드린 사람", "Helped by", "dt"),
        f"<dd>{escape(helper)}</dd>",
        "</dl>",
        "</header>",
        '<main id="main">',
    ]
    if services:
        body.append(
            '<p class="lead">'
            + escape(f"오늘 이야기한 민원은 {len(services)}가지입니다.")
            + f'<span class="en" lang="en">We talked about {len(services)} '
            + ("service" if len(services) == 1 else "services")
            + ".</span></p>"
        )
        body.extend(_service_section(service) for service in services)
    else:
        body.append(_pair(*_NO_SERVICE, cls="lead"))
    if interpreter is not None:
        title = ("수어 통역", "Sign-language interpreter")
        if not interpreter.sign_language:
            title = ("담당자 연결", "A person to help you")
        body.append('<section class="interpreter" aria-labelledby="interpreter-heading">')
        body.append(
            f'<h2 id="interpreter-heading">{escape(title[0])}'
            f' <span class="en" lang="en">{escape(title[1])}</span></h2>'
        )
        body.append(
            '<ul class="lines">'
            + "".join(_pair(ko, en, "li") for ko, en in _interpreter_lines(interpreter))
            + "</ul>"
        )
        body.append("</section>")
    steps = list(_STEPS_FOR_SERVICES) if services else []
    steps += [_STEP_DESK, _STEP_PHONE]
    if deaf or (interpreter is not None and interpreter.sign_language):
        steps.append(_STEP_RELAY)
    body.append('<section class="next" aria-labelledby="next-heading">')
    body.append(
        '<h2 id="next-heading">다음에 할 일 <span class="en" lang="en">What to do next</span></h2>'
    )
    body.append('<ol class="steps">' + "".join(_pair(k, e, "li") for k, e in steps) + "</ol>")
    body.append("</section>")
    body.append("</main>")
    body.append(
        '<p class="no-print actions">'
        '<button type="button" id="print-summary">인쇄하기 · Print</button> '
        '<a href="/staff">창구 콘솔로 돌아가기 · Back to the desk console</a></p>'
    )
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="ko">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>오늘 상담한 내용 · Summary of your visit — {escape(_date_ko(day))}</title>",
            '<link rel="stylesheet" href="/static/consoles/summary.css">',
            "</head>",
            '<body class="summary">',
            *body,
            '<script src="/static/consoles/staff.js"></script>',
            "</body>",
            "</html>",
        ]
    )


def summary_sms(
    *, services: Sequence[Service], interpreter: InterpreterNote | None, language: str
) -> str:
    """The summary as one text message for the citizen's phone (a blind or low-vision
    citizen's screen reader reads it; a printout it cannot): each service's short form
    and accessibility note from the catalog, what became of an interpreter, the next
    steps. No personal data, as on paper."""
    en = language == "en"
    lines = ["[Sotong] What we talked about today" if en else "[소통] 오늘 상담한 내용"]
    for number, service in enumerate(services, start=1):
        name = service.name.en if en else service.name.ko
        short = service.short.en if en else service.short.ko
        lines.append(f"{number}. {name}: {short}")
        if service.accessibility is not None:
            lines.append(service.accessibility.en if en else service.accessibility.ko)
    if not services:
        lines.append(_NO_SERVICE[1] if en else _NO_SERVICE[0])
    if interpreter is not None:
        lines += [
            en_line if en else ko_line for ko_line, en_line in _interpreter_lines(interpreter)
        ]
    steps = [_STEP_DESK, _STEP_PHONE]
    if interpreter is not None and interpreter.sign_language:
        steps.append(_STEP_RELAY)
    lines += [en_step if en else ko_step for ko_step, en_step in steps]
    return "\n".join(lines)


def summary_texts() -> list[tuple[str, str]]:
    """Every fixed sentence the summary may print, as (source, text), for the
    plain-language lint (``assistant.plain_language``)."""
    sample = dt.datetime(2026, 11, 25, 0, 30, tzinfo=dt.UTC)
    pairs: list[tuple[str, tuple[str, str]]] = [
        ("steps", step)
        for step in (*_STEPS_FOR_SERVICES, _STEP_DESK, _STEP_PHONE, _STEP_RELAY, _NO_SERVICE)
    ]
    for sign_language in (True, False):
        for state in QueueState:
            for scheduled in (None, sample):
                note = InterpreterNote(sign_language, state, scheduled)
                pairs += [(f"interpreter.{state.value}", p) for p in _interpreter_lines(note)]
    out: list[tuple[str, str]] = []
    for source, (ko, en) in dict.fromkeys(pairs):
        out += [(f"summary/{source}.ko", ko), (f"summary/{source}.en", en)]
    return out
