from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.actions.details import section_text
from assistant.actions.services import describe_service
from assistant.catalog import CatalogError, load_catalog
from assistant.catalog.loader import DEFAULT_CATALOG_DIR
from assistant.catalog.nlu_export import stale_exports

# The services the issue names; the catalog holds more.
REQUIRED = {
    "resident_registration_copy",
    "move_in_report",
    "family_relation_certificate",
    "seal_certificate",
    "birth_report",
    "death_report",
    "safe_inheritance",
    "childbirth_one_stop",
    "basic_pension",
    "disability_registration",
    "disability_pension",
    "disability_allowance",
    "elderly_care_service",
    "welfare_consultation",
    "vehicle_registration",
    "drivers_licence_renewal",
    "building_register",
    "information_disclosure",
    "epeople_petition",
    "safe_return",
    "safe_overseas_travel",
    "criminal_justice_portal",
    "postal_welfare_delivery",
    "sign_language_relay",
    "translated_documents",
}


def test_catalog_loads_and_covers_the_named_services() -> None:
    catalog = load_catalog()
    assert len(catalog) >= 34
    assert REQUIRED <= set(catalog.services), REQUIRED - set(catalog.services)
    for service in catalog:
        assert service.name.ko and service.name.en
        assert service.aliases.ko and service.aliases.en


def test_no_name_belongs_to_two_services() -> None:
    owners: dict[str, str] = {}
    for service in load_catalog():
        names = [service.name.ko, service.name.en, *service.aliases.ko, *service.aliases.en]
        for name in {n.casefold() for n in names}:
            assert owners.setdefault(name, service.id) == service.id, (
                f"{name!r} names both {owners[name]} and {service.id}"
            )


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


def test_five_life_event_packages_with_deadlines_where_the_law_sets_them() -> None:
    catalog = load_catalog()
    assert set(catalog.packages) == {"moving", "birth", "death", "turning_65", "new_disability"}
    for package in catalog.packages.values():
        assert package.name.ko and package.name.en and package.aliases.ko and package.aliases.en
        assert len(package.steps) >= 2
    first_steps = {p.id: catalog.services[p.steps[0].service] for p in catalog.packages.values()}
    # The steps with a legal deadline come first where one exists ...
    for package_id in ("moving", "death"):
        assert first_steps[package_id].deadline is not None, package_id
    # ... but a birth's checklist starts in pregnancy: the birth report comes right after.
    birth = [catalog.services[s.service] for s in catalog.packages["birth"].steps]
    before = [s.id for s in birth[: [s.id for s in birth].index("birth_report")]]
    assert before == ["pregnancy_registration", "pregnancy_care_card"]
    assert all(s.deadline is None for s in birth[: len(before)])


def test_an_unknown_service_in_a_package_is_reported(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(DEFAULT_CATALOG_DIR, tmp_path / "catalog")
    path = tmp_path / "catalog" / "packages" / "moving.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["steps"][0]["service"] = "no_such_service"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError, match="no_such_service"):
        load_catalog(tmp_path / "catalog")


def test_packages_are_their_own_intents_with_a_checklist_rule() -> None:
    from assistant.catalog.nlu_export import render_domain, render_nlu, render_rules

    catalog = load_catalog()
    nlu, rules, domain = render_nlu(catalog), render_rules(catalog), render_domain(catalog)
    for package_id in catalog.packages:
        assert f"- intent: package_{package_id}\n" in nlu
        assert f"      - intent: package_{package_id}\n      - action: action_present_package" in (
            rules
        )
        assert f"  - package_{package_id}\n" in domain
    # Package names are not service names: no service entity inside a package intent.
    package_block = nlu[nlu.index("- intent: package_") :].split("- lookup:")[0]
    assert "](service)" not in package_block


def _broken(tmp_path: Path, change: object) -> str:
    """The loader's report after ``change`` edits the basic pension's raw entry."""
    directory = _copy_catalog(tmp_path)
    pension = directory / "services" / "basic_pension.yaml"
    data = yaml.safe_load(pension.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    pension.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(directory)
    return str(err.value)


def test_every_entry_names_official_sources_and_its_reviewer() -> None:
    catalog = load_catalog()
    for entry in [*catalog, *catalog.packages.values()]:
        assert entry.sources and entry.reviewed_by, entry.id
    pension = catalog.services["basic_pension"]
    assert pension.sources[0].url == "https://www.law.go.kr/법령/기초연금법"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("sources"), "sources\n  Field required"),
        (lambda d: d.update(sources=[]), "sources\n  List should have at least 1 item"),
        (lambda d: d.pop("reviewed_by"), "reviewed_by\n  Field required"),
        # Not an official site, and not https.
        (lambda d: d["sources"][1].update(url="https://bokjiro.example.com"), "sources.1.url"),
        (lambda d: d["sources"][1].update(url="http://www.bokjiro.go.kr"), "sources.1.url"),
        # A law's url follows from its name.
        (lambda d: d["sources"][0].update(title="노인복지법"), "a law's url is"),
    ],
)
def test_an_entry_without_traceable_sources_is_refused(
    tmp_path: Path, change: object, problem: str
) -> None:
    report = _broken(tmp_path, change)
    assert "basic_pension.yaml" in report and problem in report, report


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["amounts"][0].pop("effective"), "amounts.0.effective\n  Field required"),
        (lambda d: d["amounts"][0].update(won=0), "amounts.0.won"),
        (lambda d: d["amounts"][0].update(per="week"), "amounts.0.per"),
        (lambda d: d["amounts"][0]["what"].pop("en"), "amounts.0.what.en"),
    ],
)
def test_an_amount_needs_its_year_a_sum_and_both_languages(
    tmp_path: Path, change: object, problem: str
) -> None:
    report = _broken(tmp_path, change)
    assert "basic_pension.yaml" in report and problem in report, report


def test_amounts_are_said_with_the_year_they_apply_to_in_every_full_answer() -> None:
    pension = load_catalog().services["basic_pension"]
    assert pension.cost("ko").endswith("월 548,016원 (2025년 1월 기준).")
    assert "342,510 won a month (as of January 2025)" in pension.cost("en")
    full = describe_service(pension, "ko")
    assert "비용: 무료입니다. 혼자 사는 분이 받는 가장 많은 금액: 월 342,510원" in full
    heard = section_text(pension, "fee", "en")
    assert heard.startswith("Cost: It is free. The most a person living alone gets: 342,510 won")
