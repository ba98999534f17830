"""Twilio's side of a bidirectional Media Stream, over a real WebSocket (tests and benches).

``TwilioMediaPeer`` behaves like Twilio during a live call on ``<Connect><Stream>``:

- it opens the WebSocket (optionally with ``X-Twilio-Signature``: ``signed_headers``),
  sends ``connected`` and ``start`` (Twilio's exact JSON; ``sequenceNumber`` counts
  from "1" on ``start`` and increases by one with every later message);
- it sends the caller's track every 20 ms in real time, as a phone line does: queued
  speech (``say``) when there is some, else line silence (μ-law 0xFF, optionally faint
  noise); ``chunk`` counts frames from "1", ``timestamp`` is milliseconds since start;
- it plays what the server sends: ``media`` is appended to a play buffer consumed at
  160 bytes per 20 ms, a ``mark`` is sent back (same name) once the audio before it has
  played, and ``clear`` drops the buffer and sends every pending mark back at once;
- ``press`` sends a ``dtmf`` event, ``hang_up`` sends ``stop`` and closes.

Everything is recorded (``received``, ``played_audio``, ``clear_count``, …) for
assertions. ``realtime=False`` never sleeps: speech frames go out back to back, no
silence is sent, and playback is instant — for fast unit tests.

Its JSON is written here independently of ``channels/voice/wire.py`` on purpose: a
double that reused the code under test would agree with that code's mistakes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import secrets
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

with warnings.catch_warnings():
    # audioop is deprecated on 3.11/3.12 (removed in 3.13, where audioop-lts provides it).
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

FRAME_BYTES = 160  # 20 ms of 8 kHz μ-law
FRAME_SECONDS = 0.02
ULAW_SILENCE = b"\xff"
# μ-law codes of the quietest non-zero samples (±1…±3 steps): a faint line hiss.
_FAINT = bytes([0xFE, 0xFD, 0xFC, 0x7E, 0x7D, 0x7C, 0xFF, 0x7F])
_UNLIMITED = 1 << 62


def new_sid(prefix: str) -> str:
    """A sid of Twilio's shape: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def pcm_to_ulaw(pcm8k: bytes) -> bytes:
    """16-bit little-endian PCM → G.711 μ-law (what the phone network carries)."""
    if len(pcm8k) % 2:
        raise ValueError("16-bit PCM has an even number of bytes")
    return audioop.lin2ulaw(pcm8k, 2)


def ulaw_to_pcm(ulaw: bytes) -> bytes:
    """G.711 μ-law → 16-bit little-endian PCM."""
    return audioop.ulaw2lin(ulaw, 2)


def websocket_url(public_url: str, path: str) -> str:
    """The wss:// URL Twilio signs for ``path`` under ``public_url`` (https → wss)."""
    scheme, sep, rest = public_url.rstrip("/").partition("://")
    return {"https": "wss", "http": "ws"}.get(scheme, scheme) + sep + rest + path


def signed_headers(auth_token: str, stream_url: str) -> dict[str, str]:
    """The ``X-Twilio-Signature`` Twilio sends on the handshake to ``stream_url``.

    Twilio signs the ``wss://`` URL of the ``<Stream>`` with no parameters.
    """
    signature = RequestValidator(auth_token).compute_signature(stream_url, {})
    return {"X-Twilio-Signature": signature}


@dataclass
class _Speech:
    frames: deque[bytes]
    done: asyncio.Future[float]


@dataclass
class _Mark:
    name: str


