"""``sotong catalog stale``: the entries a civil servant should check again, oldest first."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.catalog import load_catalog
from assistant.catalog.loader import DEFAULT_CATALOG_DIR
from assistant.catalog.review import amounts_before_this_year, due_for_review
from assistant.cli import app

YEAR_AGO = dt.date(2000, 1, 1)  # before any real review date


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """The real catalog, with the basic pension last reviewed long before the rest."""
    directory = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, directory)
    pension = directory / "services" / "basic_pension.yaml"
    text, changed = re.subn(
        r"(?m)^reviewed: .*$", f"reviewed: {YEAR_AGO.isoformat()}", pension.read_text("utf-8")
    )
    assert changed == 1
    pension.write_text(text, encoding="utf-8")
    return directory


def test_only_entries_reviewed_long_enough_ago_are_due_oldest_first(catalog_dir: Path) -> None:
    catalog = load_catalog(catalog_dir)
    newest = max([s.reviewed for s in catalog] + [p.reviewed for p in catalog.packages.values()])
    # The day after the newest review of the rest: only the old one is a year due.
    today = newest + dt.timedelta(days=1)
    due = due_for_review(catalog, today, days=365, directory=catalog_dir)
    assert [(e.kind, e.id, e.reviewed) for e in due] == [("service", "basic_pension", YEAR_AGO)]
    assert due[0].age_days == (today - YEAR_AGO).days
    assert due[0].path == catalog_dir / "services" / "basic_pension.yaml"
    assert due[0].name == "기초연금"
    # Zero days: everything, the old entry first, then by date, services before packages.
    everything = due_for_review(catalog, today, days=0, directory=catalog_dir)
    assert len(everything) == len(catalog.services) + len(catalog.packages)
    assert everything[0].id == "basic_pension"
    keys = [(e.reviewed, e.kind != "service", e.id) for e in everything]
    assert keys == sorted(keys)
    assert all(e.path.is_file() for e in everything)
    # Reviewed today is zero days old: due only when zero days are asked for.
    on_the_day = due_for_review(catalog, newest, days=1, directory=catalog_dir)
    assert on_the_day and all(e.reviewed < newest for e in on_the_day)
    same_day = due_for_review(catalog, newest, days=0, directory=catalog_dir)
    assert any(e.reviewed == newest for e in same_day)
    with pytest.raises(ValueError):
        due_for_review(catalog, today, days=-1)


def test_the_command_lists_what_is_due_with_the_file_to_edit() -> None:
    runner = CliRunner()
    catalog = load_catalog()
    result = runner.invoke(app, ["catalog", "stale", "--days", "0", "--today", "2100-01-01"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    total = len(catalog.services) + len(catalog.packages)
    amounts = sum(len(s.amounts) for s in catalog)
    assert amounts, "the catalog gives amounts for some services"
    assert len(lines) == total + 1 + amounts + 1
    summary = f"{total} due for review (last reviewed 0 days or more before 2100-01-01)"
    assert lines[total] == summary
    assert lines[-1] == f"{amounts} amounts given as of a year before 2100: check this year's sums"
    assert any("amount   basic_pension  혼자 사는 분" in line for line in lines)
    assert any(" service  basic_pension  기초연금  " in line for line in lines)
    assert any(line.endswith("packages/moving.yaml") for line in lines)
    nothing = runner.invoke(app, ["catalog", "stale", "--days", "99999", "--today", "2100-01-01"])
    assert nothing.exit_code == 0
    assert nothing.output.startswith("0 due for review")
    bad = runner.invoke(app, ["catalog", "stale", "--today", "2026-13-01"])
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_amounts_of_an_earlier_year_are_listed_for_a_new_year_s_check() -> None:
    catalog = load_catalog()
    pension = catalog.services["basic_pension"]
    year = pension.amounts[0].effective.year
    same_year = amounts_before_this_year(catalog, dt.date(year, 12, 31))
    assert not any(a.id == "basic_pension" for a in same_year)
    next_year = amounts_before_this_year(catalog, dt.date(year + 1, 1, 1))
    listed = [a for a in next_year if a.id == "basic_pension"]
    assert [a.what for a in listed] == [a.what.ko for a in pension.amounts]
    assert listed[0].path.name == "basic_pension.yaml"
