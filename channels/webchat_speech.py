"""Speech in and out for the web chat: recorded audio → text, a reply → spoken WAV.

The page records the citizen (``static/webchat/speech.js``: 16 kHz mono PCM16 WAV),
posts it here and gets the text back, shows it, and sends it as a normal message: this
module creates no turn. Replies are read aloud on request, one turn at a time.

Both directions reuse the phone line's engines (``services.voice``): recognition goes
through ``voice.recording`` with the engine ``SOTONG_WEB_SPEECH_ENGINE`` names (Whisper
by default, behind every caller in the recognition pool; Vosk at the upload's own rate
when Whisper is off), and speech through the one ``Speaker`` that owns pyttsx3 on its
own thread (pyttsx3 is not thread-safe). Nothing blocking runs on the event loop.

Limits: an upload is at most ``MAX_AUDIO_BYTES`` (1 MiB) and ``MAX_AUDIO_SECONDS``
(30 s), else 413. The gateway's ``BodySizeLimit`` middleware must allow
``MAX_AUDIO_BYTES`` on ``/api/webchat/sessions/{id}/speech`` (its default is 64 KiB).
"""

from __future__ import annotations

import asyncio
import io
import wave
import weakref
from dataclasses import dataclass
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel

from assistant.api.deps import ServicesDep
from assistant.api.schemas import refusals
from assistant.config import Settings
from assistant.language import Language, as_language
from assistant.services import Services
from assistant.store import TurnDirection
from channels.webchat import webchat_conversation
from voice.codec import SAMPLE_RATE, ulaw_to_pcm
from voice.engines import VoiceEngines
from voice.recording import recognise_recording
from voice.spoken_forms import URL_NOTICE, for_speech

log = structlog.get_logger(__name__)
router = APIRouter(
    prefix="/api/webchat", tags=["webchat"], responses=refusals(404, 413, 422, 429, 503)
)

MAX_AUDIO_BYTES = 1024 * 1024
"""Largest accepted upload (30 s of 16 kHz PCM16 mono is 960 044 bytes)."""
MAX_AUDIO_SECONDS = 30.0
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000
WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
CACHE_CONTROL = "private, max-age=3600"

_SILENT_REPLY_SECONDS = 0.1  # a message with nothing to say still plays (briefly)

# On the page the address is on the screen: "we can text it to you" would be wrong.
SCREEN_NOTICE: dict[str, str] = {
    "ko": "인터넷 주소는 화면에서 보실 수 있어요.",
    "en": "The web address is on the screen.",
}

SessionId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
TurnId = Annotated[int, PathParam(ge=1, le=2**62)]

_MESSAGES: dict[str, dict[Language, str]] = {
    "no_session": {"ko": "대화를 찾을 수 없어요.", "en": "This conversation was not found."},
    "no_turn": {"ko": "이 메시지를 찾을 수 없어요.", "en": "This message was not found."},
    "too_big": {
        "ko": "녹음이 너무 길어요. 30초 안으로 말씀해 주세요.",
        "en": "The recording is too long. Please speak for less than 30 seconds.",
    },
    "unreadable": {
        "ko": "녹음을 읽을 수 없어요. 다시 녹음하거나 글로 적어 주세요.",
        "en": "We could not read the recording. Please record again or type your message.",
    },
    "no_model": {
        "ko": "지금은 이 언어로 음성 입력을 할 수 없어요. 글로 적어 주세요.",
        "en": "Voice input is not available in this language right now. Please type your message.",
    },
    "asr_failed": {
        "ko": "지금은 음성을 알아들을 수 없어요. 글로 적어 주세요.",
        "en": "Voice input is not working right now. Please type your message.",
    },
    "tts_failed": {
        "ko": "지금은 소리로 들려 드릴 수 없어요.",
        "en": "Reading aloud is not working right now.",
    },
}


def _plain(key: str, language: Language) -> str:
    return _MESSAGES[key][language]


class RecognitionOut(BaseModel):
    """What the citizen said: the text to show (and send), and how sure Vosk was."""

    text: str
    # Mean per-word confidence 0..1; null when nothing was recognised.
    confidence: float | None


class AudioProblem(ValueError):
    """The upload is not audio we can read (422) or too long (413)."""

    def __init__(self, key: str, status: int) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


@dataclass(frozen=True)
class Recording:
    """An upload: mono 16-bit PCM at ``rate`` Hz."""

    pcm: bytes
    rate: int
    seconds: float


def read_wav(data: bytes) -> Recording:
    """Check an uploaded WAV (PCM16 mono, 8–48 kHz, ≤ 30 s).

    Raises ``AudioProblem`` ("unreadable" → 422, "too_big" → 413). Call it off the
    event loop (it parses up to a megabyte).
    """
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            width = reader.getsampwidth()
            channels = reader.getnchannels()
            rate = reader.getframerate()
            count = reader.getnframes()
            if width != 2 or channels != 1 or not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
                raise AudioProblem("unreadable", 422)
            if count > MAX_AUDIO_SECONDS * rate:
                raise AudioProblem("too_big", 413)
            pcm = reader.readframes(count)
    except AudioProblem:
        raise
    except (wave.Error, EOFError, ValueError) as exc:  # not RIFF/WAVE, truncated, not PCM
        raise AudioProblem("unreadable", 422) from exc
    pcm = pcm[: len(pcm) - len(pcm) % 2]
    return Recording(pcm, rate, len(pcm) / 2 / rate)


