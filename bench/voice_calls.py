"""Phone voice benchmark: concurrent calls of real speech, paced in real time.

Starts its own Rasa server and gateway (the real stack, SQLite, the real Korean Vosk
model, Whisper base for the second pass, pyttsx3/espeak-ng), then places ``--calls``
calls the way Twilio does (signed voice webhook, then a Media Stream) a second apart, or
``--burst N`` at once every second (a burst of new calls while others talk).
Each simulated caller (``tests/media_streams_peer.py``) sends 20 ms μ-law frames in
real time for the whole call and plays the gateway's audio back at real speed,
returning marks. Each caller repeats: wait until the line is quiet → say a sentence
(**real read Korean**: the shortest clips of the tuning set, ``shared/speech/
ko-zeroth-dev``, CC BY 4.0, "Zeroth-Korean, Lucas Jo and Wonkyum Lee (Atlas Guide
Inc.), CC BY 4.0") → wait → say "네" (espeak-ng: a yes is what a grammar hears, its
accuracy is not measured here) → wait → press 9 then 2 (the first menu, benefits; each
interrupting what is read), hear the benefits menu out, press 2 (basic pension). It
prints:

- **latency**, p50/p95/max per kind of turn: end of the caller's speech (the last
  speech frame sent) or the last key press → the first audio frame heard; for sentences
  also → the first audio of the *answer* (after the short "네." the line says when the
  second pass runs long: its mark is named ``ack-…``);
- **real time**: audio gaps a caller would hear inside a reply, and replies that never
  came; what became of each sentence's second pass (the gateway's metrics);
- **memory**: the peak resident memory of the gateway and of Rasa.

    .venv/bin/python bench/voice_calls.py [--calls 12] [--burst 1] [--seconds 90] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from assistant.training import ensure_model
from tests.media_streams_peer import TwilioMediaPeer
from tests.speech_data import speech_dir
from tests.stackutil import running_stack
from tests.voice_audio import espeak_pcm8k, recorded_pcm8k
from tests.voice_calls import call
from voice.evaluation import read_manifest

SENTENCE_CLIPS = 12  # the shortest of the tuning set (6–8 s of read Korean each)
GAP_TOLERANCE = 0.1  # a later frame than this behind the queued audio is a gap heard
KINDS = ("sentence → first audio", "sentence → answer", "yes", "keys → answer")


@dataclass
class Results:
    latency: dict[str, list[float]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    gap_seconds: float = 0.0
    reply_audio_seconds: float = 0.0
    calls_done: int = 0
    errors: list[str] = field(default_factory=list)
    second_pass: dict[str, float] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)

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


def answer_after(peer: TwilioMediaPeer, t: float) -> tuple[float, float] | None:
    """(first audio, first audio of the answer) after ``t``; the answer follows an
    acknowledgement's mark (``ack-…``) when one came first."""
    first: float | None = None
    after_ack = False
    for at, message in peer.received:
        if at <= t:
            continue
        event = message.get("event")
        if event == "media":
            if first is None:
                first = at
            if after_ack:
                return first, at
        elif event == "mark" and first is not None:
            if str(message.get("mark", {}).get("name", "")).startswith("ack-"):
                after_ack = True
            else:
                return first, first
    return None


async def wait_for_answer(peer: TwilioMediaPeer, t: float, within: float) -> tuple[float, float]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = answer_after(peer, t)
        if found is not None:
            return found
        await asyncio.sleep(0.02)
    raise TimeoutError


async def one_call(
    gateway_url: str, n: int, until: float, speech: dict[str, bytes], results: Results
) -> None:
    caller = f"+8210{n:08d}"
    sentences = [name for name in speech if name != "네"]
    async with call(gateway_url, caller, noise=True, seed=n) as (_, peer):
        turn = 0
        while time.monotonic() < until:
            await peer.wait_until_quiet(0.8, timeout=60)
            ended = await peer.say(speech[sentences[(n + turn) % len(sentences)]])
            try:
                first, answer = await wait_for_answer(peer, ended, within=10)
                results.add(KINDS[0], first - ended)
                results.add(KINDS[1], answer - ended)
            except TimeoutError:
                results.add(KINDS[0], None)
                results.add(KINDS[1], None)
            await peer.wait_until_quiet(0.8, timeout=60)
            ended = await peer.say(speech["네"])
            try:
                results.add(KINDS[2], await peer.wait_for_audio_after(ended, timeout=10) - ended)
            except TimeoutError:
                results.add(KINDS[2], None)
            await peer.wait_until_quiet(0.8, timeout=60)
            for key in "92":  # the first menu, then benefits: read out, interrupted
                pressed = time.monotonic()
                await peer.press(key)
                with contextlib.suppress(TimeoutError):
                    await peer.wait_for_audio_after(pressed, timeout=10)
            # The caller hears the benefits menu out, then chooses: the first audio after
            # the key is then the answer, not the menu's last frames still in flight.
            await peer.wait_until_quiet(0.5, timeout=60)
            pressed = time.monotonic()
            await peer.press("2")  # basic pension: a dialogue answer
            try:
                results.add(
                    KINDS[3], await peer.wait_for_audio_after(pressed, timeout=10) - pressed
                )
            except TimeoutError:
                results.add(KINDS[3], None)
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


