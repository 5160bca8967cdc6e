"""Writes of the ChatRoom history import: connectors, agents, conversations and messages, page by
page, each page in one transaction with its checkpoint.

Imported messages are history: they are stored as sent/received, never queued for a provider, and
they carry `provider_message_id = "chatroom:<connector>:<id>"`, so a second run finds them and adds
nothing. Counters move with what is stored (board counts per status, connector sent/received) and a
page appends one `history.imported` event instead of one per message.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from atende.actions import connectors as connector_actions
from atende.actions import contacts as contact_actions
from atende.actions import conversations as conv_actions
from atende.actions import odoo as odoo_actions
from atende.actions import users as user_actions
from atende.actions.errors import Conflict, Invalid
from atende.actions.ingest import preview_of
from atende.actions.media import media_attributes
from atende.db.tables import (
    attendances,
    chatroom_imports,
    chatroom_links,
    connectors,
    contact_identities,
    contacts,
    conversations,
    media,
    messages,
    team_connectors,
    users,
)
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.integrations.odoo.partners import PartnerInfo
from atende.media.store import StoredFile
from atende.realtime import events
from atende.secrets import SecretBox

LEASE = timedelta(minutes=2)


def _mod(tx: Tx) -> Any:
    return postgresql if tx.dialect == "postgresql" else sqlite


# ---- the run: one at a time per source, with its checkpoints -------------------------------------

async def acquire(tx: Tx, source: str, info: dict[str, Any]) -> dict[str, Any]:
    """Start (or resume) the import of a source; its saved state (checkpoints) is returned."""
    now = utcnow()
    row = (await tx.conn.execute(select(chatroom_imports).where(chatroom_imports.c.source == source)
                                 .with_for_update())).first()
    if row is not None and row.lease_until is not None and row.lease_until > now:
        raise Conflict("outra importação deste Odoo está em andamento; tente de novo depois de "
                       f"{row.lease_until.strftime('%H:%M:%S')} UTC")
    state = {**(dict(row.state) if row is not None else {}), **info}
    if row is None:
        await tx.conn.execute(insert(chatroom_imports).values(
            source=source, state=state, lease_until=now + LEASE, started_at=now, updated_at=now))
    else:
        await tx.conn.execute(update(chatroom_imports).where(chatroom_imports.c.source == source).values(
            state=state, lease_until=now + LEASE, started_at=now, finished_at=None, updated_at=now))
    return state


async def checkpoint(tx: Tx, source: str, state: dict[str, Any], *, finished: bool = False,
                     release: bool = False) -> None:
    now = utcnow()
    values: dict[str, Any] = {"state": state, "updated_at": now, "lease_until": None if release else now + LEASE}
    if finished:
        values["finished_at"] = now
    await tx.conn.execute(update(chatroom_imports).where(chatroom_imports.c.source == source).values(**values))


async def _link(tx: Tx, source: str, model: str, remote_id: int, local_id: int, *,
                remote_connector_id: int | None = None, remote_partner_id: int | None = None) -> None:
    stmt = _mod(tx).insert(chatroom_links).values(
        source=source, model=model, remote_id=remote_id, local_id=local_id,
        remote_connector_id=remote_connector_id, remote_partner_id=remote_partner_id)
    await tx.conn.execute(stmt.on_conflict_do_update(
        index_elements=["source", "model", "remote_id"],
        set_={"local_id": local_id, "remote_connector_id": remote_connector_id,
              "remote_partner_id": remote_partner_id}))


# ---- connectors and agents ---------------------------------------------------------------------------

async def store_connector(
    tx: Tx, box: SecretBox, source: str, *, remote_id: int, name: str, channel: str, target_id: int | None,
    description: str,
) -> int:
    """A ChatRoom connector's atende connector: the live one it is mapped to, or a new inactive
    history-only connector with the same name."""
    linked = await tx.conn.scalar(select(chatroom_links.c.local_id).where(
        chatroom_links.c.source == source, chatroom_links.c.model == "connector",
        chatroom_links.c.remote_id == remote_id))
    if linked is not None:
        if target_id is not None and int(linked) != target_id:
            raise Conflict(f"o conector {remote_id} do ChatRoom já foi importado para o conector {linked}; "
                           f"não é possível mudar para {target_id} depois")
        return int(linked)
    if target_id is not None:
        row = (await tx.conn.execute(select(connectors.c.id, connectors.c.channel, connectors.c.name)
                                     .where(connectors.c.id == target_id))).first()
        if row is None:
            raise Invalid(f"--connector-map {remote_id}={target_id}: o conector {target_id} não existe")
        if row.channel != channel:
            raise Invalid(f"--connector-map {remote_id}={target_id}: o conector {target_id} ({row.name}) é "
                          f"{row.channel}, mas o do ChatRoom é {channel}")
        other = await tx.conn.scalar(select(chatroom_links.c.source).where(
            chatroom_links.c.model == "connector", chatroom_links.c.local_id == target_id,
            chatroom_links.c.source != source).limit(1))
        if other is not None:
            raise Conflict(f"o conector {target_id} já recebeu o histórico de outro Odoo")
        await _link(tx, source, "connector", remote_id, target_id)
        return target_id
    local_id = await connector_actions.create_connector(
        tx, box, name=name or f"ChatRoom {remote_id}", provider="history",
        config={"channel": channel, "source": description})
    await tx.conn.execute(update(connectors).where(connectors.c.id == local_id).values(active=False))
    await _link(tx, source, "connector", remote_id, local_id)
    return local_id


@dataclass(frozen=True, slots=True)
class AgentIn:
    remote_id: int
    name: str
    login: str
    email: str | None


async def store_agents(tx: Tx, source: str, agents: list[AgentIn]) -> dict[int, int]:
    """ChatRoom agents → atende users, matched by e-mail or login; unknown ones are created inactive."""
    out: dict[int, int] = {}
    for agent in agents:
        keys = [k.strip().lower() for k in (agent.email, agent.login) if k and "@" in k]
        user_id = None
        if keys:
            user_id = await tx.conn.scalar(select(users.c.id).where(users.c.email.in_(keys)).order_by(users.c.id)
                                           .limit(1))
        if user_id is None:
            email = keys[0] if keys else f"odoo-{agent.remote_id}@chatroom.invalid"
            user_id = await user_actions.create_user(tx, email=email, password=secrets.token_urlsafe(24),
                                                     name=agent.name or email, role="agent")
            await tx.conn.execute(update(users).where(users.c.id == user_id).values(active=False))
        await _link(tx, source, "user", agent.remote_id, int(user_id))
        out[agent.remote_id] = int(user_id)
    return out


# ---- conversations -------------------------------------------------------------------------------------

@dataclass(slots=True)
class ConversationIn:
    remote_id: int
    remote_connector_id: int
    connector_id: int
    channel: str
    address: str
    status: str  # new | open | done
    assignee_id: int | None
    name: str | None
    created_at: datetime
    last_activity_at: datetime
    remote_partner_id: int | None = None
    partner: PartnerInfo | None = None


@dataclass(slots=True)
class ConversationsOut:
    ids: dict[int, tuple[int, int]] = field(default_factory=dict)  # remote id → (conversation, contact)
    created: int = 0
    merged: int = 0  # joined a conversation that already existed (live, or an equivalent number)
    linked: int = 0  # contacts linked to their ChatRoom partner


async def store_conversations(tx: Tx, source: str, items: list[ConversationIn]) -> ConversationsOut:
    """A page of conversations: set-wise (a few statements for the whole page). If a customer's live
    message creates the same contact or conversation meanwhile, the page is done again row by row."""
    if not items:
        return ConversationsOut()
    try:
        async with tx.conn.begin_nested():
            out = await _store_conversations_batch(tx, source, items)
    except IntegrityError:
        out = await _store_conversations_one_by_one(tx, source, items)
    await events.append(tx, "history.imported", {"source": "chatroom", "conversations": out.created,
                                                 "merged": out.merged})
    return out


async def _store_conversations_batch(tx: Tx, source: str, items: list[ConversationIn]) -> ConversationsOut:
    out = ConversationsOut()
    keys = [contact_actions.address_key(i.address, i.channel) for i in items]
    identities = [contact_actions.identity_of(i.address, i.channel) for i in items]
    # Conversations that exist already (live ones on a mapped connector, or an equivalent number).
    wanted: dict[int, set[str]] = {}
    for item, key in zip(items, keys, strict=True):
        wanted.setdefault(item.connector_id, set()).update(contact_actions.address_variants(key))
    existing: dict[tuple[int, str], tuple[int, int]] = {}
    for connector_id, variants in wanted.items():
        for chunk in _chunks(sorted(variants), 500):
            for row in await tx.conn.execute(select(
                    conversations.c.id, conversations.c.contact_id, conversations.c.address_key).where(
                    conversations.c.connector_id == connector_id, conversations.c.address_key.in_(chunk))):
                existing[(connector_id, row.address_key)] = (int(row.id), int(row.contact_id))
    # Contacts by identity (phones in every spelling).
    by_kind: dict[str, set[str]] = {}
    for kind, value in identities:
        by_kind.setdefault(kind, set()).update(contact_actions.address_variants(value) if kind == "phone"
                                               else (value,))
    known: dict[tuple[str, str], int] = {}
    for kind, values in by_kind.items():
        for chunk in _chunks(sorted(values), 500):
            for ident in await tx.conn.execute(select(contact_identities.c.contact_id, contact_identities.c.value)
                                               .where(contact_identities.c.kind == kind,
                                                      contact_identities.c.value.in_(chunk))):
                known[(kind, ident.value)] = int(ident.contact_id)

    def contact_of(kind: str, value: str) -> int | None:
        for variant in (contact_actions.address_variants(value) if kind == "phone" else (value,)):
            if (kind, variant) in known:
                return known[(kind, variant)]
        return None

    now = utcnow()
    new_identities: dict[tuple[str, str], int] = {}  # identity → index in new_contacts
    new_contacts: list[dict[str, Any]] = []
    for item, (kind, value) in zip(items, identities, strict=True):
        if contact_of(kind, value) is None and (kind, value) not in new_identities:
            new_identities[(kind, value)] = len(new_contacts)
            new_contacts.append({"name": (item.name or "")[:200], "created_at": now, "updated_at": now})
    if new_contacts:
        ids = [int(r[0]) for r in await tx.conn.execute(
            insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True), new_contacts)]
        await tx.conn.execute(insert(contact_identities), [
            {"contact_id": ids[i], "kind": kind, "value": value, "attributes": {}, "created_at": now}
            for (kind, value), i in new_identities.items()])
        for (kind, value), i in new_identities.items():
            known[(kind, value)] = ids[i]
    named = {}
    for item, (kind, value) in zip(items, identities, strict=True):
        contact_id = contact_of(kind, value)
        if item.name and contact_id is not None and (kind, value) not in new_identities:
            named[contact_id] = item.name[:200]
    if named:  # existing contacts without a name get ChatRoom's
        await tx.conn.execute(update(contacts).where(contacts.c.id == bindparam("_id"), contacts.c.name == "")
                              .values(name=bindparam("_name"), updated_at=now),
                              [{"_id": k, "_name": v} for k, v in named.items()])
    # New conversations (two ChatRoom ones with equivalent numbers on one connector become one).
    placed: dict[tuple[int, str], tuple[int, int] | int] = {}
    queues = await _teams_of_connectors(tx, {item.connector_id for item in items})
    fresh: list[dict[str, Any]] = []
    fresh_items: list[ConversationIn] = []
    slot: list[tuple[int, str]] = []
    for item, key, (kind, value) in zip(items, keys, identities, strict=True):
        contact_id = contact_of(kind, value)
        assert contact_id is not None
        match = next((existing[(item.connector_id, v)] for v in contact_actions.address_variants(key)
                      if (item.connector_id, v) in existing), None)
        target = (item.connector_id, key)
        if match is not None:
            placed[target] = match
        elif target not in placed:
            placed[target] = len(fresh)
            fresh.append(dict(connector_id=item.connector_id, contact_id=contact_id, channel=item.channel,
                              address=item.address, address_key=key, status=item.status,
                              assignee_id=item.assignee_id, last_activity_at=item.last_activity_at,
                              created_at=item.created_at, team_id=queues.get(item.connector_id),
                              waiting_since=item.last_activity_at if item.status == "new" else None))
            fresh_items.append(item)
        slot.append(target)
    new_ids: list[int] = []
    if fresh:
        new_ids = [int(r[0]) for r in await tx.conn.execute(
            insert(conversations).returning(conversations.c.id, sort_by_parameter_order=True), fresh)]
        waiting = [(cid, item) for cid, item in zip(new_ids, fresh_items, strict=True) if item.status != "done"]
        if waiting:
            attendance_ids = [int(r[0]) for r in await tx.conn.execute(
                insert(attendances).returning(attendances.c.id, sort_by_parameter_order=True),
                [{"conversation_id": cid, "started_at": item.last_activity_at, "assignee_id": item.assignee_id,
                  "assigned_at": item.last_activity_at if item.assignee_id else None} for cid, item in waiting])]
            await tx.conn.execute(update(conversations).where(conversations.c.id == bindparam("_id"))
                                  .values(current_attendance_id=bindparam("_att")),
                                  [{"_id": cid, "_att": att} for (cid, _), att in zip(waiting, attendance_ids,
                                                                                       strict=True)])
        counts = Counter((item.channel, item.status, item.assignee_id, queues.get(item.connector_id))
                         for item in fresh_items)
        for (channel, status, assignee, team), n in counts.items():
            await conv_actions.bump_count(tx, channel, status, assignee, n, team)
    out.created = len(fresh)
    links = []
    for item, target in zip(items, slot, strict=True):
        where = placed[target]
        if isinstance(where, tuple):
            conv_id, contact_id = where
        else:
            conv_id, contact_id = new_ids[where], int(fresh[where]["contact_id"])
        out.ids[item.remote_id] = (conv_id, contact_id)
        links.append({"source": source, "model": "conversation", "remote_id": item.remote_id, "local_id": conv_id,
                      "remote_connector_id": item.remote_connector_id, "remote_partner_id": item.remote_partner_id})
    out.merged = len(items) - out.created
    await _links(tx, links)
    out.linked = await _link_partners(tx, [(out.ids[i.remote_id][1], i.partner) for i in items if i.partner])
    return out


async def _links(tx: Tx, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = _mod(tx).insert(chatroom_links)
    await tx.conn.execute(stmt.on_conflict_do_update(
        index_elements=["source", "model", "remote_id"],
        set_={"local_id": stmt.excluded.local_id, "remote_connector_id": stmt.excluded.remote_connector_id,
              "remote_partner_id": stmt.excluded.remote_partner_id}), rows)


async def _link_partners(tx: Tx, pairs: list[tuple[int, PartnerInfo]]) -> int:
    """ChatRoom's partner links, for contacts without one (an agent's or a lookup's link stays)."""
    if not pairs:
        return 0
    for partner in {p.id: p for _, p in pairs}.values():
        await odoo_actions.remember_partner(tx, partner)
    wanted = {contact_id: partner for contact_id, partner in pairs}
    rows = {int(r.id): r for r in await tx.conn.execute(
        select(contacts.c.id, contacts.c.odoo_partner_id, contacts.c.name_by_agent)
        .where(contacts.c.id.in_(list(wanted))))}
    now = utcnow()
    changes = []
    for contact_id, partner in wanted.items():
        row = rows.get(contact_id)
        if row is None or (row.odoo_partner_id is not None and row.odoo_partner_id != partner.id):
            continue
        changes.append({"_id": contact_id, "_pid": partner.id,
                        "_name": partner.name[:200] if partner.name and not row.name_by_agent else None})
    if changes:
        await tx.conn.execute(update(contacts).where(contacts.c.id == bindparam("_id")).values(
            odoo_partner_id=bindparam("_pid"), updated_at=now,
            name=func.coalesce(bindparam("_name", type_=String()), contacts.c.name)), changes)
    changed = {c["_id"] for c in changes}
    return sum(1 for contact_id, _ in pairs if contact_id in changed)


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


