"""Internal notes: messages only agents see; never sent to a provider."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from atende.actions import conversations as conv_actions
from atende.actions.errors import Invalid
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.tables import messages
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events


async def insert_note(tx: Tx, conv: Any, text: str, *, author_id: int) -> int:
    """The note row and its event, on a conversation row the caller holds."""
    now = utcnow()
    message_id = int((await tx.conn.execute(insert(messages).values(
        conversation_id=conv.id, connector_id=conv.connector_id, contact_id=conv.contact_id, direction="out",
        kind="note", text=text, status="sent", author_id=author_id, attributes={}, created_at=now, updated_at=now,
    ).returning(messages.c.id))).scalar_one())
    await events.append(tx, "message.created", {"id": message_id, "conversation_id": conv.id, "kind": "note",
                                                "direction": "out"}, conv.id)
    return message_id


async def add_note(tx: Tx, conversation_id: int, text: str, *, author_id: int, by: Viewer | None = None) -> int:
    if not text.strip():
        raise Invalid("nota vazia")
    conv = await conv_actions.load(tx, conversation_id)
    await policy.require_note(tx.conn, by, conv)
    return await insert_note(tx, conv, text, author_id=by.id if by else author_id)
