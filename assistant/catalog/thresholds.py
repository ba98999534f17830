"""The ages and limits the screenings decide with, as reviewed data with dates.

A law or a budget moves a limit (the child allowance's age has been raised more than
once); the limit is data beside the catalog (``data/thresholds.yaml``), each value with
the day it is known to apply from and the official pages it comes from, so a reviewer
changes it without touching code and an old value stays readable. A screening uses the
value in force on the day it is answered (``assistant/screening.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from assistant.catalog.schema import Source, _Strict

THRESHOLDS_FILE = Path(__file__).parent / "data" / "thresholds.yaml"


class ThresholdValue(_Strict):
    """One value and the day it is known to apply from."""

    value: float = Field(ge=0)
    effective: dt.date


class Threshold(_Strict):
    """One limit: what it means, its values over time, where they come from."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    unit: Literal["years", "months"]
    meaning: str = Field(min_length=1)  # for the reviewer, in Korean
    values: list[ThresholdValue] = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    reviewed: dt.date
    reviewed_by: str = Field(min_length=1)

    @model_validator(mode="after")
    def _in_date_order(self) -> Threshold:
        days = [v.effective for v in self.values]
        if days != sorted(set(days)):
            raise ValueError(f"{self.id}: values must be in date order, one a day")
        return self

    def in_force(self, on: dt.date) -> float:
        """The value that applies on ``on``. Raises LookupError before the first."""
        applying = [v for v in self.values if v.effective <= on]
        if not applying:
            raise LookupError(f"{self.id}: no value in force on {on.isoformat()}")
        return applying[-1].value


class ThresholdError(ValueError):
    """The thresholds file is not usable; the message says where."""


@dataclass(frozen=True)
class Thresholds:
    """Every threshold by id."""

    by_id: Mapping[str, Threshold]

    def on(self, day: dt.date) -> dict[str, float]:
        """Every value in force on ``day``, by id."""
        return {key: threshold.in_force(day) for key, threshold in self.by_id.items()}


def load_thresholds(path: Path = THRESHOLDS_FILE) -> Thresholds:
    """The thresholds file, checked. Raises :class:`ThresholdError`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = [Threshold.model_validate(item) for item in raw]
    except (OSError, yaml.YAMLError, ValidationError, TypeError) as exc:
        raise ThresholdError(f"{path}: {exc}") from exc
    by_id = {item.id: item for item in items}
    if len(by_id) != len(items):
        raise ThresholdError(f"{path}: an id is used twice")
    return Thresholds(by_id)
