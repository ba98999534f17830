"""Figures of the handoff service for the admin view: how many asked for a person, how
long they waited, how requests ended, who took them, and how many conversations the
assistant handled alone (containment).

Rows are read with SQLAlchemy Core and the figures computed in Python, so the same code
gives the same numbers on SQLite and PostgreSQL (SQLite has no percentile function).
Percentiles interpolate linearly between the closest ranks — PostgreSQL's
``percentile_cont`` and numpy's default — so a figure can be checked by hand or in SQL.
Days are calendar days in Asia/Seoul, where the service runs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.handoff.models import InterpreterRow, handoff_requests
from assistant.handoff.records import SEOUL, Outcome, QueueState, parse_state
from assistant.store.models import ConversationRow
from assistant.store.sql import as_utc, aware

R = handoff_requests.c
C = ConversationRow.__table__.c


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` (0–1) percentile of ``values``, linearly interpolated between the
    closest ranks (PostgreSQL's ``percentile_cont``); None for no values."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction is between 0 and 1")
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class WaitFigures:
    """Seconds from asking to a person accepting, over the accepted requests."""

    accepted: int
    p50_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class InterpreterFigures:
    """What one interpreter or staff member took in the period."""

    interpreter_id: str
    name: str | None  # None: no interpreter row (deleted, or an account renamed)
    accepted: int  # every request they accepted
    resolved: int  # closed by them with outcome "resolved"
    handed_back: int  # handed back to the bot
    open: int  # still accepted or in session


@dataclass(frozen=True)
class DayFigures:
    """One calendar day (Asia/Seoul): requests made and their median wait."""

    day: dt.date
    requests: int
    median_wait_seconds: float | None  # of that day's requests that were accepted


@dataclass(frozen=True)
class Containment:
    """Conversations started in the period, and how many never asked for a person."""

    channel: str  # "all" for every channel together
    conversations: int
    with_handoff: int

    @property
    def contained(self) -> int:
        """Conversations the assistant handled without a person."""
        return self.conversations - self.with_handoff

    @property
    def share(self) -> float | None:
        """The contained share (0–1); None without conversations."""
        return self.contained / self.conversations if self.conversations else None


_CLOSED_BY_A_PERSON = frozenset(
    {Outcome.RESOLVED.value, Outcome.HANDED_BACK.value, Outcome.TRANSFERRED.value}
)


@dataclass(frozen=True)
class Satisfaction:
    """How the requests of one channel, service or centre ended, and whether the
    citizens said it helped (closing the loop: asked once when a person closes)."""

    key: str  # the channel, the service id, or the centre's region ("" for none)
    requests: int
    resolved: int  # closed by a person: resolved, handed back, or transferred
    answered: int  # citizens who answered "did it help?"
    helpful: int  # of those, "yes"

    @property
    def resolution_share(self) -> float | None:
        """Closed by a person, of all the requests (None: no requests)."""
        return self.resolved / self.requests if self.requests else None

    @property
    def helpful_share(self) -> float | None:
        """Said it helped, of those who answered (None: nobody answered)."""
        return self.helpful / self.answered if self.answered else None


def _satisfaction(rows: Sequence[Any], key: Callable[[Any], str | None]) -> list[Satisfaction]:
    groups: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        counts = groups[key(row) or ""]
        counts["requests"] += 1
        counts["resolved"] += row.outcome in _CLOSED_BY_A_PERSON
        if row.helpful is not None:
            counts["answered"] += 1
            counts["helpful"] += bool(row.helpful)
    return [
        Satisfaction(k, c["requests"], c["resolved"], c["answered"], c["helpful"])
        for k, c in sorted(groups.items())
    ]


@dataclass(frozen=True)
class HandoffFigures:
    """Every figure of ``handoff_figures`` for one period [since, until)."""

    since: dt.datetime
    until: dt.datetime
    requests: int  # handoff requests made in the period
    by_state: dict[str, int]  # their current state → how many (every state present)
    abandoned: int  # the citizen cancelled
    expired: int  # nobody took them in time
    resolved: int  # closed by a person, outcome "resolved"
    handed_back: int  # closed by a person, handed back to the bot
    wait: WaitFigures
    interpreters: list[InterpreterFigures]  # most accepted first
    days: list[DayFigures]  # every day of the period, oldest first
    containment: Containment  # all channels
    containment_by_channel: list[Containment]  # by channel name
    satisfaction_by_channel: list[Satisfaction]
    satisfaction_by_service: list[Satisfaction]
    satisfaction_by_centre: list[Satisfaction]  # by the region of the desk or request


async def handoff_figures(
    engine: AsyncEngine, since: dt.datetime, until: dt.datetime
) -> HandoffFigures:
    """The handoff figures of requests and conversations created in [since, until).

    ``since`` and ``until`` are aware datetimes. Waits count requests that a person
    accepted (``accepted_at − created_at``), whatever happened after.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    if until <= since:
        raise ValueError("until must be after since")
    in_period = (R.created_at >= as_utc(since), R.created_at < as_utc(until))
    async with engine.connect() as conn:
        requests = (
            await conn.execute(
                select(
                    R.created_at,
                    R.accepted_at,
                    R.status,
                    R.outcome,
                    R.accepted_by,
                    R.channel,
                    R.service,
                    R.region,
                    R.helpful,
                ).where(*in_period)
            )
        ).all()
        people = [row.accepted_by for row in requests if row.accepted_by]
        names: dict[str, str] = {}
        if people:
            found = await conn.execute(
                select(InterpreterRow.id, InterpreterRow.name).where(
                    InterpreterRow.id.in_(sorted(set(people)))
                )
            )
            names = {row.id: row.name for row in found}
        # Any request of the conversation counts, even one made after the period ended:
        # the conversation needed a person.
        asked = exists().where(R.conversation_id == C.id)
        per_channel = (
            await conn.execute(
                select(
                    C.channel,
                    func.count().label("conversations"),
                    func.count().filter(asked).label("with_handoff"),
                )
                .where(C.created_at >= as_utc(since), C.created_at < as_utc(until))
                .group_by(C.channel)
                .order_by(C.channel)
            )
        ).all()

    states: Counter[QueueState] = Counter()
    outcomes: Counter[str] = Counter()
    waits: list[float] = []
    day_requests: Counter[dt.date] = Counter()
    day_waits: defaultdict[dt.date, list[float]] = defaultdict(list)
    per_person: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in requests:
        state = parse_state(row.status)
        states[state] += 1
        if row.outcome:
            outcomes[row.outcome] += 1
        day = aware(row.created_at).astimezone(SEOUL).date()
        day_requests[day] += 1
        if row.accepted_at is not None:
            seconds = (aware(row.accepted_at) - aware(row.created_at)).total_seconds()
            waits.append(seconds)
            day_waits[day].append(seconds)
        if row.accepted_by:
            counts = per_person[row.accepted_by]
            counts["accepted"] += 1
            if state in (QueueState.ACCEPTED, QueueState.IN_SESSION):
                counts["open"] += 1
            elif state is QueueState.RESOLVED and row.outcome:
                counts[row.outcome] += 1

    channels = [
        Containment(row.channel, int(row.conversations), int(row.with_handoff))
        for row in per_channel
    ]
    return HandoffFigures(
        since=since,
        until=until,
        requests=len(requests),
        by_state={state.value: states[state] for state in QueueState},
        abandoned=states[QueueState.ABANDONED],
        expired=states[QueueState.EXPIRED],
        resolved=outcomes[Outcome.RESOLVED.value],
        handed_back=outcomes[Outcome.HANDED_BACK.value],
        wait=WaitFigures(
            accepted=len(waits),
            p50_seconds=percentile(waits, 0.5),
            p90_seconds=percentile(waits, 0.9),
        ),
        interpreters=sorted(
            (
                InterpreterFigures(
                    interpreter_id=person,
                    name=names.get(person),
                    accepted=counts["accepted"],
                    resolved=counts[Outcome.RESOLVED.value],
                    handed_back=counts[Outcome.HANDED_BACK.value],
                    open=counts["open"],
                )
                for person, counts in per_person.items()
            ),
            key=lambda figures: (-figures.accepted, figures.interpreter_id),
        ),
        days=[
            DayFigures(day, day_requests[day], percentile(day_waits[day], 0.5))
            for day in _days(since, until)
        ],
        containment=Containment(
            "all",
            sum(c.conversations for c in channels),
            sum(c.with_handoff for c in channels),
        ),
        containment_by_channel=channels,
        satisfaction_by_channel=_satisfaction(requests, lambda row: row.channel),
        satisfaction_by_service=_satisfaction(requests, lambda row: row.service),
        satisfaction_by_centre=_satisfaction(requests, lambda row: row.region),
    )


def _days(since: dt.datetime, until: dt.datetime) -> list[dt.date]:
    """Every Seoul calendar day the period [since, until) touches, oldest first."""
    first = since.astimezone(SEOUL).date()
    last = (until - dt.timedelta(microseconds=1)).astimezone(SEOUL).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