def real_sentences() -> dict[str, bytes]:
    """The shortest clips of the Korean tuning set, as the phone line carries them."""
    found = speech_dir()
    if found is None:
        raise SystemExit("real Korean speech not found: shared/speech/ko-zeroth-dev")
    clips = read_manifest(found / "ko-zeroth-dev" / "transcripts.tsv")
    shortest = sorted(clips, key=lambda c: c.path.stat().st_size)[:SENTENCE_CLIPS]
    return {clip.path.name: recorded_pcm8k(clip.path) for clip in shortest}


async def run(gateway_url: str, calls: int, seconds: float, burst: int = 1) -> Results:
    speech = {**real_sentences(), "네": espeak_pcm8k("네")}
    results = Results()
    until = time.monotonic() + -(-calls // burst) + seconds

    async def staggered(n: int) -> None:
        await asyncio.sleep(n // burst)  # ``burst`` calls arrive together, every second
        try:
            await one_call(gateway_url, n, until, speech, results)
        except Exception as exc:
            results.errors.append(f"call {n}: {exc.__class__.__name__}: {exc}")

    await asyncio.gather(*(staggered(n) for n in range(calls)))
    return results


def report(results: Results, calls: int, seconds: float, burst: int = 1) -> None:
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(
        f"{calls} concurrent calls, {burst} arriving at once each second, "
        f"{seconds:.0f} s each after the last joined\n"
    )
    print(f"{'turn':24} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'no reply':>9}")
    for kind in KINDS:
        values = results.latency.get(kind, [])
        if values:
            print(
                f"{kind:24} {len(values):5d} {statistics.median(values) * 1000:8.0f} "
                f"{pct(values, 95) * 1000:8.0f} {max(values) * 1000:8.0f} "
                f"{results.missing.get(kind, 0):9d}"
            )
    share = results.gap_seconds / results.reply_audio_seconds if results.reply_audio_seconds else 0
    print(
        f"\naudio gaps inside replies: {results.gaps} ({results.gap_seconds:.2f} s over "
        f"{results.reply_audio_seconds:.0f} s of reply audio, {share:.2%})"
    )
    print(f"calls completed: {results.calls_done}/{calls}")
    if results.second_pass:
        print("second pass: " + ", ".join(f"{k} {v:.0f}" for k, v in results.second_pass.items()))
    print(
        f"peak memory: gateway {results.memory.get('gateway', 0) / 1e6:.0f} MB, "
        f"Rasa {results.memory.get('rasa', 0) / 1e6:.0f} MB, "
        f"together {sum(results.memory.values()) / 1e6:.0f} MB"
    )
    for error in results.errors:
        print("error:", error)


def peak_memory(pid: int | None) -> int:
    """A process's peak resident memory (VmHWM) plus its children's current, in bytes."""
    if pid is None:
        return 0
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        status = Path(f"/proc/{one}/status")
        if not status.exists():
            continue
        field = "VmHWM:" if one == pid else "VmRSS:"
        for line in status.read_text().splitlines():
            if line.startswith(field):
                total += int(line.split()[1]) * 1024
    return total


def second_pass_counts(gateway_url: str) -> dict[str, float]:
    text = httpx.get(f"{gateway_url}/metrics", timeout=10).text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("sotong_voice_second_pass_seconds_count{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            counts[outcome] = float(line.rsplit(" ", 1)[1])
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--burst", type=int, default=1, help="calls arriving at once")
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--keep", type=Path, help="store (and keep) the stack's logs here")
    args = parser.parse_args()
    model = ensure_model(echo=lambda line: print(f"[rasa-model] {line}"))
    with contextlib.ExitStack() as stacks:
        var_dir = args.keep or Path(stacks.enter_context(tempfile.TemporaryDirectory()))
        # The line must take every call the bench places: it measures that load (a
        # real deployment turns callers past SOTONG_VOICE_MAX_CALLS away).
        line = {"SOTONG_VOICE_MAX_CALLS": str(max(args.calls, 1))}
        stack = stacks.enter_context(running_stack(model, var_dir, extra_env=line))
        print(f"stack ready: gateway {stack.gateway.url}")
        results = asyncio.run(run(stack.gateway.url, args.calls, args.seconds, args.burst))
        results.second_pass = second_pass_counts(stack.gateway.url)
        gateway_pid = stack.gateway.process.pid if stack.gateway.process else None
        rasa_pid = stack.rasa.process.pid if stack.rasa.process else None
        results.memory = {"gateway": peak_memory(gateway_pid), "rasa": peak_memory(rasa_pid)}
    report(results, args.calls, args.seconds, args.burst)


if __name__ == "__main__":
    main()
