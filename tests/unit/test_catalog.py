from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.catalog import CatalogError, load_catalog
from assistant.catalog.loader import DEFAULT_CATALOG_DIR
from assistant.catalog.nlu_export import stale_exports

REQUIRED = {
    "resident_registration_copy",
    "move_in_report",
    "basic_pension",
    "disability_registration",
    "birth_report",
}


def test_catalog_loads_and_covers_the_first_services() -> None:
    catalog = load_catalog()
    assert REQUIRED <= set(catalog.services)
    for service in catalog:
        assert service.name.ko and service.name.en
        assert service.aliases.ko and service.aliases.en


def test_generated_nlu_files_are_current() -> None:
    assert stale_exports(load_catalog()) == [], "run `sotong nlu export`"


def _copy_catalog(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    (target / "services").mkdir(parents=True)
    for path in (DEFAULT_CATALOG_DIR / "services").glob("*.yaml"):
        (target / "services" / path.name).write_text(path.read_text(encoding="utf-8"))
    return target


def test_invalid_entries_are_all_reported(tmp_path: Path) -> None:
    directory = _copy_catalog(tmp_path)
    pension = directory / "services" / "basic_pension.yaml"
    data = yaml.safe_load(pension.read_text(encoding="utf-8"))
    del data["summary"]["en"]  # English missing
    pension.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    birth = directory / "services" / "birth_report.yaml"
    data = yaml.safe_load(birth.read_text(encoding="utf-8"))
    data["id"] = "something_else"
    birth.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(directory)
    assert "basic_pension.yaml" in str(err.value) and "summary.en" in str(err.value)
    assert "birth_report.yaml: id 'something_else' must match" in str(err.value)


def test_deadlines_are_worded_plainly() -> None:
    catalog = load_catalog()
    move = catalog.get("move_in_report")
    assert move is not None and move.deadline is not None
    assert move.deadline.describe("ko") == "이사한 날부터 14일 안"
    assert move.deadline.describe("en") == "within 14 days of the day you moved"
