"""Public Service Map screening: which services may fit, from a few kind questions.

Three screenings, one per group the Public Service Map serves: disabled people, mothers
and newborns, elderly people. Each is a Rasa form (``screening_<group>_form``) that asks
one question at a time; this module holds what is asked, when a question is skipped,
and which catalog services the answers point to. It knows nothing of Rasa.

Answers are ``True``/``False`` for yes/no, a number for ages and months, or
``UNKNOWN`` when the citizen does not know. An unknown answer never rules a service
out: it is shown with "check the conditions", because missing a benefit costs a citizen
more than one question at the community centre does.

The screening points to services; the agency decides. Results always say so. The ages
and limits it decides with are reviewed data with dates (``Limits``, from
``assistant/catalog/data/thresholds.yaml``): the values in force on the day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from assistant.catalog.thresholds import Thresholds, load_thresholds

UNKNOWN = "unknown"

Answers = Mapping[str, Any]
# The thresholds in force on a day, by id (``Thresholds.on``).
Limits = Mapping[str, float]
AnswerKind = Literal["yes_no", "number", "months"]


@dataclass(frozen=True)
class Question:
    """One question: the slot it fills, how its answer is read, and when it is asked."""

    slot: str
    kind: AnswerKind
    asked_if: Callable[[Answers], bool] = lambda answers: True


@dataclass(frozen=True)
class Finding:
    """A service that may fit; ``certain`` is False when it rests on an unknown answer."""

    service: str
    certain: bool = True


@dataclass(frozen=True)
class Screening:
    """One group's screening."""

    group: str
    questions: tuple[Question, ...]
    rules: Callable[[Answers, Limits], list[Finding]]

    @property
    def form(self) -> str:
        """The Rasa form that asks the questions."""
        return f"screening_{self.group}_form"

    @property
    def slots(self) -> list[str]:
        """Every slot the form may fill."""
        return [q.slot for q in self.questions]

    def required_slots(self, answers: Answers) -> list[str]:
        """The questions to ask given the answers so far, in order."""
        return [q.slot for q in self.questions if q.asked_if(answers)]

    def question(self, slot: str) -> Question:
        """The question that fills ``slot``."""
        return next(q for q in self.questions if q.slot == slot)

    def findings(self, answers: Answers, on: dt.date | None = None) -> list[Finding]:
        """Services that may fit, most important first, each once, by the limits in
        force ``on`` that day (today in Seoul by default)."""
        limits = thresholds().on(on or _seoul_today())
        seen: dict[str, Finding] = {}
        for finding in self.rules(answers, limits):
            if finding.service in seen:
                # Certain wins: a service found for sure is not "check the conditions".
                if finding.certain and not seen[finding.service].certain:
                    seen[finding.service] = finding
                continue
            seen[finding.service] = finding
        return list(seen.values())


@cache
def thresholds() -> Thresholds:
    """The screening limits, read once a process."""
    return load_thresholds()


def _seoul_today() -> dt.date:
    from assistant.reminders.schedule import seoul_today

    return seoul_today(dt.datetime.now(dt.UTC))


# The questions about income, living alone and work are asked from this age (the lowest
# age of any service they lead to, the senior jobs'); asking is not deciding, so it is
# not a reviewed limit.
_ASK_FROM_AGE = 60


def _yes(answers: Answers, slot: str) -> bool:
    return answers.get(slot) is True


def _no(answers: Answers, slot: str) -> bool:
    return answers.get(slot) is False


def _unknown(answers: Answers, *slots: str) -> bool:
    return any(answers.get(slot) == UNKNOWN for slot in slots)


def _number(answers: Answers, slot: str) -> float | None:
    value = answers.get(slot)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _at_least(answers: Answers, slot: str, minimum: float) -> bool | None:
    """Whether a number reaches ``minimum``; None when it is unknown."""
    value = _number(answers, slot)
    return None if value is None else value >= minimum


def _below(answers: Answers, slot: str, limit: float) -> bool | None:
    value = _number(answers, slot)
    return None if value is None else value < limit


def _may(condition: bool | None) -> bool:
    """True unless known to be false."""
    return condition is not False


def _add(found: list[Finding], service: str, *conditions: bool | None) -> None:
    """Add ``service`` unless a condition is known false; uncertain if any is unknown."""
    if all(_may(c) for c in conditions):
        found.append(Finding(service, certain=all(c is True for c in conditions)))


def _maybe_yes(answers: Answers, slot: str) -> bool | None:
    value = answers.get(slot)
    return None if value == UNKNOWN or value is None else value is True


# --- Elderly people ---------------------------------------------------------------