class TwilioMediaPeer:
    """One simulated call on a bidirectional Media Stream; build it with ``connect``."""

    def __init__(
        self,
        ws: ClientConnection,
        *,
        call_sid: str,
        stream_sid: str,
        account_sid: str,
        parameters: Mapping[str, str],
        realtime: bool,
        noise: bool,
        seed: int,
    ) -> None:
        self.ws = ws
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self.account_sid = account_sid
        self.parameters = dict(parameters)
        self.realtime = realtime
        self.noise = noise
        self._random = random.Random(seed)
        # What the server sent, as (monotonic time, decoded JSON or {"raw": text}).
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.sent: list[tuple[float, dict[str, Any] | str]] = []  # everything we sent
        self.clear_count = 0
        self.marks_returned: list[str] = []  # mark names sent back, in order
        # Frames from the server that Twilio would not accept (ignored, as Twilio does).
        self.protocol_errors: list[str] = []
        self._played = bytearray()
        self._play: deque[bytes | _Mark] = deque()  # the play buffer: audio and marks
        self._speech: deque[_Speech] = deque()
        self._sequence = 0
        self._chunk = 0
        self._started_at: float | None = None
        self._send_lock = asyncio.Lock()
        self._changed = asyncio.Condition()
        self._last_activity = time.monotonic()
        self._hung_up = False
        self._closed_by_server = False
        self._tasks: list[asyncio.Task[None]] = []

    # ---- construction -------------------------------------------------------------------
    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        ws_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        call_sid: str | None = None,
        stream_sid: str | None = None,
        account_sid: str | None = None,
        parameters: Mapping[str, str] | None = None,
        start: bool = True,
        realtime: bool = True,
        noise: bool = False,
        seed: int = 0,
    ) -> AsyncIterator[TwilioMediaPeer]:
        """Open the stream at ``ws_url`` as Twilio would, and close it on exit.

        With ``start`` (the default) ``connected`` and ``start`` are sent at once and the
        caller's audio starts flowing; with ``start=False`` only ``connected`` is sent
        until ``await peer.start()``. A refused handshake raises websockets'
        ``InvalidStatus`` (its ``response.status_code`` says how it was refused).
        """
        ws = await ws_connect(
            ws_url,
            additional_headers=dict(headers or {}),
            max_size=2**22,
            open_timeout=10,
            ping_interval=None,  # Twilio does not ping; keep the traffic Twilio's
        )
        peer = cls(
            ws,
            call_sid=call_sid or new_sid("CA"),
            stream_sid=stream_sid or new_sid("MZ"),
            account_sid=account_sid or new_sid("AC"),
            parameters=parameters or {},
            realtime=realtime,
            noise=noise,
            seed=seed,
        )
        try:
            await peer._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            peer._tasks.append(asyncio.create_task(peer._receive_loop(), name="peer-receive"))
            if start:
                await peer.start()
            yield peer
        finally:
            await peer._shutdown()

    async def start(self) -> None:
        """Send ``start`` and begin the caller's audio and the playback clock."""
        if self._started_at is not None:
            raise RuntimeError("the stream has already started")
        await self._send(
            {
                "event": "start",
                "sequenceNumber": "",
                "start": {
                    "accountSid": self.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": dict(self.parameters),
                    "mediaFormat": {
                        "encoding": "audio/x-mulaw",
                        "sampleRate": 8000,
                        "channels": 1,
                    },
                },
                "streamSid": self.stream_sid,
            },
            numbered=True,
        )
        self._started_at = time.monotonic()
        self._tasks.append(asyncio.create_task(self._media_loop(), name="peer-media"))
        if self.realtime:
            self._tasks.append(asyncio.create_task(self._playback_loop(), name="peer-play"))

    # ---- what the caller does ----------------------------------------------------------
    async def say(self, pcm8k: bytes) -> float:
        """Speak 8 kHz 16-bit PCM into the call; returns the monotonic time its last frame
        was sent, once it has been sent (frames follow whatever is already queued)."""
        return await self.say_ulaw(pcm_to_ulaw(pcm8k))

    async def say_ulaw(self, ulaw: bytes) -> float:
        """Like ``say`` for audio that is already μ-law (padded to whole frames with
        silence, as a phone line's frames are always full)."""
        if self._started_at is None:
            raise RuntimeError("start the stream before speaking")
        if not ulaw:
            return time.monotonic()
        frames = deque(
            ulaw[i : i + FRAME_BYTES].ljust(FRAME_BYTES, ULAW_SILENCE)
            for i in range(0, len(ulaw), FRAME_BYTES)
        )
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._speech.append(_Speech(frames, done))
        async with self._changed:
            self._changed.notify_all()
        return await done

    async def press(self, digit: str) -> None:
        """Press a key: a ``dtmf`` event, as Twilio sends on a bidirectional stream."""
        if len(digit) != 1 or digit not in "0123456789*#":
            raise ValueError(f"not a keypad digit: {digit!r}")
        await self._send(
            {
                "event": "dtmf",
                "streamSid": self.stream_sid,
                "sequenceNumber": "",
                "dtmf": {"track": "inbound_track", "digit": digit},
            },
            numbered=True,
        )

    async def hang_up(self) -> None:
        """The caller hangs up: ``stop`` is sent and the socket closed (1000)."""
        if self._hung_up:
            return
        self._hung_up = True
        await self._notify()
        with contextlib.suppress(ConnectionClosed):
            await self._send(
                {
                    "event": "stop",
                    "sequenceNumber": "",
                    "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
                    "streamSid": self.stream_sid,
                },
                numbered=True,
            )
        await self.ws.close(1000)

    async def send_raw(self, text: str | bytes) -> None:
        """Send any frame as it is (malformed-frame tests)."""
        async with self._send_lock:
            await self.ws.send(text)
            self.sent.append((time.monotonic(), text if isinstance(text, str) else repr(text)))

    # ---- what was heard ----------------------------------------------------------------
    @property
    def played_audio(self) -> bytes:
        """μ-law bytes actually played to the caller so far."""
        return bytes(self._played)

    @property
    def buffered_bytes(self) -> int:
        """μ-law bytes waiting in the play buffer."""
        return sum(len(item) for item in self._play if isinstance(item, bytes))

    @property
    def closed(self) -> bool:
        """Whether the server closed the stream (not our ``hang_up``)."""
        return self._closed_by_server

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code, once closed."""
        return self.ws.close_code

    @property
    def started_at(self) -> float | None:
        """Monotonic time ``start`` was sent."""
        return self._started_at

    def events(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        """The received messages whose ``event`` is ``name``."""
        return [(at, message) for at, message in self.received if message.get("event") == name]

    def first_audio_after(self, t: float) -> float | None:
        """Time of the first outbound ``media`` frame received after ``t``, if any."""
        for at, message in self.received:
            if at > t and message.get("event") == "media":
                return at
        return None

    async def wait_for_audio_after(self, t: float, timeout: float) -> float:
        """Wait for an outbound ``media`` frame received after ``t``; its time.

        TimeoutError if none comes within ``timeout`` seconds or the stream closes."""
        found: float | None = None

        def seen() -> bool:
            nonlocal found
            found = self.first_audio_after(t)
            return found is not None or self._finished()

        await self._wait(seen, timeout, "no audio from the server")
        if found is None:
            raise TimeoutError("the stream closed before any audio came")
        return found

    async def wait_until_quiet(self, seconds: float, timeout: float) -> None:
        """Wait until the play buffer is empty and nothing was received or played for
        ``seconds``; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if not self._play and now - self._last_activity >= seconds:
                return
            if now >= deadline:
                raise TimeoutError(f"the server did not go quiet for {seconds} s")
            wait = seconds - (now - self._last_activity) if not self._play else FRAME_SECONDS
            await asyncio.sleep(max(0.005, min(wait, deadline - now)))

    async def wait_for(self, event: str, timeout: float, *, count: int = 1) -> dict[str, Any]:
        """Wait until ``count`` messages of ``event`` were received; the last of them."""
        await self._wait(
            lambda: len(self.events(event)) >= count or self._finished(),
            timeout,
            f"fewer than {count} {event!r} messages",
        )
        matches = self.events(event)
        if len(matches) < count:
            raise TimeoutError(f"the stream closed before {count} {event!r} messages")
        return matches[count - 1][1]

    async def wait_closed(self, timeout: float) -> None:
        """Wait until the server closes the stream."""
        await self._wait(self._finished, timeout, "the server did not close the stream")

    # ---- internals ---------------------------------------------------------------------
    def _finished(self) -> bool:
        return self._closed_by_server or self._hung_up

    async def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
            except TimeoutError:
                raise TimeoutError(f"{what} within {timeout} s") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _send(self, message: dict[str, Any], *, numbered: bool = False) -> None:
        async with self._send_lock:
            if numbered:
                # Numbered at send time, under the lock, so numbers rise in sending order.
                self._sequence += 1
                message["sequenceNumber"] = str(self._sequence)
            await self.ws.send(json.dumps(message))
            self.sent.append((time.monotonic(), message))

    def _silence(self) -> bytes:
        if not self.noise:
            return ULAW_SILENCE * FRAME_BYTES
        return bytes(self._random.choice(_FAINT) for _ in range(FRAME_BYTES))

    async def _media_loop(self) -> None:
        assert self._started_at is not None
        origin = self._started_at
        try:
            while not self._hung_up:
                if self.realtime:
                    # An absolute schedule: a late tick is caught up, never drifts.
                    due = origin + (self._chunk + 1) * FRAME_SECONDS
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                elif not self._speech:
                    async with self._changed:
                        await self._changed.wait_for(lambda: bool(self._speech) or self._hung_up)
                    continue
                speech = self._speech[0] if self._speech else None
                frame = speech.frames.popleft() if speech else self._silence()
                self._chunk += 1
                timestamp = (
                    int((time.monotonic() - origin) * 1000)
                    if self.realtime
                    else (self._chunk - 1) * 20
                )
                await self._send(
                    {
                        "event": "media",
                        "sequenceNumber": "",
                        "media": {
                            "track": "inbound",
                            "chunk": str(self._chunk),
                            "timestamp": str(timestamp),
                            "payload": base64.b64encode(frame).decode("ascii"),
                        },
                        "streamSid": self.stream_sid,
                    },
                    numbered=True,
                )
                if speech is not None and not speech.frames:
                    self._speech.popleft()
                    if not speech.done.done():
                        speech.done.set_result(time.monotonic())
                if not self.realtime:
                    await asyncio.sleep(0)  # let the server's side run between frames
        except ConnectionClosed:
            pass
        finally:
            self._fail_speech()

    def _fail_speech(self) -> None:
        while self._speech:
            speech = self._speech.popleft()
            if not speech.done.done():
                speech.done.set_exception(ConnectionError("the stream closed while speaking"))

    async def _receive_loop(self) -> None:
        try:
            async for raw in self.ws:
                now = time.monotonic()
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = None
                if not isinstance(message, dict):
                    message = {"raw": raw if isinstance(raw, str) else repr(raw)}
                self.received.append((now, message))
                self._last_activity = now
                await self._handle(message)
                await self._notify()
        except ConnectionClosed:
            pass
        finally:
            if not self._hung_up:
                self._closed_by_server = True
            self._fail_speech()
            await self._notify()

    async def _handle(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event not in {"media", "mark", "clear"}:
            self.protocol_errors.append(f"unexpected message: {str(event or message)[:80]}")
            return
        if message.get("streamSid") != self.stream_sid:
            self.protocol_errors.append(f"{event} for another streamSid")
            return
        if event == "media":
            media = message.get("media")
            encoded = media.get("payload") if isinstance(media, dict) else None
            try:
                audio = (
                    base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else None
                )
            except ValueError:
                audio = None
            if audio is None:
                self.protocol_errors.append("media without a base64 payload")
                return
            if audio:
                self._play.append(audio)
        elif event == "mark":
            mark = message.get("mark")
            name = mark.get("name") if isinstance(mark, dict) else None
            if not isinstance(name, str) or not name:
                self.protocol_errors.append("mark without a name")
                return
            self._play.append(_Mark(name))
        else:  # clear
            self.clear_count += 1
            pending = [item.name for item in self._play if isinstance(item, _Mark)]
            self._play.clear()
            for name in pending:  # Twilio sends every cleared mark back at once
                await self._return_mark(name)
            return
        if not self.realtime:
            await self._play_out(_UNLIMITED)

    async def _playback_loop(self) -> None:
        assert self._started_at is not None
        origin, tick = time.monotonic(), 0
        try:
            while not self._finished():
                tick += 1
                delay = origin + tick * FRAME_SECONDS - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self._play_out(FRAME_BYTES)
        except ConnectionClosed:
            pass

    async def _play_out(self, budget: int) -> None:
        """Return the marks at the head of the buffer (the audio before them has
        played), then play up to ``budget`` bytes of audio."""
        while self._play and isinstance(self._play[0], _Mark):
            head = self._play.popleft()
            assert isinstance(head, _Mark)
            await self._return_mark(head.name)
        while budget > 0 and self._play and isinstance(self._play[0], bytes):
            chunk = self._play.popleft()
            assert isinstance(chunk, bytes)
            if len(chunk) > budget:
                self._play.appendleft(chunk[budget:])
                chunk = chunk[:budget]
            self._played.extend(chunk)
            budget -= len(chunk)
            self._last_activity = time.monotonic()
        if not self.realtime:  # instant playback: marks right after their audio
            while self._play and isinstance(self._play[0], _Mark):
                head = self._play.popleft()
                assert isinstance(head, _Mark)
                await self._return_mark(head.name)

    async def _return_mark(self, name: str) -> None:
        self.marks_returned.append(name)
        with contextlib.suppress(ConnectionClosed):
            await self._send(
                {
                    "event": "mark",
                    "sequenceNumber": "",
                    "streamSid": self.stream_sid,
                    "mark": {"name": name},
                },
                numbered=True,
            )

    async def _shutdown(self) -> None:
        if not self._finished():
            await self.hang_up()
        for task in self._tasks:
            task.cancel()
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ws.close()
        self._fail_speech()
        errors = [r for r in results if isinstance(r, BaseException) and not _cancelled(r)]
        if errors:  # a bug in the peer must not pass as a server problem
            raise errors[0]


def _cancelled(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.CancelledError)
