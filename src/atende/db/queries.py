"""Reads for the API and pages: keyset pagination, no COUNT(*) or OFFSET on big tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from atende.db.paging import BadCursor as BadCursor  # re-exported: callers catch queries.BadCursor
from atende.db.paging import cursor_id, cursor_time, decode_cursor, encode_cursor, iso, money
from atende.db.tables import (
    connectors,
    contact_identities,
    contacts,
    conversation_counts,
    conversations,
    media,
    messages,
    users,
)
from atende.domain.ids import parse_int
from atende.domain.priority import NAMES as PRIORITY_NAMES
from atende.domain.priority import name_of as priority_name

MAX_LIMIT = 200


assignees = users.alias("assignee")

CONVERSATION_COLUMNS = (
    conversations,
    contacts.c.name.label("contact_name"),
    assignees.c.name.label("assignee_name"),
)


def _conversation_select() -> Select[Any]:
    return select(*CONVERSATION_COLUMNS).select_from(
        conversations.join(contacts, contacts.c.id == conversations.c.contact_id)
        .outerjoin(assignees, assignees.c.id == conversations.c.assignee_id)
    )


def conversation_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel,
        "connector_id": row.connector_id,
        "status": row.status,
        "contact": {"id": row.contact_id, "name": row.contact_name or row.address, "address": row.address},
        "assignee": {"id": row.assignee_id, "name": row.assignee_name} if row.assignee_id else None,
        "last_message_at": iso(row.last_activity_at),
        "last_inbound_at": iso(row.last_inbound_at),
        "last_message_preview": row.last_message_preview,
        "last_message_direction": row.last_message_direction,
        "unread": row.unread,
        "segments_total": row.segments_total,
        "cost_total": money(row.cost_total),
        "created_at": iso(row.created_at),
        "priority": priority_name(row.priority),
    }


def message_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "connector_id": row.connector_id,
        "direction": row.direction,
        "kind": row.kind,
        "text": row.text,
        "status": row.status,
        "provider_message_id": row.provider_message_id,
        "segments": row.segments,
        "encoding": row.encoding,
        "cost": money(row.cost),
        "error": row.error,
        "error_code": row.error_code,
        "author_id": row.author_id,
        "reply_to_id": row.reply_to_id,
        "media_id": row.media_id,
        "attributes": row.attributes or {},
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
        "delivered_at": iso(row.delivered_at),
        "read_at": iso(row.read_at),
        "edited_at": iso(row.edited_at),
        "deleted_at": iso(row.deleted_at),
    }


# What an agent still sees of a message the customer deleted: that it existed, and who deleted it.
_KEPT_WHEN_DELETED = ("type", "deleted_by", "group_participant", "reactions")


def visible_message(msg: dict[str, Any], *, may_read_deleted: bool) -> dict[str, Any]:
    """A message as this reader may see it. Deleted content stays for those allowed to read it (the
    audit); for the others text, media and earlier versions are withheld."""
    if msg.get("deleted_at") is None or may_read_deleted:
        return msg
    attributes = msg.get("attributes") or {}
    return {**msg, "text": None, "media_id": None, "content_withheld": True,
            "attributes": {k: attributes[k] for k in _KEPT_WHEN_DELETED if k in attributes}}


async def conversation(conn: AsyncConnection, conversation_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(_conversation_select().where(conversations.c.id == conversation_id))).first()
    return conversation_dict(row) if row else None


async def list_conversations(
    conn: AsyncConnection, *, channel: str | None = None, status: str | None = None,
    assignee: int | None = None, unassigned: bool = False, q: str | None = None, limit: int = 50,
    cursor: str | None = None, connector_id: int | None = None, sort: str = "recent",
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest activity first; `sort="priority"`: urgent first, then newest activity within a level."""
    stmt = _conversation_select()
    if channel:
        stmt = stmt.where(conversations.c.channel == channel)
    if status:
        stmt = stmt.where(conversations.c.status == status)
    if connector_id:
        stmt = stmt.where(conversations.c.connector_id == connector_id)
    if unassigned:
        stmt = stmt.where(conversations.c.assignee_id.is_(None))
    elif assignee is not None:
        stmt = stmt.where(conversations.c.assignee_id == assignee)
    if q:  # names, numbers and messages, through the search indexes (no LIKE scans)
        from atende.search.queries import board_filter

        stmt = stmt.where(await board_filter(conn, q))
    by_priority = sort == "priority"
    if cursor:
        if by_priority:
            p_s, at_s, id_s = decode_cursor(cursor, 3)
            level = parse_int(p_s, low=min(PRIORITY_NAMES), high=max(PRIORITY_NAMES))
            if level is None:
                raise BadCursor("cursor inválido")
        else:
            at_s, id_s = decode_cursor(cursor, 2)
        at, cid = cursor_time(at_s), cursor_id(id_s)
        later = or_(conversations.c.last_activity_at < at,
                    and_(conversations.c.last_activity_at == at, conversations.c.id < cid))
        stmt = stmt.where(or_(conversations.c.priority < level, and_(conversations.c.priority == level, later))
                          if by_priority else later)
    limit = max(1, min(limit, MAX_LIMIT))
    order = [conversations.c.last_activity_at.desc(), conversations.c.id.desc()]
    if by_priority:
        order.insert(0, conversations.c.priority.desc())
    rows = list(await conn.execute(stmt.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = (encode_cursor(last.priority, last.last_activity_at, last.id) if by_priority
                       else encode_cursor(last.last_activity_at, last.id))
    return [conversation_dict(r) for r in rows], next_cursor


async def list_messages(
    conn: AsyncConnection, conversation_id: int, *, limit: int = 50, cursor: str | None = None,
    latest: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """Oldest first. With `latest`, the last page of the thread (what a chat view opens on)."""
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = select(messages).where(messages.c.conversation_id == conversation_id)
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        stmt = stmt.where(messages.c.id > cursor_id(after))
    if latest and not cursor:
        return await messages_page(conn, conversation_id, limit=limit), None
    rows = list(await conn.execute(stmt.order_by(messages.c.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return [message_dict(r) for r in rows], (encode_cursor(rows[-1].id) if more and rows else None)


async def message(conn: AsyncConnection, message_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(messages).where(messages.c.id == message_id))).first()
    return message_dict(row) if row else None


async def timeline(
    conn: AsyncConnection, contact_id: int, *, limit: int = 200, cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    limit = max(1, min(limit, 1000))
    stmt = (select(messages, conversations.c.channel).select_from(
        messages.join(conversations, conversations.c.id == messages.c.conversation_id))
        .where(messages.c.contact_id == contact_id))
    if cursor:
        at_s, id_s = decode_cursor(cursor, 2)
        at, mid = cursor_time(at_s), cursor_id(id_s)
        stmt = stmt.where(or_(messages.c.created_at > at, and_(messages.c.created_at == at, messages.c.id > mid)))
    rows = list(await conn.execute(stmt.order_by(messages.c.created_at, messages.c.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{**message_dict(r), "channel": r.channel} for r in rows]
    return items, (encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)


async def contact(conn: AsyncConnection, contact_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(contacts).where(contacts.c.id == contact_id))).first()
    if row is None:
        return None
    identities = await conn.execute(select(contact_identities).where(contact_identities.c.contact_id == contact_id))
    convs = await conn.execute(
        select(conversations.c.id, conversations.c.channel, conversations.c.status, conversations.c.connector_id,
               conversations.c.address).where(conversations.c.contact_id == contact_id))
    return {
        "id": row.id, "name": row.name, "odoo_partner_id": row.odoo_partner_id,
        "sms_opted_out": row.sms_opted_out, "sms_opted_out_at": iso(row.sms_opted_out_at),
        "identities": [{"kind": i.kind, "value": i.value, "attributes": i.attributes} for i in identities],
        "conversations": [dict(c._mapping) for c in convs],
    }


def connector_dict(row: Any, webhook_url: str | None) -> dict[str, Any]:
    """`webhook_url` is a secret: None (left out) for anyone but admins."""
    data = {"id": row.id, "name": row.name, "provider": row.provider, "channel": row.channel,
            "active": row.active,
            "alerts": [{k: a.get(k) for k in ("type", "detail", "at", "severity")}
                       for a in (row.alerts or []) if isinstance(a, dict)]}
    if webhook_url is not None:
        data["webhook_url"] = webhook_url
    return data


def connector_stats(row: Any) -> dict[str, Any]:
    return {"sent": row.sent_count, "received": row.received_count, "segments": row.segments_total,
            "cost": money(row.cost_total)}


async def connector_row(conn: AsyncConnection, connector_id: int) -> Any:
    return (await conn.execute(select(connectors).where(connectors.c.id == connector_id))).first()


async def board_counts(conn: AsyncConnection, *, channel: str | None = None,
                       assignee: int | None = None, unassigned: bool = False) -> dict[str, int]:
    stmt = select(conversation_counts.c.status, func.sum(conversation_counts.c.n)).group_by(
        conversation_counts.c.status)
    if channel:
        stmt = stmt.where(conversation_counts.c.channel == channel)
    if unassigned:
        stmt = stmt.where(conversation_counts.c.assignee_id == 0)
    elif assignee is not None:
        stmt = stmt.where(conversation_counts.c.assignee_id == assignee)
    counts = {"new": 0, "open": 0, "done": 0}
    for status, n in await conn.execute(stmt):
        counts[status] = int(n or 0)
    return counts


async def media_row(conn: AsyncConnection, media_id: int) -> Any:
    return (await conn.execute(select(media).where(media.c.id == media_id))).first()


# ---- agent workspace (web/pages) -------------------------------------------------------------
# Appended by the workspace; small reads the pages need. Keyset only, never OFFSET.

SYSTEM_EVENT_TYPES = (
    "conversation.assigned", "conversation.transferred", "conversation.released", "conversation.closed",
    "conversation.reopened",
)


async def messages_page(
    conn: AsyncConnection, conversation_id: int, *, before_id: int | None = None, after_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Oldest first: the `limit` messages just before `before_id`, or just after `after_id`, or the latest."""
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = select(messages).where(messages.c.conversation_id == conversation_id)
    if after_id is not None:
        rows = list(await conn.execute(stmt.where(messages.c.id > after_id).order_by(messages.c.id).limit(limit)))
        return [message_dict(r) for r in rows]
    if before_id is not None:
        stmt = stmt.where(messages.c.id < before_id)
    rows = list(await conn.execute(stmt.order_by(messages.c.id.desc()).limit(limit)))
    rows.reverse()
    return [message_dict(r) for r in rows]


async def conversation_events(
    conn: AsyncConnection, conversation_id: int, *, after_id: int | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 100,
) -> list[dict[str, Any]]:
    """Lifecycle events of one conversation (taken, transferred, released, closed, reopened), oldest first.

    Wants an index on events (conversation_id, id) on big installations (see bench/board.py).
    """
    from atende.db.tables import events

    stmt = select(events).where(events.c.conversation_id == conversation_id,
                                events.c.type.in_(SYSTEM_EVENT_TYPES))
    if after_id is not None:
        stmt = stmt.where(events.c.id > after_id)
    if since is not None:
        stmt = stmt.where(events.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(events.c.created_at <= until)
    rows = list(await conn.execute(stmt.order_by(events.c.id.desc()).limit(max(1, min(limit, 500)))))
    rows.reverse()
    return [{"id": r.id, "type": r.type, "payload": r.payload or {}, "created_at": r.created_at} for r in rows]


async def user_names(conn: AsyncConnection) -> dict[int, str]:
    """id → name of every user (a small table)."""
    return {int(r.id): r.name for r in await conn.execute(select(users.c.id, users.c.name))}


async def agents(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(users.c.id, users.c.name, users.c.email, users.c.role, users.c.presence,
                                     users.c.active).order_by(users.c.name))
    return [dict(r._mapping) for r in rows]


async def quick_reply_list(conn: AsyncConnection) -> list[dict[str, Any]]:
    from atende.db.tables import quick_replies

    rows = await conn.execute(select(quick_replies.c.id, quick_replies.c.shortcut, quick_replies.c.text)
                              .order_by(quick_replies.c.shortcut))
    return [dict(r._mapping) for r in rows]


async def connector_templates(conn: AsyncConnection, connector_id: int) -> list[dict[str, Any]]:
    from atende.db.tables import templates

    rows = await conn.execute(select(templates).where(templates.c.connector_id == connector_id)
                              .order_by(templates.c.name, templates.c.language))
    return [{"id": r.id, "name": r.name, "language": r.language, "category": r.category, "status": r.status,
             "status_reason": r.status_reason, "components": r.components or []} for r in rows]
