"""Incoming SMS kept on disk until they are answered (review M12).

Twilio does not retry a messaging webhook that failed, and never sends again one it got
a 200 for. So a text the webhook cannot answer in its own response is written here — one
file per MessageSid, the body with resident registration numbers masked, readable by the
gateway's user only — and a background loop answers it through the outbox:

- the database is out: the citizen is told at once that the message was kept, and it is
  answered once the database is back;
- the answer is late (past Twilio's wait): the webhook answers empty and the answer is
  texted when ready; the file goes once that text is in the outbox. If the process dies
  first, or the answer fails, the file stays and the loop (on any gateway sharing the
  directory) answers the message.

Files are claimed by renaming (atomic on one file system), so two gateway processes
sharing the directory never answer one message twice; a claim left by a process that
died is taken again after ``STALE_CLAIM_SECONDS``. The MessageSid claim in the SMS state
store stays the real guard against a second answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

import structlog

from assistant.privacy import mask_rrn
from channels.sms.wire import InboundSms, Media

log = structlog.get_logger(__name__)

CLAIMED = ".claimed"
STALE_CLAIM_SECONDS = 600.0


class SmsSpool:
    """A directory of kept SMS, answered later by ``replay``."""

    def __init__(self, directory: Path, clock: Callable[[], float] = time.time) -> None:
        self._directory = directory
        self._clock = clock

    def keep(self, sms: InboundSms) -> None:
        """Write ``sms`` (masked) to its own file; a second keep of one MessageSid is a no-op."""
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(sms.message_sid)
        if path.exists() or path.with_name(path.name + CLAIMED).exists():
            return
        record = asdict(sms) | {"body": mask_rrn(sms.body)}
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(record, file, ensure_ascii=False)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # whole or not at all

    def discard(self, message_sid: str) -> None:
        """Drop the kept copy of ``message_sid`` (it was answered). A copy another
        process has claimed stays with it: that process answers it (the MessageSid claim
        and the outbox's dedupe key keep the citizen from getting it twice) and deletes it."""
        self._path(message_sid).unlink(missing_ok=True)

    def waiting(self) -> int:
        """How many kept messages wait (claimed ones included)."""
        if not self._directory.is_dir():
            return 0
        return sum(1 for p in self._directory.iterdir() if not p.name.startswith("."))

    async def replay(self, answer: Callable[[InboundSms], Awaitable[None]]) -> int:
        """Hand every kept message to ``answer``; those it answered are deleted, those
        it raised on stay for the next round. Returns how many were answered."""
        answered = 0
        for path in await asyncio.to_thread(self._claimable):
            claimed = await asyncio.to_thread(self._claim, path)
            if claimed is None:
                continue  # another process took it
            try:
                sms = _read(claimed)
            except (OSError, ValueError, TypeError) as exc:
                log.error("sms.spool_unreadable", file=claimed.name, error=exc.__class__.__name__)
                claimed.rename(claimed.with_name("." + claimed.name + ".bad"))
                continue
            try:
                await answer(sms)
            except Exception as exc:  # still out, or a fault: keep it for the next round
                log.warning(
                    "sms.spool_still_waiting",
                    message_sid=sms.message_sid,
                    error=exc.__class__.__name__,
                )
                claimed.rename(self._path(sms.message_sid))
                continue
            claimed.unlink(missing_ok=True)
            answered += 1
        return answered

    def _path(self, message_sid: str) -> Path:
        # Twilio's sids are letters and digits; anything else cannot name a file here.
        safe = "".join(c for c in message_sid if c.isascii() and c.isalnum())[:64]
        return self._directory / f"{safe or 'unnamed'}.json"

    def _claimable(self) -> list[Path]:
        if not self._directory.is_dir():
            return []
        now = self._clock()
        paths = []
        for path in sorted(self._directory.iterdir()):
            if path.name.startswith("."):
                continue
            if path.name.endswith(CLAIMED):
                try:
                    if now - path.stat().st_mtime < STALE_CLAIM_SECONDS:
                        continue
                except FileNotFoundError:
                    continue
            paths.append(path)
        return paths

    def _claim(self, path: Path) -> Path | None:
        claimed = path if path.name.endswith(CLAIMED) else path.with_name(path.name + CLAIMED)
        try:
            os.rename(path, claimed)
            now = self._clock()
            # The claim's age starts now, on the clock _claimable reads it with.
            os.utime(claimed, (now, now))
        except FileNotFoundError:
            return None
        return claimed


def _read(path: Path) -> InboundSms:
    record = json.loads(path.read_text(encoding="utf-8"))
    record["media"] = tuple(Media(**item) for item in record.get("media", ()))
    return InboundSms(**record)
