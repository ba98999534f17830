"""Load and validate the catalog from its YAML data files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from assistant.catalog.fuzzy import NameMatcher
from assistant.catalog.schema import Package, Service


class CatalogError(ValueError):
    """The catalog data files are invalid; the message names every problem."""


DEFAULT_CATALOG_DIR = Path(str(resources.files("assistant.catalog") / "data"))


@dataclass(frozen=True)
class Catalog:
    """All services, looked up by id."""

    services: dict[str, Service]
    packages: dict[str, Package] = field(default_factory=dict)

    def package(self, package_id: str) -> Package | None:
        """The life-event package with ``package_id``, or None."""
        return self.packages.get(package_id)

    def get(self, service_id: str) -> Service | None:
        """The service with ``service_id``, or None."""
        return self.services.get(service_id)

    @cached_property
    def name_matcher(self) -> NameMatcher:
        """Finds a service's names in a message despite spacing errors and small typos."""
        return NameMatcher(
            (service.id, name)
            for service in self.services.values()
            for language in ("ko", "en")
            for name in (service.name.get(language), *service.aliases.get(language))
        )

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services.values())

    def __len__(self) -> int:
        return len(self.services)


def load_catalog(directory: Path = DEFAULT_CATALOG_DIR) -> Catalog:
    """Read ``directory/services/*.yaml``; raise CatalogError listing every problem."""
    problems: list[str] = []
    services: dict[str, Service] = {}
    files = sorted((directory / "services").glob("*.yaml"))
    if not files:
        raise CatalogError(f"no service files in {directory / 'services'}")
    for path in files:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            service = Service.model_validate(raw)
        except (yaml.YAMLError, ValidationError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        if service.id != path.stem:
            problems.append(f"{path.name}: id {service.id!r} must match the file name")
        if service.id in services:
            problems.append(f"{path.name}: duplicate id {service.id!r}")
        services[service.id] = service
    packages = _load_packages(directory / "packages", services, problems)
    if problems:
        raise CatalogError("invalid catalog:\n" + "\n".join(problems))
    return Catalog(services=services, packages=packages)


def _load_packages(
    directory: Path, services: dict[str, Service], problems: list[str]
) -> dict[str, Package]:
    packages: dict[str, Package] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            package = Package.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError) as exc:
            problems.append(f"packages/{path.name}: {exc}")
            continue
        if package.id != path.stem:
            problems.append(f"packages/{path.name}: id {package.id!r} must match the file name")
        for step in package.steps:
            if step.service not in services:
                problems.append(f"packages/{path.name}: unknown service {step.service!r}")
        packages[package.id] = package
    return packages
