"""The gateway application: built from settings, services created in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator

import httpx
import redis.asyncio as aioredis
import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError

from assistant.accounts import SqlAccountStore
from assistant.actions import build_executor
from assistant.api.auth import PageDenied, page_denied_handler
from assistant.api.headers import SecurityHeaders
from assistant.api.limits import BodySizeLimit
from assistant.api.outage import store_outage_handler
from assistant.api.ratelimit import RateLimits
from assistant.api.routes import (
    actions,
    admin,
    admin_accounts,
    appointments,
    auth,
    callbacks,
    console,
    desk_tools,
    handover,
    health,
    history,
    my_details,
    staff,
)
from assistant.api.shedding import WebLoadShedder
from assistant.calls import SqlCallStore
from assistant.catalog import load_catalog
from assistant.config import Settings
from assistant.conversation import ConversationCore
from assistant.handoff import SqlHandoffQueue
from assistant.handoff.attempts import SqlCallbackLog
from assistant.handoff.callback_calls import CallbackCalls
from assistant.handoff.service import AdmissionLimits, HandoffService
from assistant.instances import GatewayRegistry
from assistant.links import public_link
from assistant.locks import Locks
from assistant.logs import configure_logging
from assistant.loops import BackgroundLoops
from assistant.metrics import Metrics
from assistant.outbox import Outbox, SqlOutboxStore
from assistant.profiles import SqlProfileStore
from assistant.push import PushHub
from assistant.rasa_client import RasaClient
from assistant.reminders import ReminderService, SqlReminderStore
from assistant.retention import NumberErasure, Periods, Retention
from assistant.services import Services
from assistant.sms import SqlSmsStateStore
from assistant.store import SqlConversationStore
from assistant.store.base import utcnow
from assistant.store.migrate import upgrade
from assistant.store.outage import OUTAGES
from assistant.store.single import AnotherGateway, GatewayGuard
from assistant.store.sql import create_engine
from assistant.text_me import TextMe, counted_in
from assistant.trackers import TrackerEraser
from assistant.video.shared_signalling import signalling_hub
from assistant.video.tokens import DEFAULT_TTL, join_path
from channels import video, webchat, webchat_speech
from channels.sms import adapter as sms_adapter
from channels.sms import status as sms_status
from channels.voice import adapter as voice_adapter
from channels.voice import callback_webhooks, transfer_webhook
from channels.voice import status as voice_status
from channels.voice.admission import CallAdmission, RedisCallAdmission
from channels.voice.call_control import CallControl
from consoles import STATIC_DIR as CONSOLES_STATIC_DIR
from voice.engines import VoiceEngines
from voice.phone_menu import load_menu

log = structlog.get_logger(__name__)


async def _answer_kept_messages(services: Services) -> None:
    """Background loop: answer messages kept while Rasa was unreachable."""
    interval = services.settings.pending_retry_seconds
    # A turn still "received" this long after it came is no longer in flight: the
    # dialogue's own timeout has passed twice (review M1: a crash mid-turn).
    dropped_after = dt.timedelta(seconds=2 * services.settings.rasa_timeout_seconds)
    while True:
        await asyncio.sleep(interval)
        try:
            # SMS kept on disk while the database was out (review M12); once the
            # dialogue answers too, so the citizen is not told "kept" a second time.
            if sms_adapter.sms_spool(services.settings).waiting():
                if (await services.rasa.status()).model_loaded:
                    texted = await sms_adapter.answer_kept(services)
                    if texted:
                        log.info("sms.kept_answered", count=texted)
            requeued = await services.store.requeue_dropped(dt.datetime.now(dt.UTC) - dropped_after)
            if requeued:
                log.warning("pending.dropped_turns_kept", count=requeued)
            if not await services.store.pending_turns():
                continue
            status = await services.rasa.status()
            if status.model_loaded:
                answered = await services.core.replay_pending()
                if answered:
                    log.info("pending.answered", count=answered)
        except Exception as exc:  # keep the loop alive whatever one round hits
            log.warning("pending.retry_failed", error=f"{exc.__class__.__name__}: {exc}")


HOUSEKEEPING_INTERVAL_SECONDS = 3600.0


async def _housekeeping(services: Services) -> None:
    """Background loop: drop what is older than its retention period (review M7)."""
    while True:
        try:
            await services.retention.run(dt.datetime.now(dt.UTC))
        except Exception as exc:  # keep the loop alive whatever one round hits
            log.warning("housekeeping.failed", error=f"{exc.__class__.__name__}: {exc}")
        await asyncio.sleep(HOUSEKEEPING_INTERVAL_SECONDS)


def signing_key(settings: Settings) -> bytes:
    """The key that signs links (SOTONG_SECRET_KEY; in development, random per process:
    links then die with the process, which development accepts)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    return secrets.token_bytes(32)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway. Settings are checked first: bad ones refuse to start."""
    settings = settings or Settings()
    settings.check()
    configure_logging(json_output=settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Exactly one gateway process per database (review M3), unless every one is
        # scaled (Redis and PostgreSQL, issue 18): an unsafe one stops here.
        try:
            guard = await asyncio.to_thread(
                functools.partial(
                    GatewayGuard.acquire, settings.resolved_database_url, scaled=settings.scaled
                )
            )
        except AnotherGateway as exc:
            log.critical("gateway.refused", reason=str(exc))
            raise
        try:
            async with running(app):
                yield
        finally:
            await asyncio.to_thread(guard.release)

    @contextlib.asynccontextmanager
    async def running(app: FastAPI) -> AsyncIterator[None]:
        database_url = settings.resolved_database_url
        if settings.auto_migrate:
            await asyncio.to_thread(upgrade, database_url)
        # One engine (one connection pool) for every store of the process.
        engine = create_engine(
            database_url,
            query_timeout=settings.db_query_timeout_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
        )
        store = SqlConversationStore(engine)
        catalog = load_catalog()
        metrics = Metrics()
        # Across gateways over Redis when SOTONG_REDIS_URL is set (issue 18).
        push = PushHub.from_url(settings.redis_url)
        await push.start()
        video_hub = signalling_hub(
            settings.redis_url,
            on_drop=lambda reason: metrics.video_frames_dropped.labels(reason).inc(),
        )
        await video_hub.start()
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
        rasa = RasaClient(
            settings.rasa_servers,
            http,
            token=settings.rasa_token.get_secret_value() if settings.rasa_token else None,
            timeout_seconds=settings.rasa_timeout_seconds,
        )
        # Across gateways over Redis when SOTONG_REDIS_URL is set (issue 18).
        locks = Locks.from_url(settings.redis_url)
        # Several gateways (Redis and PostgreSQL): a registry with a heartbeat, and the
        # line's count of calls shared (issue 18 points 5 and 6).
        shared = (
            aioredis.from_url(settings.redis_url)
            if settings.scaled and settings.redis_url
            else None
        )
        registry = GatewayRegistry(shared) if shared is not None else None
        call_admission = (
            RedisCallAdmission(shared, settings.voice_max_calls)
            if shared is not None
            else CallAdmission(settings.voice_max_calls)
        )
        core = ConversationCore(store, rasa, metrics, locks=locks)
        core.register_output(webchat.CHANNEL, webchat.WebchatOutput(push))
        # A walk-in's conversation is on the staff member's screen: pushed the same way.
        core.register_output(staff.DESK_CHANNEL, webchat.WebchatOutput(push))
        # SMS outbox (issue 4): stored first, sent by a worker that asks the per-number
        # SMS state (opt-outs) right before every send.
        sms_state = SqlSmsStateStore(engine)

        async def carrier_unsubscribed(phone: str) -> None:
            await sms_state.set_opted_out(phone, True, provider_blocked=True)

        outbox_store = SqlOutboxStore(engine)
        outbox = Outbox.from_settings(
            settings,
            outbox_store,
            is_suppressed=sms_state.is_opted_out,
            metrics=metrics,
            on_unsubscribed=carrier_unsubscribed,
        )
        core.register_output(sms_adapter.CHANNEL, sms_adapter.SmsOutput(store, outbox))
        # A checklist or a result texted to the citizen's mobile (web chat, calls).
        core.attach_text_me(TextMe(store, outbox, counted_in(outbox_store)))
        # A call's kept message is answered after the caller hung up: by text.
        core.register_output(
            voice_adapter.CHANNEL,
            sms_adapter.SmsOutput(store, outbox, channel=voice_adapter.CHANNEL),
        )
        # Profiles only with consent; forgetting one also forgets its reminders.
        reminder_store = SqlReminderStore(engine)
        profiles = SqlProfileStore(engine, also_forget=[reminder_store])
        reminders = ReminderService(
            reminder_store,
            catalog,
            outbox.send_sms,
            profiles=profiles,
            interval_seconds=settings.reminder_interval_seconds,
        )
        # Phone voice (issue 5): the Korean speech model loads in the background (a few
        # seconds); /readyz says "not ready" until it is in memory.
        voice = VoiceEngines.from_settings(settings)
        calls = SqlCallStore(engine)
        profiles.also_forget(calls)
        # FORGET erases the number's conversations (and the dialogue's trackers of
        # them), outbox messages and SMS records too; retention drops the old.
        trackers = TrackerEraser.from_url(settings.resolved_tracker_url)
        queue = SqlHandoffQueue(engine)
        profiles.also_forget(NumberErasure(store, trackers, outbox_store, sms_state, queue))
        # Handoff to people (issue 6): the queue, accounts with their audit log, video.
        accounts = SqlAccountStore(engine)

        key = signing_key(settings)

        def join_link(request_id: int, until: dt.datetime | None = None) -> str:
            now = utcnow()
            ttl = DEFAULT_TTL if until is None else max(until - now, dt.timedelta(minutes=1))
            path = join_path(key, request_id, now, ttl)
            route, _, query = path.partition("?")
            return public_link(settings, route, query) or path

        handoff = HandoffService(
            queue,
            store,
            push,
            metrics,
            join_link=join_link,
            auditor=accounts,
            roster=accounts,
            minutes_per_session=settings.handoff_minutes_per_session,
            expire_after=dt.timedelta(minutes=settings.handoff_expire_minutes),
            hold_timeout=dt.timedelta(minutes=settings.handoff_hold_timeout_minutes),
            limits=AdmissionLimits(
                per_conversation_hour=settings.handoff_per_conversation_hour,
                per_source_hour=settings.handoff_per_source_hour,
                queue_cap=settings.handoff_queue_cap,
            ),
            # Its own key, derived: a source's hash never doubles as a link signature.
            source_key=hmac.new(key, b"handoff-source", hashlib.sha256).digest(),
            callback_number_days=settings.retain_callback_number_days,
            texter=outbox,
        )
        core.attach_handoff(handoff)
        attempts = SqlCallbackLog(engine)
        retention = Retention(
            Periods.from_settings(settings),
            store,
            trackers,
            outbox_store,
            calls,
            accounts,
            sms_state,
            queue,
            attempts,
        )
        call_control = CallControl.from_settings(settings)
        callbacks = CallbackCalls(
            handoff,
            attempts,
            call_control,
            outbox,
            service_number=settings.twilio_phone_number,
            public_url=settings.public_url or "",
            retry_after=dt.timedelta(minutes=settings.callback_retry_minutes),
            max_attempts=settings.callback_max_attempts,
        )
        services = Services(
            settings=settings,
            store=store,
            catalog=catalog,
            rasa=rasa,
            http=http,
            core=core,
            executor=build_executor(catalog, settings.twilio_phone_number),
            metrics=metrics,
            push=push,
            outbox=outbox,
            sms_state=sms_state,
            profiles=profiles,
            reminders=reminders,
            voice=voice,
            phone_menu=load_menu(catalog),
            calls=calls,
            call_control=call_control,
            call_admission=call_admission,
            accounts=accounts,
            handoff=handoff,
            callbacks=callbacks,
            video=video_hub,
            signing_key=key,
            limits=RateLimits(settings),
            retention=retention,
            engine=engine,
            loops=BackgroundLoops(),
            gateways=registry,
        )
        app.state.services = services
        if settings.voice_preload:
            warm_task = asyncio.create_task(voice.warm())
        else:
            voice.ready = True  # loaded by the first call that needs it
            warm_task = asyncio.create_task(asyncio.sleep(0))
        loops = services.loops
        loops.start("kept-messages", _answer_kept_messages(services))
        loops.start("housekeeping", _housekeeping(services))
        loops.start("handoff-upkeep", handoff.run_upkeep(settings.handoff_upkeep_seconds))
        if registry is not None:
            # Registered before the first request; Redis out now is the loop's to retry.
            with contextlib.suppress(RedisError, OSError):
                await registry.beat()
            loops.start(
                "heartbeat",
                registry.run(on_beat=call_admission.renew, on_alive=metrics.gateways_alive.set),
            )
        else:
            metrics.gateways_alive.set(1)
        loops.watch("outbox", outbox.start())
        loops.watch("reminders", reminders.start())
        log.info("gateway.started", rasa=settings.rasa_servers, services=len(catalog))
        try:
            yield
        finally:
            warm_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warm_task
            await loops.cancel("kept-messages", "housekeeping", "handoff-upkeep")
            if registry is not None and shared is not None:
                await loops.cancel("heartbeat")
                with contextlib.suppress(RedisError, OSError):
                    await registry.leave()
                await shared.aclose()
            await reminders.stop()
            await outbox.stop()
            await push.close()
            await video_hub.shutdown()
            await locks.close()
            voice.close()
            await http.aclose()
            await trackers.close()
            await engine.dispose()

    docs = settings.api_docs_enabled
    app = FastAPI(
        title="Sotong gateway",
        description="Accessible multichannel civil-service assistant.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )

    def body_limit(path: str) -> int:
        if path.startswith("/webhooks/rasa/"):
            return settings.max_action_body_bytes
        if path.startswith("/webhooks/twilio/"):
            return settings.max_twilio_body_bytes
        if path.startswith("/api/webchat/sessions/") and path.endswith("/speech"):
            return webchat_speech.MAX_AUDIO_BYTES  # up to 30 s of the citizen's voice
        return settings.max_body_bytes

    # Innermost: a shed request still gets the security headers below.
    app.add_middleware(WebLoadShedder, web_limit=settings.web_max_in_flight)
    app.add_middleware(BodySizeLimit, limit_for=body_limit)
    app.add_middleware(
        SecurityHeaders, https=(settings.public_url or "").lower().startswith("https://")
    )
    app.include_router(health.router)
    app.include_router(actions.router)
    app.include_router(webchat.router)
    app.include_router(webchat_speech.router)
    app.include_router(sms_adapter.router)
    app.include_router(sms_status.router)
    app.include_router(voice_adapter.router)
    app.include_router(voice_status.router)
    app.include_router(callback_webhooks.router)
    app.include_router(transfer_webhook.router)
    app.include_router(webchat.page_router)
    # People's consoles (issue 6): sign-in, interpreters, staff desks, the admin view;
    # and the video call between a person and a citizen.
    app.add_exception_handler(PageDenied, page_denied_handler)
    # The database out: 503 in plain words, never a 500 (review M12).
    for outage in OUTAGES:
        app.add_exception_handler(outage, store_outage_handler)
    for module in (
        auth,
        appointments,
        admin_accounts,
        console,
        callbacks,
        handover,
        history,
        my_details,
        staff,
        desk_tools,
        admin,
        video,
    ):
        app.include_router(module.router)
        app.include_router(module.page_router)
    app.mount("/static/webchat", StaticFiles(directory=webchat.STATIC_DIR), name="webchat-static")
    app.mount("/static/consoles", StaticFiles(directory=CONSOLES_STATIC_DIR), name="consoles")
    app.mount("/static/video", StaticFiles(directory=video.STATIC_DIR), name="video-static")
    return app
