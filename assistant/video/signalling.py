"""WebRTC signalling between the person taking a handoff and the citizen, per request.

Media flows browser to browser; the gateway only passes the few messages that set a
call up: SDP offers and answers, ICE candidates, and "bye". A room is one handoff
request with at most two connections, one per role ("person" and "citizen"). The hub is
plain asyncio with no web framework: a route joins a connection, feeds it what the
socket received (:meth:`SignallingHub.receive`) and writes what
:meth:`SignallingConnection.next` gives back to the socket.

What the hub tells the browsers on its own:
- ``{"type": "peer-joined", "role": r}`` to both sides when a room holds both roles
  (again after either reconnects): each side then starts a fresh peer connection;
- ``{"type": "peer-left", "role": r}`` when the other side's connection went away;
- ``{"type": "peer-replaced", "role": r}`` when a newer connection of the other side's
  role replaced its older one (a reload, another tab, or someone else with the same
  link; review L9), just before the ``peer-joined`` of the newer one;
- ``{"type": "pong"}`` in answer to ``{"type": "ping"}`` (keeps proxies from closing an
  idle socket).

Only well-formed messages are relayed, rebuilt from their known fields; anything else
is dropped, counted in :attr:`SignallingHub.dropped` and logged.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import structlog

log = structlog.get_logger(__name__)

PERSON: Final = "person"
CITIZEN: Final = "citizen"
ROLES: Final = (PERSON, CITIZEN)

MAX_FRAME_BYTES: Final = 64 * 1024
MAX_SDP_BYTES: Final = 32 * 1024
# A candidate line is ~100 characters; anything near this is not a candidate.
MAX_CANDIDATE_CHARS: Final = 2048
MAX_MID_CHARS: Final = 64
# Messages waiting for one socket; a client this far behind is disconnected (it
# reconnects and negotiates afresh) rather than growing the gateway's memory.
DEFAULT_QUEUE_SIZE: Final = 256
# Warnings logged per connection for dropped messages; the counter keeps counting.
_LOGGED_DROPS_PER_CONNECTION: Final = 10

CLOSE_LEFT: Final = 1000
CLOSE_REPLACED: Final = 4409  # the same role connected again (a reload, another tab)
# The replaced socket's close reason (at most 123 bytes): it was opened elsewhere.
REPLACED_REASON: Final = "opened elsewhere: a newer connection (another tab or device) took over"
CLOSE_ENDED: Final = 4410  # the request's call was ended on the gateway's side
CLOSE_TOO_SLOW: Final = 4429  # the socket did not keep up with its messages


@dataclass(frozen=True)
class Close:
    """The connection is over: the route closes its socket with this code."""

    code: int
    reason: str


def other_role(role: str) -> str:
    """The role at the other end of the call."""
    return CITIZEN if role == PERSON else PERSON


class SignallingConnection:
    """One joined socket's side of the hub: messages to send, then a :class:`Close`."""

    def __init__(self, request_id: int, role: str, queue_size: int) -> None:
        self.request_id = request_id
        self.role = role
        self.key = uuid.uuid4().hex  # names this connection to other gateways
        self.drops = 0
        self._pending: deque[dict[str, Any]] = deque()
        self._limit = queue_size
        self._wake = asyncio.Event()
        self._close: Close | None = None

    @property
    def closed(self) -> Close | None:
        """Why the hub closed this connection, or None while it is open."""
        return self._close

    async def next(self) -> dict[str, Any] | Close:
        """The next message for the socket; a :class:`Close` once nothing more will come."""
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._close is not None:
                return self._close
            self._wake.clear()
            await self._wake.wait()

    def _push(self, message: dict[str, Any]) -> bool:
        if self._close is not None:
            return False
        if len(self._pending) >= self._limit:
            self._pending.clear()
            self._shut(Close(CLOSE_TOO_SLOW, "too far behind"))
            return False
        self._pending.append(message)
        self._wake.set()
        return True

    def _shut(self, close: Close) -> None:
        if self._close is None:
            self._close = close
        self._wake.set()


