"""The monitoring files in deploy/monitoring/ name only metrics the gateway exports.

Prometheus alert rules and the Grafana dashboard are read as their tools read them
(YAML rule groups, dashboard JSON); every ``sotong_*`` series an expression uses must be
one the gateway's registry (assistant/metrics.py) produces, so a renamed metric breaks
this test rather than silently emptying a panel or never firing an alert.
"""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client.metrics_core import Metric

from assistant.config import PROJECT_DIR
from assistant.metrics import Metrics

MONITORING = PROJECT_DIR / "deploy" / "monitoring"
_SERIES = re.compile(r"\bsotong_[a-z0-9_]+")
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
    "summary": ("", "_count", "_sum"),
}


def _exported() -> set[str]:
    """Every series name the gateway's registry can produce."""
    names: set[str] = set()
    family: Metric
    for family in Metrics().registry.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names


def _balanced(expr: str) -> bool:
    depth = 0
    for char in expr:
        depth += {"(": 1, ")": -1, "[": 1, "]": -1, "{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_alert_rules_are_well_formed_and_use_exported_metrics() -> None:
    rules = yaml.safe_load((MONITORING / "prometheus-alerts.yml").read_text(encoding="utf-8"))
    exported = _exported()
    seen: set[str] = set()
    names: list[str] = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            names.append(rule["alert"])
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
            assert rule["labels"]["severity"] in ("page", "warn")
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            assert _balanced(rule["expr"]), rule["expr"]
            used = set(_SERIES.findall(rule["expr"]))
            assert used <= exported, f"{rule['alert']}: not exported: {used - exported}"
            seen |= used
    assert len(names) == len(set(names))
    # What the issue asks to watch: the queue, waits, turns, the outbox, calls.
    for needed in (
        "sotong_handoff_waiting",
        "sotong_handoff_wait_seconds_bucket",
        "sotong_turn_seconds_bucket",
        "sotong_outbox_queued",
        "sotong_calls_total",
    ):
        assert needed in seen, needed


def test_the_dashboard_is_grafana_json_over_exported_metrics() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exported = _exported()
    assert dashboard["uid"] == "sotong-gateway" and dashboard["panels"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in dashboard["panels"]:
        assert panel["title"] and set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["datasource"]["uid"] == "${datasource}" and "datasource" in variables
        for target in panel["targets"]:
            assert _balanced(target["expr"]), target["expr"]
            used = set(_SERIES.findall(target["expr"]))
            assert used and used <= exported, f"{panel['title']}: {used - exported}"
    # Panels do not overlap on Grafana's 24-column grid.
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24
        mine = {
            (x, y)
            for x in range(box["x"], box["x"] + box["w"])
            for y in range(box["y"], box["y"] + box["h"])
        }
        assert not mine & cells, panel["title"]
        cells |= mine
