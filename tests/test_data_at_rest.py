"""Security §8: files created for their owner only; logs without SQL parameters or personal data."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import structlog
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from atende.db.engine import create_engine
from atende.db.migrate import upgrade
from atende.db.tables import users
from atende.db.types import utcnow
from atende.logs import RedactFilter, redact, redact_event
from atende.media.store import LocalMediaStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_file_and_folders_are_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    engine = create_engine(f"sqlite+aiosqlite:///{var / 'atende.db'}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    assert _mode(var) == 0o700 and _mode(var / "atende.db") == 0o600
    store = LocalMediaStore(var / "media")
    stored = await store.put(b"comprovante")
    assert _mode(var / "media") == 0o700
    assert _mode(store.path(stored.key)) & 0o077 == 0


async def test_sql_errors_carry_no_parameters(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    try:
        await upgrade(engine)
        row = {"email": "cpf-123.456.789-00@example.com", "name": "Maria", "password_hash": "x", "role": "agent",
               "created_at": utcnow()}
        async with engine.begin() as conn:
            await conn.execute(insert(users).values(**row))
        with pytest.raises(IntegrityError) as exc:
            async with engine.begin() as conn:
                await conn.execute(insert(users).values(**row))
        assert "123.456.789" not in str(exc.value) and "Maria" not in str(exc.value)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


def test_redaction_masks_numbers_emails_and_secrets() -> None:
    line = "kolmeya HTTP 422: phone 5511999999999 invalid for maria@example.com Bearer abc.def token=s3cr3t"
    out = redact(line)
    for secret in ("5511999999999", "maria@example.com", "abc.def", "s3cr3t"):
        assert secret not in out
    assert "HTTP 422" in out
    event = redact_event(None, "warning", {"event": "x", "error": "to +55 11 99999-9999", "connector_id": 12345678})
    assert "99999-9999" not in event["error"] and event["connector_id"] == 12345678


def test_stdlib_records_are_redacted() -> None:
    record = logging.LogRecord("atende", logging.WARNING, __file__, 1, "kolmeya HTTP %s: %s", (422, "5511999999999"),
                               None)
    RedactFilter().filter(record)
    assert "5511999999999" not in record.getMessage()


def test_structlog_calls_log_ids_not_texts() -> None:
    """The audit of structlog calls: none passes a name, phone or message text as a field."""
    import ast

    root = Path(__file__).resolve().parents[1] / "src" / "atende"
    suspicious = {"text", "name", "phone", "address", "body", "preview", "contact_name", "email", "to"}
    found = []
    for path in root.rglob("*.py"):
        if "testing" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("debug", "info", "warning", "error", "exception") and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id in ("log", "logger"):
                found += [f"{path.name}:{node.lineno} {k.arg}" for k in node.keywords if k.arg in suspicious]
    assert not found, found
    with structlog.testing.capture_logs() as logs:
        structlog.get_logger("x").info("probe", connector_id=1)
    assert logs[0]["connector_id"] == 1
