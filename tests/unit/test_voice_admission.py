"""How many calls the line takes at once (channels/voice/admission.py; review M10)."""

from __future__ import annotations

import pytest

from channels.voice.admission import CallAdmission


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_line_takes_its_limit_then_frees_a_place_when_a_call_ends() -> None:
    clock = Clock()
    line = CallAdmission(2, pending_seconds=20, clock=clock)
    assert line.admit("CA1") and line.admit("CA2")
    assert not line.admit("CA3") and line.active == 2
    assert line.admit("CA1")  # Twilio retrying the webhook of a call already taken
    line.started("CA1")
    line.started("CA2")
    assert not line.admit("CA3")
    line.ended("CA1")
    assert line.admit("CA3") and line.active == 2
    line.ended("CA404")  # an unknown call changes nothing
    assert line.active == 2


def test_a_call_whose_stream_never_opens_stops_counting() -> None:
    clock = Clock()
    line = CallAdmission(1, pending_seconds=20, clock=clock)
    assert line.admit("CA1")
    clock.now += 19
    assert not line.admit("CA2")
    clock.now += 2  # the caller hung up before the stream opened
    assert line.admit("CA2") and line.active == 1
    line.started("CA2")
    clock.now += 3600  # a live call counts however long it lasts
    assert not line.admit("CA3")


def test_at_least_one_call() -> None:
    with pytest.raises(ValueError):
        CallAdmission(0)
