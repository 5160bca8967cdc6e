"""Delivery statuses: applied monotonically (a late `delivered` never downgrades `read`).

A report for a message we cannot find yet (it beat the send's answer, or names nothing of ours) is
parked once in `parked_statuses` and matched when the send's answer is recorded; the sweep drops
what stays unmatched. One webhook full of unknown ids therefore costs rows, never retrying jobs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

from atende.actions.contacts import address_variants
from atende.actions.references import matches
from atende.channels.base import StatusUpdate
from atende.db.tables import conversations, messages, parked_statuses
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.status import should_apply
from atende.realtime import events

_STAMP = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}
PARK_LIMIT = 200  # ids and references are bounded, so is what one answer can match
WATERMARK_LIMIT = 500


async def find_message(tx: Tx, connector_id: int, provider_message_id: str | None,
                       reference: str | None) -> Any:
    cols = (messages.c.id, messages.c.status, messages.c.conversation_id, messages.c.provider_message_id)
    if provider_message_id:
        row = (await tx.conn.execute(select(*cols).where(
            messages.c.connector_id == connector_id,
            messages.c.provider_message_id == provider_message_id))).first()
        if row is not None:
            return row
    cond = matches(reference) if reference else None
    if cond is not None:
        return (await tx.conn.execute(select(*cols).where(
            messages.c.connector_id == connector_id, cond, messages.c.direction == "out"))).first()
    return None


def _dump(status: StatusUpdate) -> dict[str, Any]:
    return {"status": status.status, "timestamp": status.timestamp.isoformat(),
            "provider_message_id": status.provider_message_id, "reference": status.reference,
            "error_code": status.error_code, "error": status.error, "recipient": status.recipient,
            "raw": dict(status.raw)}


def load_status(data: dict[str, Any]) -> StatusUpdate:
    return StatusUpdate(
        status=data["status"], timestamp=datetime.fromisoformat(data["timestamp"]), raw=data.get("raw") or {},
        provider_message_id=data.get("provider_message_id"), reference=data.get("reference"),
        error_code=data.get("error_code"), error=data.get("error"), recipient=data.get("recipient"),
    )


async def park(tx: Tx, connector_id: int, status: StatusUpdate) -> None:
    await tx.conn.execute(insert(parked_statuses).values(
        connector_id=connector_id, provider_message_id=(status.provider_message_id or None) and
        status.provider_message_id[:200], reference=(status.reference or None) and status.reference[:200],
        status=_dump(status), created_at=utcnow()))


async def apply_status(tx: Tx, connector_id: int, status: StatusUpdate, *, attempt: int = 0) -> bool:
    """Apply one report; an unknown message's report is parked for late matching."""
    if status.up_to is not None and status.recipient:
        return await _apply_watermark(tx, connector_id, status)
    row = await find_message(tx, connector_id, status.provider_message_id, status.reference)
    if row is None:
        if status.provider_message_id or status.reference:
            await park(tx, connector_id, status)
        return False
    if row.status in ("queued", "sending") and status.status != "failed":
        # The report beat the send's own answer (a Messenger echo, a fast WhatsApp "sent"): parked
        # until that answer is recorded, so the send is counted and billed once, then this applies.
        await park(tx, connector_id, status)
        return False
    return await _apply(tx, row, status)


async def _apply_watermark(tx: Tx, connector_id: int, status: StatusUpdate) -> bool:
    """Messenger / Instagram report "delivered" or "read" up to an instant: every message we sent to
    that customer until then gets it (the newest WATERMARK_LIMIT still waiting for it)."""
    assert status.up_to is not None and status.recipient is not None
    keys = address_variants(status.recipient)
    threads = select(conversations.c.id).where(conversations.c.connector_id == connector_id,
                                               conversations.c.address_key.in_(keys)).scalar_subquery()
    waiting = ("sent",) if status.status == "delivered" else ("sent", "delivered")
    rows = list(await tx.conn.execute(select(
        messages.c.id, messages.c.status, messages.c.conversation_id, messages.c.provider_message_id).where(
        messages.c.conversation_id.in_(threads), messages.c.direction == "out", messages.c.status.in_(waiting),
        messages.c.created_at <= status.up_to).order_by(messages.c.id.desc()).limit(WATERMARK_LIMIT)))
    applied = False
    for row in reversed(rows):
        applied = await _apply(tx, row, StatusUpdate(status=status.status, timestamp=status.timestamp,
                                                     raw=status.raw)) or applied
    return applied


async def _apply(tx: Tx, row: Any, status: StatusUpdate) -> bool:
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


async def match_parked(tx: Tx, connector_id: int, message_id: int, provider_message_id: str | None,
                       reference: str | None) -> int:
    """Apply the parked reports that name this message, now that it is known; returns how many."""
    conds = []
    if provider_message_id:
        conds.append(parked_statuses.c.provider_message_id == provider_message_id)
    if reference:
        conds.append(parked_statuses.c.reference == reference)
    if not conds:
        return 0
    parked = list(await tx.conn.execute(select(parked_statuses.c.id, parked_statuses.c.status).where(
        parked_statuses.c.connector_id == connector_id, or_(*conds)).order_by(parked_statuses.c.id)
        .limit(PARK_LIMIT)))
    if not parked:
        return 0
    await tx.conn.execute(delete(parked_statuses).where(parked_statuses.c.id.in_([p.id for p in parked])))
    applied = 0
    for status in sorted((load_status(p.status) for p in parked), key=lambda s: s.timestamp):
        row = (await tx.conn.execute(select(
            messages.c.id, messages.c.status, messages.c.conversation_id, messages.c.provider_message_id)
            .where(messages.c.id == message_id))).first()
        if row is not None and await _apply(tx, row, status):
            applied += 1
    return applied


async def prune_parked(tx: Tx, older_than: timedelta) -> int:
    done = await tx.conn.execute(delete(parked_statuses).where(parked_statuses.c.created_at < utcnow() - older_than))
    return int(done.rowcount or 0)
