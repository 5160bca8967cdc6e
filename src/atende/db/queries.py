"""Reads for the API and pages: keyset pagination, no COUNT(*) or OFFSET on big tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from atende.auth.policy import Branch, Scope
from atende.db.paging import BadCursor as BadCursor  # re-exported: callers catch queries.BadCursor
from atende.db.paging import cursor_id, cursor_time, decode_cursor, encode_cursor, iso, money
from atende.db.tables import (
    connectors,
    contact_identities,
    contact_opt_outs,
    contacts,
    conversation_counts,
    conversation_tags,
    conversations,
    media,
    messages,
    tags,
    teams,
    users,
)

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
        "team_id": row.team_id,
        "waiting_since": iso(row.waiting_since),
        "bot": (row.bot or {}).get("stage") == "menu",
        "tags": [],
    }


async def attach_tags(conn: AsyncConnection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill each conversation's `tags` (one query for the page)."""
    ids = [c["id"] for c in items]
    if not ids:
        return items
    by_conv: dict[int, list[dict[str, Any]]] = {}
    rows = await conn.execute(
        select(conversation_tags.c.conversation_id, tags.c.id, tags.c.name, tags.c.colour)
        .select_from(conversation_tags.join(tags, tags.c.id == conversation_tags.c.tag_id))
        .where(conversation_tags.c.conversation_id.in_(ids)).order_by(tags.c.name))
    for r in rows:
        by_conv.setdefault(int(r.conversation_id), []).append({"id": r.id, "name": r.name, "colour": r.colour})
    for c in items:
        c["tags"] = by_conv.get(c["id"], [])
    return items


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
    if row is None:
        return None
    return (await attach_tags(conn, [conversation_dict(row)]))[0]


ORDERS = ("activity", "waiting")


def _sort_columns(order: str) -> tuple[Any, Any]:
    return (conversations.c.waiting_since, conversations.c.id) if order == "waiting" else \
        (conversations.c.last_activity_at, conversations.c.id)


def _keyset(order: str, cursor: str) -> Any:
    at_s, id_s = decode_cursor(cursor, 2)
    at, cid = cursor_time(at_s), cursor_id(id_s)
    key, ident = _sort_columns(order)
    if order == "waiting":  # oldest waiting first
        return or_(key > at, and_(key == at, ident > cid))
    return or_(key < at, and_(key == at, ident < cid))


def _order_by(order: str, cols: Any = None) -> tuple[Any, Any]:
    key, ident = _sort_columns(order) if cols is None else cols
    return (key.asc(), ident.asc()) if order == "waiting" else (key.desc(), ident.desc())


async def list_conversations(
    conn: AsyncConnection, *, channel: str | None = None, status: str | None = None,
    assignee: int | None = None, unassigned: bool = False, q: str | None = None, limit: int = 50,
    cursor: str | None = None, connector_id: int | None = None, scope: Scope | None = None,
    team_id: int | None = None, no_team: bool = False, tag_id: int | None = None, order: str = "activity",
) -> tuple[list[dict[str, Any]], str | None]:
    """One keyset page of conversations. `scope` (auth.policy) limits what the viewer may see; its
    branches are read each from its own index, in order, and merged (UNION ALL), so a page never sorts
    the table. `order`: "activity" (newest activity first) or "waiting" (the queue: oldest waiting first,
    status new only)."""
    if order not in ORDERS:
        raise ValueError(order)
    if order == "waiting":
        status = "new"
    filters: list[Any] = []
    if channel:
        filters.append(conversations.c.channel == channel)
    if status:
        filters.append(conversations.c.status == status)
    if connector_id:
        filters.append(conversations.c.connector_id == connector_id)
    if team_id is not None:
        filters.append(conversations.c.team_id == team_id)
    elif no_team:
        filters.append(conversations.c.team_id.is_(None))
    if unassigned:
        filters.append(conversations.c.assignee_id.is_(None))
    elif assignee is not None:
        filters.append(conversations.c.assignee_id == assignee)
    if tag_id is not None:
        filters.append(conversations.c.id.in_(
            select(conversation_tags.c.conversation_id).where(conversation_tags.c.tag_id == tag_id)))
    if q:  # names, numbers and messages, through the search indexes (no LIKE scans)
        from atende.search.queries import board_filter

        filters.append(await board_filter(conn, q))
    if cursor:
        filters.append(_keyset(order, cursor))
    limit = max(1, min(limit, MAX_LIMIT))
    branches = (scope or Scope(None)).split(status)
    if branches is None and order == "waiting":
        # Everything, oldest waiting first: one branch per queue, each in its index's order.
        queues: list[int | None] = [None, *(int(r[0]) for r in await conn.execute(select(teams.c.id)))]
        branches = [Branch(team=t, status="new") for t in queues]
    if branches is None:
        stmt = _conversation_select().where(*filters)
        rows = list(await conn.execute(stmt.order_by(*_order_by(order)).limit(limit + 1)))
    elif not branches:
        rows = []
    else:
        key, ident = _sort_columns(order)
        members = []
        for branch in branches:
            member = (select(ident.label("id"), key.label("k")).select_from(conversations)
                      .where(branch.where(), *filters).order_by(*_order_by(order)).limit(limit + 1).subquery())
            members.append(select(member.c.id, member.c.k))
        merged = (members[0] if len(members) == 1 else union_all(*members)).subquery()
        page = select(merged.c.id, merged.c.k).order_by(*_order_by(order, (merged.c.k, merged.c.id))) \
            .limit(limit + 1).subquery()
        stmt = _conversation_select().join(page, page.c.id == conversations.c.id)
        rows = list(await conn.execute(stmt.order_by(*_order_by(order))))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(last.waiting_since if order == "waiting" else last.last_activity_at, last.id)
    return await attach_tags(conn, [conversation_dict(r) for r in rows]), next_cursor


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
               conversations.c.address, conversations.c.team_id, conversations.c.assignee_id)
        .where(conversations.c.contact_id == contact_id))
    changes = await conn.execute(
        select(contact_opt_outs).where(contact_opt_outs.c.contact_id == contact_id)
        .order_by(contact_opt_outs.c.id.desc()).limit(20))
    return {
        "id": row.id, "name": row.name, "odoo_partner_id": row.odoo_partner_id,
        "sms_opted_out": row.sms_opted_out, "sms_opted_out_at": iso(row.sms_opted_out_at),
        "whatsapp_opted_out": row.whatsapp_opted_out, "whatsapp_opted_out_at": iso(row.whatsapp_opted_out_at),
        # Who changed an opt-out and when, newest first (none: the customer, by keyword, or the system).
        "opt_out_changes": [{"channel": c.channel, "opted_out": c.opted_out, "actor_id": c.actor_id,
                             "source": c.source, "at": iso(c.at)} for c in changes],
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
                       assignee: int | None = None, unassigned: bool = False, scope: Scope | None = None,
                       team_id: int | None = None, no_team: bool = False) -> dict[str, int]:
    """The board's counters, summed from a handful of rows, within what `scope` may see."""
    stmt = select(conversation_counts.c.status, func.sum(conversation_counts.c.n)).group_by(
        conversation_counts.c.status)
    if scope is not None and not scope.everything:
        stmt = stmt.where(scope.count_where())
    if team_id is not None:
        stmt = stmt.where(conversation_counts.c.team_id == team_id)
    elif no_team:
        stmt = stmt.where(conversation_counts.c.team_id == 0)
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
                                     users.c.active, users.c.capacity).order_by(users.c.name))
    return [dict(r._mapping) for r in rows]


