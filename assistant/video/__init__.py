"""Video calls between a citizen and the interpreter or staff member holding their
handoff: signed join links and WebRTC signalling (media goes browser to browser)."""

from assistant.video.signalling import CITIZEN, PERSON, SignallingConnection, SignallingHub
from assistant.video.tokens import check_join_token, join_path, join_token

__all__ = [
    "CITIZEN",
    "PERSON",
    "SignallingConnection",
    "SignallingHub",
    "check_join_token",
    "join_path",
    "join_token",
]
