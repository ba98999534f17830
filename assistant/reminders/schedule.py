"""When a deadline falls and when to remind: pure functions over the catalog.

How deadlines are counted (Korean Civil Code, 민법 제157조·제159조·제160조)
-------------------------------------------------------------------------
The day of the event itself is not counted (초일불산입), and a period in months runs by
the calendar. In effect:

- ``N`` days from an event end on event date + N days (moved on 1 Nov, 14 days: the
  report is due by the end of 15 Nov);
- ``N`` months from an event end on the same day number N months later; when that month
  is shorter, on its last day (born 31 Jan: due 28 Feb, or 29 Feb in a leap year; born
  15 Jan: due 15 Feb). This is exactly what 제160조 gives when counting starts the day
  after the event.

We deliberately do not move a deadline that falls on a Saturday, Sunday or public
holiday to the next working day (민법 제161조 would): a reminder a day early does no
harm, a reminder that promises a day the law does not give can cost a fine.

When to remind
--------------
At ``SEND_HOUR`` (09:00) Seoul time, ``LEAD_DAYS`` before the due date (3 days before and
on the last day itself). Times already past are dropped; if the deadline itself has
passed, there is nothing to schedule and the plan says so (``passed``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from assistant.catalog import Catalog, Deadline, Package, Service

SEOUL: Final = ZoneInfo("Asia/Seoul")
SEND_HOUR: Final = 9
LEAD_DAYS: Final[tuple[int, ...]] = (3, 0)


def _check_aware(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def seoul_today(now: dt.datetime) -> dt.date:
    """The calendar date in Seoul at the instant ``now`` (timezone-aware)."""
    _check_aware(now)
    return now.astimezone(SEOUL).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the target month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def due_date(deadline: Deadline, event_date: dt.date) -> dt.date:
    """The last day to act for an event on ``event_date`` (see the module docstring)."""
    if deadline.unit == "day":
        return event_date + dt.timedelta(days=deadline.amount)
    return add_months(event_date, deadline.amount)


def reminder_times(
    due: dt.date,
    now: dt.datetime,
    *,
    lead_days: tuple[int, ...] = LEAD_DAYS,
    hour: int = SEND_HOUR,
) -> tuple[dt.datetime, ...]:
    """Send times (Seoul time, oldest first) for a deadline on ``due``, none before ``now``."""
    _check_aware(now)
    times = {
        dt.datetime.combine(due - dt.timedelta(days=days), dt.time(hour), tzinfo=SEOUL)
        for days in lead_days
    }
    return tuple(sorted(t for t in times if t > now))


@dataclass(frozen=True)
class ReminderPlan:
    """What to schedule for one service's deadline.

    ``passed`` is True when the last day was before today: nothing is scheduled, and
    the citizen should be told the deadline is over (and still act: late is better than
    never, though a fine may apply). ``send_at`` may be empty without ``passed`` when
    the deadline is today and the morning reminder time is over.
    """

    service_id: str
    event_date: dt.date
    due_date: dt.date
    send_at: tuple[dt.datetime, ...]
    passed: bool
    days_left: int  # from today (Seoul) to the due date; negative once passed


def plan_service(
    service: Service,
    event_date: dt.date,
    now: dt.datetime,
    *,
    lead_days: tuple[int, ...] = LEAD_DAYS,
    hour: int = SEND_HOUR,
) -> ReminderPlan:
    """The reminders for ``service`` after an event on ``event_date``, seen at ``now``."""
    if service.deadline is None:
        raise ValueError(f"service {service.id!r} has no deadline to remind of")
    due = due_date(service.deadline, event_date)
    days_left = (due - seoul_today(now)).days
    passed = days_left < 0
    times = () if passed else reminder_times(due, now, lead_days=lead_days, hour=hour)
    return ReminderPlan(
        service_id=service.id,
        event_date=event_date,
        due_date=due,
        send_at=times,
        passed=passed,
        days_left=days_left,
    )


def deadline_services(catalog: Catalog) -> list[Service]:
    """Every service with a deadline, by id."""
    return sorted((s for s in catalog if s.deadline is not None), key=lambda s: s.id)


def package_deadline_services(package: Package, catalog: Catalog) -> list[Service]:
    """The services of ``package``'s steps that have a deadline, in step order."""
    services = (catalog.get(step.service) for step in package.steps)
    return [s for s in services if s is not None and s.deadline is not None]


def plan_package(
    package: Package,
    catalog: Catalog,
    event_date: dt.date,
    now: dt.datetime,
    *,
    lead_days: tuple[int, ...] = LEAD_DAYS,
    hour: int = SEND_HOUR,
) -> list[ReminderPlan]:
    """A plan for every step of ``package`` that has a deadline, in step order."""
    return [
        plan_service(service, event_date, now, lead_days=lead_days, hour=hour)
        for service in package_deadline_services(package, catalog)
    ]
