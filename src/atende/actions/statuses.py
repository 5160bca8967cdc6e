"""Delivery statuses: applied monotonically (a late `delivered` never downgrades `read`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from atende.channels.base import StatusUpdate
from atende.db.tables import messages
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.status import should_apply
from atende.jobs.queue import enqueue
from atende.realtime import events

_STAMP = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}
# A status may arrive before the send's answer is stored; it is retried this many times.
ORPHAN_RETRIES = 6


async def find_message(tx: Tx, connector_id: int, provider_message_id: str | None,
                       reference: str | None) -> Any:
    cols = (messages.c.id, messages.c.status, messages.c.conversation_id, messages.c.provider_message_id)
    if provider_message_id:
        row = (await tx.conn.execute(select(*cols).where(
            messages.c.connector_id == connector_id,
            messages.c.provider_message_id == provider_message_id))).first()
        if row is not None:
            return row
    if reference and reference.isdigit():
        return (await tx.conn.execute(select(*cols).where(
            messages.c.connector_id == connector_id, messages.c.id == int(reference),
            messages.c.direction == "out"))).first()
    return None


async def apply_status(tx: Tx, connector_id: int, status: StatusUpdate, *, attempt: int = 0) -> bool:
    """Apply one report. Unknown messages are retried later (the report may beat the send's answer)."""
    row = await find_message(tx, connector_id, status.provider_message_id, status.reference)
    if row is None:
        from atende.actions.campaign_sends import apply_status as apply_campaign_status

        if await apply_campaign_status(tx, connector_id, status):  # a campaign message (no row in messages)
            return True
        if attempt < ORPHAN_RETRIES:
            await enqueue(tx, "apply_status_later", {
                "connector_id": connector_id, "attempt": attempt + 1,
                "status": {"status": status.status, "timestamp": status.timestamp.isoformat(),
                           "provider_message_id": status.provider_message_id, "reference": status.reference,
                           "error_code": status.error_code, "error": status.error,
                           "recipient": status.recipient, "raw": dict(status.raw)},
            }, run_at=utcnow() + timedelta(seconds=5 * 2**attempt))
        return False
    if not should_apply(row.status, status.status):
        return False
    values: dict[str, Any] = {"status": status.status, "updated_at": utcnow()}
    if status.status in _STAMP:
        values[_STAMP[status.status]] = status.timestamp
    if status.status == "read" and row.status != "delivered":
        # WhatsApp skips "delivered" when a message is read at once: it was delivered by then.
        values["delivered_at"] = status.timestamp
    if status.status == "failed":
        values.update(error=status.error or "falha no envio", error_code=status.error_code)
    if status.provider_message_id and not row.provider_message_id:
        values["provider_message_id"] = status.provider_message_id
    await tx.conn.execute(update(messages).where(messages.c.id == row.id).values(**values))
    await events.append(tx, "message.updated", {
        "id": row.id, "conversation_id": row.conversation_id, "status": status.status,
        "error": values.get("error"),
    }, row.conversation_id)
    return True