async def _store_conversations_one_by_one(tx: Tx, source: str, items: list[ConversationIn]) -> ConversationsOut:
    out = ConversationsOut()
    counts: Counter[tuple[str, str, int | None, int | None]] = Counter()
    queues = await _teams_of_connectors(tx, {item.connector_id for item in items})
    for item in items:
        key = contact_actions.address_key(item.address, item.channel)
        variants = list(contact_actions.address_variants(key))
        existing = (await tx.conn.execute(select(conversations.c.id, conversations.c.contact_id).where(
            conversations.c.connector_id == item.connector_id, conversations.c.address_key.in_(variants))
            .limit(1))).first()
        if existing is not None:
            conv_id, contact_id = int(existing.id), int(existing.contact_id)
            if item.name:
                await contact_actions.resolve_contact(tx, item.address, item.channel, name=item.name,
                                                      odoo_lookup=False)
            out.merged += 1
        else:
            contact_id = await contact_actions.resolve_contact(tx, item.address, item.channel, name=item.name,
                                                               odoo_lookup=False)
            inserted = await tx.conn.execute(_mod(tx).insert(conversations).values(
                connector_id=item.connector_id, contact_id=contact_id, channel=item.channel, address=item.address,
                address_key=key, status=item.status, assignee_id=item.assignee_id,
                last_activity_at=item.last_activity_at, created_at=item.created_at,
                team_id=queues.get(item.connector_id),
                waiting_since=item.last_activity_at if item.status == "new" else None,
            ).on_conflict_do_nothing().returning(conversations.c.id))
            new_id = inserted.scalar()
            if new_id is None:  # a customer's first live message won the race
                raced = await tx.conn.scalar(select(conversations.c.id).where(
                    conversations.c.connector_id == item.connector_id, conversations.c.address_key == key))
                assert raced is not None
                conv_id = int(raced)
                out.merged += 1
            else:
                conv_id = int(new_id)
                out.created += 1
                counts[(item.channel, item.status, item.assignee_id, queues.get(item.connector_id))] += 1
                if item.status != "done":  # waiting or being served in ChatRoom: an attendance is open
                    attendance_id = await conv_actions.start_attendance(tx, conv_id, item.last_activity_at,
                                                                        item.assignee_id)
                    await tx.conn.execute(update(conversations).where(conversations.c.id == conv_id)
                                          .values(current_attendance_id=attendance_id))
        if item.partner is not None and await odoo_actions.link_partner(
                tx, contact_id, item.partner, source="import", only_if_unlinked=True):
            out.linked += 1
        await _link(tx, source, "conversation", item.remote_id, conv_id,
                    remote_connector_id=item.remote_connector_id, remote_partner_id=item.remote_partner_id)
        out.ids[item.remote_id] = (conv_id, contact_id)
    for (channel, status, assignee, team), n in counts.items():
        await conv_actions.bump_count(tx, channel, status, assignee, n, team)
    return out


