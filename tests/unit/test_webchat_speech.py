"""Speech in and out for the web chat, through the real gateway with real engines.

The whole gateway runs in process (create_app, lifespan, SQLite store); recognition is
the real Vosk Korean model (loaded on first use, a few seconds) and synthesis the real
pyttsx3/espeak-ng ``Speaker`` of ``services.voice``. No Rasa is needed: sessions are
opened through the API and the bot's messages are stored directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from assistant.app import create_app
from assistant.config import PROJECT_DIR, Settings
from assistant.services import Services
from channels.webchat_speech import (
    MAX_AUDIO_BYTES,
    SCREEN_NOTICE,
    read_wav,
    spoken_text,
    web_engine,
    web_share,
)
from tests.conftest import missing_part
from tests.speech_data import korean_dev_manifest
from voice.codec import level_dbfs, resample_pcm
from voice.spoken_forms import URL_NOTICE
from voice.whisper_model import default_whisper_dir

# One gateway (one speech model, one speaker) for the module, on the module's loop.
in_module_loop = pytest.mark.asyncio(loop_scope="module")

KOREAN = "주민등록등본을 떼고 싶어요. 어디로 가면 되나요?"
REPLY_KO = "등본은 정부24 https://www.gov.kr 에서 떼실 수 있어요. 문의는 02-2100-1234 입니다."
REPLY_EN = "You can get a copy at any community centre from 09:00 to 18:00."
DEFAULT_BODY_LIMIT = 64 * 1024  # the gateway's limit for every other path


def wav_file(pcm: bytes, rate: int, *, channels: int = 1, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return out.getvalue()


def silence(seconds: float, rate: int = 16000) -> bytes:
    return b"\x00\x00" * int(seconds * rate)


@pytest.fixture(scope="module")
def korean_wav() -> bytes:
    """A Korean sentence spoken by espeak-ng, as the page sends it (16 kHz PCM16 mono)."""
    binary = shutil.which("espeak-ng")
    assert binary, "espeak-ng is not installed: run scripts/setup.sh (apt package)"
    out = io.BytesIO()
    done = subprocess.run(
        [binary, "-v", "ko", "--stdout", KOREAN], check=True, capture_output=True, timeout=30
    )
    out.write(done.stdout)
    out.seek(0)
    with wave.open(out, "rb") as reader:
        rate = reader.getframerate()
        pcm = reader.readframes(reader.getnframes())
    return wav_file(silence(0.3) + resample_pcm(pcm, rate, 16000) + silence(0.5), 16000)


@dataclass
class Gateway:
    client: httpx.AsyncClient
    services: Services

    async def session(self, language: str = "ko") -> str:
        response = await self.client.post("/api/webchat/sessions", json={"language": language})
        assert response.status_code == 201, response.text
        session_id: str = response.json()["session_id"]
        return session_id

    async def speech(
        self,
        session_id: str,
        body: bytes,
        language: str | None = "ko",
        content_type: str = "audio/wav",
    ) -> httpx.Response:
        params = {"language": language} if language else {}
        return await self.client.post(
            f"/api/webchat/sessions/{session_id}/speech",
            content=body,
            params=params,
            headers={"content-type": content_type},
        )


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Gateway]:
    """A gateway app with its lifespan, spoken to in-process."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Gateway(client, app.state.services)


@pytest.fixture(scope="module")
def gateway_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("webchat-speech")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway(gateway_dir: Path) -> AsyncIterator[Gateway]:
    settings = Settings(
        env="development",
        var_dir=gateway_dir,  # no English model under it
        vosk_model_en=None,
        voice_preload=False,  # Korean loads on the first recognition
        rasa_url="http://127.0.0.1:9",  # not used: no message is sent to the bot
        pending_retry_seconds=3600,
        # Every recording of the module comes from one test address (the limits have
        # their own tests in test_ratelimit.py).
        limit_speech="100000/minute",
        limit_session_speech="100000/minute",
    )
    async with running(settings) as gateway:
        yield gateway


