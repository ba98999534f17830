"""One call: the processors wired together.

    CallerAudio → Listener ─SpeechStarted→ barge-in (Player.interrupt → ClearPlayback)
                           ├─TurnPaused, PauseHeard, SpeechResumed → TurnRefiner
                           │                                          and the acknowledgement
                           └─Heard────────→ TurnRefiner.refine → CallDialogue → conversation core
    KeyPressed ──────────────────────────→ CallDialogue    (and barge-in)
    CallDialogue.say → Player → PlayAudio/PlaceMark;  MarkPlayed → Player → silence timer

The dialogue's inputs are handled one at a time by one task, in the order they came,
so a key pressed while an answer is being fetched waits its turn instead of racing it.

A caller who stops speaking hears something within ``ack_after_ms``: the answer, or a
short "네." when the answer is not ready yet. That clock starts at the turn detector's
pause (``TurnPaused`` comes straight from the event loop), so the acknowledgement is
on time even when recognition runs behind on a busy line.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from assistant.language import Language
from voice.asr import CallRecognizer
from voice.call_dialogue import CallActions, CallDialogue, State
from voice.engines import VoiceEngines
from voice.events import (
    CallerAudio,
    CallStopped,
    InboundEvent,
    KeyPressed,
    MarkPlayed,
    OutboundEvent,
    PlayAudio,
)
from voice.listener import (
    Heard,
    Listener,
    ListenerEvent,
    PauseHeard,
    RecognitionMode,
    SpeechResumed,
    SpeechStarted,
    TurnPaused,
)
from voice.phone_menu import MenuNode
from voice.player import Player
from voice.prompts import prompt
from voice.second_pass import TurnRefiner
from voice.turns import TurnSettings

log = structlog.get_logger(__name__)
# Key presses waiting for the dialogue at most: a caller (or a machine) pressing keys
# faster than they are answered loses the extras instead of queueing dialogue turns.
MAX_KEYS_WAITING = 3


@dataclass(frozen=True)
class CallOptions:
    """How this call starts: language and pace (from the profile), timings (settings)."""

    language: Language = "ko"
    slow: bool = False
    end_of_turn_ms: int = 300
    commit_ms: int = 600
    quick_pause_ms: int = 0
    slow_factor: float = 2.5
    reprompt_seconds: float = 8.0
    confirm_below: float = 0.8
    ack_after_ms: int = 600  # end of speech → "네." if nothing was said back by then


_Input = tuple[str, object]


class CallSession:
    """Everything one call holds; ``close`` frees all of it."""

    def __init__(
        self,
        engines: VoiceEngines,
        actions: CallActions,
        send: Callable[[OutboundEvent], Awaitable[None]],
        menu: tuple[MenuNode, ...],
        options: CallOptions,
        on_reply_latency: Callable[[float], None] | None = None,
        on_second_pass: Callable[[str, float], None] | None = None,
    ) -> None:
        self._engines = engines
        self._send = send
        self._on_reply_latency = on_reply_latency
        self._on_second_pass = on_second_pass
        self._reply_clock: float | None = None
        self._options = options
        self._inputs: asyncio.Queue[_Input | None] = asyncio.Queue()
        self._keys_waiting = 0  # key presses queued and not yet taken by the dialogue
        self._after_playback: list[Callable[[], Awaitable[None]]] = []
        self._silence_timer: asyncio.TimerHandle | None = None
        self._pause_timer: asyncio.TimerHandle | None = None
        self._ack_timer: asyncio.TimerHandle | None = None
        self._last_audio_at = 0.0  # when the caller was last sent reply audio
        self._closed = False
        self.language: Language = options.language
        self.turn_settings = TurnSettings(
            end_of_turn_ms=options.end_of_turn_ms,
            commit_ms=options.commit_ms,
            quick_pause_ms=options.quick_pause_ms,
            slow_factor=options.slow_factor,
            slow=options.slow,
        )
        self.player = Player(engines.speaker, self._send_out, self._playback_finished)
        self.listener: Listener | None = None
        self.dialogue = CallDialogue(
            menu=menu,
            actions=actions,
            out=self,
            language=options.language,
            slow=options.slow,
            confirm_below=options.confirm_below,
            slow_factor=options.slow_factor,
        )
        self._worker: asyncio.Task[None] | None = None
        self._refiner = TurnRefiner(
            engines.second_pass, end_turn=self._end_turn, instant=self.dialogue.instant_phrases
        )

    async def start(self) -> None:
        """Make the recogniser and greet the caller."""
        available = await self.switch_language(self.language)
        self.dialogue.speech_available = available
        self._worker = asyncio.create_task(self._run_inputs())
        self._inputs.put_nowait(("begin", None))

    # ---- transport events ------------------------------------------------------------
    async def handle(self, event: InboundEvent) -> None:
        """One event from the caller's side."""
        if self._closed:
            return
        if isinstance(event, CallerAudio):
            if self.listener is not None:
                await self.listener.hear(event.ulaw)
        elif isinstance(event, KeyPressed):
            self._cancel_silence()
            await self.player.interrupt()
            self._reply_clock = time.monotonic()
            if self._keys_waiting >= MAX_KEYS_WAITING:
                # Keys pressed faster than the dialogue answers them (each may be a
                # dialogue turn): the extra presses are dropped, not queued (review M10).
                log.info("voice.key_dropped", waiting=self._keys_waiting)
                return
            self._keys_waiting += 1
            self._inputs.put_nowait(("key", event.digit))
        elif isinstance(event, MarkPlayed):
            await self.player.mark_played(event.name)
        elif isinstance(event, CallStopped):
            await self.close()

    async def _send_out(self, event: OutboundEvent) -> None:
        if isinstance(event, PlayAudio):
            self._last_audio_at = time.monotonic()
            if self._reply_clock is not None:
                # End of the caller's speech (or key press) to the first audio of the answer.
                latency, self._reply_clock = self._last_audio_at - self._reply_clock, None
                if self._on_reply_latency is not None:
                    self._on_reply_latency(latency)
        await self._send(event)

    async def _from_listener(self, event: ListenerEvent) -> None:
        if isinstance(event, SpeechStarted):
            log.info("voice.speech_started", playing=self.player.busy)
            self._cancel_silence()
            self._cancel_ack()
            if await self.player.interrupt():
                log.info("voice.barge_in")
        elif isinstance(event, TurnPaused):
            self._arm_ack(event.speech_ended_at)
            self._refiner.paused(event, self.language)
        elif isinstance(event, PauseHeard):
            self._refiner.pause_heard(event)
        elif isinstance(event, SpeechResumed):
            self._cancel_ack()
            self._refiner.resumed(event.turn)
        elif isinstance(event, Heard):
            # What was said is not logged (it may hold personal data), only its shape.
            log.info(
                "voice.heard",
                mode=event.mode,
                words=len(event.text.split()),
                confidence=event.confidence,
                recognised=event.recognised,
            )
            self._reply_clock = event.speech_ended_at
            self._inputs.put_nowait(("heard", event))

    # ---- the dialogue's inputs, in order ---------------------------------------------
    async def _run_inputs(self) -> None:
        while True:
            item = await self._inputs.get()
            if item is None:
                return
            kind, value = item
            try:
                if kind == "begin":
                    await self.dialogue.begin()
                elif kind == "key":
                    self._keys_waiting -= 1
                    await self.dialogue.on_key(str(value))
                elif kind == "heard":
                    assert isinstance(value, Heard)
                    await self._hear(value)
                elif kind == "silence":
                    await self.dialogue.on_silence()
                elif kind == "after_playback":
                    assert callable(value)
                    await value()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the caller keeps a working line whatever one step hit
                log.exception("voice.dialogue_step_failed", kind=kind, error=str(exc))
                try:
                    await self.dialogue.on_failure()
                except Exception:
                    log.exception("voice.apology_failed")

    async def _hear(self, heard: Heard) -> None:
        """A finished turn, through the second pass (``voice.second_pass``), to the dialogue."""
        refinement = await self._refiner.refine(heard, self.language)
        if refinement.outcome != "off":
            log.info(
                "voice.second_pass",
                outcome=refinement.outcome,
                seconds=round(refinement.seconds, 3),
                engine=refinement.heard.engine,
            )
        if self._on_second_pass is not None:
            self._on_second_pass(refinement.outcome, refinement.seconds)
        await self.dialogue.on_heard(refinement.heard)

    def _end_turn(self, turn: int) -> None:
        if self.listener is not None:
            self.listener.end_turn_now(turn)

    # ---- the acknowledgement ---------------------------------------------------------
    def _arm_ack(self, speech_ended_at: float) -> None:
        self._cancel_ack()
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        delay = speech_ended_at + self._options.ack_after_ms / 1000 - time.monotonic()
        self._ack_timer = loop.call_later(max(0.0, delay), self._ack_due, speech_ended_at)

    def _cancel_ack(self) -> None:
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None

    def _ack_due(self, speech_ended_at: float) -> None:
        """The caller stopped ``ack_after_ms`` ago: say "네." unless something was said
        back since (the answer came quickly) or is being said."""
        self._ack_timer = None
        answered = self._last_audio_at > speech_ended_at or self.player.busy
        if self._closed or answered or self.dialogue.state is State.ENDING:
            return
        self.player.say(
            [prompt("one_moment", self.language)],
            self.language,
            self.turn_settings.slow,
            kind="ack",
        )

    async def _playback_finished(self) -> None:
        if self._after_playback:
            actions, self._after_playback = self._after_playback, []
            for action in actions:
                self._inputs.put_nowait(("after_playback", action))
            return
        self._start_silence()

    def _start_silence(self) -> None:
        self._cancel_silence()
        if self._closed or (self.listener is not None and self.listener.detector.in_speech):
            return
        seconds = self._options.reprompt_seconds
        if self.turn_settings.slow:
            seconds *= self._options.slow_factor
        loop = asyncio.get_running_loop()
        self._silence_timer = loop.call_later(
            seconds, lambda: self._inputs.put_nowait(("silence", None))
        )

    def _cancel_silence(self) -> None:
        if self._silence_timer is not None:
            self._silence_timer.cancel()
            self._silence_timer = None

    # ---- CallOutput, for the dialogue ------------------------------------------------
    async def say(
        self, texts: Sequence[str], language: Language, slow: bool, continues: bool = False
    ) -> None:
        """Speak ``texts`` after whatever is being said (``continues``: see Player.say)."""
        self._cancel_silence()
        self.player.say(texts, language, slow, continues=continues)

    def listen_for(self, mode: RecognitionMode) -> None:
        """Free speech or only yes/no."""
        if self.listener is not None:
            self.listener.set_mode(mode)

    def set_slow(self, slow: bool) -> None:
        """Longer pauses before the caller's turn is taken as finished."""
        self.turn_settings.slow = slow

    async def switch_language(self, language: Language) -> bool:
        """Recognise ``language`` from now on; False when no model serves it."""
        old_language, self.language = self.language, language
        recognizer, warm = await self._engines.recognizer(language)
        old = self.listener
        self.listener = Listener(
            recognizer, self._engines.asr_executor, self.turn_settings, self._from_listener
        )
        if recognizer is not None and not warm:
            self.listener.prime(await self._engines.warm_up_audio(language))
        if old is not None:
            await self._release(old, old_language)
        return recognizer is not None or self._engines.second_pass.hears(language)

    async def _release(self, listener: Listener, language: Language) -> None:
        recognizer = await listener.close()
        if isinstance(recognizer, CallRecognizer):
            await self._engines.release(language, recognizer)

    def after_pause(self, seconds: float, action: Callable[[], Awaitable[None]] | None) -> None:
        """Run ``action`` after ``seconds`` unless called again first (None cancels).

        A typed number ends this way: each digit restarts the wait."""
        if self._pause_timer is not None:
            self._pause_timer.cancel()
            self._pause_timer = None
        if action is None or self._closed:
            return
        loop = asyncio.get_running_loop()
        self._pause_timer = loop.call_later(
            seconds, lambda: self._inputs.put_nowait(("after_playback", action))
        )

    def after_playback(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once the caller has heard everything said so far."""
        if self.player.busy:
            self._after_playback.append(action)
        else:
            self._inputs.put_nowait(("after_playback", action))

    # ---- the end ---------------------------------------------------------------------
    async def close(self) -> None:
        """Free the recogniser, the player and the dialogue's task; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._cancel_silence()
        self._cancel_ack()
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        self._inputs.put_nowait(None)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self.player.close()
        self._refiner.close()
        if self.listener is not None:
            await self._release(self.listener, self.language)