# One web synthesis at a time: the speaker's single thread also says the phone line's
# prompts, and a caller must never wait behind a queue of replies read aloud.
_tts_gates: weakref.WeakKeyDictionary[VoiceEngines, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _tts_gate(engines: VoiceEngines) -> asyncio.Semaphore:
    gate = _tts_gates.get(engines)
    if gate is None:
        gate = _tts_gates[engines] = asyncio.Semaphore(1)
    return gate


def web_engine(services: Services, language: Language) -> str:
    """The engine for an upload in ``language``: the configured one when it can hear that
    language, else the other kind (Whisper for a language with no Vosk model, Vosk at the
    upload's rate when Whisper is not there)."""
    engine = services.settings.web_speech_engine
    has_vosk = services.voice.models.available(language)
    has_whisper = services.voice.whisper is not None
    if engine == "whisper" and not has_whisper and has_vosk:
        return "vosk-16k"
    if engine != "whisper" and not has_vosk and has_whisper:
        return "whisper"
    return engine


async def _read_body(request: Request, language: Language) -> bytes:
    """The request body, refusing (413) past ``MAX_AUDIO_BYTES`` without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_AUDIO_BYTES:
        raise HTTPException(413, _plain("too_big", language))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_AUDIO_BYTES:
            raise HTTPException(413, _plain("too_big", language))
    return bytes(body)


@router.post("/sessions/{session_id}/speech", response_model=RecognitionOut)
async def speech_to_text(
    session_id: SessionId,
    request: Request,
    services: ServicesDep,
    language: Annotated[Literal["ko", "en"] | None, Query()] = None,
) -> RecognitionOut:
    """Recognise a recording (``audio/wav``: PCM16 mono, 8–48 kHz, ≤ 30 s, ≤ 1 MiB).

    ``language`` defaults to the conversation's. Returns the text heard ("" for
    silence) for the page to show and send; nothing is stored. 413: too long or too
    big; 422: not such a WAV; 429: past the limit; 503: no speech model for the language
    (or it failed).
    """
    await services.limits.check(services.limits.speech, request, session_id)
    conversation = await webchat_conversation(services, session_id)
    if conversation is None:
        raise HTTPException(404, _plain("no_session", language or "ko"))
    lang: Language = language or as_language(conversation.language)
    body = await _read_body(request, lang)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in {*WAV_TYPES, "application/octet-stream"}:
        raise HTTPException(422, _plain("unreadable", lang))
    try:
        recording = await asyncio.to_thread(read_wav, body)
    except AudioProblem as problem:
        raise HTTPException(problem.status, _plain(problem.key, lang)) from None
    engines = services.voice
    engine = web_engine(services, lang)
    try:
        heard = await recognise_recording(
            engines,
            lang,
            recording.pcm,
            recording.rate,
            engine=engine,
            concurrency=web_share(services.settings),
        )
    except Exception as exc:  # the model failed to load, a decoder error: say so plainly
        log.error("webchat.speech_failed", language=lang, error=f"{exc.__class__.__name__}")
        raise HTTPException(503, _plain("asr_failed", lang)) from exc
    if heard is None:
        raise HTTPException(503, _plain("no_model", lang))
    log.info(
        "webchat.speech_recognised",
        language=lang,
        engine=engine,
        seconds=round(recording.seconds, 2),
        words=len(heard.words),
    )
    return RecognitionOut(text=heard.text, confidence=heard.confidence if heard.text else None)


def web_share(settings: Settings) -> int:
    """How many ASR threads web chat recordings may hold at once: the configured share,
    but always leaving one to the phone line (with a single thread, both share it)."""
    threads = settings.voice_asr_threads
    return max(1, min(settings.web_speech_threads, threads - 1))


def spoken_text(text: str, language: Language) -> str:
    """A chat message as it should be read aloud on the page (addresses are on screen)."""
    spoken = for_speech(text, language)
    notice = URL_NOTICE[language]
    if spoken.endswith(notice):
        spoken = spoken[: -len(notice)].rstrip() + " " + SCREEN_NOTICE[language]
    return spoken.strip()


def wav_bytes(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono PCM as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return out.getvalue()


@router.get("/sessions/{session_id}/messages/{turn_id}/speech")
async def text_to_speech(session_id: SessionId, turn_id: TurnId, services: ServicesDep) -> Response:
    """One bot or person message of this session read aloud (``audio/wav``, 8 kHz),
    in the message's language. 404 for a citizen's message or another session's."""
    conversation = await webchat_conversation(services, session_id)
    if conversation is None:
        raise HTTPException(404, _plain("no_session", "ko"))
    turns = await services.store.transcript(session_id, after_id=turn_id - 1)
    turn = turns[0] if turns else None
    if turn is None or turn.id != turn_id or turn.direction != TurnDirection.OUTBOUND:
        raise HTTPException(404, _plain("no_turn", as_language(conversation.language)))
    language = as_language(turn.language)
    text = spoken_text(turn.text, language)
    speaker = services.voice.speaker
    try:
        if not text:
            ulaw = b""
        elif speaker.cached(text, language):
            ulaw = await speaker.speak(text, language)
        else:
            async with _tts_gate(services.voice):
                ulaw = await speaker.speak(text, language)
    except Exception as exc:  # espeak-ng missing or stuck: the page shows the text anyway
        log.error("webchat.tts_failed", language=language, error=f"{exc.__class__.__name__}")
        raise HTTPException(503, _plain("tts_failed", language)) from exc
    pcm = ulaw_to_pcm(ulaw) if ulaw else b""
    if not pcm:
        pcm = b"\x00\x00" * int(SAMPLE_RATE * _SILENT_REPLY_SECONDS)
    return Response(
        content=wav_bytes(pcm),
        media_type="audio/wav",
        headers={"Cache-Control": CACHE_CONTROL},
    )