async def _teams_of_connectors(tx: Tx, connector_ids: set[int]) -> dict[int, int]:
    """The team serving each connector: imported conversations join its queue, as live ones do."""
    if not connector_ids:
        return {}
    rows = await tx.conn.execute(select(team_connectors.c.connector_id, team_connectors.c.team_id)
                                 .where(team_connectors.c.connector_id.in_(sorted(connector_ids))))
    return {int(r.connector_id): int(r.team_id) for r in rows}


async def update_conversation(tx: Tx, conversation_id: int, *, status: str, assignee_id: int | None,
                              at: datetime) -> bool:
    """ChatRoom moved a conversation after the last run: follow it, unless atende has newer activity
    (the conversation lives here now). Counters and attendances stay in step; no engine hooks run."""
    conv = (await tx.conn.execute(select(conversations).where(conversations.c.id == conversation_id)
                                  .with_for_update())).first()
    if conv is None or (conv.status, conv.assignee_id) == (status, assignee_id) or conv.last_activity_at > at:
        return False
    values: dict[str, Any] = {"status": status, "assignee_id": assignee_id}
    if status == "new" and conv.waiting_since is None:
        values["waiting_since"] = at  # in the queue: the waiting clock needs a start
    elif status == "done":
        values["waiting_since"] = None
    if status == "done" and conv.current_attendance_id is not None:
        await tx.conn.execute(update(attendances).where(attendances.c.id == conv.current_attendance_id,
                                                        attendances.c.closed_at.is_(None)).values(closed_at=at))
    elif status != "done" and (conv.status == "done" or conv.current_attendance_id is None):
        values["current_attendance_id"] = await conv_actions.start_attendance(tx, conversation_id, at, assignee_id)
    await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))
    await conv_actions.bump_count(tx, conv.channel, conv.status, conv.assignee_id, -1, conv.team_id)
    await conv_actions.bump_count(tx, conv.channel, status, assignee_id, 1, conv.team_id)
    return True