# ---- out: a reply read aloud ------------------------------------------------------------


@in_module_loop
async def test_a_bot_reply_comes_as_audible_wav_in_its_language(gateway: Gateway) -> None:
    session = await gateway.session("ko")
    store = gateway.services.store
    korean = await store.record_outbound(session, REPLY_KO, "ko")
    english = await store.record_outbound(session, REPLY_EN, "en", author="person:kim")

    response = await gateway.client.get(
        f"/api/webchat/sessions/{session}/messages/{korean.id}/speech"
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == "private, max-age=3600"
    with wave.open(io.BytesIO(response.content), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        rate = reader.getframerate()
        pcm = reader.readframes(reader.getnframes())
    seconds = len(pcm) / 2 / rate
    assert seconds > 3.0  # the whole sentence, phone number digit by digit
    assert level_dbfs(pcm) > -35  # speech, not silence (-120)
    # Spoken exactly as the shared speaker says it (its cache holds the spoken form).
    assert gateway.services.voice.speaker.cached(spoken_text(REPLY_KO, "ko"), "ko")

    # A person's message in English is read in English, whatever the session's language.
    response = await gateway.client.get(
        f"/api/webchat/sessions/{session}/messages/{english.id}/speech"
    )
    assert response.status_code == 200
    with wave.open(io.BytesIO(response.content), "rb") as reader:
        pcm = reader.readframes(reader.getnframes())
    assert level_dbfs(pcm) > -35
    assert gateway.services.voice.speaker.cached(spoken_text(REPLY_EN, "en"), "en")


@in_module_loop
async def test_only_this_sessions_outbound_messages_are_read(gateway: Gateway) -> None:
    session, other = await gateway.session(), await gateway.session()
    store = gateway.services.store
    citizen, _ = await store.record_inbound(session, "등본 떼고 싶어요", "ko")
    bot = await store.record_outbound(session, "네, 알려 드릴게요.", "ko", reply_to=citizen.id)
    elsewhere = await store.record_outbound(other, "다른 대화의 답이에요.", "ko")

    def url(session_id: str, turn_id: int) -> str:
        return f"/api/webchat/sessions/{session_id}/messages/{turn_id}/speech"

    for path in (
        url(session, citizen.id),  # the citizen's own message
        url(session, elsewhere.id),  # another conversation's reply
        url(session, bot.id + 1000),  # no such message
        url("0" * 32, bot.id),  # no such session
    ):
        response = await gateway.client.get(path)
        assert response.status_code == 404, path
        assert isinstance(response.json()["detail"], str)
    assert (await gateway.client.get(url(session, 0))).status_code == 422
    assert (await gateway.client.get(url(session, bot.id))).status_code == 200


def test_addresses_are_said_to_be_on_the_screen_not_texted() -> None:
    spoken = spoken_text(REPLY_KO, "ko")
    assert "https" not in spoken and "공이, 이일공공, 일이삼사" in spoken
    assert URL_NOTICE["ko"] not in spoken and spoken.endswith(SCREEN_NOTICE["ko"])
    assert spoken_text("See https://www.gov.kr", "en").endswith(SCREEN_NOTICE["en"])
    assert spoken_text("No address here.", "en") == "No address here."


# ---- in: a recording recognised -----------------------------------------------------------


@in_module_loop
async def test_a_korean_recording_runs_through_vosk_at_its_own_rate_and_creates_no_turn(
    gateway: Gateway, korean_wav: bytes
) -> None:
    session = await gateway.session("ko")
    # Bigger than the gateway's default body limit: the speech path must allow it.
    assert DEFAULT_BODY_LIMIT < len(korean_wav) < MAX_AUDIO_BYTES

    response = await gateway.speech(session, korean_wav, language="ko")
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result) == {"text", "confidence"}
    # espeak-ng's Korean is not what the model was trained on: the words vary, but the
    # pipeline ran end to end and the recogniser went back to the pool.
    assert isinstance(result["text"], str)
    if result["text"]:
        assert 0.0 <= result["confidence"] <= 1.0
    else:
        assert result["confidence"] is None
    # No Whisper model in this gateway's folder: Vosk at the upload's 16 kHz decodes it.
    assert gateway.services.voice.pooled("ko", 16000) >= 1
    assert await gateway.services.store.transcript(session) == []

    # The language defaults to the conversation's (Korean here).
    response = await gateway.speech(session, korean_wav, language=None)
    assert response.status_code == 200, response.text


@in_module_loop
async def test_web_recordings_never_take_every_asr_thread_from_the_phone_line(
    gateway: Gateway, korean_wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import voice.recording

    running, most = 0, 0
    lock = threading.Lock()
    real = voice.recording.transcribe

    def slow_transcribe(*args: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.4)  # a long recording
        with lock:
            running -= 1
        return real(*args)

    monkeypatch.setattr(voice.recording, "transcribe", slow_transcribe)
    session = await gateway.session("ko")
    engines = gateway.services.voice
    assert gateway.services.settings.voice_asr_threads == 2
    uploads = [
        asyncio.ensure_future(gateway.speech(session, korean_wav, language="ko")) for _ in range(3)
    ]
    await asyncio.sleep(0.2)
    # Three citizens speak at once on the web; a call's decode still starts at once.
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    waited = await loop.run_in_executor(engines.asr_executor, lambda: time.monotonic() - started)
    responses = await asyncio.gather(*uploads)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert most == 1, "web recordings held every ASR thread"
    assert waited < 0.2


def test_the_web_share_always_leaves_the_phone_a_thread(tmp_path: Path) -> None:
    def share(threads: int, web: int) -> int:
        return web_share(
            Settings(
                _env_file=None, var_dir=tmp_path, voice_asr_threads=threads, web_speech_threads=web
            )
        )

    assert [share(1, 1), share(2, 1), share(2, 2), share(4, 2), share(4, 9)] == [1, 1, 1, 2, 3]


@in_module_loop
async def test_silence_is_heard_as_nothing(gateway: Gateway) -> None:
    session = await gateway.session("ko")
    for rate in (8000, 16000, 44100, 48000):
        response = await gateway.speech(session, wav_file(silence(2.0, rate), rate))
        assert response.status_code == 200, (rate, response.text)
        assert response.json() == {"text": "", "confidence": None}
    empty = await gateway.speech(session, wav_file(b"", 16000))
    assert empty.json() == {"text": "", "confidence": None}


@in_module_loop
async def test_too_long_or_too_big_is_413_in_plain_words(gateway: Gateway) -> None:
    session = await gateway.session("ko")
    # 31 s at 8 kHz is only ~0.5 MB: refused for its length.
    long = await gateway.speech(session, wav_file(silence(31.0, 8000), 8000))
    assert long.status_code == 413
    assert "30초" in long.json()["detail"]
    # Exactly 30 s at 16 kHz (what the page's hard stop produces) is fine.
    exact = await gateway.speech(session, wav_file(silence(30.0), 16000))
    assert exact.status_code == 200, exact.text

    too_big = wav_file(silence(40.0), 16000)
    assert len(too_big) > MAX_AUDIO_BYTES
    response = await gateway.speech(session, too_big)
    assert response.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(too_big), 65536):
            yield too_big[start : start + 65536]

    streamed = await gateway.client.post(
        f"/api/webchat/sessions/{session}/speech",
        content=chunks(),
        headers={"content-type": "audio/wav"},
    )
    assert streamed.status_code == 413


@in_module_loop
async def test_unreadable_audio_is_422_in_plain_words(gateway: Gateway) -> None:
    session = await gateway.session("en")
    one_second = silence(1.0)
    bad = {
        "not a wav": b"OggS" + b"\x00" * 2000,
        "truncated": wav_file(one_second, 16000)[:30],
        "8-bit": wav_file(b"\x80" * 16000, 16000, width=1),
        "stereo": wav_file(one_second * 2, 16000, channels=2),
        "96 kHz": wav_file(silence(1.0, 96000), 96000),
        "4 kHz": wav_file(silence(1.0, 4000), 4000),
    }
    for name, body in bad.items():
        response = await gateway.speech(session, body, language=None)
        assert response.status_code == 422, name
        assert response.json()["detail"].startswith("We could not read the recording"), name
    webm = await gateway.speech(session, wav_file(one_second, 16000), content_type="audio/webm")
    assert webm.status_code == 422
    assert (await gateway.speech(session, b"", language="fr")).status_code == 422


@in_module_loop
async def test_english_without_an_english_model_is_503_in_plain_words(gateway: Gateway) -> None:
    session = await gateway.session("en")
    response = await gateway.speech(session, wav_file(silence(1.0), 16000), language="en")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "Voice input is not available in this language right now. "
        "Please type your message."
    }
    korean = await gateway.speech(session, wav_file(silence(1.0), 16000), language="ko")
    assert korean.status_code == 200


