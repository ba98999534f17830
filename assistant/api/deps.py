"""FastAPI dependencies: routes receive services, never build them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, WebSocket

from assistant.conversation import ConversationCore
from assistant.services import Services


def get_services(request: Request) -> Services:
    """The process's services."""
    services: Services = request.app.state.services
    return services


def get_ws_services(websocket: WebSocket) -> Services:
    """The process's services, for WebSocket routes."""
    services: Services = websocket.app.state.services
    return services


def get_core(services: Annotated[Services, Depends(get_services)]) -> ConversationCore:
    """The conversation core."""
    return services.core


ServicesDep = Annotated[Services, Depends(get_services)]
WsServicesDep = Annotated[Services, Depends(get_ws_services)]
CoreDep = Annotated[ConversationCore, Depends(get_core)]
