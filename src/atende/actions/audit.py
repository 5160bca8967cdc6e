"""The audit log: who did what, when and from where (security issue §8, LGPD access log).

Written in the caller's transaction, so an action and its audit entry commit together. Entries
name ids only, never personal data (no names, numbers or message texts in `detail`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert

from atende.db.tables import audit_log
from atende.db.tx import Tx
from atende.db.types import utcnow


async def record(
    tx: Tx,
    action: str,
    *,
    actor_id: int | None,
    target_type: str | None = None,
    target_id: int | None = None,
    contact_id: int | None = None,
    ip: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    await tx.conn.execute(insert(audit_log).values(
        at=utcnow(), actor_id=actor_id, action=action, target_type=target_type, target_id=target_id,
        contact_id=contact_id, ip=(ip or None) and ip[:64], detail=dict(detail or {}),
    ))
