"""Model download over real HTTP from a local server: verify, unpack safely, install."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from voice.models import (
    ENGLISH_MODEL_SHA256,
    ModelDownloadError,
    default_model_dir,
    download_model,
)


def _zip(files: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data in files.items():
            zipped.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16) & 0xFFFF0000
            zipped.writestr(info, "/etc/passwd")
    return buffer.getvalue()


MODEL_ZIP = _zip(
    {
        "vosk-model-small-xx-0.1/am/final.mdl": b"acoustic",
        "vosk-model-small-xx-0.1/conf/model.conf": b"--sample-frequency=16000\n",
        "vosk-model-small-xx-0.1/graph/words.txt": b"yes 1\nno 2\n",
        "vosk-model-small-xx-0.1/README": b"test model",
    }
)


class _Files(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    _Files.routes = {
        "/model.zip": MODEL_ZIP,
        "/evil.zip": _zip({"../escape.txt": b"x", "m/am/a": b"", "m/conf/c": b""}),
        "/link.zip": _zip({"m/am/a": b"", "m/conf/c": b""}, links=("m/am/link",)),
        "/empty.zip": _zip({"readme.txt": b"no model here"}),
        "/notzip.zip": b"this is not a zip",
    }
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_installs_the_model(server: str, tmp_path: Path) -> None:
    dest = default_model_dir(tmp_path, "en")
    seen: list[tuple[int, int | None]] = []
    path = download_model(
        f"{server}/model.zip",
        _sha(MODEL_ZIP),
        dest,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert path == dest.resolve()
    assert (dest / "am" / "final.mdl").read_bytes() == b"acoustic"
    assert (dest / "conf" / "model.conf").exists()
    assert seen[-1] == (len(MODEL_ZIP), len(MODEL_ZIP))
    assert sorted(p.name for p in dest.parent.iterdir()) == ["vosk-en"]  # no leftovers
    # a second download replaces the model atomically
    (dest / "stale").write_text("old")
    download_model(f"{server}/model.zip", _sha(MODEL_ZIP), dest)
    assert not (dest / "stale").exists()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["vosk-en"]


@pytest.mark.parametrize(
    ("route", "sha", "message"),
    [
        ("/model.zip", "0" * 64, "checksum mismatch"),
        ("/evil.zip", None, "unsafe path"),
        ("/link.zip", None, "link"),
        ("/empty.zip", None, "no Vosk model"),
        ("/notzip.zip", None, "not a zip"),
        ("/missing.zip", "0" * 64, "HTTP 404"),
        ("/model.zip", "abc", "64 hexadecimal"),
    ],
)
def test_refused_downloads_leave_nothing(
    server: str, tmp_path: Path, route: str, sha: str | None, message: str
) -> None:
    dest = tmp_path / "models" / "vosk-en"
    body = _Files.routes.get(route, b"")
    with pytest.raises(ModelDownloadError, match=message):
        download_model(f"{server}{route}", sha or _sha(body), dest)
    assert not dest.exists()
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "models" / "escape.txt").exists()


def test_failed_download_keeps_the_installed_model(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "vosk-en"
    download_model(f"{server}/model.zip", _sha(MODEL_ZIP), dest)
    with pytest.raises(ModelDownloadError):
        download_model(f"{server}/model.zip", "0" * 64, dest)
    assert (dest / "am" / "final.mdl").exists()


def test_cli_download_and_status(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOTONG_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("SOTONG_VOSK_MODEL_EN", raising=False)
    runner = CliRunner()
    status = runner.invoke(app, ["models", "status"])
    assert status.exit_code == 0, status.output
    assert "ko: available" in status.output
    assert "en: not configured" in status.output

    refused = runner.invoke(app, ["models", "download", "en", "--url", f"{server}/model.zip"])
    assert refused.exit_code == 2  # an unpinned URL needs --sha256

    mismatch = runner.invoke(
        app, ["models", "download", "en", "--url", f"{server}/model.zip", "--sha256", "1" * 64]
    )
    assert mismatch.exit_code == 1
    assert not (tmp_path / "models" / "vosk-en").exists()

    done = runner.invoke(
        app,
        ["models", "download", "en", "--url", f"{server}/model.zip", "--sha256", _sha(MODEL_ZIP)],
    )
    assert done.exit_code == 0, done.output
    assert "SOTONG_VOSK_MODEL_EN=" in done.output
    status = runner.invoke(app, ["models", "status"])
    assert f"en: available at {tmp_path / 'models' / 'vosk-en'}" in status.output


def test_pinned_checksum_is_well_formed() -> None:
    assert len(ENGLISH_MODEL_SHA256) == 64
    int(ENGLISH_MODEL_SHA256, 16)