async def connector_names(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(connectors.c.id, connectors.c.name, connectors.c.channel).order_by(connectors.c.id))
    return [{"id": int(r.id), "name": r.name, "channel": r.channel} for r in rows]


async def team_list(conn: AsyncConnection) -> list[dict[str, Any]]:
    """id and name of every team (a small table)."""
    return [{"id": int(r.id), "name": r.name} for r in
            await conn.execute(select(teams.c.id, teams.c.name).order_by(teams.c.name))]


async def tag_list(conn: AsyncConnection) -> list[dict[str, Any]]:
    return [{"id": int(r.id), "name": r.name, "colour": r.colour} for r in
            await conn.execute(select(tags.c.id, tags.c.name, tags.c.colour).order_by(tags.c.name))]


async def tag_by_name(conn: AsyncConnection, name: str) -> int | None:
    value = await conn.scalar(select(tags.c.id).where(tags.c.name == " ".join(name.split())))
    return None if value is None else int(value)


async def queue(conn: AsyncConnection, queues: tuple[int | None, ...] | None, *, now: datetime,
                limit: int = 100) -> list[dict[str, Any]]:
    """The waiting conversations of each queue (None: the default queue), oldest waiting first, with
    their waits. `queues`: the ones to list (None: every queue)."""
    team_rows = {int(r.id): r.name for r in await conn.execute(select(teams.c.id, teams.c.name))}
    wanted: list[int | None] = list(queues) if queues is not None else [None, *sorted(team_rows)]
    out = []
    for team_id in wanted:
        if team_id is not None and team_id not in team_rows:
            continue
        cond = conversations.c.team_id.is_(None) if team_id is None else conversations.c.team_id == team_id
        rows = list(await conn.execute(
            _conversation_select().where(conversations.c.status == "new", cond)
            .order_by(conversations.c.waiting_since, conversations.c.id).limit(limit + 1)))
        items = await attach_tags(conn, [conversation_dict(r) for r in rows[:limit]])
        for item, row in zip(items, rows, strict=False):
            item["wait_s"] = max(0, int((now - row.waiting_since).total_seconds())) if row.waiting_since else 0
        waiting = await conn.scalar(
            select(func.coalesce(func.sum(conversation_counts.c.n), 0)).where(
                conversation_counts.c.status == "new", conversation_counts.c.team_id == (team_id or 0)))
        out.append({"team_id": team_id, "name": team_rows.get(team_id) if team_id else None,
                    "waiting": int(waiting or 0), "longest_wait_s": items[0]["wait_s"] if items else 0,
                    "items": items, "more": len(rows) > limit})
    return out


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
