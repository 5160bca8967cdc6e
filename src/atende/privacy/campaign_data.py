"""What the campaigns issue keeps about a person outside their conversations: the campaign messages
sent to their number (a send nobody answered never becomes a message), numbers excluded from a list,
and their satisfaction ratings. The export hands them over; erasure removes what identifies them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.paging import iso
from atende.db.tables import attendances, campaign_exclusions, campaign_recipients, campaigns
from atende.db.tx import Tx
from atende.domain.phones import phone_variants
from atende.privacy.identity_hash import identity_hash


def _digits(value: object) -> str:
    return "".join(ch for ch in str(value) if ch.isdigit())


def _same_number(digits: str, numbers: list[str]) -> bool:
    """A number as written (digits only) is one of these: whole, or without its country code."""
    return len(digits) >= 10 and any(n == digits or n.endswith(digits) or digits.endswith(n) for n in numbers)


def numbers_of(phones: Iterable[str]) -> list[str]:
    """Every spelling of the contact's phone numbers (campaign lists key them canonical E.164)."""
    return sorted({v for p in phones if p.startswith("+") for v in phone_variants(p)})


async def export_rows(conn: AsyncConnection, phones: list[str], conversation_ids: list[int]) -> dict[str, Any]:
    sent = [] if not phones else [
        {"campaign": r.name, "channel": r.channel, "text": r.text, "state": r.state, "sent_at": iso(r.sent_at),
         "delivered_at": iso(r.delivered_at), "replied_at": iso(r.replied_at), "opted_out_at": iso(r.opted_out_at)}
        for r in await conn.execute(
            select(campaigns.c.name, campaigns.c.channel, campaign_recipients.c.text, campaign_recipients.c.state,
                   campaign_recipients.c.sent_at, campaign_recipients.c.delivered_at,
                   campaign_recipients.c.replied_at, campaign_recipients.c.opted_out_at)
            .select_from(campaign_recipients.join(campaigns, campaigns.c.id == campaign_recipients.c.campaign_id))
            .where(campaign_recipients.c.address_key.in_(phones)).order_by(campaign_recipients.c.id))]
    ratings = [] if not conversation_ids else [
        {"conversation_id": r.conversation_id, "rating": r.csat_rating, "comment": r.csat_comment,
         "answered_at": iso(r.csat_answered_at)}
        for r in await conn.execute(
            select(attendances.c.conversation_id, attendances.c.csat_rating, attendances.c.csat_comment,
                   attendances.c.csat_answered_at)
            .where(attendances.c.conversation_id.in_(conversation_ids), attendances.c.csat_rating.is_not(None))
            .order_by(attendances.c.id))]
    return {"campaign_messages": sent, "satisfaction": ratings}


async def erase_rows(tx: Tx, phones: list[str], conversation_ids: list[int], needles: list[str]) -> int:
    """Campaign sends to these numbers keep their counts (state, times, segments, cost) but lose the
    number (a keyed hash), the variables and the text; excluded lines naming them go; satisfaction
    comments go (the rating stays for the reports). Returns the campaign sends scrubbed."""
    if conversation_ids:
        await tx.conn.execute(update(attendances).where(attendances.c.conversation_id.in_(conversation_ids))
                              .values(csat_comment=None))
    numbers = [n for n in needles if n.isdigit()]
    if numbers:  # lines excluded from an upload keep the number as written: "(21) 99887-7665"
        listed = await tx.conn.execute(select(campaign_exclusions.c.id, campaign_exclusions.c.phone))
        doomed = [int(r.id) for r in listed if _same_number(_digits(r.phone), numbers)]
        if doomed:
            await tx.conn.execute(delete(campaign_exclusions).where(campaign_exclusions.c.id.in_(doomed)))
    if not phones:
        return 0
    rows = list(await tx.conn.execute(select(campaign_recipients.c.id, campaign_recipients.c.address_key,
                                             campaign_recipients.c.provider_message_id)
                                      .where(campaign_recipients.c.address_key.in_(phones))))
    if rows:
        key = tx.identity_key
        await tx.conn.execute(update(campaign_recipients).where(campaign_recipients.c.id == bindparam("_id")).values(
            address_key=bindparam("_key"), provider_message_id=bindparam("_pmid"), vars={}, text=None, error=None),
            [{"_id": int(r.id), "_key": "x" + identity_hash(key, "phone", r.address_key)[:39],
              "_pmid": identity_hash(key, "provider_message_id", r.provider_message_id)
              if r.provider_message_id else None} for r in rows])
    return len(rows)
