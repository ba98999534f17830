"""The screenings' ages and limits are reviewed data with dates (issue 20, item 1)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from assistant.catalog.thresholds import THRESHOLDS_FILE, ThresholdError, load_thresholds
from assistant.screening import MOTHERS_NEWBORNS, SCREENINGS, thresholds

DAY = dt.date(2026, 12, 5)


def test_every_limit_has_sources_a_reviewer_and_a_value_in_force() -> None:
    loaded = load_thresholds()
    for threshold in loaded.by_id.values():
        assert threshold.sources and threshold.reviewed_by, threshold.id
    limits = loaded.on(DAY)
    assert limits["child_allowance_below_months"] == 96
    assert limits["basic_pension_age"] == 65


def test_every_screening_decides_with_limits_from_the_file() -> None:
    # The rules read each limit by id: a missing one is a KeyError here, not a guess.
    limits = thresholds().on(DAY)
    answers = {"age": 70, "baby_months": 5, "baby_born": True}
    for screening in SCREENINGS.values():
        assert screening.rules(answers, limits), screening.group
        assert screening.findings(answers, on=DAY), screening.group


def _with_values(tmp_path: Path, threshold_id: str, values: list[dict[str, object]]) -> Path:
    raw = yaml.safe_load(THRESHOLDS_FILE.read_text(encoding="utf-8"))
    for item in raw:
        if item["id"] == threshold_id:
            item["values"] = values
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_a_raised_age_applies_from_its_day(tmp_path: Path) -> None:
    path = _with_values(
        tmp_path,
        "child_allowance_below_months",
        [{"value": 96, "effective": "2025-01-01"}, {"value": 108, "effective": "2026-01-01"}],
    )
    loaded = load_thresholds(path)
    eight = {"baby_born": True, "baby_months": 100, "birth_reported": True, "low_income": False}

    def allowance(day: dt.date) -> bool:
        found = MOTHERS_NEWBORNS.rules(eight, loaded.on(day))
        return "child_allowance" in [f.service for f in found]

    assert not allowance(dt.date(2025, 12, 31))
    assert allowance(dt.date(2026, 1, 1))


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ([], "values"),
        (
            [{"value": 96, "effective": "2026-01-01"}, {"value": 108, "effective": "2025-01-01"}],
            "date order",
        ),
        ([{"value": -1, "effective": "2025-01-01"}], "values.0.value"),
    ],
)
def test_a_broken_limit_is_refused(tmp_path: Path, values: list, problem: str) -> None:
    with pytest.raises(ThresholdError, match=problem):
        load_thresholds(_with_values(tmp_path, "child_allowance_below_months", values))


def test_no_value_before_the_first_day(tmp_path: Path) -> None:
    shutil.copy(THRESHOLDS_FILE, tmp_path / "t.yaml")
    with pytest.raises(LookupError, match="no value in force"):
        load_thresholds(tmp_path / "t.yaml").on(dt.date(2000, 1, 1))
