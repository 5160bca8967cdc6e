"""SMS opt-out: a customer's SAIR / PARE / STOP / CANCELAR stops SMS and is synced to the provider."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from atende.actions.contacts import OPT_OUT_CHANNELS, set_opt_out_flag, set_sms_opt_out
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.tables import connectors, contacts, messages
from atende.db.tx import Tx
from atende.domain.optout import DEFAULT_OPT_IN_KEYWORDS, DEFAULT_OPT_OUT_KEYWORDS, matches_keyword
from atende.jobs.queue import enqueue

DEFAULT_CONFIRMATION = (
    "Você não receberá mais nossas mensagens por SMS. Para voltar a receber, responda VOLTAR."
)


# A keyword is the whole message; anything longer than this is a conversation, not a command.
MAX_KEYWORD_MESSAGE = 40


async def handle_keywords(tx: Tx, connector: Any, contact_id: int, conversation_id: int, text: str,
                          reply_to_id: int | None = None) -> None:
    if len(text) > MAX_KEYWORD_MESSAGE:
        return
    out_words = connector.opt_out_keywords or DEFAULT_OPT_OUT_KEYWORDS
    in_words = connector.opt_in_keywords or DEFAULT_OPT_IN_KEYWORDS
    detail: dict[str, Any] = {"connector_id": connector.id, "conversation_id": conversation_id}
    if matches_keyword(text, out_words):
        campaign_id = await _campaign_of(tx, reply_to_id)
        source = "keyword" if campaign_id is None else "campaign"  # the ledger proves which campaign lost them
        if campaign_id is not None:
            detail["campaign_id"] = campaign_id
        if await set_sms_opt_out(tx, contact_id, True, source=source, detail=detail):
            # Answer once, after the opt-out itself is recorded; the send bypasses the block it creates.
            # The blacklist sync follows the confirmation's send: Kolmeya refuses blacklisted numbers.
            await enqueue(tx, "optout_confirmation", {"conversation_id": conversation_id,
                                                      "connector_id": connector.id, "contact_id": contact_id})
    elif matches_keyword(text, in_words) and await set_sms_opt_out(tx, contact_id, False, detail=detail):
        await enqueue_blacklist_sync(tx, contact_id, add=False)


async def _campaign_of(tx: Tx, message_id: int | None) -> int | None:
    """The campaign whose message this reply answers (its message carries the campaign's id)."""
    if message_id is None:
        return None
    attributes = await tx.conn.scalar(select(messages.c.attributes).where(messages.c.id == message_id))
    value = (attributes or {}).get("campaign_id")
    return int(value) if isinstance(value, int) else None


async def enqueue_blacklist_sync(tx: Tx, contact_id: int, *, add: bool) -> None:
    rows = await tx.conn.execute(select(connectors.c.id).where(
        connectors.c.provider == "kolmeya", connectors.c.active.is_(True)))
    for row in rows:
        await enqueue(tx, "blacklist_sync", {"connector_id": row.id, "contact_id": contact_id, "add": add})


async def set_opt_out(tx: Tx, contact_id: int, opted_out: bool, *, by: Viewer | None = None,
                      channel: str = "sms", source: str = "agent") -> bool:
    """An agent or integration changes the state; the provider's blacklist follows (SMS). Whoever may
    work the contact may opt it out; only supervisors and admins lift an opt-out. `source` for the
    consent ledger: "agent" (the workspace) or "api" (an API token)."""
    await policy.require_contact_edit(tx.conn, by, contact_id)
    if not opted_out:
        current = await tx.conn.scalar(select(contacts.c[f"{channel}_opted_out"]).where(contacts.c.id == contact_id)) \
            if channel in OPT_OUT_CHANNELS else None
        if current:
            policy.require_opt_in(by)
    changed = await set_opt_out_flag(tx, contact_id, channel, opted_out, actor_id=by.id if by else None,
                                     source=source, ip=by.ip if by else None)
    if changed and channel == "sms":
        await enqueue_blacklist_sync(tx, contact_id, add=opted_out)
    return changed
