"""deploy/nginx/sotong.conf: nginx accepts it, and it passes what the gateways need.

Debian's nginx (scripts/apt-packages.txt; the tests say loudly when it is missing) runs
the file as written, on free ports: in front of two small upstreams standing for two
gateways (uvicorn, a Starlette app) it forwards the client's address and scheme,
spreads requests over both, and carries a WebSocket both ways on the web chat's, the
consoles' and the Media Stream's paths.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.sync.client import connect

from assistant.config import PROJECT_DIR
from assistant.stack import free_port
from tests.conftest import missing_part

CONFIG = PROJECT_DIR / "deploy" / "nginx" / "sotong.conf"


def _upstream(name: str) -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "gateway": name,
                "forwarded_for": request.headers.get("x-forwarded-for"),
                "forwarded_proto": request.headers.get("x-forwarded-proto"),
                "path": request.url.path,
            }
        )

    async def socket_echo(websocket: WebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text(f"{name}:{text}")
        await websocket.close()

    return Starlette(
        routes=[
            WebSocketRoute("/api/webchat/sessions/{sid}/ws", socket_echo),
            WebSocketRoute("/api/console/ws", socket_echo),
            WebSocketRoute("/webhooks/twilio/media", socket_echo),
            Route("/{path:path}", echo, methods=["GET", "POST"]),
        ]
    )


@pytest.fixture
def nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        missing_part("nginx (Debian's nginx-light, installed by scripts/setup.sh)")
    assert found is not None
    return found


@contextlib.contextmanager
def _running_nginx(nginx: str, tmp_path: Path, upstreams: list[int]) -> Iterator[str]:
    """Debian's nginx with the project's file, its two gateways at ``upstreams`` and
    listening on a free port; its address once it answers."""
    listen = free_port()
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace("127.0.0.1:8001", f"127.0.0.1:{upstreams[0]}")
    text = text.replace("127.0.0.1:8002", f"127.0.0.1:{upstreams[1]}")
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    config = tmp_path / "sotong.conf"
    config.write_text(text, encoding="utf-8")
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{listen}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield f"127.0.0.1:{listen}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def proxied(nginx: str, tmp_path: Path) -> Iterator[str]:
    """nginx with the project's file (ports changed) before two upstreams; its URL."""
    ports = [free_port(), free_port()]
    servers = [
        uvicorn.Server(uvicorn.Config(_upstream(f"g{n}"), port=port, log_level="warning"))
        for n, port in enumerate(ports)
    ]
    threads = [threading.Thread(target=s.run, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        with _running_nginx(nginx, tmp_path, ports) as address:
            yield address
    finally:
        for server in servers:
            server.should_exit = True
        for thread in threads:
            thread.join(timeout=10)


def test_nginx_accepts_the_file(nginx: str, tmp_path: Path) -> None:
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(CONFIG)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    text = CONFIG.read_text(encoding="utf-8")
    # Twilio waits 15 s for a webhook; sockets live up to an hour.
    assert re.search(r"location /webhooks/twilio/ \{\s*proxy_read_timeout 14s;", text)
    assert text.count("proxy_read_timeout 3600s;") == 2
    # A location that sets any header inherits none of the server's (forwarded address,
    # the WebSocket upgrade): headers are set once, for every location.
    for block in re.findall(r"location [^{]*\{([^}]*)\}", text):
        assert "proxy_set_header" not in block


def test_requests_are_forwarded_with_the_client_and_spread(proxied: str) -> None:
    seen = set()
    for _ in range(6):
        answer = httpx.get(f"http://{proxied}/api/webchat/sessions", timeout=5).json()
        assert answer["forwarded_for"] == "127.0.0.1" and answer["forwarded_proto"] == "http"
        seen.add(answer["gateway"])
    assert seen == {"g0", "g1"}  # both gateways take requests


@pytest.mark.parametrize(
    "path", ["/api/webchat/sessions/abc123/ws", "/api/console/ws", "/webhooks/twilio/media"]
)
def test_websockets_pass_both_ways(proxied: str, path: str) -> None:
    with connect(f"ws://{proxied}{path}", open_timeout=5) as websocket:
        websocket.send("안녕")
        assert re.fullmatch(r"g[01]:안녕", str(websocket.recv(timeout=5)))


def _dying_upstream(port: int, stop: threading.Event) -> threading.Thread:
    """A gateway that dies under each request: it reads it and closes the connection."""
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(0.2)

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                with connection:
                    connection.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_an_action_call_cut_off_by_a_dying_gateway_runs_on_the_other(
    nginx: str, tmp_path: Path
) -> None:
    # Rasa's action calls go through nginx; a gateway killed mid-call answered 502 and
    # the turn lost its answer (tests/scale). Actions never write, so nginx runs the call
    # again on the other gateway.
    dying, alive = free_port(), free_port()
    stop = threading.Event()
    dead = _dying_upstream(dying, stop)
    server = uvicorn.Server(uvicorn.Config(_upstream("alive"), port=alive, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with _running_nginx(nginx, tmp_path, [dying, alive]) as address:
            url = f"http://{address}/webhooks/rasa/actions"
            answers = [httpx.post(url, json={"next_action": "x"}, timeout=10) for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 6
        assert {a.json()["gateway"] for a in answers} == {"alive"}
    finally:
        server.should_exit = True
        stop.set()
        thread.join(timeout=10)
        dead.join(timeout=10)
