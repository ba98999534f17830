"""Speech in and out for the web chat: recorded audio → text, a reply → spoken WAV.

The page records the citizen (``static/webchat/speech.js``: 16 kHz mono PCM16 WAV),
posts it here and gets the text back, shows it, and sends it as a normal message: this
module creates no turn. Replies are read aloud on request, one turn at a time.

Both directions reuse the phone line's engines (``services.voice``): Vosk recognisers
from the shared pool (8 kHz, so uploads are resampled with soxr) decoded in the ASR
worker threads, and the one ``Speaker`` that owns pyttsx3 on its own thread (pyttsx3 is
not thread-safe). Nothing blocking runs on the event loop.

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
from assistant.language import Language, as_language
from assistant.store import TurnDirection
from voice.asr import CallRecognizer, Transcript
from voice.codec import SAMPLE_RATE, resample_pcm, ulaw_to_pcm
from voice.engines import VoiceEngines
from voice.spoken_forms import URL_NOTICE, for_speech

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/webchat", tags=["webchat"])

MAX_AUDIO_BYTES = 1024 * 1024
"""Largest accepted upload (30 s of 16 kHz PCM16 mono is 960 044 bytes)."""
MAX_AUDIO_SECONDS = 30.0
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000
WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
CACHE_CONTROL = "private, max-age=3600"

_CHUNK_BYTES = 8000  # 0.5 s of 8 kHz PCM16 per AcceptWaveform call
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
    """An upload as the recogniser wants it: 8 kHz mono 16-bit PCM."""

    pcm: bytes
    seconds: float


def read_wav(data: bytes) -> Recording:
    """Check an uploaded WAV (PCM16 mono, 8–48 kHz, ≤ 30 s) and resample it to 8 kHz.

    Raises ``AudioProblem`` ("unreadable" → 422, "too_big" → 413). Blocking (soxr):
    call it off the event loop.
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
    seconds = len(pcm) / 2 / rate
    return Recording(resample_pcm(pcm, rate, SAMPLE_RATE), seconds)


def transcribe(recognizer: CallRecognizer, pcm: bytes) -> Transcript:
    """Everything said in ``pcm`` (8 kHz PCM16), as one transcript. Blocking (Vosk):
    runs in the engines' ASR threads, all of one recogniser's calls in this one job."""
    recognizer.set_mode("free")
    parts: list[Transcript] = []
    for start in range(0, len(pcm), _CHUNK_BYTES):
        heard = recognizer.accept(pcm[start : start + _CHUNK_BYTES])
        if heard is not None:
            parts.append(heard)
    last = recognizer.finish()
    if last.text:
        parts.append(last)
    words = tuple(word for part in parts for word in part.words)
    if not words:
        return Transcript(text="", confidence=0.0, words=())
    # Weighted by words, as Transcript.confidence is a per-word mean.
    confidence = sum(part.confidence * len(part.words) for part in parts) / len(words)
    return Transcript(text=" ".join(words), confidence=confidence, words=words)


# At most ``voice_asr_threads`` web recognitions hold a recogniser at once, per engines
# (each recogniser is ~35 MB; the ASR threads are the real limit anyway).
_asr_gates: weakref.WeakKeyDictionary[VoiceEngines, asyncio.Semaphore] = weakref.WeakKeyDictionary()
# One web synthesis at a time: the speaker's single thread also says the phone line's
# prompts, and a caller must never wait behind a queue of replies read aloud.
_tts_gates: weakref.WeakKeyDictionary[VoiceEngines, asyncio.Semaphore] = weakref.WeakKeyDictionary()
# Recognitions whose request went away: kept referenced until they return their recogniser.
_orphans: set[asyncio.Task[Transcript | None]] = set()


def _gate(
    gates: weakref.WeakKeyDictionary[VoiceEngines, asyncio.Semaphore],
    engines: VoiceEngines,
    size: int,
) -> asyncio.Semaphore:
    gate = gates.get(engines)
    if gate is None:
        gate = gates[engines] = asyncio.Semaphore(size)
    return gate


async def recognise(
    engines: VoiceEngines, language: Language, pcm: bytes, concurrency: int
) -> Transcript | None:
    """Decode ``pcm`` with a pooled recogniser; None when no model serves ``language``.

    The recogniser goes back to the pool only after its decode finished, even if the
    request is cancelled meanwhile (a reset racing a decode would corrupt it).
    """

    async def work() -> Transcript | None:
        async with _gate(_asr_gates, engines, concurrency):
            recognizer, _warm = await engines.recognizer(language)
            if recognizer is None:
                return None
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(engines.asr_executor, transcribe, recognizer, pcm)
            finally:
                await engines.release(language, recognizer)

    task = asyncio.ensure_future(work())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            _orphans.add(task)
            task.add_done_callback(_orphans.discard)
        raise


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
    big; 422: not such a WAV; 503: no speech model for the language (or it failed).
    """
    conversation = await services.store.get_conversation(session_id)
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
    if not engines.models.available(lang):
        raise HTTPException(503, _plain("no_model", lang))
    try:
        heard = await recognise(
            engines, lang, recording.pcm, concurrency=services.settings.voice_asr_threads
        )
    except Exception as exc:  # the model failed to load, a decoder error: say so plainly
        log.error("webchat.speech_failed", language=lang, error=f"{exc.__class__.__name__}")
        raise HTTPException(503, _plain("asr_failed", lang)) from exc
    if heard is None:
        raise HTTPException(503, _plain("no_model", lang))
    log.info(
        "webchat.speech_recognised",
        language=lang,
        seconds=round(recording.seconds, 2),
        words=len(heard.words),
    )
    return RecognitionOut(text=heard.text, confidence=heard.confidence if heard.text else None)


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
    conversation = await services.store.get_conversation(session_id)
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
            async with _gate(_tts_gates, services.voice, 1):
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