# ---- messages ----------------------------------------------------------------------------------------

@dataclass(slots=True)
class MediaIn:
    stored: StoredFile
    mime_type: str
    filename: str | None


@dataclass(slots=True)
class MessageIn:
    provider_message_id: str
    conversation_id: int
    contact_id: int
    connector_id: int
    direction: str
    kind: str
    text: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    error: str | None = None
    author_id: int | None = None
    read_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    media: MediaIn | None = None


_MESSAGE_INSERT_CACHE: dict[str, Any] = {}


def _message_insert(dialect: str) -> Any:
    stmt = _MESSAGE_INSERT_CACHE.get(dialect)
    if stmt is None:
        mod = postgresql if dialect == "postgresql" else sqlite
        stmt = _MESSAGE_INSERT_CACHE[dialect] = mod.insert(messages).on_conflict_do_nothing()
    return stmt


async def store_messages(tx: Tx, items: list[MessageIn]) -> int:
    """Insert a page of history (already filtered to what is new), then move each conversation's
    "last activity" and each connector's counters by what was stored."""
    if not items:
        return 0
    media_ids = await _record_media(tx, [m.media for m in items if m.media is not None])
    rows: list[dict[str, Any]] = []
    for m in items:
        attributes = dict(m.attributes)
        media_id = None
        if m.media is not None:
            media_id = media_ids[m.media.stored.key]
            attributes["media"] = media_attributes(media_id, mime_type=m.media.mime_type, size=m.media.stored.size,
                                                   filename=m.media.filename)
        out = m.direction == "out"
        rows.append(dict(
            conversation_id=m.conversation_id, connector_id=m.connector_id, contact_id=m.contact_id,
            direction=m.direction, kind=m.kind, text=m.text, status=m.status,
            provider_message_id=m.provider_message_id, provider_request_id=None, error_code=None, error=m.error,
            segments=None, encoding=None, cost=None, author_id=m.author_id, reply_to_id=None, media_id=media_id,
            attributes=attributes, raw=None, created_at=m.created_at, updated_at=m.updated_at,
            sent_at=m.created_at if out and m.status != "failed" and m.kind != "event" else None,
            delivered_at=None, read_at=m.read_at,
        ))
    await tx.conn.execute(_message_insert(tx.dialect), rows)

    # Conversations: newest activity, last inbound/outbound, preview of the newest message.
    by_conv: dict[int, list[MessageIn]] = {}
    for m in items:
        if m.kind != "event":
            by_conv.setdefault(m.conversation_id, []).append(m)
    if by_conv:
        current = {int(r.id): r for r in await tx.conn.execute(
            select(conversations.c.id, conversations.c.last_activity_at, conversations.c.last_inbound_at,
                   conversations.c.last_outbound_at).where(conversations.c.id.in_(list(by_conv))))}
        params = []
        for conv_id, found in by_conv.items():
            row = current.get(conv_id)
            if row is None:
                continue
            newest = max(found, key=lambda m: m.created_at)
            ins = [m.created_at for m in found if m.direction == "in"]
            outs = [m.created_at for m in found if m.direction == "out"]
            newer = newest.created_at >= row.last_activity_at
            params.append({
                "_id": conv_id,
                "v_last_activity_at": max(row.last_activity_at, newest.created_at),
                "v_last_inbound_at": max([row.last_inbound_at, *ins] if row.last_inbound_at else ins, default=None),
                "v_last_outbound_at": max([row.last_outbound_at, *outs] if row.last_outbound_at else outs,
                                          default=None),
                "v_preview": preview_of(newest.kind, newest.text) if newer else None,
                "v_direction": newest.direction if newer else None,
            })
        if params:
            await tx.conn.execute(_CONV_UPDATE, params)
    # Connector stats count what is stored: received customer messages, sent agent messages.
    received: Counter[int] = Counter()
    sent: Counter[int] = Counter()
    for m in items:
        if m.kind == "event":
            continue
        if m.direction == "in":
            received[m.connector_id] += 1
        elif m.status != "failed":
            sent[m.connector_id] += 1
    for connector_id in set(received) | set(sent):
        await tx.conn.execute(update(connectors).where(connectors.c.id == connector_id).values(
            received_count=connectors.c.received_count + received[connector_id],
            sent_count=connectors.c.sent_count + sent[connector_id]))
    await events.append(tx, "history.imported", {"source": "chatroom", "messages": len(items)})
    return len(items)


