"""The deployment files: docker-compose.yml (scaled), deploy/k8s/ and deploy/coturn/.

docker-compose.yml is read by Debian's docker-compose (``config``: its schema, its
interpolation, the refusal of a missing secret) and then for what the scaled mode needs:
several gateways and Rasa servers, nginx the only published port, coturn sharing the
gateways' TURN secret. The Kubernetes manifests are checked offline against
Kubernetes' own schemas (kubernetes-validate, strict: an unknown field fails), then for
what ties them together: probes, resources, the autoscalers and disruption budgets
aimed at real Deployments, the migration Job, a Secret that holds only placeholders.
coturn runs here with deploy/coturn/ as the containers run it and relays with a
credential the gateway made; Debian's nginx runs deploy/nginx/compose.conf, whose
locations are sotong.conf's.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.sync.client import connect

from assistant.config import _PLACEHOLDER, PROJECT_DIR
from assistant.stack import free_port
from assistant.video.turn import turn_credential
from tests.conftest import missing_part

COMPOSE = PROJECT_DIR / "docker-compose.yml"
K8S = PROJECT_DIR / "deploy" / "k8s"
COTURN = PROJECT_DIR / "deploy" / "coturn"
NGINX = PROJECT_DIR / "deploy" / "nginx"
# The Kubernetes version the manifests are checked against (a recent one, fixed so the
# test does not change under them when kubernetes-validate brings a newer schema).
KUBERNETES = "1.33"
# Environment names that hold secrets.
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|_KEY|_SID)$")

ENV = {
    "POSTGRES_PASSWORD": "pw-for-validation",
    "SOTONG_RASA_TOKEN": "rasa-token-for-validation",
    "SOTONG_ACTIONS_TOKEN": "actions-token-for-validation",
    "SOTONG_SECRET_KEY": "secret-key-for-validation",
    "SOTONG_PUBLIC_URL": "https://sotong.example.kr",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "0" * 32,
    "TWILIO_PHONE_NUMBER": "+827012345678",
    "SOTONG_TURN_SECRET": "turn-secret-for-validation",
    "SOTONG_TURN_URLS": "turn:turn.example.kr:3478?transport=udp",
}


# ---- docker-compose.yml --------------------------------------------------------------
def _compose_command() -> list[str]:
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose") is None:
        missing_part("a docker compose client (scripts/setup.sh installs docker-compose)")
    return ["docker-compose"]


def _compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only these variables: nothing from the developer's shell or an .env file decides.
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        [
            *_compose_command(),
            *("--project-directory", str(PROJECT_DIR), "-f", str(COMPOSE), "config"),
        ],
        capture_output=True,
        text=True,
        env={**clean, **env},
        check=False,
        timeout=60,
    )


def _raw_compose() -> dict[str, Any]:
    """The file as written (anchors merged, nothing interpolated)."""
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as compose resolves it, with every required variable set."""
    result = _compose_config(ENV)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert isinstance(resolved, dict)
    return resolved


def test_compose_accepts_the_file_and_scales_the_gateways(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["gateway"]["deploy"]["replicas"] == 2
    more = _compose_config({**ENV, "SOTONG_GATEWAYS": "3"})
    assert more.returncode == 0, more.stderr
    assert yaml.safe_load(more.stdout)["services"]["gateway"]["deploy"]["replicas"] == 3
    # Replicas cannot share a container name or a host port.
    assert "container_name" not in services["gateway"]
    assert "ports" not in services["gateway"]


def test_compose_refuses_to_start_without_each_secret() -> None:
    required = sorted(set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text(encoding="utf-8"))))
    assert set(ENV) == set(required)
    for name in required:
        refused = _compose_config({k: v for k, v in ENV.items() if k != name})
        assert refused.returncode != 0 and name in refused.stderr, (name, refused.stderr)


def test_every_secret_in_compose_comes_from_the_environment_or_stops_it() -> None:
    seen = 0
    for name, service in _raw_compose()["services"].items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        for variable, value in environment.items():
            if _SECRET_NAME.search(variable) and value != "":  # empty: none (Redis here)
                assert value == f"${{{variable}:?set {variable}}}", (name, variable, value)
                seen += 1
            else:
                # A URL may embed a secret only by reference, never written out.
                assert "://" not in str(value) or "@" not in str(value) or "${" in str(value)
    assert seen >= 10


