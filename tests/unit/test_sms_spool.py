"""The on-disk spool of SMS kept while the database is out (review M12)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from channels.sms.spool import CLAIMED, STALE_CLAIM_SECONDS, SmsSpool
from channels.sms.wire import InboundSms, Media

SMS = InboundSms(
    message_sid="SM" + "a" * 32,
    from_number="+821098765432",
    to_number="+827012345678",
    body="등본 떼려면요",
    media=(Media("image/jpeg", "https://api.twilio.com/m/1"),),
)


async def test_a_kept_message_comes_back_whole_and_is_answered_once(tmp_path: Path) -> None:
    spool = SmsSpool(tmp_path / "spool")
    spool.keep(SMS)
    spool.keep(SMS)  # Twilio's retry of the same sid: still one
    assert spool.waiting() == 1
    seen: list[InboundSms] = []

    async def answer(sms: InboundSms) -> None:
        seen.append(sms)

    assert await spool.replay(answer) == 1
    assert seen == [SMS]
    assert await spool.replay(answer) == 0
    assert spool.waiting() == 0


async def test_a_failed_answer_keeps_it_for_the_next_round(tmp_path: Path) -> None:
    spool = SmsSpool(tmp_path)
    spool.keep(SMS)

    async def still_out(_: InboundSms) -> None:
        raise ConnectionError("still out")

    assert await spool.replay(still_out) == 0
    assert [p.name for p in tmp_path.iterdir()] == [f"{SMS.message_sid}.json"]


async def test_two_processes_never_answer_one_message_twice(tmp_path: Path) -> None:
    first, second = SmsSpool(tmp_path), SmsSpool(tmp_path)
    first.keep(SMS)
    answered: list[str] = []

    async def slow(sms: InboundSms) -> None:
        await asyncio.sleep(0.1)
        answered.append(sms.message_sid)

    counts = await asyncio.gather(first.replay(slow), second.replay(slow))
    assert sorted(counts) == [0, 1]
    assert answered == [SMS.message_sid]


async def test_a_claim_left_by_a_dead_process_is_taken_again(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    spool = SmsSpool(tmp_path, clock=lambda: now)
    spool.keep(SMS)
    path = tmp_path / f"{SMS.message_sid}.json"
    claimed = path.with_name(path.name + CLAIMED)
    path.rename(claimed)  # a process claimed it just now and died
    os.utime(claimed, (now, now))
    answered: list[str] = []

    async def answer(sms: InboundSms) -> None:
        answered.append(sms.message_sid)

    assert await spool.replay(answer) == 0  # fresh claim: its owner may be working
    now += STALE_CLAIM_SECONDS - 1
    assert await spool.replay(answer) == 0
    now += 2
    assert await spool.replay(answer) == 1
    assert answered == [SMS.message_sid]


async def test_a_claim_ages_on_the_spool_s_clock_not_the_file_system_s(tmp_path: Path) -> None:
    # Years from the machine's clock (as under make test's shifted-clock pass): a claim
    # being answered must still look fresh to a second process on the same clock.
    def far_ahead() -> float:
        return 2_100_000_000.0

    first, second = SmsSpool(tmp_path, clock=far_ahead), SmsSpool(tmp_path, clock=far_ahead)
    first.keep(SMS)
    taken_again: list[int] = []

    async def answer(_: InboundSms) -> None:
        taken_again.append(await second.replay(answer))

    assert await first.replay(answer) == 1
    assert taken_again == [0]


async def test_an_unreadable_file_is_set_aside_not_retried_for_ever(tmp_path: Path) -> None:
    spool = SmsSpool(tmp_path)
    (tmp_path / "SMbroken.json").write_text("{not json", encoding="utf-8")

    async def answer(_: InboundSms) -> None:
        pytest.fail("nothing readable to answer")

    assert await spool.replay(answer) == 0
    assert spool.waiting() == 0
    assert [p.name for p in tmp_path.iterdir()] == [".SMbroken.json.claimed.bad"]
