"""The speaking processor alone: texts in; paced audio, marks and clears out."""

from __future__ import annotations

import asyncio
import time

from voice.events import ClearPlayback, OutboundEvent, PlaceMark, PlayAudio
from voice.player import CHUNK_BYTES, Player, sentences


class FakeSpeaker:
    """Each sentence becomes 0.1 s of audio per 10 characters, one distinct byte each."""

    def __init__(self) -> None:
        self.spoken: list[tuple[str, str, bool]] = []

    async def speak(self, text: str, language: str, slow: bool = False) -> bytes:
        self.spoken.append((text, language, slow))
        return bytes([len(self.spoken) % 250]) * (80 * len(text))


class Harness:
    def __init__(self) -> None:
        self.speaker = FakeSpeaker()
        self.events: list[tuple[float, OutboundEvent]] = []
        self.finished = 0
        self.player = Player(self.speaker, self.send, self.on_finished)

    async def send(self, event: OutboundEvent) -> None:
        self.events.append((time.monotonic(), event))

    async def on_finished(self) -> None:
        self.finished += 1

    def of(self, kind: type) -> list:
        return [e for _, e in self.events if isinstance(e, kind)]


def test_replies_are_cut_into_sentences() -> None:
    assert sentences("안녕하세요. 소통입니다!\n1번 등본") == [
        "안녕하세요.",
        "소통입니다!",
        "1번 등본",
    ]
    assert sentences("  ") == []


async def test_an_utterance_is_sent_in_order_with_a_mark_after_it() -> None:
    h = Harness()
    h.player.say(["첫 문장입니다. 둘째 문장입니다."], "ko", slow=True)
    while not h.of(PlaceMark):
        await asyncio.sleep(0.01)
    assert [s[0] for s in h.speaker.spoken] == ["첫 문장입니다.", "둘째 문장입니다."]
    assert all(s[2] for s in h.speaker.spoken)  # slow passed through
    audio = b"".join(e.ulaw for e in h.of(PlayAudio))
    assert len(audio) == 80 * (8 + 9)
    assert all(len(e.ulaw) <= CHUNK_BYTES for e in h.of(PlayAudio))
    assert isinstance(h.events[-1][1], PlaceMark)
    assert h.player.busy and h.finished == 0  # not heard yet
    await h.player.mark_played(h.of(PlaceMark)[0].name)
    assert not h.player.busy and h.finished == 1
    await h.player.close()


async def test_audio_is_paced_to_playback_not_dumped() -> None:
    h = Harness()
    started = time.monotonic()
    h.player.say(["가" * 150], "ko")  # 1.5 s of audio
    while not h.of(PlaceMark):
        await asyncio.sleep(0.01)
    sent_for = h.events[-2][0] - started
    # Sent no faster than playback minus the lead (1.5 s - 0.6 s), give or take a chunk.
    assert sent_for >= 0.75
    await h.player.close()


async def test_interrupt_clears_what_is_queued_and_held() -> None:
    h = Harness()
    h.player.say(["가" * 300], "ko")  # 3 s
    h.player.say(["다음 말"], "ko")
    while not h.of(PlayAudio):
        await asyncio.sleep(0.01)
    assert await h.player.interrupt() is True
    assert isinstance(h.events[-1][1], ClearPlayback)
    sent = len(h.events)
    await asyncio.sleep(0.3)
    assert len(h.events) == sent  # nothing more of either utterance
    assert not h.player.busy
    assert await h.player.interrupt() is False  # nothing to stop: no clear sent
    # The player still works after a barge-in.
    h.player.say(["새 답"], "ko")
    while not h.of(PlaceMark):
        await asyncio.sleep(0.01)
    await h.player.close()


async def test_the_rest_of_an_interrupted_answer_is_not_said() -> None:
    """An answer is queued in two parts (the rest once the dialogue knows it): a caller
    who barged in on the first part does not hear the second over their own voice."""
    h = Harness()
    h.player.say(["가" * 300], "ko")
    while not h.of(PlayAudio):
        await asyncio.sleep(0.01)
    await h.player.interrupt()
    h.player.say(["더 궁금한 것이 있으면 말씀해 주세요."], "ko", continues=True)
    await asyncio.sleep(0.2)
    assert [s[0] for s in h.speaker.spoken] == ["가" * 300]
    # Not interrupted, the rest follows; and anything new is said whatever came before.
    h.player.say(["새 답"], "ko")
    h.player.say(["나머지"], "ko", continues=True)
    while len(h.of(PlaceMark)) < 2:
        await asyncio.sleep(0.01)
    assert [s[0] for s in h.speaker.spoken][1:] == ["새 답", "나머지"]
    await h.player.close()


async def test_a_failed_synthesis_skips_that_utterance_only() -> None:
    h = Harness()

    async def broken(text: str, language: str, slow: bool = False) -> bytes:
        raise RuntimeError("espeak fell over")

    h.player._speaker = type("S", (), {"speak": staticmethod(broken)})()
    h.player.say(["안 됨"], "ko")
    await asyncio.sleep(0.05)
    assert h.of(PlayAudio) == [] and h.finished == 1 and not h.player.busy
    await h.player.close()