def test_compose_runs_several_rasa_servers_each_addressed(compose: dict[str, Any]) -> None:
    services = compose["services"]
    rasa = sorted(name for name in services if re.fullmatch(r"rasa-\d+", name))
    assert len(rasa) >= 2
    urls = services["gateway"]["environment"]["SOTONG_RASA_URLS"].split(",")
    assert urls == [f"http://{name}:5005" for name in rasa]
    for name in rasa:
        environment = services[name]["environment"]
        assert (
            environment["SOTONG_RASA_TRACKER_URL"]
            == (services["gateway"]["environment"]["SOTONG_RASA_TRACKER_URL"])
        )
        assert environment["SOTONG_ACTIONS_URL"].startswith("http://gateway:8000/")
    gateway = services["gateway"]
    assert gateway["environment"]["SOTONG_REDIS_URL"].startswith("redis://redis:")
    assert gateway["environment"]["SOTONG_DATABASE_URL"].startswith("postgresql://")
    assert gateway["environment"]["SOTONG_AUTO_MIGRATE"] == "false"
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["sotong", "db", "upgrade"]


def test_nginx_is_the_only_published_port(compose: dict[str, Any]) -> None:
    services = compose["services"]
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert list(published) == ["nginx"]
    (port,) = published["nginx"]
    text = port if isinstance(port, str) else f"{port.get('host_ip')}:{port['published']}"
    assert text.startswith("127.0.0.1:"), text  # the TLS proxy in front is the public side
    raw = _raw_compose()["services"]
    assert "./deploy/nginx/compose.conf:/etc/nginx/nginx.conf:ro" in raw["nginx"]["volumes"]
    # nginx's fixed address is the one the gateways trust for X-Forwarded-For.
    address = services["nginx"]["networks"]["sotong"]["ipv4_address"]
    trusted = services["gateway"]["environment"]["FORWARDED_ALLOW_IPS"].split(",")
    assert address in trusted
    # coturn is on the host's network (no publishing of a relay range).
    assert services["coturn"]["network_mode"] == "host" and "ports" not in services["coturn"]


def test_coturn_shares_the_gateways_turn_secret(compose: dict[str, Any]) -> None:
    raw = _raw_compose()["services"]
    assert (
        raw["coturn"]["environment"]["SOTONG_TURN_SECRET"]
        == (raw["gateway"]["environment"]["SOTONG_TURN_SECRET"])
    )
    coturn = compose["services"]["coturn"]
    assert coturn["entrypoint"] == ["/bin/sh", "/etc/sotong-coturn/start.sh"]
    assert raw["coturn"]["volumes"] == ["./deploy/coturn:/etc/sotong-coturn:ro"]
    assert compose["services"]["gateway"]["environment"]["SOTONG_TURN_URLS"]


# ---- deploy/coturn -------------------------------------------------------------------
def _turn_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (COTURN / "turnserver.conf").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_coturn_takes_only_the_gateways_short_lived_credentials() -> None:
    settings = _turn_settings()
    for flag in ("use-auth-secret", "fingerprint", "no-cli", "no-multicast-peers"):
        assert settings.get(flag) == [""], flag
    assert settings["realm"][0]
    assert int(settings["min-port"][0]) < int(settings["max-port"][0])
    # No static account and no secret in the file: start.sh adds it from the environment.
    for forbidden in (
        "user",
        "lt-cred-mech",
        "userdb",
        "static-auth-secret",
        "allow-loopback-peers",
    ):
        assert forbidden not in settings, forbidden
    # The relay never reaches the machine's own network (databases, metadata service).
    denied = settings["denied-peer-ip"]
    for private in ("10.0.0.0", "172.16.0.0", "192.168.0.0", "169.254.0.0"):
        assert any(r.startswith(private + "-") for r in denied), private
    start = (COTURN / "start.sh").read_text(encoding="utf-8")
    assert "static-auth-secret=%s" in start and '"$SOTONG_TURN_SECRET"' in start


