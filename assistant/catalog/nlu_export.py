"""Generate the Rasa lookup table and synonyms for services from the catalog.

The catalog is the single source of the names citizens use for a service; the NLU
data file is derived from it (``sotong nlu export``) and a test keeps them in sync.
"""

from __future__ import annotations

from pathlib import Path

from assistant.catalog.loader import Catalog

HEADER = (
    "# Generated from assistant/catalog/data by `sotong nlu export`. Do not edit:\n"
    "# change the catalog and run the command again.\n"
)


def _example_block(values: list[str]) -> str:
    return "".join(f"      - {value}\n" for value in values)


def _surface_forms(catalog: Catalog, service_id: str) -> list[str]:
    service = catalog.services[service_id]
    forms = [service.name.ko, service.name.en, *service.aliases.ko, *service.aliases.en]
    # Rasa matches lookups and synonyms case-insensitively: keep one form per casefold.
    seen: dict[str, str] = {}
    for form in forms:
        seen.setdefault(form.strip().casefold(), form.strip())
    return list(seen.values())


def render_nlu_lookup(catalog: Catalog) -> str:
    """Return the YAML text of the generated NLU file."""
    out = [HEADER, 'version: "3.1"\n\nnlu:\n']
    all_forms: dict[str, str] = {}
    for service_id in sorted(catalog.services):
        forms = _surface_forms(catalog, service_id)
        for form in forms:
            all_forms.setdefault(form.casefold(), form)
        out.append(f"  - synonym: {service_id}\n    examples: |\n")
        out.append(_example_block(forms))
    # Longest first, so a regex alternation prefers "주민등록등본" over "등본".
    ordered = sorted(all_forms.values(), key=lambda form: (-len(form), form))
    out.append("  - lookup: service\n    examples: |\n")
    out.append(_example_block(ordered))
    return "".join(out)


def write_nlu_lookup(catalog: Catalog, target: Path) -> bool:
    """Write the generated file; return True if its content changed."""
    text = render_nlu_lookup(catalog)
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return False
    target.write_text(text, encoding="utf-8")
    return True
