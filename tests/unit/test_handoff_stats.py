"""The admin view's handoff figures, on SQLite and PostgreSQL, from known rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.handoff.models import InterpreterRow, handoff_requests
from assistant.handoff.stats import (
    Containment,
    DayFigures,
    InterpreterFigures,
    handoff_figures,
    percentile,
)
from assistant.store.models import ConversationRow
from assistant.store.sql import create_engine

T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)  # 09:00 in Seoul
UNTIL = T0 + dt.timedelta(days=2)
S = dt.timedelta(seconds=1)
H = dt.timedelta(hours=1)

# Conversations: id → (channel, created_at). Those before T0 or at UNTIL are outside.
CONVERSATIONS: dict[str, tuple[str, dt.datetime]] = {
    "c1": ("webchat", T0),  # the period includes its start…
    "c2": ("webchat", T0 + H),
    "c3": ("webchat", T0 + 2 * H),
    "c4": ("webchat", T0 + 3 * H),
    "c5": ("webchat", T0 + 4 * H),  # never asked for a person
    "s1": ("sms", T0 + H),
    "s2": ("sms", T0 + 26 * H),
    "s3": ("sms", T0 + 27 * H),  # never asked for a person
    "d1": ("desk", T0 + 24 * H),
    "old": ("webchat", T0 - H),
    "late": ("webchat", UNTIL),  # …and excludes its end
}

# Requests: (conversation, created_at, wait until accepted or None, status, outcome, by).
REQUESTS: list[tuple[str, dt.datetime, dt.timedelta | None, str, str | None, str | None]] = [
    ("c1", T0 + 1 * H, 10 * S, "resolved", "resolved", "kim"),
    ("c2", T0 + 2 * H, 20 * S, "resolved", "handed_back", "kim"),
    ("s1", T0 + 3 * H, 100 * S, "in_session", None, "lee"),
    ("d1", T0 + 25 * H, 30 * S, "accepted", None, "kim"),
    ("c3", T0 + 26 * H, 40 * S, "resolved", "resolved", "park"),  # park has no row
    ("s2", T0 + 27 * H, None, "abandoned", "cancelled", None),
    ("c3", T0 + 28 * H, None, "expired", "expired", None),  # a second request of c3
    ("c4", T0 + 29 * H, None, "requested", None, None),  # a pre-0006 waiting row
    ("old", T0 - H, 1000 * S, "resolved", "resolved", "kim"),  # before the period
    ("late", UNTIL, 5 * S, "accepted", None, "lee"),  # at its end: outside
]


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite and then PostgreSQL database holding the rows above."""
    engine = create_engine(migrated_url)
    conversations: list[dict[str, Any]] = [
        {
            "id": cid,
            "channel": channel,
            "address": f"addr-{cid}",
            "language": "ko",
            "accessibility": {},
            "last_buttons": [],
            "created_at": at,
            "updated_at": at,
        }
        for cid, (channel, at) in CONVERSATIONS.items()
    ]
    requests: list[dict[str, Any]] = [
        {
            "conversation_id": cid,
            "reason": "sign_language",
            "service": None,
            "channel": CONVERSATIONS[cid][0],
            "language": "ko",
            "accessibility": {},
            "status": status,
            "outcome": outcome,
            "accepted_by": by,
            "created_at": at,
            "accepted_at": at + wait if wait is not None else None,
        }
        for cid, at, wait, status, outcome, by in REQUESTS
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(ConversationRow), conversations)
        await conn.execute(insert(handoff_requests), requests)
        await conn.execute(
            insert(InterpreterRow),
            [
                {"id": "kim", "name": "김수어", "skills": ["ksl"], "updated_at": T0},
                {"id": "lee", "name": "이통역", "skills": ["ksl"], "updated_at": T0},
            ],
        )
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_counts_waits_and_outcomes(engine: AsyncEngine) -> None:
    figures = await handoff_figures(engine, T0, UNTIL)
    assert figures.requests == 8
    assert figures.by_state == {
        "waiting": 1,  # "requested" reads as waiting
        "offered": 0,
        "accepted": 1,
        "in_session": 1,
        "resolved": 3,
        "abandoned": 1,
        "expired": 1,
    }
    assert (figures.abandoned, figures.expired) == (1, 1)
    assert (figures.resolved, figures.handed_back) == (2, 1)
    # Waits 10, 20, 30, 40, 100 s: median 30; p90 at rank 3.6 = 40 + 0.6 × 60 = 76.
    assert figures.wait.accepted == 5
    assert figures.wait.p50_seconds == 30.0
    assert figures.wait.p90_seconds == pytest.approx(76.0)


