"""structlog set-up: key-value lines in development, JSON in production.

Every string value passes through the resident-registration-number mask, so a number
that slips into a log call is still never written in clear; conversation ids (a web
chat's bearer credential) are written as short references (``privacy.log_reference``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from assistant.privacy import log_reference, mask_rrn

# Keys whose values open a conversation to whoever holds them.
_BEARER_KEYS = frozenset({"conversation_id", "session_id", "sender_id"})


def _masked(value: Any) -> Any:
    """``value`` with every string inside it masked (dicts, lists and tuples walked)."""
    if isinstance(value, str):
        return mask_rrn(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_masked(v) for v in value)
    return value


def _mask_values(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Runs after format_exc_info, so a traceback's text ("exception") is masked too.
    for key, value in list(event.items()):
        if key in _BEARER_KEYS and isinstance(value, str) and value:
            event[key] = log_reference(value)
        else:
            event[key] = _masked(value)
    return event


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written.

    Binding the stream at configuration time breaks when something replaces it later
    (pytest captures per test and closes the old one; a daemon may redirect it).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(json_output: bool = False, level: int = logging.INFO) -> None:
    """Configure structlog and the standard library's root logger."""
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_output
        # Plain tracebacks: Rich's (the default when installed) print every frame's local
        # variables, which hold citizens' messages and numbers (review M8).
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # The traceback becomes text here (no locals), before the masking pass; JSON
            # lines carry it as "exception" instead of a bare "exc_info": true.
            structlog.processors.format_exc_info,
            _mask_values,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    # httpx logs every request URL at INFO, and Rasa's API token rides in the query string.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
