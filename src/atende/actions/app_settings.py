"""Saving installation settings (retention, privacy): one row per key, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from atende.actions import audit
from atende.db.prepared import insert_ignore_stmt
from atende.db.tables import app_settings
from atende.db.tx import Tx
from atende.db.types import utcnow


async def put(tx: Tx, key: str, value: dict[str, Any], *, actor_id: int | None, ip: str | None = None) -> None:
    now = utcnow()
    await tx.conn.execute(insert_ignore_stmt(app_settings, tx.dialect),
                          {"key": key, "value": value, "updated_at": now, "updated_by": actor_id})
    await tx.conn.execute(update(app_settings).where(app_settings.c.key == key)
                          .values(value=value, updated_at=now, updated_by=actor_id))
    # Settings hold no personal data: the new document is the audit's detail.
    await audit.record(tx, f"settings.{key}", actor_id=actor_id, target_type="settings", ip=ip,
                       detail={"value": value})

