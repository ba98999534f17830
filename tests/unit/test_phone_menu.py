"""The keypad tree's file is checked when it loads; README shows the tree as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.catalog import load_catalog
from assistant.config import PROJECT_DIR
from voice.phone_menu import MenuError, leaves, load_menu, render


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "menu.yaml"
    path.write_text(body, encoding="utf-8")
    return path


LEAF = "{service: passport, label: {ko: 여권, en: passport}}"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("- {service: no_such_service, label: {ko: 없음, en: none}}\n", "no service"),
        ("- {package: retirement, label: {ko: 은퇴, en: retiring}}\n", "no life-event package"),
        ("- {screening: students, label: {ko: 학생, en: students}}\n", "no screening"),
        ("- {offer: lottery, label: {ko: 복권, en: lottery}}\n", "no offer"),
        ("- label: {ko: 여섯, en: six}\n  items:\n" + f"    - {LEAF}\n" * 6, "more than 5"),
        ("- {label: {ko: 빈 것, en: empty}}\n", "a choice is a submenu"),
        (f"- {LEAF}\n" * 6, "the top level"),
        ("- {service: passport}\n", "label"),
    ],
)
def test_a_broken_tree_is_refused_saying_why(tmp_path: Path, body: str, problem: str) -> None:
    with pytest.raises(MenuError, match=problem):
        load_menu(load_catalog(), write(tmp_path, body))


def test_readme_shows_the_tree_as_it_is() -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert render(load_menu(load_catalog())) in readme


def test_reminders_are_offered_on_the_keypad() -> None:
    # 5 (for you), then 5: the dialogue's reminders offer.
    reached = dict(leaves(load_menu(load_catalog())))
    assert reached["55"].payload == "/ask_reminders"
