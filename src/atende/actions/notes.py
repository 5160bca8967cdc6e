"""Internal notes: messages only agents see; never sent to a provider."""

from __future__ import annotations

from atende.actions import conversations as conv_actions
from atende.actions.conversations import insert_note
from atende.actions.errors import Invalid
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.tx import Tx


async def add_note(tx: Tx, conversation_id: int, text: str, *, author_id: int, by: Viewer | None = None) -> int:
    if not text.strip():
        raise Invalid("nota vazia")
    conv = await conv_actions.load(tx, conversation_id)
    await policy.require_note(tx.conn, by, conv)
    return await insert_note(tx, conv, text, author_id=by.id if by else author_id)
