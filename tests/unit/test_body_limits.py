"""413 for oversized bodies, declared or streamed, before any route reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request

from assistant.api.limits import BodySizeLimit


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app.add_middleware(BodySizeLimit, limit_for=lambda path: 100)
    return app


async def test_declared_and_streamed_bodies_are_limited() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/echo", content=b"x" * 100)).json() == {"size": 100}
        too_big = await client.post("/echo", content=b"x" * 101)
        assert too_big.status_code == 413 and "100 bytes" in too_big.json()["detail"]

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"y" * 50

        streamed = await client.post("/echo", content=chunks())
        assert streamed.status_code == 413
