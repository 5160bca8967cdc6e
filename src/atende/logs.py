"""Logging that keeps personal data out (design.md rule 11): ids, never numbers, e-mails or texts.

The code logs ids on purpose; this is the net under it. Both structlog events and stdlib records
(provider clients, uvicorn) pass through `redact`, which masks phone-like digit runs, e-mail
addresses and bearer secrets. SQL parameters never reach a log: engines run with hide_parameters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

_PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_BEARER = re.compile(r"(?i)(bearer\s+|token=|access_token=|api_token[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,]+")
KEEP = frozenset({"connector_id", "message_id", "conversation_id", "contact_id", "job_id", "user_id", "id",
                  "status", "items", "size", "retry_in", "level", "timestamp", "logger"})


def redact(text: str) -> str:
    text = _BEARER.sub(lambda m: m.group(1) + "***", text)
    text = _EMAIL.sub("***@***", text)
    return _PHONE.sub(lambda m: "***" + m.group(0)[-2:] if sum(c.isdigit() for c in m.group(0)) >= 8
                      else m.group(0), text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    return value


def redact_event(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if key not in KEEP:
            event[key] = _redact_value(value)
    return event


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class AlembicChatterFilter(logging.Filter):
    """Alembic says which dialect it uses every time a process starts: noise for a newcomer reading
    `scripts/run`'s output. What it migrates ("Running upgrade ...") still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """`fmt="json"` (ATENDE_LOG_FORMAT): one JSON object per line, for log shippers."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    migration_log = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, AlembicChatterFilter) for f in migration_log.filters):
        migration_log.addFilter(AlembicChatterFilter())
    structlog.configure(processors=[
        structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True), redact_event,
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False),
    ], wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())))  # ATENDE_LOG_LEVEL