async def test_per_interpreter(engine: AsyncEngine) -> None:
    figures = await handoff_figures(engine, T0, UNTIL)
    assert figures.interpreters == [
        InterpreterFigures("kim", "김수어", accepted=3, resolved=1, handed_back=1, open=1),
        InterpreterFigures("lee", "이통역", accepted=1, resolved=0, handed_back=0, open=1),
        InterpreterFigures("park", None, accepted=1, resolved=1, handed_back=0, open=0),
    ]


async def test_per_day_in_seoul(engine: AsyncEngine) -> None:
    figures = await handoff_figures(engine, T0, UNTIL)
    # 09:00 on 1 Dec to 09:00 on 3 Dec in Seoul touches three calendar days.
    assert figures.days == [
        DayFigures(dt.date(2026, 12, 1), 3, 20.0),  # waits 10, 20, 100
        DayFigures(dt.date(2026, 12, 2), 5, 35.0),  # waits 30, 40
        DayFigures(dt.date(2026, 12, 3), 0, None),
    ]


async def test_containment(engine: AsyncEngine) -> None:
    figures = await handoff_figures(engine, T0, UNTIL)
    assert figures.containment == Containment("all", conversations=9, with_handoff=7)
    assert figures.containment.contained == 2
    assert figures.containment.share == pytest.approx(2 / 9)
    assert figures.containment_by_channel == [
        Containment("desk", 1, 1),
        Containment("sms", 3, 2),
        Containment("webchat", 5, 4),
    ]
    assert [c.share for c in figures.containment_by_channel] == [
        0.0,
        pytest.approx(1 / 3),
        pytest.approx(0.2),
    ]


async def test_an_empty_period(engine: AsyncEngine) -> None:
    since = T0 + dt.timedelta(days=30)
    figures = await handoff_figures(engine, since, since + dt.timedelta(hours=1))
    assert figures.requests == 0
    assert (figures.wait.p50_seconds, figures.wait.p90_seconds) == (None, None)
    assert figures.interpreters == []
    assert figures.containment == Containment("all", 0, 0)
    assert figures.containment.share is None
    assert figures.days == [DayFigures(dt.date(2026, 12, 31), 0, None)]


# PostgreSQL only: SQLite has no percentile_cont to compare with.
@pytest.mark.parametrize("migrated_url", ["postgresql"], indirect=True)
async def test_percentiles_match_postgresql_percentile_cont(engine: AsyncEngine) -> None:
    """The Python percentile is PostgreSQL's ``percentile_cont``."""
    assert engine.dialect.name == "postgresql"
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY w),"
                    " percentile_cont(0.9) WITHIN GROUP (ORDER BY w)"
                    " FROM (SELECT EXTRACT(EPOCH FROM accepted_at - created_at) AS w"
                    " FROM handoff_requests WHERE accepted_at IS NOT NULL"
                    " AND created_at >= :since AND created_at < :until) AS waits"
                ),
                {"since": T0, "until": UNTIL},
            )
        ).one()
    figures = await handoff_figures(engine, T0, UNTIL)
    assert figures.wait.p50_seconds == pytest.approx(float(row[0]))
    assert figures.wait.p90_seconds == pytest.approx(float(row[1]))


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([1.0, 2.0], 0.0) == 1.0
    assert percentile([1.0, 2.0], 1.0) == 2.0
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


async def test_the_period_is_checked(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError):
        await handoff_figures(engine, UNTIL, T0)
    with pytest.raises(ValueError):
        await handoff_figures(engine, T0.replace(tzinfo=None), UNTIL)


async def test_whether_it_helped_and_resolution_by_channel_service_and_centre(
    engine: AsyncEngine,
) -> None:
    answers = {"c1": True, "c2": False, "old": True}  # "old" is outside the period
    async with engine.begin() as conn:
        for cid, helpful in answers.items():
            await conn.execute(
                handoff_requests.update()
                .where(handoff_requests.c.conversation_id == cid)
                .values(helpful=helpful, service="basic_pension", region="jongno")
            )
    figures = await handoff_figures(engine, T0, UNTIL)
    by_channel = {s.key: s for s in figures.satisfaction_by_channel}
    assert sorted(by_channel) == ["desk", "sms", "webchat"]
    web = by_channel["webchat"]
    # c1 resolved, c2 handed back, c3 resolved then expired, c4 waiting: 5 requests.
    assert (web.requests, web.resolved, web.answered, web.helpful) == (5, 3, 2, 1)
    assert web.helpful_share == 0.5 and web.resolution_share == 3 / 5
    assert by_channel["sms"].helpful_share is None  # nobody answered
    by_service = {s.key: s for s in figures.satisfaction_by_service}
    assert (by_service["basic_pension"].requests, by_service["basic_pension"].helpful) == (2, 1)
    assert by_service[""].requests == 6  # the other 6 of the 8: no particular service
    by_centre = {s.key: s for s in figures.satisfaction_by_centre}
    assert by_centre["jongno"].answered == 2 and by_centre[""].answered == 0
