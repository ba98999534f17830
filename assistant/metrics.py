"""Prometheus metrics, on a registry owned by the app (no module-level state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The gateway's metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.messages = Counter(
            "sotong_messages_total",
            "Messages handled, by channel and direction.",
            ["channel", "direction"],
            registry=self.registry,
        )
        self.dialogue_failures = Counter(
            "sotong_dialogue_failures_total",
            "Turns the dialogue could not answer, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "sotong_turn_seconds",
            "Time from a citizen's message to the bot's replies.",
            ["channel"],
            buckets=(0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 5.0, 10.0),
            registry=self.registry,
        )
        self.pending_messages = Gauge(
            "sotong_pending_messages",
            "Citizen messages kept while the dialogue was unreachable.",
            registry=self.registry,
        )
        self.handoff_requests = Counter(
            "sotong_handoff_requests_total",
            "Requests for a person, by channel.",
            ["channel"],
            registry=self.registry,
        )
