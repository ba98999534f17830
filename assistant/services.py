"""The services one gateway process holds, built at start-up and injected into routes."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from rasa_sdk.executor import ActionExecutor
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.accounts import AccountStore
from assistant.api.ratelimit import RateLimits
from assistant.calls import CallStore
from assistant.catalog import Catalog
from assistant.config import Settings
from assistant.conversation import ConversationCore
from assistant.handoff.callback_calls import CallbackCalls
from assistant.handoff.service import HandoffService
from assistant.instances import GatewayRegistry
from assistant.loops import BackgroundLoops
from assistant.metrics import Metrics
from assistant.outbox import Outbox
from assistant.profiles import ProfileStore
from assistant.push import PushHub
from assistant.rasa_client import RasaClient
from assistant.reminders import ReminderService
from assistant.retention import Retention
from assistant.sms import SmsStateStore
from assistant.store import ConversationStore
from assistant.video.signalling import SignallingHub
from channels.voice.admission import CallAdmission
from channels.voice.call_control import CallControl
from voice.engines import VoiceEngines
from voice.phone_menu import MenuNode


@dataclass
class Services:
    """Everything a route may need; lives on ``app.state.services``."""

    settings: Settings
    store: ConversationStore
    catalog: Catalog
    rasa: RasaClient
    http: httpx.AsyncClient
    core: ConversationCore
    executor: ActionExecutor
    metrics: Metrics
    push: PushHub
    outbox: Outbox  # SMS the gateway sends on its own (issue 4)
    sms_state: SmsStateStore  # per-number SMS state: opt-out, MORE pages, idempotency
    profiles: ProfileStore  # what citizens agreed Sotong may remember, per phone number
    reminders: ReminderService  # life-event deadline reminders by SMS (opt-in)
    voice: VoiceEngines  # speech models, recognition pool and speaker, for every call
    phone_menu: tuple[MenuNode, ...]  # the keypad tree of the phone line, checked at start
    calls: CallStore  # one record per phone call: who, when, how it ended
    call_control: CallControl  # live-call updates over Twilio's REST API (transfers)
    call_admission: CallAdmission  # how many calls the line takes at once
    accounts: AccountStore  # staff, interpreters and admins; console sessions; the audit log
    handoff: HandoffService  # the queue for a person and everything around it (issue 6)
    callbacks: CallbackCalls  # people calling citizens back, and how each try went
    video: SignallingHub  # WebRTC signalling rooms, one per handoff request
    signing_key: bytes  # HMAC key of links that outlive a request (video join links)
    limits: RateLimits  # abuse limits on anonymous routes, shared through Redis if set
    retention: Retention  # drops what is older than its period (housekeeping)
    engine: AsyncEngine  # the one connection pool every store shares (read by reports)
    loops: BackgroundLoops  # background loops, watched so /readyz tells a dead one
    gateways: GatewayRegistry | None = None  # the live gateways (scaled mode only)
