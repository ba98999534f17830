"""Property tests (hypothesis) of every parser of outside input (issue 16's proof).

Each parser meets text or bytes a stranger chose: a Twilio form, a Media Streams frame,
caller audio, an SMS reply to be cut, a date a citizen typed, a web chat message. For
any input each must answer with its result or its own declared refusal — never another
exception (which would be a 500, a dropped call or a lost message) — and what it keeps
must hold (RRN masking has its own properties in test_privacy.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from assistant.language import choose_language
from assistant.reminders.dates import MAX_FUTURE_DAYS, OLDEST_YEARS_BACK, parse_event_date
from channels.sms.segments import SmsBudget, paginate, segment_count
from channels.sms.wire import MalformedSms, parse_inbound, parse_status
from channels.voice.wire import MAX_FRAME_BYTES, MalformedFrame, UnknownEvent, parse_frame
from channels.webchat import AccessibilityIn, MessageIn
from voice.codec import level_dbfs, pcm_to_ulaw, ulaw_to_pcm
from voice.events import CallerAudio, CallStarted, CallStopped, KeyPressed, MarkPlayed

# Text as strangers send it: any code point, Korean, emoji, control and zero-width
# characters, full-width forms.
ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("가나다라마바사아자차카타파하 0123456789０１２３\u200b\u200d\ufeff\n\t"),
    ),
    max_size=400,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- Twilio forms -------------------------------------------------------------------
FORM_VALUES = st.one_of(ANY_TEXT, st.integers(), st.none(), st.lists(ANY_TEXT, max_size=2))
FORM_KEYS = st.sampled_from(
    ["From", "To", "Body", "MessageSid", "SmsSid", "NumMedia", "NumSegments", "FromCountry",
     "MessageStatus", "SmsStatus", "ErrorCode", "AccountSid", "Other"]
)  # fmt: skip


@PROPERTY
@given(st.dictionaries(FORM_KEYS | ANY_TEXT, FORM_VALUES, max_size=12))
def test_an_sms_form_is_a_message_or_refused_as_malformed(form: dict[str, Any]) -> None:
    try:
        sms = parse_inbound(form)
    except MalformedSms:
        return
    assert sms.from_number and sms.message_sid
    assert isinstance(sms.body, str)


@PROPERTY
@given(
    sid=st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True),
    sender=st.from_regex(r"\+8210[0-9]{8}", fullmatch=True),
    body=ANY_TEXT,
)
def test_a_well_formed_sms_form_keeps_its_body(sid: str, sender: str, body: str) -> None:
    sms = parse_inbound({"MessageSid": sid, "From": sender, "Body": body, "NumMedia": "0"})
    assert (sms.message_sid, sms.from_number) == (sid, sender)
    assert body.strip() == sms.body.strip() or not body.strip()


@PROPERTY
@given(st.dictionaries(FORM_KEYS, FORM_VALUES, max_size=8))
def test_a_status_callback_is_a_report_or_none(form: dict[str, Any]) -> None:
    report = parse_status(form)
    assert report is None or (report.message_sid and report.status)


# ---- Media Streams frames -------------------------------------------------------------
@PROPERTY
@given(st.one_of(ANY_TEXT, st.binary(max_size=600)))
def test_any_frame_text_is_an_event_or_malformed(raw: str | bytes) -> None:
    try:
        event = parse_frame(raw)
    except MalformedFrame:
        return
    assert (
        isinstance(
            event, UnknownEvent | CallerAudio | CallStarted | CallStopped | KeyPressed | MarkPlayed
        )
        or type(event).__name__ == "StreamConnected"
    )


FRAME_EVENTS = st.sampled_from(["connected", "start", "media", "dtmf", "mark", "stop", "x"])


@PROPERTY
@given(
    event=FRAME_EVENTS,
    body=st.dictionaries(
        st.sampled_from(["start", "media", "dtmf", "mark", "stop", "streamSid", "protocol",
                         "sequenceNumber", "payload", "track", "digit", "name", "callSid"]),
        JSON_VALUES,
        max_size=6,
    ),
)  # fmt: skip
def test_any_json_frame_is_an_event_or_malformed(event: str, body: dict[str, Any]) -> None:
    try:
        parse_frame(json.dumps({"event": event, **body}))
    except MalformedFrame:
        pass


@PROPERTY
@given(audio=st.binary(max_size=400), track=st.sampled_from(["inbound", "outbound"]))
def test_media_frames_carry_the_callers_audio_exactly(audio: bytes, track: str) -> None:
    frame = {
        "event": "media",
        "streamSid": "MZ" + "0" * 32,
        "media": {"track": track, "chunk": "1", "timestamp": "20",
                  "payload": base64.b64encode(audio).decode()},
    }  # fmt: skip
    event = parse_frame(json.dumps(frame))
    if track == "inbound":
        assert isinstance(event, CallerAudio) and event.ulaw == audio
    else:
        assert isinstance(event, UnknownEvent)


def test_an_oversized_frame_is_refused_before_it_is_read() -> None:
    try:
        parse_frame("{" + " " * MAX_FRAME_BYTES + "}")
    except MalformedFrame:
        return
    raise AssertionError("an oversized frame was read")


# ---- μ-law codec --------------------------------------------------------------------
@PROPERTY
@given(st.binary(max_size=800))
def test_mulaw_decodes_to_pcm_and_back(ulaw: bytes) -> None:
    pcm = ulaw_to_pcm(ulaw)
    assert len(pcm) == 2 * len(ulaw)
    # Two codes mean zero (0x7F and 0xFF): the round trip keeps what they sound like.
    assert ulaw_to_pcm(pcm_to_ulaw(pcm)) == pcm
    assert level_dbfs(pcm) <= 0.0


# ---- SMS segmentation -----------------------------------------------------------------
@PROPERTY
@given(
    text=ANY_TEXT,
    segments=st.integers(1, 3),
    per_page=st.integers(1, 3),
    hint=st.sampled_from(["더 보려면 '더보기'라고 보내 주세요.", "Reply MORE for the rest."]),
)
def test_an_answer_is_cut_into_pages_within_the_budget(
    text: str, segments: int, per_page: int, hint: str
) -> None:
    budget = SmsBudget(segments_per_message=segments, messages_per_page=per_page)
    pages = paginate(text, budget, hint)
    for number, page in enumerate(pages):
        assert 1 <= len(page) <= per_page
        for message in page:
            assert message.strip() and segment_count(message) <= segments
        if number < len(pages) - 1:
            assert page[-1].endswith(hint)
    # Nothing the citizen should read is lost (only whitespace at the cuts).
    kept = "".join("".join(page) for page in pages).replace(hint, "")
    assert "".join(text.split()) == "".join(kept.split())


# ---- language choice ------------------------------------------------------------------
@PROPERTY
@given(text=ANY_TEXT, current=st.sampled_from(["ko", "en"]))
def test_the_language_is_always_korean_or_english(text: str, current: str) -> None:
    assert choose_language(text, current) in ("ko", "en")  # type: ignore[arg-type]


# ---- reminder dates -------------------------------------------------------------------
@PROPERTY
@given(
    text=st.one_of(
        ANY_TEXT,
        st.from_regex(r"[0-9]{1,4}[월/.\- ][0-9]{1,3}일?", fullmatch=True),
        st.from_regex(r"(20[0-9]{2})[년./\-] ?[0-9]{1,2}[월./\-] ?[0-9]{1,2}일?", fullmatch=True),
        st.sampled_from(["어제", "그제", "오늘", "3일 전", "지난달 31일", "Feb 30", "11/31"]),
    ),
    today=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31)),
)
def test_a_typed_date_is_a_real_recent_date_or_none(text: str, today: dt.date) -> None:
    found = parse_event_date(text, today)
    if found is not None:
        assert found <= today + dt.timedelta(days=MAX_FUTURE_DAYS)
        assert found.year >= today.year - OLDEST_YEARS_BACK  # a deadline may still be ahead


# ---- web chat messages ----------------------------------------------------------------
@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from(["text", "payload", "client_message_id", "extra"]),
        JSON_VALUES,
        max_size=4,
    )
)
def test_a_web_chat_message_is_accepted_or_refused_with_422(body: dict[str, Any]) -> None:
    try:
        message = MessageIn.model_validate(body)
    except ValidationError:
        return
    assert message.text.strip() and len(message.text) <= 2000
    if message.client_message_id is not None:
        assert set(message.client_message_id) <= set(string.ascii_letters + string.digits + "_.:-")


@PROPERTY
@given(st.dictionaries(ANY_TEXT | st.sampled_from(["deaf", "easy_read"]), JSON_VALUES, max_size=4))
def test_web_chat_settings_are_known_needs_each_yes_or_no(body: dict[str, Any]) -> None:
    try:
        settings_in = AccessibilityIn.model_validate(body)
    except ValidationError:
        return
    assert all(isinstance(v, bool) for v in settings_in.given().values())


def test_what_the_property_tests_found_in_twilio_forms() -> None:
    """Two finds of the properties above, kept as examples: a count in other digits
    ("²" passes str.isdigit) raised ValueError instead of a refusal, and a status
    callback whose sid is blanks was taken as a report."""
    form = {"MessageSid": "SM" + "0" * 32, "From": "+821012345678", "NumMedia": "²"}
    try:
        parse_inbound(form)
    except MalformedSms:
        pass
    else:
        raise AssertionError("a count written in other digits was accepted")
    assert parse_status({"MessageSid": " ", "MessageStatus": "0"}) is None
    assert parse_status({"MessageSid": "SM1", "MessageStatus": " "}) is None
