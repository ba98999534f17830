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
        self.handoff_refused = Counter(
            "sotong_handoff_refused_total",
            "Requests for a person not queued, by limit (too_many: per conversation or "
            "source; busy: the queue is full).",
            ["reason"],
            registry=self.registry,
        )
        self.rejected_webhooks = Counter(
            "sotong_rejected_webhooks_total",
            "Provider webhooks refused, by provider and reason (signature, size, …).",
            ["provider", "reason"],
            registry=self.registry,
        )
        self.sms_inbound = Counter(
            "sotong_sms_inbound_total",
            "Incoming SMS by outcome (answered, keyword_stop, rate_limited, duplicate, …).",
            ["outcome"],
            registry=self.registry,
        )
        # ---- SMS outbox (issue 4) ----
        self.outbox_sent = Counter(
            "sotong_outbox_sent_total",
            "Outbox SMS accepted by Twilio, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.outbox_retried = Counter(
            "sotong_outbox_retried_total",
            "Outbox SMS sends that failed transiently and were scheduled again, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.outbox_failed = Counter(
            "sotong_outbox_failed_total",
            "Outbox SMS given up (refused by Twilio, or too many attempts), by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.outbox_suppressed = Counter(
            "sotong_outbox_suppressed_total",
            "Outbox SMS not sent because the recipient opted out, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.outbox_queued = Gauge(
            "sotong_outbox_queued",
            "Outbox SMS not yet accepted by Twilio (queued, waiting to retry, or sending).",
            registry=self.registry,
        )
        self.outbox_status_reports = Counter(
            "sotong_outbox_status_reports_total",
            "Twilio status callbacks for outbox SMS, by reported status and whether matched.",
            ["status", "matched"],
            registry=self.registry,
        )
        # ---- phone voice (issue 5) ----
        self.calls = Counter(
            "sotong_calls_total",
            "Phone calls: 'started' when answered, then how each media stream ended.",
            ["outcome"],
            registry=self.registry,
        )
        self.voice_frames_dropped = Counter(
            "sotong_voice_frames_dropped_total",
            "Media Streams frames dropped, by reason (malformed, unknown).",
            ["reason"],
            registry=self.registry,
        )
        self.video_frames_dropped = Counter(
            "sotong_video_frames_dropped_total",
            "Video-call signalling frames not relayed, by reason (malformed, no peer, …).",
            ["reason"],
            registry=self.registry,
        )
        self.handoff_waiting = Gauge(
            "sotong_handoff_waiting",
            "Requests for a person waiting in the queue (refreshed by the upkeep loop).",
            registry=self.registry,
        )
        self.handoff_wait_seconds = Histogram(
            "sotong_handoff_wait_seconds",
            "From a request for a person (or its appointment's time) to a person taking it.",
            ["skill"],
            buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200),
            registry=self.registry,
        )
        self.voice_reply_seconds = Histogram(
            "sotong_voice_reply_seconds",
            "End of the caller's speech to the first audio of the answer.",
            buckets=(0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0),
            registry=self.registry,
        )
        self.voice_second_pass_seconds = Histogram(
            "sotong_voice_second_pass_seconds",
            "Time a turn waited for the second pass (Whisper), by what came of it: whisper "
            "(used), unsure (used, confirmed first), late (over budget: Vosk, confirmed), "
            "failed.",
            ["outcome"],
            buckets=(0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0),
            registry=self.registry,
        )
        self.gateways_alive = Gauge(
            "sotong_gateways_alive",
            "Gateway processes with a heartbeat in the last 20 s (scaled mode; 1 otherwise).",
            registry=self.registry,
        )
        self.voice_active_calls = Gauge(
            "sotong_voice_active_calls",
            "Calls whose media stream is open (each holds a recogniser and tasks).",
            registry=self.registry,
        )
