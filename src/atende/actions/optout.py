"""SMS opt-out: a customer's SAIR / PARE / STOP / CANCELAR stops SMS and is synced to the provider."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from atende.actions.contacts import OPT_OUT_CHANNELS, set_opt_out_flag, set_sms_opt_out
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.tables import connectors, contacts
from atende.db.tx import Tx
from atende.domain.optout import DEFAULT_OPT_IN_KEYWORDS, DEFAULT_OPT_OUT_KEYWORDS, matches_keyword
from atende.jobs.queue import enqueue

DEFAULT_CONFIRMATION = (
    "Você não receberá mais nossas mensagens por SMS. Para voltar a receber, responda VOLTAR."
)


# A keyword is the whole message; anything longer than this is a conversation, not a command.
MAX_KEYWORD_MESSAGE = 40


async def handle_keywords(tx: Tx, connector: Any, contact_id: int, conversation_id: int, text: str) -> None:
    if len(text) > MAX_KEYWORD_MESSAGE:
        return
    out_words = connector.opt_out_keywords or DEFAULT_OPT_OUT_KEYWORDS
    in_words = connector.opt_in_keywords or DEFAULT_OPT_IN_KEYWORDS
    if matches_keyword(text, out_words):
        if await set_sms_opt_out(tx, contact_id, True):
            # Answer once, after the opt-out itself is recorded; the send bypasses the block it creates.
            # The blacklist sync follows the confirmation's send: Kolmeya refuses blacklisted numbers.
            await enqueue(tx, "optout_confirmation", {"conversation_id": conversation_id,
                                                      "connector_id": connector.id, "contact_id": contact_id})
    elif matches_keyword(text, in_words) and await set_sms_opt_out(tx, contact_id, False):
        await enqueue_blacklist_sync(tx, contact_id, add=False)


async def enqueue_blacklist_sync(tx: Tx, contact_id: int, *, add: bool) -> None:
    rows = await tx.conn.execute(select(connectors.c.id).where(
        connectors.c.provider == "kolmeya", connectors.c.active.is_(True)))
    for row in rows:
        await enqueue(tx, "blacklist_sync", {"connector_id": row.id, "contact_id": contact_id, "add": add})


async def set_opt_out(tx: Tx, contact_id: int, opted_out: bool, *, by: Viewer | None = None,
                      channel: str = "sms") -> bool:
    """An agent or integration changes the state; the provider's blacklist follows (SMS). Whoever may
    work the contact may opt it out; only supervisors and admins lift an opt-out."""
    await policy.require_contact_edit(tx.conn, by, contact_id)
    if not opted_out:
        current = await tx.conn.scalar(select(contacts.c[f"{channel}_opted_out"]).where(contacts.c.id == contact_id)) \
            if channel in OPT_OUT_CHANNELS else None
        if current:
            policy.require_opt_in(by)
    changed = await set_opt_out_flag(tx, contact_id, channel, opted_out, actor_id=by.id if by else None,
                                     source="agent" if by else "system", ip=by.ip if by else None)
    if changed and channel == "sms":
        await enqueue_blacklist_sync(tx, contact_id, add=opted_out)
    return changed
