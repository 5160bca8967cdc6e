"""The contacts list: search and filters, newest first, keyset pages (never OFFSET or COUNT)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.paging import cursor_id, decode_cursor, encode_cursor, iso, like_pattern
from atende.db.queries import MAX_LIMIT
from atende.db.tables import contact_identities, contacts, conversations


@dataclass(frozen=True)
class ContactFilter:
    q: str = ""
    channel: str | None = None  # has a conversation on this channel
    opted_out: bool | None = None  # SMS opt-out
    has_partner: bool | None = None  # linked to an Odoo partner


async def list_contacts(conn: AsyncConnection, flt: ContactFilter, *, limit: int = 50, cursor: str | None = None,
                        visible: ColumnElement[bool] | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """`visible`: a condition on `conversations` the viewer may read (the contact needs one); None: all."""
    stmt = select(contacts)
    if flt.q:
        like = like_pattern(flt.q.strip().lower())
        digits = "".join(ch for ch in flt.q if ch.isascii() and ch.isdigit())
        by_identity = [contact_identities.c.value.like(like, escape="\\")]
        if len(digits) >= 4:
            by_identity.append(contact_identities.c.value.like(f"%{digits}%"))
        stmt = stmt.where(or_(
            func.lower(contacts.c.name).like(like, escape="\\"),
            exists().where(contact_identities.c.contact_id == contacts.c.id, or_(*by_identity)),
        ))
    if flt.channel or visible is not None:
        conds = [conversations.c.contact_id == contacts.c.id]
        if flt.channel:
            conds.append(conversations.c.channel == flt.channel)
        if visible is not None:
            conds.append(visible)
        stmt = stmt.where(exists().where(*conds))
    if flt.opted_out is not None:
        stmt = stmt.where(contacts.c.sms_opted_out.is_(flt.opted_out))
    if flt.has_partner is not None:
        stmt = stmt.where(contacts.c.odoo_partner_id.is_not(None) if flt.has_partner
                          else contacts.c.odoo_partner_id.is_(None))
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        stmt = stmt.where(contacts.c.id < cursor_id(after))
    limit = max(1, min(limit, MAX_LIMIT))
    rows = list(await conn.execute(stmt.order_by(contacts.c.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = await _with_details(conn, rows)
    return items, encode_cursor(rows[-1].id) if more and rows else None


async def _with_details(conn: AsyncConnection, rows: list[Any]) -> list[dict[str, Any]]:
    """Identities and channels of a page of contacts: two queries for the page, none per row."""
    ids = [int(r.id) for r in rows]
    identities: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    channels: dict[int, set[str]] = {i: set() for i in ids}
    last: dict[int, Any] = {}
    if ids:
        for i in await conn.execute(select(contact_identities).where(contact_identities.c.contact_id.in_(ids))
                                    .order_by(contact_identities.c.id)):
            identities[int(i.contact_id)].append({"kind": i.kind, "value": i.value, "attributes": i.attributes})
        for c in await conn.execute(select(conversations.c.contact_id, conversations.c.channel,
                                           func.max(conversations.c.last_activity_at).label("at"))
                                    .where(conversations.c.contact_id.in_(ids))
                                    .group_by(conversations.c.contact_id, conversations.c.channel)):
            channels[int(c.contact_id)].add(c.channel)
            if c.at is not None and (last.get(int(c.contact_id)) is None or c.at > last[int(c.contact_id)]):
                last[int(c.contact_id)] = c.at
    return [{
        "id": int(r.id), "name": r.name, "odoo_partner_id": r.odoo_partner_id, "sms_opted_out": r.sms_opted_out,
        "identities": identities[int(r.id)], "channels": sorted(channels[int(r.id)]),
        "last_activity_at": iso(last.get(int(r.id))), "created_at": iso(r.created_at),
    } for r in rows]