class SignallingHub:
    """Rooms of at most one person and one citizen per handoff request.

    A new connection of a role replaces the old one (a reload or a dropped network
    reconnects; the old socket is closed with :data:`CLOSE_REPLACED` and
    :data:`REPLACED_REASON`), and the other side is told (``peer-replaced``): a
    forwarded link taking the citizen's place is visible to the person (review L9).
    """

    def __init__(
        self,
        *,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        max_sdp_bytes: int = MAX_SDP_BYTES,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        on_drop: Callable[[str], None] | None = None,
    ) -> None:
        self._rooms: dict[int, dict[str, SignallingConnection]] = {}
        self._max_frame_bytes = max_frame_bytes
        self._max_sdp_bytes = max_sdp_bytes
        self._queue_size = queue_size
        self.relayed = 0
        self.dropped: Counter[str] = Counter()
        # Also told to the gateway's metrics (sotong_video_frames_dropped_total).
        self._on_drop = on_drop

    def join(
        self, request_id: int, role: str, greeting: dict[str, Any] | None = None
    ) -> SignallingConnection:
        """Add a connection for ``role`` to request ``request_id``'s room.

        ``greeting`` is queued first, before anything the hub or the other side sends.
        """
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        room = self._rooms.setdefault(request_id, {})
        connection = SignallingConnection(request_id, role, self._queue_size)
        if greeting is not None:
            connection._push(greeting)
        old = room.get(role)
        if old is not None:
            old._shut(Close(CLOSE_REPLACED, REPLACED_REASON))
            log.warning("video.replaced", request_id=request_id, role=role)
        room[role] = connection
        other = room.get(other_role(role))
        if other is not None:
            if old is not None:
                other._push({"type": "peer-replaced", "role": role})
            other._push({"type": "peer-joined", "role": role})
            connection._push({"type": "peer-joined", "role": other.role})
        log.info("video.joined", request_id=request_id, role=role, peer=other is not None)
        return connection

    def leave(self, connection: SignallingConnection) -> None:
        """The socket went away: tell the other side, unless it was already replaced."""
        connection._shut(Close(CLOSE_LEFT, "left"))
        room = self._rooms.get(connection.request_id)
        if room is None or room.get(connection.role) is not connection:
            return
        del room[connection.role]
        other = room.get(other_role(connection.role))
        if other is not None:
            other._push({"type": "peer-left", "role": connection.role})
        else:
            del self._rooms[connection.request_id]
        log.info("video.left", request_id=connection.request_id, role=connection.role)

    def close(self, connection: SignallingConnection, close: Close) -> None:
        """Close one connection from the gateway's side (its socket closes with
        ``close``); the other side hears ``peer-left`` when the route leaves."""
        connection._shut(close)

    def end(self, request_id: int, reason: str = "the call has ended") -> bool:
        """Close both sides of a request's call (its handoff is over); False if none."""
        room = self._rooms.pop(request_id, None)
        if room is None:
            return False
        for connection in room.values():
            connection._shut(Close(CLOSE_ENDED, reason))
        log.info("video.ended", request_id=request_id)
        return True

    def present(self, request_id: int) -> frozenset[str]:
        """The roles connected to a request's call now."""
        return frozenset(self._rooms.get(request_id, {}))

    @property
    def rooms(self) -> int:
        """How many calls have at least one side connected."""
        return len(self._rooms)

    def receive(self, connection: SignallingConnection, raw: str | bytes) -> bool:
        """Handle one frame from ``connection``'s socket; True if it was relayed."""
        room = self._rooms.get(connection.request_id)
        if room is None or room.get(connection.role) is not connection:
            return self._drop(connection, "not_joined")
        if isinstance(raw, bytes):
            return self._drop(connection, "binary")
        if len(raw) > self._max_frame_bytes or len(raw.encode()) > self._max_frame_bytes:
            return self._drop(connection, "too_large")
        try:
            data = json.loads(raw)
        except ValueError:
            return self._drop(connection, "not_json")
        if not isinstance(data, dict):
            return self._drop(connection, "not_object")
        kind = data.get("type")
        if kind == "ping" and data.keys() == {"type"}:
            connection._push({"type": "pong"})
            return False
        message, problem = self._well_formed(data)
        if message is None:
            return self._drop(connection, problem)
        return self._relay(connection, message)

    async def start(self) -> None:
        """Get ready to relay (nothing to do in one process)."""

    async def shutdown(self) -> None:
        """Stop relaying (nothing to do in one process)."""

    def _relay(self, connection: SignallingConnection, message: dict[str, Any]) -> bool:
        """Pass a well-formed ``message`` to the other side of ``connection``'s room."""
        other = self._rooms[connection.request_id].get(other_role(connection.role))
        if other is None:
            # Not an error: the other side has not joined yet; it negotiates afresh
            # when it does (both get "peer-joined").
            self._count_drop("no_peer")
            return False
        if not other._push(message):
            self._count_drop("peer_closed")
            return False
        self.relayed += 1
        return True

    def _well_formed(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        kind = data.get("type")
        if kind in ("offer", "answer"):
            sdp = data.get("sdp")
            if data.keys() != {"type", "sdp"} or not isinstance(sdp, str) or not sdp:
                return None, "bad_sdp"
            if len(sdp.encode()) > self._max_sdp_bytes:
                return None, "sdp_too_large"
            return {"type": kind, "sdp": sdp}, ""
        if kind == "candidate":
            candidate = _candidate(data.get("candidate"))
            if data.keys() != {"type", "candidate"} or candidate is None:
                return None, "bad_candidate"
            return {"type": "candidate", "candidate": candidate}, ""
        if kind == "bye":
            if data.keys() != {"type"}:
                return None, "bad_bye"
            return {"type": "bye"}, ""
        return None, "unknown_type"

    def _count_drop(self, reason: str) -> None:
        self.dropped[reason] += 1
        if self._on_drop is not None:
            self._on_drop(reason)

    def _drop(self, connection: SignallingConnection, reason: str) -> bool:
        self._count_drop(reason)
        connection.drops += 1
        if connection.drops <= _LOGGED_DROPS_PER_CONNECTION:
            log.warning(
                "video.signal_dropped",
                request_id=connection.request_id,
                role=connection.role,
                reason=reason,
            )
        return False


def _candidate(value: Any) -> dict[str, Any] | None:
    """An ``RTCIceCandidateInit`` rebuilt from its known fields, or None if malformed."""
    if not isinstance(value, dict):
        return None
    allowed = {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}
    if not value.keys() <= allowed or "candidate" not in value:
        return None
    text = value["candidate"]
    mid = value.get("sdpMid")
    index = value.get("sdpMLineIndex")
    fragment = value.get("usernameFragment")
    if not isinstance(text, str) or len(text) > MAX_CANDIDATE_CHARS:
        return None
    if mid is not None and (not isinstance(mid, str) or len(mid) > MAX_MID_CHARS):
        return None
    # bool is an int to Python; JSON true is not a line index.
    if index is not None and (
        not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= 1023
    ):
        return None
    if mid is None and index is None:
        return None
    if fragment is not None and (not isinstance(fragment, str) or len(fragment) > 256):
        return None
    candidate: dict[str, Any] = {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index}
    if fragment is not None:
        candidate["usernameFragment"] = fragment
    return candidate
