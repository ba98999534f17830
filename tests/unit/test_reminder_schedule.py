"""Deadlines and reminder times: calendar months, month ends, leap years, Seoul time."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.catalog import Catalog, Deadline, load_catalog
from assistant.reminders.schedule import (
    SEOUL,
    add_months,
    deadline_services,
    due_date,
    package_deadline_services,
    plan_package,
    plan_service,
    reminder_times,
    seoul_today,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def seoul(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SEOUL)  # type: ignore[misc]


def months(n: int) -> Deadline:
    raw = {"amount": n, "unit": "month", "from": {"ko": "날", "en": "d"}, "kind": "report"}
    return Deadline.model_validate(raw)


def days(n: int) -> Deadline:
    raw = {"amount": n, "unit": "day", "from": {"ko": "날", "en": "d"}, "kind": "report"}
    return Deadline.model_validate(raw)


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (dt.date(2026, 1, 15), 1, dt.date(2026, 2, 15)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),  # clamped to February's end
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # leap year
        (dt.date(2028, 1, 29), 1, dt.date(2028, 2, 29)),
        (dt.date(2026, 1, 29), 1, dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 31), 1, dt.date(2026, 4, 30)),
        (dt.date(2026, 12, 31), 1, dt.date(2027, 1, 31)),  # over the year end
        (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),
        (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),
        (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),
    ],
)
def test_add_months(day: dt.date, n: int, expected: dt.date) -> None:
    assert add_months(day, n) == expected


def test_due_dates_follow_the_civil_code() -> None:
    # The event day is not counted: 14 days from 1 Nov end on 15 Nov.
    assert due_date(days(14), dt.date(2026, 11, 1)) == dt.date(2026, 11, 15)
    assert due_date(days(14), dt.date(2026, 12, 25)) == dt.date(2027, 1, 8)
    assert due_date(months(1), dt.date(2026, 1, 31)) == dt.date(2026, 2, 28)
    assert due_date(months(1), dt.date(2028, 1, 31)) == dt.date(2028, 2, 29)


def test_catalog_deadlines(catalog: Catalog) -> None:
    ids = [s.id for s in deadline_services(catalog)]
    assert ids == sorted(s.id for s in catalog if s.deadline is not None)
    assert {"move_in_report", "birth_report", "death_report"} <= set(ids)
    move_in = catalog.get("move_in_report")
    birth = catalog.get("birth_report")
    assert move_in is not None and move_in.deadline is not None
    assert birth is not None and birth.deadline is not None
    assert due_date(move_in.deadline, dt.date(2026, 11, 1)) == dt.date(2026, 11, 15)
    assert due_date(birth.deadline, dt.date(2028, 1, 30)) == dt.date(2028, 2, 29)


def test_reminders_three_days_before_and_on_the_last_morning() -> None:
    due = dt.date(2026, 11, 30)
    assert reminder_times(due, seoul(2026, 11, 20, 12)) == (
        seoul(2026, 11, 27, 9),
        seoul(2026, 11, 30, 9),
    )
    # Never in the past.
    assert reminder_times(due, seoul(2026, 11, 27, 9)) == (seoul(2026, 11, 30, 9),)
    assert reminder_times(due, seoul(2026, 11, 28, 0)) == (seoul(2026, 11, 30, 9),)
    assert reminder_times(due, seoul(2026, 11, 30, 9, 30)) == ()
    # 09:00 in Seoul is 00:00 UTC.
    (first, _) = reminder_times(due, seoul(2026, 11, 20, 12))
    assert first.astimezone(dt.UTC) == dt.datetime(2026, 11, 27, 0, 0, tzinfo=dt.UTC)


def test_today_is_seoul_today() -> None:
    late_utc = dt.datetime(2026, 11, 19, 16, 0, tzinfo=dt.UTC)  # 01:00 on the 20th in Seoul
    assert seoul_today(late_utc) == dt.date(2026, 11, 20)
    with pytest.raises(ValueError, match="timezone-aware"):
        seoul_today(dt.datetime(2026, 11, 20, 1))


def test_plan_for_a_service(catalog: Catalog) -> None:
    move_in = catalog.get("move_in_report")
    assert move_in is not None
    plan = plan_service(move_in, dt.date(2026, 11, 16), seoul(2026, 11, 20, 12))
    assert plan.due_date == dt.date(2026, 11, 30)
    assert plan.send_at == (seoul(2026, 11, 27, 9), seoul(2026, 11, 30, 9))
    assert not plan.passed and plan.days_left == 10


def test_plan_when_the_deadline_has_passed(catalog: Catalog) -> None:
    move_in = catalog.get("move_in_report")
    assert move_in is not None
    plan = plan_service(move_in, dt.date(2026, 11, 1), seoul(2026, 11, 16, 8))
    assert plan.due_date == dt.date(2026, 11, 15)
    assert plan.passed and plan.send_at == () and plan.days_left == -1


def test_plan_on_the_last_day(catalog: Catalog) -> None:
    move_in = catalog.get("move_in_report")
    assert move_in is not None
    morning = plan_service(move_in, dt.date(2026, 11, 1), seoul(2026, 11, 15, 8))
    assert not morning.passed and morning.send_at == (seoul(2026, 11, 15, 9),)
    evening = plan_service(move_in, dt.date(2026, 11, 1), seoul(2026, 11, 15, 20))
    assert not evening.passed and evening.send_at == () and evening.days_left == 0


def test_a_service_without_deadline_has_no_plan(catalog: Catalog) -> None:
    passport = catalog.get("passport")
    assert passport is not None and passport.deadline is None
    with pytest.raises(ValueError, match="no deadline"):
        plan_service(passport, dt.date(2026, 11, 1), seoul(2026, 11, 2, 8))


def test_packages_plan_the_steps_with_deadlines(catalog: Catalog) -> None:
    moving, death, turning_65 = (catalog.package(p) for p in ("moving", "death", "turning_65"))
    assert moving is not None and death is not None and turning_65 is not None
    assert [s.id for s in package_deadline_services(moving, catalog)] == [
        "move_in_report",
        "rental_report",
    ]
    assert package_deadline_services(turning_65, catalog) == []
    plans = plan_package(death, catalog, dt.date(2026, 1, 31), seoul(2026, 2, 1, 12))
    # Month ends clamp (31 January + 1 month = 28 February); the claim windows follow.
    assert [(p.service_id, p.due_date) for p in plans] == [
        ("death_report", dt.date(2026, 2, 28)),
        ("inheritance_renunciation", dt.date(2026, 4, 30)),
        ("survivors_pension", dt.date(2031, 1, 31)),
    ]
    assert plans[0].send_at == (seoul(2026, 2, 25, 9), seoul(2026, 2, 28, 9))
