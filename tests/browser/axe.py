"""axe-core in the browser tests: WCAG 2.2 A/AA checks of a page in a given state.

axe-core itself is the copy bundled with axe-playwright-python (4.12); it is injected
into the page with Playwright (not through a <script> tag, so the pages' Content
Security Policy does not get in the way) and run with the WCAG A/AA tags only.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_DIR

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def artifacts_dir() -> Path:
    """Where screenshots and failing axe reports go: SOTONG_TEST_ARTIFACTS, else
    <repo>/var/test-artifacts (var/ is not committed)."""
    configured = os.environ.get("SOTONG_TEST_ARTIFACTS")
    path = Path(configured) if configured else PROJECT_DIR / "var" / "test-artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@cache
def _axe_source() -> str:
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


def run_axe(page: Any, also: tuple[str, ...] = ()) -> dict[str, Any]:
    """axe's result for the page as it is now: the WCAG A/AA rules, plus the rules named
    in ``also`` (e.g. "color-contrast-enhanced", the 7:1 of a high-contrast mode)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result: dict[str, Any] = page.evaluate(
        """async ([tags, also]) => {
            return await window.axe.run(document, {
                runOnly: {type: "tag", values: tags},
                rules: Object.fromEntries(also.map((id) => [id, {enabled: true}])),
                resultTypes: ["violations"],
            });
        }""",
        [WCAG_TAGS, list(also)],
    )
    return result


def describe(violations: list[dict[str, Any]]) -> str:
    """One block per violation: id, impact, help, and every offending element."""
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']} "
            f"[{violation.get('helpUrl', '')}]"
        )
        for node in violation.get("nodes", []):
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {node.get('target')}: {summary}")
    return "\n".join(lines)


def assert_accessible(page: Any, state_name: str, also: tuple[str, ...] = ()) -> dict[str, Any]:
    """Fail listing every WCAG 2.2 A/AA violation axe finds on ``page`` in this state
    (and of the extra rules in ``also``); the axe JSON is saved as axe-<state>.json in
    the artifacts dir when it fails."""
    result = run_axe(page, also)
    if not result.get("passes"):
        raise AssertionError(f"axe checked nothing in state {state_name!r} ({page.url})")
    violations = result.get("violations", [])
    if violations:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", state_name).strip("-") or "page"
        report = artifacts_dir() / f"axe-{name}.json"
        report.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        raise AssertionError(
            f"axe: {len(violations)} WCAG violation(s) in state {state_name!r} "
            f"({page.url}); report {report}\n{describe(violations)}"
        )
    return result
