"""Phone voice benchmark: concurrent synthetic calls, paced in real time.

Starts its own Rasa server and gateway (the real stack, SQLite, the real Korean Vosk
model and pyttsx3/espeak-ng), then places ``--calls`` calls the way Twilio does (signed
voice webhook, then a Media Stream) a second apart. Each simulated caller
(``tests/media_streams_peer.py``) sends 20 ms μ-law frames in real time for the whole
call and plays the gateway's audio back at real speed, returning marks. Each caller
repeats: wait until the line is quiet → speak a sentence (espeak-ng) → wait → answer
"네" → wait → press a menu key. It prints:

- **reply latency**: end of the caller's speech (the last speech frame sent) or the key
  press → the first audio frame of the reply, p50/p95, per kind of turn;
- **real time**: whether the gateway kept up — audio gaps a caller would hear in the
  middle of a reply (arrival later than the audio already queued could cover), and
  replies that never came.

espeak-ng's Korean is not recognised as words by free recognition (README), so the
sentence turn mostly gets the yes/no confirmation back, and "네" then sends the heard
text to the dialogue: the three kinds of turn cover recognition alone, recognition +
dialogue, and keypad + dialogue.

    .venv/bin/python bench/voice_calls.py [--calls 12] [--seconds 90]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.training import ensure_model
from tests.media_streams_peer import TwilioMediaPeer
from tests.stackutil import running_stack
from tests.voice_audio import espeak_pcm8k
from tests.voice_calls import call

SENTENCES = ("주민등록등본을 떼고 싶어요", "기초연금 신청하고 싶어요", "전입신고 하려고요")
GAP_TOLERANCE = 0.1  # a later frame than this behind the queued audio is a gap heard


@dataclass
class Results:
    latency: dict[str, list[float]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    gap_seconds: float = 0.0
    reply_audio_seconds: float = 0.0
    calls_done: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, seconds: float | None) -> None:
        if seconds is None:
            self.missing[kind] = self.missing.get(kind, 0) + 1
        else:
            self.latency.setdefault(kind, []).append(seconds)


def audio_gaps(peer: TwilioMediaPeer) -> tuple[int, float, float]:
    """Gaps a caller heard inside replies: (count, seconds, seconds of reply audio)."""
    gaps, gap_seconds, audio_seconds = 0, 0.0, 0.0
    play_end: float | None = None  # when the audio received so far finishes playing
    for at, message in peer.received:
        event = message.get("event")
        if event in ("mark", "clear"):
            play_end = None  # an utterance ended: silence after it is a pause, not a gap
        elif event == "media":
            seconds = len(message["media"]["payload"]) * 3 / 4 / 8000
            audio_seconds += seconds
            if play_end is not None and at > play_end + GAP_TOLERANCE:
                gaps += 1
                gap_seconds += at - play_end
            play_end = max(play_end or at, at) + seconds
    return gaps, gap_seconds, audio_seconds


async def one_call(
    gateway_url: str, n: int, until: float, speech: dict[str, bytes], results: Results
) -> None:
    caller = f"+8210{n:08d}"
    async with call(gateway_url, caller, noise=True, seed=n) as (_, peer):
        turn = 0
        while time.monotonic() < until:
            await peer.wait_until_quiet(0.8, timeout=60)
            sentence = SENTENCES[(n + turn) % len(SENTENCES)]
            first = "speech (call's 1st)" if turn == 0 else "speech (later)"
            for kind, audio in ((first, speech[sentence]), ("yes", speech["네"])):
                ended = await peer.say(audio)
                try:
                    heard = await peer.wait_for_audio_after(ended, timeout=10)
                    results.add(kind, heard - ended)
                except TimeoutError:
                    results.add(kind, None)
                await peer.wait_until_quiet(0.8, timeout=60)
            pressed = time.monotonic()
            await peer.press(str(1 + (n + turn) % 5))
            try:
                heard = await peer.wait_for_audio_after(pressed, timeout=10)
                results.add("key", heard - pressed)
            except TimeoutError:
                results.add("key", None)
            turn += 1
        await peer.wait_until_quiet(0.5, timeout=60)
        gaps, gap_seconds, audio_seconds = audio_gaps(peer)
        results.gaps += gaps
        results.gap_seconds += gap_seconds
        results.reply_audio_seconds += audio_seconds
        results.calls_done += 1


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(gateway_url: str, calls: int, seconds: float) -> Results:
    speech = {s: espeak_pcm8k(s) for s in (*SENTENCES, "네")}
    results = Results()
    until = time.monotonic() + calls + seconds

    async def staggered(n: int) -> None:
        await asyncio.sleep(n)  # a call a second, as calls arrive
        try:
            await one_call(gateway_url, n, until, speech, results)
        except Exception as exc:
            results.errors.append(f"call {n}: {exc.__class__.__name__}: {exc}")

    await asyncio.gather(*(staggered(n) for n in range(calls)))
    return results


def report(results: Results, calls: int, seconds: float) -> None:
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{calls} concurrent calls, {seconds:.0f} s each after the last joined\n")
    print(f"{'turn':20} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'no reply':>9}")
    everything: list[float] = []
    for kind in ("speech (call's 1st)", "speech (later)", "yes", "key"):
        values = results.latency.get(kind, [])
        everything += values
        if values:
            print(
                f"{kind:20} {len(values):5d} {statistics.median(values) * 1000:8.0f} "
                f"{pct(values, 95) * 1000:8.0f} {max(values) * 1000:8.0f} "
                f"{results.missing.get(kind, 0):9d}"
            )
    if everything:
        print(
            f"{'all':20} {len(everything):5d} {statistics.median(everything) * 1000:8.0f} "
            f"{pct(everything, 95) * 1000:8.0f} {max(everything) * 1000:8.0f} "
            f"{sum(results.missing.values()):9d}"
        )
    share = results.gap_seconds / results.reply_audio_seconds if results.reply_audio_seconds else 0
    print(
        f"\naudio gaps inside replies: {results.gaps} ({results.gap_seconds:.2f} s over "
        f"{results.reply_audio_seconds:.0f} s of reply audio, {share:.2%})"
    )
    print(f"calls completed: {results.calls_done}/{calls}")
    for error in results.errors:
        print("error:", error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=90.0)
    args = parser.parse_args()
    model = ensure_model(echo=lambda line: print(f"[rasa-model] {line}"))
    with tempfile.TemporaryDirectory() as tmp, running_stack(model, Path(tmp)) as stack:
        print(f"stack ready: gateway {stack.gateway.url}")
        results = asyncio.run(run(stack.gateway.url, args.calls, args.seconds))
    report(results, args.calls, args.seconds)


if __name__ == "__main__":
    main()
