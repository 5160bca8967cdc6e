"""Process logging: JSON lines for log shippers, level filtering."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from atende.logs import configure_logging
from atende.settings import Settings


@pytest.fixture
def restore_logging():  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_and_level(restore_logging, capsys) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(log_format="json", log_level="WARNING")
    configure_logging(settings.log_level, settings.log_format)
    log = structlog.get_logger("t")
    log.info("hidden")
    log.warning("bus.connection_lost", bus="redis")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [(x["event"], x["level"], x["bus"]) for x in lines] == [("bus.connection_lost", "warning", "redis")]
    assert lines[0]["timestamp"].endswith("Z")