def _elderly_rules(a: Answers, limits: Limits) -> list[Finding]:
    found: list[Finding] = []
    senior = _at_least(a, "age", limits["elderly_care_age"])
    # The basic pension can be applied for from a month before the birthday: in the
    # last year before the age, in whole years.
    nearly_senior = _at_least(a, "age", limits["basic_pension_age"] - 1)
    low_income = _maybe_yes(a, "low_income")
    alone = _maybe_yes(a, "lives_alone")
    care = _maybe_yes(a, "needs_daily_help")
    _add(found, "basic_pension", nearly_senior, low_income)
    if _may(care):
        # Long-term care: 65+, or younger with an age-related illness such as dementia.
        _add(found, "long_term_care", care)
    if _may(alone) or _may(care):
        either = True if (alone is True or care is True) else None
        _add(found, "elderly_care_service", senior, low_income, either)
    _add(
        found,
        "senior_jobs",
        _at_least(a, "age", limits["senior_jobs_age"]),
        _maybe_yes(a, "wants_work"),
    )
    _add(found, "basic_livelihood", low_income)
    _add(found, "energy_voucher", low_income)
    if alone is True and senior is not False:
        _add(found, "postal_welfare_delivery", alone, senior)
    found.append(Finding("welfare_consultation"))
    return found


ELDERLY = Screening(
    group="elderly",
    questions=(
        Question("age", "number"),
        Question("low_income", "yes_no", lambda a: _may(_at_least(a, "age", _ASK_FROM_AGE))),
        Question("lives_alone", "yes_no", lambda a: _may(_at_least(a, "age", _ASK_FROM_AGE))),
        Question("needs_daily_help", "yes_no"),
        Question("wants_work", "yes_no", lambda a: _may(_at_least(a, "age", _ASK_FROM_AGE))),
    ),
    rules=_elderly_rules,
)


# --- Disabled people --------------------------------------------------------------


def _disabled_rules(a: Answers, limits: Limits) -> list[Finding]:
    found: list[Finding] = []
    registered = _maybe_yes(a, "disability_registered")
    severe = _maybe_yes(a, "disability_severe")
    adult = _at_least(a, "age", limits["disability_benefits_adult_age"])
    low_income = _maybe_yes(a, "low_income")
    care = _maybe_yes(a, "needs_daily_help")
    if registered is not True:
        # Every disability benefit starts with registration.
        found.append(Finding("disability_registration", certain=registered is False))
    if registered is False:
        severe = None  # not registered yet: the degree is decided at registration
    _add(found, "disability_pension", adult, severe, low_income)
    not_severe = None if severe is None else not severe
    _add(found, "disability_allowance", adult, not_severe, low_income)
    working_age = None
    if _number(a, "age") is not None:
        working_age = (
            _at_least(a, "age", limits["activity_support_min_age"]) is True
            and _below(a, "age", limits["activity_support_below_age"]) is True
        )
    _add(found, "disability_activity_support", working_age, care)
    if _at_least(a, "age", limits["long_term_care_age"]) is True:
        _add(found, "long_term_care", care)
    if _yes(a, "hearing_or_speech"):
        found.append(Finding("sign_language_relay"))
    _add(found, "basic_livelihood", low_income)
    _add(found, "energy_voucher", low_income)
    found.append(Finding("welfare_consultation"))
    return found


DISABLED = Screening(
    group="disabled",
    questions=(
        Question("disability_registered", "yes_no"),
        Question("age", "number"),
        Question("disability_severe", "yes_no", lambda a: not _no(a, "disability_registered")),
        Question("low_income", "yes_no"),
        Question("needs_daily_help", "yes_no"),
        Question("hearing_or_speech", "yes_no"),
    ),
    rules=_disabled_rules,
)


# --- Mothers and newborns ---------------------------------------------------------


def _mothers_rules(a: Answers, limits: Limits) -> list[Finding]:
    found: list[Finding] = []
    born = _maybe_yes(a, "baby_born")
    reported = _maybe_yes(a, "birth_reported")
    low_income = _maybe_yes(a, "low_income")
    if born is False:
        # Before the birth: what to do once the baby arrives, in order.
        for service in ("birth_report", "childbirth_one_stop", "first_meeting_voucher"):
            found.append(Finding(service))
        found += [Finding("parent_benefit"), Finding("child_allowance")]
    else:
        if reported is not True:
            found.append(Finding("birth_report", certain=reported is False))
            found.append(Finding("childbirth_one_stop", certain=reported is False))
        # The first-meeting voucher is applied for within a year of the birth.
        months = {
            service: _below(a, "baby_months", limits[f"{service}_below_months"])
            for service in ("first_meeting_voucher", "parent_benefit", "child_allowance")
        }
        for service, young_enough in months.items():
            _add(found, service, born, young_enough)
    _add(found, "energy_voucher", low_income)
    _add(found, "basic_livelihood", low_income)
    if low_income is not False:
        _add(found, "welfare_consultation", low_income)
    return found


MOTHERS_NEWBORNS = Screening(
    group="mothers_newborns",
    questions=(
        Question("baby_born", "yes_no"),
        Question("baby_months", "months", lambda a: not _no(a, "baby_born")),
        Question("birth_reported", "yes_no", lambda a: not _no(a, "baby_born")),
        Question("low_income", "yes_no"),
    ),
    rules=_mothers_rules,
)

SCREENINGS: dict[str, Screening] = {s.group: s for s in (ELDERLY, DISABLED, MOTHERS_NEWBORNS)}


def screening_for_form(form: str | None) -> Screening | None:
    """The screening a Rasa form name belongs to."""
    return next((s for s in SCREENINGS.values() if s.form == form), None)


def all_screening_slots() -> list[str]:
    """Every slot any screening fills, each once."""
    return list(dict.fromkeys(slot for s in SCREENINGS.values() for slot in s.slots))
