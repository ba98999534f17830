"""The gateway application: built from settings, services created in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from assistant.actions import build_executor
from assistant.api.limits import BodySizeLimit
from assistant.api.routes import actions, health
from assistant.catalog import load_catalog
from assistant.config import Settings
from assistant.conversation import ConversationCore
from assistant.logs import configure_logging
from assistant.metrics import Metrics
from assistant.push import PushHub
from assistant.rasa_client import RasaClient
from assistant.services import Services
from assistant.store import SqlConversationStore
from assistant.store.migrate import upgrade
from channels import webchat

log = structlog.get_logger(__name__)


async def _answer_kept_messages(services: Services) -> None:
    """Background loop: answer messages kept while Rasa was unreachable."""
    interval = services.settings.pending_retry_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            if not await services.store.pending_turns():
                continue
            status = await services.rasa.status()
            if status.model_loaded:
                answered = await services.core.replay_pending()
                if answered:
                    log.info("pending.answered", count=answered)
        except Exception as exc:  # keep the loop alive whatever one round hits
            log.warning("pending.retry_failed", error=f"{exc.__class__.__name__}: {exc}")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway. Settings are checked first: bad ones refuse to start."""
    settings = settings or Settings()
    settings.check()
    configure_logging(json_output=settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database_url = settings.resolved_database_url
        if settings.auto_migrate:
            await asyncio.to_thread(upgrade, database_url)
        store = SqlConversationStore.from_url(database_url)
        catalog = load_catalog()
        metrics = Metrics()
        push = PushHub()
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
        rasa = RasaClient(
            settings.rasa_url,
            http,
            token=settings.rasa_token.get_secret_value() if settings.rasa_token else None,
            timeout_seconds=settings.rasa_timeout_seconds,
        )
        core = ConversationCore(store, rasa, metrics)
        core.register_output(webchat.CHANNEL, webchat.WebchatOutput(push))
        services = Services(
            settings=settings,
            store=store,
            catalog=catalog,
            rasa=rasa,
            http=http,
            core=core,
            executor=build_executor(catalog),
            metrics=metrics,
            push=push,
        )
        app.state.services = services
        retry_task = asyncio.create_task(_answer_kept_messages(services))
        log.info("gateway.started", rasa=settings.rasa_url, services=len(catalog))
        try:
            yield
        finally:
            retry_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry_task
            await http.aclose()
            await store.close()

    app = FastAPI(
        title="Sotong gateway",
        description="Accessible multichannel civil-service assistant.",
        version="0.1.0",
        lifespan=lifespan,
    )

    def body_limit(path: str) -> int:
        if path.startswith("/webhooks/rasa/"):
            return settings.max_action_body_bytes
        return settings.max_body_bytes

    app.add_middleware(BodySizeLimit, limit_for=body_limit)
    app.include_router(health.router)
    app.include_router(actions.router)
    app.include_router(webchat.router)
    app.include_router(webchat.page_router)
    app.mount("/static/webchat", StaticFiles(directory=webchat.STATIC_DIR), name="webchat-static")
    return app