@in_module_loop
async def test_an_unknown_session_is_404(gateway: Gateway) -> None:
    response = await gateway.speech("f" * 32, wav_file(silence(1.0), 16000))
    assert response.status_code == 404
    assert (await gateway.speech("not-a-session", b"")).status_code == 422


def test_recordings_keep_their_own_rate_for_the_engine_to_resample() -> None:
    recording = read_wav(wav_file(silence(2.0, 48000), 48000))
    assert recording.seconds == pytest.approx(2.0)
    assert (recording.rate, len(recording.pcm)) == (48000, 2 * 48000 * 2)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def whisper_gateway(gateway_dir: Path) -> AsyncIterator[Gateway]:
    model = default_whisper_dir(PROJECT_DIR / "var")
    if not (model / "model.bin").is_file():
        missing_part("the Whisper model: run `sotong models prepare` (scripts/setup.sh does)")
    settings = Settings(
        env="development",
        var_dir=gateway_dir / "whisper",
        vosk_model_en=None,
        whisper_model=model,
        web_speech_engine="whisper",
        voice_preload=False,
        rasa_url="http://127.0.0.1:9",
        pending_retry_seconds=3600,
    )
    async with running(settings) as gateway:
        yield gateway


@in_module_loop
async def test_with_whisper_real_korean_and_english_are_heard_on_the_web(
    whisper_gateway: Gateway,
) -> None:
    clip = korean_dev_manifest().parent / "ko_test_0006.wav"  # 야권은 여당에서 …
    session = await whisper_gateway.session("ko")
    response = await whisper_gateway.speech(session, clip.read_bytes(), language="ko")
    assert response.status_code == 200, response.text
    assert "여당에서" in response.json()["text"]
    # English needs no English Vosk model any more: Whisper hears it (a real recording).
    prompt = Path("/usr/share/asterisk/sounds/en_US_f_Allison/auth-thankyou.wav")
    if not prompt.is_file():
        missing_part("asterisk-core-sounds-en-wav (scripts/apt-packages.txt)")
    response = await whisper_gateway.speech(session, prompt.read_bytes(), language="en")
    assert response.status_code == 200, response.text
    assert "thank you" in response.json()["text"].lower()


@in_module_loop
async def test_the_default_engine_is_vosk_at_16k_and_whisper_hears_what_vosk_cannot(
    whisper_gateway: Gateway,
) -> None:
    services = whisper_gateway.services
    assert Settings.model_fields["web_speech_engine"].default == "vosk-16k"
    configured = services.settings.web_speech_engine
    try:
        services.settings.web_speech_engine = "vosk-16k"
        assert web_engine(services, "ko") == "vosk-16k"  # measured the better on 16 kHz Korean
        assert web_engine(services, "en") == "whisper"  # no English Vosk model here
    finally:
        services.settings.web_speech_engine = configured