async def _record_media(tx: Tx, files: list[MediaIn]) -> dict[str, int]:
    """Media rows of a page's files (content-addressed: the same bytes share one row)."""
    unique = {f.stored.key: f for f in files}
    if not unique:
        return {}
    now = utcnow()
    await tx.conn.execute(_mod(tx).insert(media).on_conflict_do_nothing(), [
        {"storage_key": key, "mime_type": f.mime_type, "size": f.stored.size, "sha256": f.stored.sha256,
         "filename": f.filename, "created_at": now} for key, f in unique.items()])
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(unique), 500):
        for row in await tx.conn.execute(select(media.c.id, media.c.storage_key).where(media.c.storage_key.in_(chunk))):
            found[row.storage_key] = int(row.id)
    return found


_CONV_UPDATE = update(conversations).where(conversations.c.id == bindparam("_id")).values(
    last_activity_at=bindparam("v_last_activity_at", type_=conversations.c.last_activity_at.type),
    last_message_preview=func.coalesce(bindparam("v_preview", type_=String()), conversations.c.last_message_preview),
    last_message_direction=func.coalesce(bindparam("v_direction", type_=String()),
                                         conversations.c.last_message_direction),
    last_inbound_at=bindparam("v_last_inbound_at", type_=conversations.c.last_inbound_at.type),
    last_outbound_at=bindparam("v_last_outbound_at", type_=conversations.c.last_outbound_at.type),
)


async def update_messages(tx: Tx, changes: list[dict[str, Any]]) -> int:
    """ChatRoom changed messages already imported (read, failed, edited): follow it.
    Each change: {"id", "status", "error", "read_at", "text", "updated_at"}."""
    for change in changes:
        await tx.conn.execute(update(messages).where(messages.c.id == change["id"]).values(
            status=change["status"], error=change["error"], read_at=change["read_at"], text=change["text"],
            updated_at=change["updated_at"]))
    return len(changes)
