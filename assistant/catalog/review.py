"""Which catalog entries are due for review by a civil servant (``sotong catalog stale``).

Every service and life-event package carries the date it was last checked
(``reviewed``). Amounts, fees and rules change yearly, so an entry not checked for a
while is listed, oldest first, with the file to edit.
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
