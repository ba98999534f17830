"""speech.js in real Chromium against a real gateway: record, recognise, hard stop, play.

Chromium's fake microphone plays an espeak-ng Korean sentence (a WAV file), so the page
records real speech through getUserMedia + AudioWorklet (and the ScriptProcessor
fallback), encodes 16 kHz WAV and posts it to the gateway's Vosk. The gateway runs in
this process (create_app, SQLite, no Rasa: the bot's message is stored directly).
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import threading
import time
import wave
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from assistant.app import create_app
from assistant.config import Settings
from tests.stackutil import free_port
from voice.codec import resample_pcm

T = TypeVar("T")
KOREAN = "주민등록등본을 떼고 싶어요. 어디로 가면 되나요?"


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Chromium's fake microphone plays (in a loop): 1 s silence, speech, 1 s silence."""
    spoken = subprocess.run(
        ["espeak-ng", "-v", "ko", "--stdout", KOREAN], check=True, capture_output=True, timeout=30
    ).stdout
    with wave.open(io.BytesIO(spoken)) as reader:
        pcm = resample_pcm(reader.readframes(reader.getnframes()), reader.getframerate(), 48000)
    path = tmp_path_factory.mktemp("microphone") / "korean.wav"
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(48000)
        writer.writeframes(b"\x00\x00" * 48000 + pcm + b"\x00\x00" * 48000)
    return path


@pytest.fixture(scope="module")
def chromium_extra_args(microphone: Path) -> list[str]:
    return [
        "--use-fake-ui-for-media-stream",  # the microphone is allowed without asking
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ]


@dataclass
class Gateway:
    url: str
    app: Any
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the gateway's loop (e.g. to store a bot message)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    import uvicorn

    settings = Settings(
        env="development",
        var_dir=tmp_path_factory.mktemp("speech-gateway"),
        vosk_model_en=None,
        voice_preload=False,
        rasa_url="http://127.0.0.1:9",
        pending_retry_seconds=3600,
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "gateway did not start"
        time.sleep(0.05)
    try:
        yield Gateway(f"http://127.0.0.1:{port}", app, loop)
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
def page(browser: Any, gateway: Gateway) -> Iterator[Any]:
    page = browser.new_page()
    page.goto(gateway.url + "/")
    if not page.evaluate("typeof window.SotongSpeech === 'object'"):
        page.add_script_tag(url="/static/webchat/speech.js")  # until index.html loads it
    yield page
    page.close()


def new_session(page: Any) -> str:
    session_id: str = page.evaluate(
        """async () => {
            const response = await fetch('/api/webchat/sessions', {
                method: 'POST', headers: {'content-type': 'application/json'},
                body: JSON.stringify({language: 'ko'})});
            return (await response.json()).session_id;
        }"""
    )
    return session_id


RECORD_AND_RECOGNISE = """async ([sessionId, seconds]) => {
    await SotongSpeech.start();
    const during = SotongSpeech.state();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const elapsed = SotongSpeech.elapsed();
    const wav = await SotongSpeech.stop();
    const view = new DataView(await wav.arrayBuffer());
    const heard = await SotongSpeech.recognise(sessionId, wav, 'ko');
    return {during, after: SotongSpeech.state(), elapsed, size: wav.size, type: wav.type,
            channels: view.getUint16(22, true), rate: view.getUint32(24, true),
            bits: view.getUint16(34, true), heard};
}"""


@pytest.mark.parametrize("capture", ["worklet", "script-processor"])
def test_a_recording_is_16khz_wav_and_the_gateway_hears_it(page: Any, capture: str) -> None:
    if capture == "script-processor":
        page.evaluate("window.AudioWorkletNode = undefined")  # an older browser
    assert page.evaluate("SotongSpeech.supported()")
    session = new_session(page)
    result = page.evaluate(RECORD_AND_RECOGNISE, [session, 5])
    assert (result["during"], result["after"]) == ("recording", "idle")
    assert result["type"] == "audio/wav"
    assert (result["channels"], result["rate"], result["bits"]) == (1, 16000, 16)
    assert abs(result["size"] - 44 - 2 * 16000 * result["elapsed"]) < 3200  # within 0.1 s
    # espeak-ng's Korean is not what the model knows: some words, whatever they are.
    assert result["heard"]["text"].strip()
    assert 0.0 < result["heard"]["confidence"] <= 1.0


def test_recording_stops_by_itself_at_30_seconds(page: Any) -> None:
    session = new_session(page)
    page.evaluate(
        """() => {
            window.limits = 0;
            addEventListener('sotong-speech:limit', () => { window.limits += 1; });
            return SotongSpeech.start();
        }"""
    )
    # Polled from here: wait_for_function evaluates its predicate with eval() inside the
    # page, which the page's Content-Security-Policy forbids (as it should).
    deadline = time.monotonic() + 40
    while page.evaluate("() => window.limits") != 1:
        assert time.monotonic() < deadline, "the recording did not stop by itself"
        time.sleep(0.2)
    result = page.evaluate(
        """async (sessionId) => {
            const state = SotongSpeech.state();
            const wav = await SotongSpeech.stop();
            const response = await fetch(`/api/webchat/sessions/${sessionId}/speech`, {
                method: 'POST', headers: {'content-type': 'audio/wav'}, body: wav});
            return {state, size: wav.size, status: response.status};
        }""",
        session,
    )
    assert result == {"state": "stopped", "size": 44 + 30 * 16000 * 2, "status": 200}


def test_cancel_and_errors_in_plain_words(page: Any) -> None:
    session = new_session(page)
    page.evaluate("SotongSpeech.start()")
    page.evaluate("SotongSpeech.cancel()")
    assert page.evaluate("SotongSpeech.state()") == "idle"
    error = page.evaluate(
        """async (sessionId) => {
            const silence = SotongSpeech._encodeWav(new Float32Array(16000), 16000);
            try { await SotongSpeech.recognise(sessionId, silence, 'en'); }
            catch (e) { return {code: e.code, status: e.status, detail: e.detail}; }
        }""",
        session,
    )
    assert error == {
        "code": "http",
        "status": 503,
        "detail": "Voice input is not available in this language right now. "
        "Please type your message.",
    }


def test_a_reply_plays_one_at_a_time(page: Any, gateway: Gateway) -> None:
    session = new_session(page)
    store = gateway.app.state.services.store
    turn = gateway.run(store.record_outbound(session, "안녕하세요. 소통입니다.", "ko"))
    url = f"/api/webchat/sessions/{session}/messages/{turn.id}/speech"
    assert page.evaluate("(url) => SotongSpeech.play(url)", url) is True
    # A second play stops the first (which resolves false); stopPlayback stops the second.
    assert page.evaluate(
        """async (url) => {
            const first = SotongSpeech.play(url);
            await new Promise((resolve) => setTimeout(resolve, 200));
            const second = SotongSpeech.play(url);
            const firstResult = await first;
            SotongSpeech.stopPlayback();
            return [firstResult, await second];
        }""",
        url,
    ) == [False, False]
    missing = url.replace(f"/{turn.id}/", f"/{turn.id + 1000}/")
    assert (
        page.evaluate(
            "async (url) => { try { await SotongSpeech.play(url); } catch (e) { return e.code; } }",
            missing,
        )
        == "playback"
    )
