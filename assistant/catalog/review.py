"""Which catalog entries are due for review by a civil servant (``sotong catalog stale``).

Every service and life-event package carries the date it was last checked
(``reviewed``). Amounts, fees and rules change yearly, so an entry not checked for a
while is listed, oldest first, with the file to edit; and every amount that applies as of
an earlier year than today's, since a new year's sum may apply now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from assistant.catalog.loader import DEFAULT_CATALOG_DIR, Catalog


@dataclass(frozen=True)
class DueEntry:
    """One entry last reviewed ``age_days`` ago."""

    kind: str  # "service" or "package"
    id: str
    name: str  # the Korean name, as the reviewer knows it
    reviewed: dt.date
    age_days: int
    path: Path  # the YAML file to edit

    def describe(self) -> str:
        """One line for the terminal."""
        return (
            f"{self.reviewed.isoformat()}  {self.age_days:>4} days  {self.kind:<7}  "
            f"{self.id}  {self.name}  {self.path}"
        )


def due_for_review(
    catalog: Catalog,
    today: dt.date,
    days: int,
    directory: Path = DEFAULT_CATALOG_DIR,
) -> list[DueEntry]:
    """Entries whose last review is ``days`` days before ``today`` or longer ago,
    oldest first (then services before packages, then by id)."""
    if days < 0:
        raise ValueError("days is zero or more")
    kinds = (
        ("service", "services", list(catalog)),
        ("package", "packages", list(catalog.packages.values())),
    )
    entries = [
        DueEntry(
            kind,
            entry.id,
            entry.name.ko,
            entry.reviewed,
            (today - entry.reviewed).days,
            directory / folder / f"{entry.id}.yaml",
        )
        for kind, folder, found in kinds
        for entry in found
    ]
    due = [entry for entry in entries if entry.age_days >= days]
    return sorted(due, key=lambda e: (e.reviewed, e.kind != "service", e.id))


@dataclass(frozen=True)
class OldAmount:
    """An amount of a service given as of an earlier year than today's."""

    id: str
    name: str  # the service's Korean name
    what: str  # the amount's Korean label
    effective: dt.date
    path: Path

    def describe(self) -> str:
        """One line for the terminal."""
        return f"{self.effective.isoformat()}  amount   {self.id}  {self.what}  {self.path}"


def amounts_before_this_year(
    catalog: Catalog, today: dt.date, directory: Path = DEFAULT_CATALOG_DIR
) -> list[OldAmount]:
    """Amounts that apply as of a year before ``today``'s, oldest first: check whether
    this year's sums differ (pensions and allowances change every January)."""
    found = [
        OldAmount(
            service.id,
            service.name.ko,
            amount.what.ko,
            amount.effective,
            directory / "services" / f"{service.id}.yaml",
        )
        for service in catalog
        for amount in service.amounts
        if amount.effective.year < today.year
    ]
    return sorted(found, key=lambda a: (a.effective, a.id))  # stable: the file's order
