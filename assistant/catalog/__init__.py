"""The civil-service catalog: schema-validated data files, loaded once per process."""

from assistant.catalog.loader import Catalog, CatalogError, load_catalog
from assistant.catalog.schema import (
    Deadline,
    Localized,
    LocalizedList,
    Package,
    PackageStep,
    Service,
)

__all__ = [
    "Catalog",
    "CatalogError",
    "Deadline",
    "Localized",
    "LocalizedList",
    "Package",
    "PackageStep",
    "Service",
    "load_catalog",
]
