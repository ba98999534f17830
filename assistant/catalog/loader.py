"""Load and validate the catalog from its YAML data files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from assistant.catalog.schema import Service


class CatalogError(ValueError):
    """The catalog data files are invalid; the message names every problem."""


DEFAULT_CATALOG_DIR = Path(str(resources.files("assistant.catalog") / "data"))


@dataclass(frozen=True)
class Catalog:
    """All services, looked up by id."""

    services: dict[str, Service]

    def get(self, service_id: str) -> Service | None:
        """The service with ``service_id``, or None."""
        return self.services.get(service_id)

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
    if problems:
        raise CatalogError("invalid catalog:\n" + "\n".join(problems))
    return Catalog(services=services)
