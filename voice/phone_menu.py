"""The phone line's keypad tree (``voice/data/phone_menu.yaml``), loaded and checked.

A caller who cannot be understood by speech must still reach every service: each level
offers at most five numbered choices (what a listener can hold), a choice either opens
the next level or asks the dialogue for a service, a life-event checklist, a Public
Service Map screening or a customised-services offer (deadline reminders), exactly as
saying its name would. Loading refuses a tree that
names something the catalog lacks or puts more than five choices on a level.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.catalog import Catalog
from assistant.catalog.nlu_export import intent_for
from assistant.language import Language

MENU_FILE: Final = Path(__file__).parent / "data" / "phone_menu.yaml"
MAX_CHOICES: Final = 5
SCREENINGS: Final = ("elderly", "disabled", "mothers_newborns")
# Offers the dialogue answers by name (nlu/data/offers.yml): the leaf's value is the
# intent without its "ask_".
OFFERS: Final = ("reminders", "life_events", "find_services")


class MenuError(ValueError):
    """The tree is not usable; the message says where."""


class _Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ko: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: _Label
    service: str | None = None
    package: str | None = None
    screening: str | None = None
    offer: str | None = None
    items: list[_Node] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> _Node:
        kinds = [
            k for k in (self.service, self.package, self.screening, self.offer) if k is not None
        ]
        if len(kinds) + bool(self.items) != 1:
            raise ValueError(
                f"{self.label.ko}: a choice is a submenu (items) or one of service, "
                "package, screening or offer"
            )
        if len(self.items) > MAX_CHOICES:
            raise ValueError(f"{self.label.ko}: more than {MAX_CHOICES} choices")
        return self


@dataclass(frozen=True)
class MenuNode:
    """One choice: a submenu (``items``) or a leaf with the ``payload`` the dialogue gets."""

    titles: dict[Language, str]
    items: tuple[MenuNode, ...] = ()
    payload: str | None = None
    service: str | None = None

    @property
    def is_leaf(self) -> bool:
        """A leaf asks the dialogue; a submenu is read out."""
        return self.payload is not None


def _build(node: _Node) -> MenuNode:
    titles: dict[Language, str] = {"ko": node.label.ko, "en": node.label.en}
    if node.items:
        return MenuNode(titles, tuple(_build(child) for child in node.items))
    if node.service is not None:
        return MenuNode(titles, payload=f"/{intent_for(node.service)}", service=node.service)
    if node.package is not None:
        return MenuNode(titles, payload=f"/package_{node.package}")
    if node.offer is not None:
        return MenuNode(titles, payload=f"/ask_{node.offer}")
    return MenuNode(titles, payload=f"/screen_{node.screening}")


def load_menu(catalog: Catalog, path: Path = MENU_FILE) -> tuple[MenuNode, ...]:
    """The top level of the tree, checked against ``catalog``. Raises :class:`MenuError`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        nodes = [_Node.model_validate(item) for item in raw]
    except (OSError, yaml.YAMLError, ValueError, TypeError) as exc:
        raise MenuError(f"{path}: {exc}") from exc
    if not 1 <= len(nodes) <= MAX_CHOICES:
        raise MenuError(f"{path}: the top level needs 1 to {MAX_CHOICES} choices")
    problems = [problem for node in nodes for problem in _check(node, catalog)]
    if problems:
        raise MenuError(f"{path}: " + "; ".join(problems))
    return tuple(_build(node) for node in nodes)


def _check(node: _Node, catalog: Catalog) -> Iterator[str]:
    if node.service is not None and catalog.get(node.service) is None:
        yield f"no service {node.service!r} in the catalog"
    if node.package is not None and catalog.package(node.package) is None:
        yield f"no life-event package {node.package!r}"
    if node.screening is not None and node.screening not in SCREENINGS:
        yield f"no screening {node.screening!r} (one of {', '.join(SCREENINGS)})"
    if node.offer is not None and node.offer not in OFFERS:
        yield f"no offer {node.offer!r} (one of {', '.join(OFFERS)})"
    for child in node.items:
        yield from _check(child, catalog)


def leaves(
    nodes: tuple[MenuNode, ...], path: tuple[int, ...] = ()
) -> Iterator[tuple[str, MenuNode]]:
    """Every leaf with the keys that reach it from the top ("213": 2, then 1, then 3)."""
    for number, node in enumerate(nodes, 1):
        keys = (*path, number)
        if node.is_leaf:
            yield "".join(map(str, keys)), node
        else:
            yield from leaves(node.items, keys)


def render(nodes: tuple[MenuNode, ...], language: Language = "ko", depth: int = 0) -> str:
    """The tree as indented lines ("1 서류와 증명서", "  1 주민등록", …), for README."""
    lines: list[str] = []
    for number, node in enumerate(nodes, 1):
        lines.append(f"{'  ' * depth}{number} {node.titles[language]}")
        if not node.is_leaf:
            lines.append(render(node.items, language, depth + 1))
    return "\n".join(lines)