def _allocates(port: int, username: str, password: str) -> bool:
    """Whether coturn's test client gets a relay and sends data through it."""
    result = subprocess.run(
        [
            *("turnutils_uclient", "-p", str(port), "-u", username, "-w", password),
            *("-y", "-n", "1", "-m", "1", "-l", "64", "127.0.0.1"),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0 and b"Cannot complete Allocation" not in result.stdout


@pytest.mark.timeout(120)
def test_coturn_started_as_deployed_relays_with_a_gateway_credential(tmp_path: Path) -> None:
    if shutil.which("turnserver") is None or shutil.which("turnutils_uclient") is None:
        missing_part("coturn (turnserver, turnutils_uclient; scripts/setup.sh installs it)")
    secret = "a-turn-secret-for-this-test"
    port = free_port()
    relay = 40000 + port % 20000
    run_dir = tmp_path / "run"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SOTONG_TURN_SECRET": secret,
        "SOTONG_TURN_CONFIG": str(COTURN / "turnserver.conf"),
        "SOTONG_TURN_RUN_DIR": str(run_dir),
    }
    # Only what a test on loopback needs is added after the file's settings.
    server = subprocess.Popen(
        [
            *("sh", str(COTURN / "start.sh"), "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1"),
            *(f"--listening-port={port}", f"--min-port={relay}", f"--max-port={relay + 20}"),
            *("--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("coturn did not start with deploy/coturn/")
                time.sleep(0.1)
        # The secret is in a file only coturn's user reads, not on its command line.
        written = run_dir / "turnserver.conf"
        assert written.stat().st_mode & 0o077 == 0
        assert f"static-auth-secret={secret}" in written.read_text(encoding="utf-8")
        assert secret.encode() not in Path(f"/proc/{server.pid}/cmdline").read_bytes()
        now = int(subprocess.run(["date", "+%s"], capture_output=True, check=True).stdout)
        assert _allocates(port, *turn_credential(secret, now + 3600, "abc123"))
        assert not _allocates(port, *turn_credential("another secret", now + 3600, "abc123"))
        assert not _allocates(port, *turn_credential(secret, now - 60, "abc123"))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---- deploy/nginx/compose.conf -------------------------------------------------------
def _locations(text: str) -> str:
    """The server's locations, from the first one to the end of the file."""
    start = text.index("        location ")
    return text[start:]


def test_compose_nginx_has_the_same_locations_as_sotong_conf() -> None:
    ours = (NGINX / "compose.conf").read_text(encoding="utf-8")
    theirs = (NGINX / "sotong.conf").read_text(encoding="utf-8")
    assert _locations(ours) == _locations(theirs)
    assert "server gateway:8000 resolve" in ours and "resolver 127.0.0.11" in ours


def _echo() -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "forwarded_for": request.headers.get("x-forwarded-for"),
                "forwarded_proto": request.headers.get("x-forwarded-proto"),
            }
        )

    async def socket_echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("echo:" + await websocket.receive_text())
        await websocket.close()

    return Starlette(
        routes=[
            WebSocketRoute("/api/video/{rid}/ws", socket_echo),
            Route("/{path:path}", echo, methods=["GET"]),
        ]
    )


@pytest.fixture
def compose_nginx(tmp_path: Path) -> Iterator[str]:
    """nginx with compose.conf, the gateways' name pointed at one local upstream."""
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        missing_part("nginx (Debian's nginx-light, installed by scripts/setup.sh)")
    assert nginx is not None
    upstream_port, listen = free_port(), free_port()
    server = uvicorn.Server(uvicorn.Config(_echo(), port=upstream_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    text = (NGINX / "compose.conf").read_text(encoding="utf-8")
    # Debian's nginx (1.22) predates `resolve` in upstreams (1.27.3) and has no Docker
    # DNS: only those two change.
    text = text.replace("server gateway:8000 resolve", f"server 127.0.0.1:{upstream_port}")
    text = text.replace("resolver 127.0.0.11", "resolver 127.0.0.1")
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    config = tmp_path / "compose.conf"
    config.write_text(text, encoding="utf-8")
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{listen}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield f"127.0.0.1:{listen}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        server.should_exit = True
        thread.join(timeout=10)


def test_compose_nginx_passes_the_tls_proxys_scheme_and_the_citizen(compose_nginx: str) -> None:
    behind = httpx.get(
        f"http://{compose_nginx}/api/webchat/sessions",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
        timeout=5,
    ).json()
    assert behind == {"forwarded_for": "203.0.113.7, 127.0.0.1", "forwarded_proto": "https"}
    direct = httpx.get(f"http://{compose_nginx}/", timeout=5).json()
    assert direct == {"forwarded_for": "127.0.0.1", "forwarded_proto": "http"}
    with connect(f"ws://{compose_nginx}/api/video/12/ws", open_timeout=5) as websocket:
        websocket.send("안녕")
        assert websocket.recv(timeout=5) == "echo:안녕"


# ---- deploy/k8s ----------------------------------------------------------------------
def _kustomization() -> dict[str, Any]:
    loaded = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    """Every object of every file the kustomization lists, with its file's name."""
    found = []
    for name in _kustomization()["resources"]:
        for document in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")):
            if document is not None:
                found.append((name, document))
    return found


def _objects(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for _, o in _manifests() if o["kind"] == kind}


def _pod(deployment: dict[str, Any]) -> dict[str, Any]:
    spec = deployment["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = _kustomization()
    files = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(kustomization["resources"]) == files
    assert kustomization["namespace"] == "sotong"
    for name, manifest in _manifests():
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"]["namespace"] == "sotong", (name, manifest["kind"])
    images = {image["name"] for image in kustomization["images"]}
    for deployment in _objects("Deployment").values():
        for container in _pod(deployment)["containers"]:
            repository = container["image"].rsplit(":", 1)[0]
            assert repository in images or repository == "coturn/coturn", container["image"]
            assert not container["image"].endswith(":latest")


@pytest.mark.parametrize(
    "manifest",
    [pytest.param(m, id=f"{name}:{m['kind']}/{m['metadata']['name']}") for name, m in _manifests()],
)
def test_every_manifest_is_valid_kubernetes(manifest: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{manifest['kind']}/{manifest['metadata']['name']}: {error}")


def test_every_deployment_has_probes_and_resources() -> None:
    deployments = _objects("Deployment")
    assert {"sotong-gateway", "sotong-rasa", "sotong-coturn"} <= set(deployments)
    for name, deployment in deployments.items():
        for container in _pod(deployment)["containers"]:
            for probe in ("readinessProbe", "livenessProbe"):
                assert probe in container, (name, probe)
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name
    (gateway,) = _pod(deployments["sotong-gateway"])["containers"]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["ports"] == [{"name": "http", "containerPort": 8000}]
    (rasa,) = _pod(deployments["sotong-rasa"])["containers"]
    assert rasa["readinessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert rasa["ports"] == [{"name": "http", "containerPort": 5005}]


def test_autoscalers_and_disruption_budgets_aim_at_real_deployments() -> None:
    deployments = _objects("Deployment")
    labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
    for name, deployment in deployments.items():
        assert _matches(deployment["spec"]["selector"]["matchLabels"], labels[name])
    autoscaled = set()
    for hpa in _objects("HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        autoscaled.add(target["name"])
    assert autoscaled == {"sotong-gateway", "sotong-rasa"}
    budgeted = set()
    for pdb in _objects("PodDisruptionBudget").values():
        assert pdb["spec"]["minAvailable"] == 1
        chosen = [
            n for n in deployments if _matches(pdb["spec"]["selector"]["matchLabels"], labels[n])
        ]
        assert len(chosen) == 1, pdb["metadata"]["name"]
        budgeted.update(chosen)
    assert budgeted == {"sotong-gateway", "sotong-rasa"}
    # Services, the ingress and the network policies reach pods that exist.
    services = _objects("Service")
    for service in services.values():
        assert any(_matches(service["spec"]["selector"], labels[n]) for n in deployments)
    for ingress in _objects("Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                ports = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                assert backend["port"]["name"] in ports
    for policy in _objects("NetworkPolicy").values():
        assert any(
            _matches(policy["spec"]["podSelector"]["matchLabels"], labels[n]) for n in deployments
        )


def test_the_migration_job_migrates_once_and_the_gateways_do_not() -> None:
    (job,) = _objects("Job").values()
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["sotong", "db", "upgrade"]
    assert pod["restartPolicy"] == "Never"
    (gateway,) = _pod(_objects("Deployment")["sotong-gateway"])["containers"]
    assert container["image"] == gateway["image"]
    assert "command" not in gateway and "args" not in gateway  # the image's `sotong serve`
    assert _objects("ConfigMap")["sotong-config"]["data"]["SOTONG_AUTO_MIGRATE"] == "false"
    assert {"configMapRef": {"name": "sotong-config"}} in gateway["envFrom"]


def _references(kind: str) -> set[str]:
    """Every key of ``kind`` (secretKeyRef, configMapKeyRef) a container reads."""
    keys = set()
    for _, manifest in _manifests():
        template = manifest.get("spec", {}).get("template", {})
        for container in template.get("spec", {}).get("containers", []):
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get(kind)
                if reference:
                    keys.add(reference["key"])
    return keys


def test_the_secret_is_a_template_of_placeholders() -> None:
    (secret,) = _objects("Secret").values()
    assert "data" not in secret  # nothing base64-encoded to hide a real value in
    values = secret["stringData"]
    for key, value in values.items():
        # The gateway's own check refuses each of these in production.
        assert re.fullmatch(r"<[^<>]+>", value) and _PLACEHOLDER.match(value), (key, value)
    assert _references("secretKeyRef") <= set(values)
    assert _references("configMapKeyRef") <= set(_objects("ConfigMap")["sotong-config"]["data"])
    # What the gateway requires in production is in the Secret or the ConfigMap.
    config = _objects("ConfigMap")["sotong-config"]["data"]
    secrets = {"SOTONG_DATABASE_URL", "SOTONG_REDIS_URL", "SOTONG_RASA_TOKEN"}
    secrets |= {"SOTONG_ACTIONS_TOKEN", "SOTONG_SECRET_KEY", "SOTONG_TURN_SECRET"}
    secrets |= {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"}
    assert secrets <= set(values)
    assert {"SOTONG_PUBLIC_URL", "TWILIO_PHONE_NUMBER", "SOTONG_TURN_URLS"} <= set(config)
    # No secret is written into the ConfigMap.
    assert not [k for k in config if _SECRET_NAME.search(k)]


def _rasa_variables() -> set[str]:
    """The variables the image's nlu/endpoints.yml reads (Rasa refuses to start without
    any of them)."""
    text = (PROJECT_DIR / "nlu" / "endpoints.yml").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return set(re.findall(r"\$\{(\w+)\}", body))


def test_rasa_gets_every_variable_of_its_endpoints_and_a_redis_lock_store(
    compose: dict[str, Any],
) -> None:
    endpoints = yaml.safe_load((PROJECT_DIR / "nlu" / "endpoints.yml").read_text("utf-8"))
    # Several servers share the tracker store: the lock store must be shared too.
    assert endpoints["lock_store"]["type"] == "${SOTONG_RASA_LOCK_STORE}"
    needed = _rasa_variables()
    assert {"SOTONG_ACTIONS_URL", "SOTONG_RASA_TRACKER_URL", "SOTONG_RASA_LOCK_HOST"} <= needed
    (rasa,) = _pod(_objects("Deployment")["sotong-rasa"])["containers"]
    kubernetes = {variable["name"]: variable for variable in rasa["env"]}
    assert needed <= set(kubernetes)
    assert kubernetes["SOTONG_RASA_LOCK_STORE"]["value"] == "redis"
    # The image's own command: the token from the environment, not the command line.
    assert "command" not in rasa and "args" not in rasa
    for name, service in compose["services"].items():
        if re.fullmatch(r"rasa-\d+", name):
            environment = service["environment"]
            assert needed <= set(environment), name
            assert environment["SOTONG_RASA_LOCK_STORE"] == "redis"
            assert environment["SOTONG_RASA_LOCK_HOST"] == "redis"


def test_coturn_in_kubernetes_runs_deploy_coturn_with_the_gateways_secret() -> None:
    files = _objects("ConfigMap")["sotong-coturn"]["data"]
    for name in ("turnserver.conf", "start.sh"):
        assert files[name] == (COTURN / name).read_text(encoding="utf-8"), name
    deployment = _objects("Deployment")["sotong-coturn"]
    pod = _pod(deployment)
    assert pod["hostNetwork"] is True and deployment["spec"]["strategy"]["type"] == "Recreate"
    (container,) = pod["containers"]
    assert container["command"] == ["/bin/sh", "/etc/sotong-coturn/start.sh"]
    (secret,) = [v for v in container["env"] if v["name"] == "SOTONG_TURN_SECRET"]
    # The gateways read the same key (envFrom the whole Secret).
    assert secret["valueFrom"]["secretKeyRef"] == {
        "name": "sotong-secrets",
        "key": "SOTONG_TURN_SECRET",
    }
    (gateway,) = _pod(_objects("Deployment")["sotong-gateway"])["containers"]
    assert {"secretRef": {"name": "sotong-secrets"}} in gateway["envFrom"]


def test_the_ingress_keeps_nginx_s_timeouts() -> None:
    ingresses = _objects("Ingress")
    prefix = "nginx.ingress.kubernetes.io/"

    def timeout(name: str) -> str:
        return str(ingresses[name]["metadata"]["annotations"][prefix + "proxy-read-timeout"])

    assert (timeout("sotong-twilio"), timeout("sotong-sockets"), timeout("sotong-web")) == (
        "14",
        "3600",
        "30",
    )
    # The sockets' paths are sotong.conf's long-lived locations.
    conf = (NGINX / "sotong.conf").read_text(encoding="utf-8")
    (regex,) = re.findall(r"location ~ \^(\S+) \{", conf)
    paths = [p["path"] for p in ingresses["sotong-sockets"]["spec"]["rules"][0]["http"]["paths"]]
    assert sorted(paths) == sorted([regex, "/webhooks/twilio/media"])
    assert "location = /webhooks/twilio/media {" in conf
