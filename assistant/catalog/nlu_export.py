"""Generate the Rasa files that follow from the catalog.

The catalog is the single source of the names citizens use for a service. From it come:
- ``nlu/data/catalog_services.yml``: one intent per service (``service_<id>``) with
  examples built from the names and a few sentence frames, the synonyms that map every
  name to the service id, and the ``service`` lookup table;
- ``nlu/data/catalog_rules.yml``: the rule answering each service intent, and each
  life-event package intent (``package_<id>``) with its checklist;
- ``nlu/domain/catalog_services.yml``: the service and package intents for the domain.

Package intents get examples from the package names only, without the ``service``
entity: "이사 체크리스트" asks for the checklist, not for one service.

``sotong nlu export`` writes them and a test keeps them in sync. Hand-written examples
(situations that never name the service) live in ``nlu/data/services.yml``.
"""

from __future__ import annotations

from pathlib import Path

from assistant.catalog.loader import Catalog
from assistant.catalog.schema import Language
from assistant.config import PROJECT_DIR

NLU_DIR = PROJECT_DIR / "nlu"
EXPORTS = {
    "nlu": NLU_DIR / "data" / "catalog_services.yml",
    "rules": NLU_DIR / "data" / "catalog_rules.yml",
    "domain": NLU_DIR / "domain" / "catalog_services.yml",
}
INTENT_PREFIX = "service_"

HEADER = (
    "# Generated from assistant/catalog/data by `sotong nlu export`. Do not edit:\n"
    "# change the catalog and run the command again.\n"
)

# Frames citizens use around a service name; the bare name is always an example too.
_FRAMES_KO = (
    "{} 신청하려고요",
    "{} 어떻게 해요",
    "{} 알려주세요",
    "{} 어디서 해요",
    "{} 하고 싶어요",
    "{} 필요한 서류 뭐예요",
    "{} 문의드려요",
    "{} 좀 알려 주세요",
)
_FRAMES_PACKAGE_KO = ("{} 알려 주세요", "{} 뭐예요", "{} 정리해 주세요")
_FRAMES_PACKAGE_EN = ("show me the {}", "what is the {}", "{} please")
_FRAMES_EN = (
    "how do I get {}",
    "tell me about {}",
    "where do I apply for {}",
    "I need {}",
    "what do I need for {}",
    "help with {}",
)


def intent_for(service_id: str) -> str:
    """The intent name of a service."""
    return f"{INTENT_PREFIX}{service_id}"


PACKAGE_PREFIX = "package_"


def package_intent_for(package_id: str) -> str:
    """The intent name of a life-event package."""
    return f"{PACKAGE_PREFIX}{package_id}"


def package_for_intent(intent: str | None) -> str | None:
    """The package id an intent stands for, or None."""
    if intent and intent.startswith(PACKAGE_PREFIX):
        return intent.removeprefix(PACKAGE_PREFIX)
    return None


def service_for_intent(intent: str | None) -> str | None:
    """The service id an intent stands for, or None."""
    if intent and intent.startswith(INTENT_PREFIX):
        return intent.removeprefix(INTENT_PREFIX)
    return None


def _unique(forms: list[str]) -> list[str]:
    # Rasa matches lookups and synonyms case-insensitively: keep one form per casefold.
    seen: dict[str, str] = {}
    for form in forms:
        seen.setdefault(form.strip().casefold(), form.strip())
    return list(seen.values())


def _names(catalog: Catalog, service_id: str, language: str) -> list[str]:
    service = catalog.services[service_id]
    if language == "ko":
        return _unique([service.name.ko, *service.aliases.ko])
    return _unique([service.name.en, *service.aliases.en])


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\")


def _examples(names: list[str], frames: tuple[str, ...], offset: int) -> list[str]:
    examples = []
    for i, name in enumerate(names):
        annotated = f"[{_quote(name)}](service)"
        examples.append(annotated)
        examples.append(frames[(i + offset) % len(frames)].format(annotated))
    return examples


def render_nlu(catalog: Catalog) -> str:
    """Intent examples, synonyms and the lookup table."""
    out = [HEADER, 'version: "3.1"\n\nnlu:\n']
    all_forms: dict[str, str] = {}
    for n, service_id in enumerate(sorted(catalog.services)):
        ko, en = _names(catalog, service_id, "ko"), _names(catalog, service_id, "en")
        examples = _examples(ko, _FRAMES_KO, n) + _examples(en, _FRAMES_EN, n)
        out.append(f"  - intent: {intent_for(service_id)}\n    examples: |\n")
        out.extend(f"      - {example}\n" for example in dict.fromkeys(examples))
        forms = _unique([*ko, *en])
        for form in forms:
            all_forms.setdefault(form.casefold(), form)
        out.append(f"  - synonym: {service_id}\n    examples: |\n")
        out.extend(f"      - {form}\n" for form in forms)
    for n, package_id in enumerate(sorted(catalog.packages)):
        package = catalog.packages[package_id]
        examples = []
        package_frames: tuple[tuple[Language, tuple[str, ...]], ...] = (
            ("ko", _FRAMES_PACKAGE_KO),
            ("en", _FRAMES_PACKAGE_EN),
        )
        for language, frames in package_frames:
            names = _unique([package.name.get(language), *package.aliases.get(language)])
            for i, name in enumerate(names):
                examples += [name, frames[(i + n) % len(frames)].format(name)]
        out.append(f"  - intent: {package_intent_for(package_id)}\n    examples: |\n")
        out.extend(f"      - {example}\n" for example in dict.fromkeys(examples))
    # Longest first, so a regex alternation prefers "주민등록등본" over "등본".
    ordered = sorted(all_forms.values(), key=lambda form: (-len(form), form))
    out.append("  - lookup: service\n    examples: |\n")
    out.extend(f"      - {form}\n" for form in ordered)
    return "".join(out)


def render_rules(catalog: Catalog) -> str:
    """One rule a service (answered from the catalog) and a package (its checklist)."""
    out = [HEADER, 'version: "3.1"\n\nrules:\n']
    for service_id in sorted(catalog.services):
        out.append(
            f"  - rule: Answer {service_id}\n    steps:\n"
            f"      - intent: {intent_for(service_id)}\n"
            "      - action: action_answer_service\n"
        )
    for package_id in sorted(catalog.packages):
        out.append(
            f"  - rule: Checklist {package_id}\n    steps:\n"
            f"      - intent: {package_intent_for(package_id)}\n"
            "      - action: action_present_package\n"
        )
    return "".join(out)


def render_domain(catalog: Catalog) -> str:
    """The service and package intents of the domain."""
    out = [HEADER, 'version: "3.1"\n\nintents:\n']
    out.extend(f"  - {intent_for(service_id)}\n" for service_id in sorted(catalog.services))
    out.extend(f"  - {package_intent_for(pid)}\n" for pid in sorted(catalog.packages))
    return "".join(out)


def render_exports(catalog: Catalog) -> dict[Path, str]:
    """Every generated file and its content."""
    return {
        EXPORTS["nlu"]: render_nlu(catalog),
        EXPORTS["rules"]: render_rules(catalog),
        EXPORTS["domain"]: render_domain(catalog),
    }


def stale_exports(catalog: Catalog) -> list[Path]:
    """Generated files whose content is not what the catalog gives."""
    return [
        path
        for path, text in render_exports(catalog).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def write_exports(catalog: Catalog) -> list[Path]:
    """Write the generated files; return those that changed."""
    changed = stale_exports(catalog)
    texts = render_exports(catalog)
    for path in changed:
        path.write_text(texts[path], encoding="utf-8")
    return changed
