"""Ingest: a provider's normalized batch becomes messages, conversations, jobs and events.

Called by webhooks (through the group committer) and by pollers, always inside one transaction.
The same payload twice changes nothing: messages are unique per connector + provider id.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update

from atende.actions import contacts as contact_actions
from atende.actions import conversations as conv_actions
from atende.actions import rollups
from atende.actions.address_changes import move_address
from atende.actions.reactions import apply_reaction
from atende.actions.references import BY_REFERENCE, reference_params
from atende.actions.revisions import apply_revision
from atende.actions.statuses import apply_status
from atende.channels.base import InboundMessage, StatusUpdate, WebhookBatch
from atende.db.prepared import by_id_params, hot, insert_ignore_returning_id, update_by_id
from atende.db.tables import connector_bots, connectors, conversations, messages, team_connectors, teams, users
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.previews import preview_of
from atende.domain.sms import count_segments
from atende.jobs.queue import enqueue
from atende.realtime import events

SAME_SECOND = timedelta(seconds=1)
# Provider clocks may run a little ahead; beyond this a timestamp is a lie (or a forgery that would
# pin a conversation to the top of every list) and is replaced by the time of receipt.
MAX_CLOCK_AHEAD = timedelta(minutes=5)


@dataclass(slots=True)
class IngestResult:
    stored: list[int] = field(default_factory=list)  # new message ids
    inbound_stored: int = 0
    _routing: str | None = None  # "none" | "queue" | "each" (asked once per batch)

    async def routing(self, tx: Tx, connector: ConnectorInfo) -> str:
        """What routing a new customer message needs. "each": a job per conversation, because the
        connector's bot answers it or its team's out-of-hours message may go out; "queue": one pass over
        the team's queue (a burst makes one job, not one per conversation), when an agent can take work;
        "none": nobody can (an agent going online routes the waiting queues anyway)."""
        if self._routing is None:
            if await tx.conn.scalar(_BOT_ON, {"cid": connector.id}) is not None or \
                    await tx.conn.scalar(_HOURS_MESSAGE, {"cid": connector.id}) is not None:
                self._routing = "each"
            elif connector.auto_assign and await tx.conn.scalar(_AGENT_ONLINE) is not None:
                self._routing = "queue"
            else:
                self._routing = "none"
        return self._routing
    duplicates: int = 0
    statuses_applied: int = 0
    revisions_applied: int = 0
    conversations: set[int] = field(default_factory=set)
    queues: set[int] = field(default_factory=set)  # queues this batch asked to route (0: the default one)


@dataclass(frozen=True, slots=True)
class ConnectorInfo:
    """What ingest needs to know about the connector a batch arrived on."""

    id: int
    channel: str
    provider: str
    opt_out_keywords: tuple[str, ...] = ()
    opt_in_keywords: tuple[str, ...] = ()
    auto_assign: bool = True
    signed: bool = False  # the provider signs its webhooks: its word may move an address (rule 10)
    profiles: bool = False  # the customer's name and picture are fetched from the provider (PSID/IGSID)


# hot: on SQLite's group-commit path these run straight on the driver (db/raw_sqlite.py).
_KNOWN_IDS = hot(select(messages.c.provider_message_id).where(
    messages.c.connector_id == bindparam("cid"), messages.c.provider_message_id.in_(bindparam("ids", expanding=True))))
_CONV_BY_KEY = hot(select(conversations).where(
    conversations.c.connector_id == bindparam("cid"),
    conversations.c.address_key.in_(bindparam("keys", expanding=True))).order_by(conversations.c.id))
_CONV_BY_ID = hot(select(conversations).where(conversations.c.id == bindparam("id")))
_ANSWERED = select(messages.c.id, messages.c.conversation_id).where(
    messages.c.connector_id == bindparam("cid"), messages.c.conversation_id.in_(bindparam("convs", expanding=True)))
_ANSWERED_BY_ID = hot(_ANSWERED.where(messages.c.provider_message_id == bindparam("pid")))
_ANSWERED_BY_REFERENCE = hot(_ANSWERED.where(BY_REFERENCE))
_COUNT_RECEIVED = hot(update(connectors).where(connectors.c.id == bindparam("row_id")).values(
    received_count=connectors.c.received_count + bindparam("n")))
_AGENT_ONLINE = select(users.c.id).where(users.c.presence == "online", users.c.active.is_(True)).limit(1)
_BOT_ON = hot(select(connector_bots.c.connector_id).where(connector_bots.c.connector_id == bindparam("cid"),
                                                          connector_bots.c.enabled.is_(True)))
_HOURS_MESSAGE = hot(select(teams.c.id)
                     .select_from(team_connectors.join(teams, teams.c.id == team_connectors.c.team_id))
                     .where(team_connectors.c.connector_id == bindparam("cid"), teams.c.business_hours.is_not(None),
                            teams.c.out_of_hours_message.is_not(None)))


async def _known_ids(tx: Tx, connector_id: int, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = await tx.conn.execute(_KNOWN_IDS, {"cid": connector_id, "ids": ids})
    return {r[0] for r in rows}


async def _answered(tx: Tx, connector: ConnectorInfo, msg: InboundMessage, conv_ids: list[int]) -> Any:
    """The message this one answers, by the provider's id, then by our own reference: only among the
    conversations of the sender's own number (design.md rule 10: a quoted id proves nothing)."""
    if not conv_ids:
        return None
    if msg.reply_to_provider_id:
        row = (await tx.conn.execute(_ANSWERED_BY_ID, {
            "cid": connector.id, "convs": conv_ids, "pid": msg.reply_to_provider_id})).first()
        if row is not None:
            return row
    if msg.reply_to_reference and (params := reference_params(msg.reply_to_reference)) is not None:
        return (await tx.conn.execute(_ANSWERED_BY_REFERENCE, {
            "cid": connector.id, "convs": conv_ids, **params})).first()
    return None


async def _conversation_for(tx: Tx, connector: ConnectorInfo, msg: InboundMessage) -> tuple[Any, int | None]:
    """The conversation a message belongs to: among the conversations of the sender's number (any
    spelling), the one of the message it answers, else the first; else a new one. Also the id of the
    message it answers, if known."""
    key = contact_actions.address_key(msg.address, connector.channel)
    variants = list(contact_actions.address_variants(key))
    candidates = list(await tx.conn.execute(_CONV_BY_KEY, {"cid": connector.id, "keys": variants}))
    answered = await _answered(tx, connector, msg, [int(c.id) for c in candidates])
    if answered is None and msg.direction == "in":
        from atende.actions.campaign_sends import answered as campaign_message

        # A reply to a campaign sent to this number: the campaign's message joins the thread first.
        answered = await campaign_message(tx, connector, msg)
        if answered is not None and all(c.id != answered.conversation_id for c in candidates):
            candidates.append((await tx.conn.execute(_CONV_BY_ID, {"id": answered.conversation_id})).one())
    conv = None
    if answered is not None:
        conv = next(c for c in candidates if c.id == answered.conversation_id)
    elif candidates:
        conv = candidates[0]
    if conv is None and msg.address_change is not None and connector.signed:
        # A BSUID change names only the old BSUID; the thread may be addressed by the phone.
        conv = await _conversation_of_identity(tx, connector, msg)
    if conv is None:
        contact_id = await contact_actions.resolve_contact(
            tx, msg.address, connector.channel, name=msg.contact_name, attributes=msg.identity)
        conv_id = await conv_actions.create(
            tx, connector_id=connector.id, contact_id=contact_id, channel=connector.channel,
            address=msg.address, address_key=key, at=msg.timestamp,
            status="new" if msg.direction == "in" else "done")
        conv = (await tx.conn.execute(_CONV_BY_ID, {"id": conv_id})).first()
        if connector.profiles:  # a new thread: learn who this is (once; the job skips known profiles)
            await enqueue(tx, "fetch_profile", {"connector_id": connector.id, "address": msg.address},
                          dedup_key=f"profile:{connector.id}:{key}")
    elif msg.contact_name or msg.identity:
        await contact_actions.resolve_contact(
            tx, msg.address, connector.channel, name=msg.contact_name, attributes=msg.identity)
    return conv, int(answered.id) if answered is not None else None


async def _conversation_of_identity(tx: Tx, connector: ConnectorInfo, msg: InboundMessage) -> Any:
    contact_id = await contact_actions.contact_of_identity(tx, msg.address, connector.channel)
    if contact_id is None:
        return None
    return (await tx.conn.execute(select(conversations).where(
        conversations.c.connector_id == connector.id, conversations.c.contact_id == contact_id)
        .order_by(conversations.c.last_activity_at.desc()).limit(1))).first()


async def ingest_message(tx: Tx, connector: ConnectorInfo, msg: InboundMessage, result: IngestResult) -> None:
    conv, reply_to_id = await _conversation_for(tx, connector, msg)
    now = utcnow()
    values: dict[str, Any] = dict(
        conversation_id=conv.id, connector_id=connector.id, contact_id=conv.contact_id,
        direction=msg.direction, kind=msg.kind, text=msg.text,
        status="received" if msg.direction == "in" else "sent",
        provider_message_id=msg.provider_message_id, reply_to_id=reply_to_id,
        attributes=dict(msg.attributes), raw=dict(msg.raw), created_at=msg.timestamp, updated_at=now,
        team_id=getattr(conv, "team_id", None),
    )
    if connector.channel == "sms" and msg.text is not None:
        count = count_segments(msg.text)
        values.update(segments=count.segments, encoding=count.encoding, cost=Decimal(0))
    inserted = await tx.conn.execute(insert_ignore_returning_id(messages, tx.dialect), values)
    message_id = inserted.scalar()
    if message_id is None:  # raced with another process on PostgreSQL: it stored the message
        result.duplicates += 1
        return
    message_id = int(message_id)
    result.stored.append(message_id)
    result.inbound_stored += msg.direction == "in"
    result.conversations.add(int(conv.id))

    preview = preview_of(msg.kind, msg.text)
    # A system line (the customer changed number, say) is not the customer writing: it neither opens
    # the 24 h window nor counts as unread, reopens or routes.
    from_customer = msg.direction == "in" and msg.kind != "event"
    conv_values: dict[str, Any] = {}
    increments: frozenset[str] = frozenset()
    # Providers stamp whole seconds (Kolmeya, WhatsApp): a reply in the same second as our send
    # is newer than it, not older.
    newest = msg.timestamp + SAME_SECOND > conv.last_activity_at
    if newest:  # a late-arriving older message joins the thread but does not become "the last one"
        conv_values.update(last_activity_at=max(msg.timestamp, conv.last_activity_at), last_message_preview=preview,
                           last_message_direction=msg.direction)
    if from_customer:
        conv_values["last_inbound_at"] = max(conv.last_inbound_at or msg.timestamp, msg.timestamp)
        increments = frozenset({"unread"})
        if conv.waiting_since is None:  # the waiting clock starts; a follow-up does not reset it
            conv_values["waiting_since"] = msg.timestamp
        # Replies go to the exact address the provider last used (a 12-digit wa_id, say).
        # (Compared with the last inbound, not the last activity: Meta's timestamps are whole seconds,
        # so a reply in the same second as our send would otherwise keep the old spelling.)
        # Only ever another spelling of the same number (9th digit, formatting), never another one.
        if msg.address != conv.address and (conv.last_inbound_at is None or msg.timestamp >= conv.last_inbound_at) \
                and contact_actions.address_key(msg.address, connector.channel) in \
                contact_actions.address_variants(conv.address_key):
            conv_values["address"] = msg.address
    elif msg.direction == "out":
        conv_values["last_outbound_at"] = max(conv.last_outbound_at or msg.timestamp, msg.timestamp)
    new_day = rollups.active_day(tx, conv, msg.timestamp) if rollups.counts_as_message(msg.kind) else None
    if new_day is not None:
        conv_values["active_on"] = new_day
    if conv_values or increments:
        await tx.conn.execute(update_by_id(conversations, frozenset(conv_values), increments),
                              by_id_params(conv.id, conv_values))
    scope: dict[str, Any] = {}
    answer = False  # the satisfaction survey's answer (or its comment) never reopens the conversation
    if from_customer and conv.status == "done":
        from atende.actions.csat import absorb

        answer = await absorb(tx, conv, msg.text, msg.timestamp)
        if not answer:
            await conv_actions.reopen_for_inbound(tx, await conv_actions.load(tx, int(conv.id)), msg.timestamp)
    if not (from_customer and conv.status == "done") or answer:  # ingest changed nothing the event scope holds
        scope = {"contact_id": conv.contact_id, "team_id": conv.team_id, "assignee_id": conv.assignee_id,
                 "conversation_status": conv.status}
    # After a reopening, so the message counts in the attendance it opened.
    await rollups.message_written(tx, conv, at=msg.timestamp, direction=msg.direction, kind=msg.kind, author_id=None,
                                  team_id=values["team_id"], new_day=new_day)
    await events.append(tx, "message.created", {
        "id": message_id, "conversation_id": conv.id, "direction": msg.direction, "kind": msg.kind,
        "channel": connector.channel, "preview": preview, **scope,
    }, conv.id)

    if msg.kind == "reaction" and reply_to_id is not None:  # shown on the message reacted to
        await apply_reaction(tx, reply_to_id, side="customer" if msg.direction == "in" else "agent",
                             emoji=msg.text, at=msg.timestamp, reaction_id=message_id)
    if msg.address_change is not None and connector.signed:
        await move_address(tx, conv, connector.channel, msg.address_change)
    if msg.media is not None:
        ref = {k: v for k, v in (("provider_media_id", msg.media.provider_media_id), ("url", msg.media.url),
                                 ("mime_type", msg.media.mime_type), ("filename", msg.media.filename),
                                 ("voice", msg.media.voice or None)) if v}
        await enqueue(tx, "fetch_media", {"message_id": message_id, "connector_id": connector.id, "media": ref},
                      dedup_key=f"media:{message_id}")
    if msg.direction == "in" and connector.channel == "sms" and msg.text:
        from atende.actions.optout import handle_keywords

        await handle_keywords(tx, connector, int(conv.contact_id), int(conv.id), msg.text, reply_to_id)
    if from_customer and conv.status != "open" and not answer:
        routing = await result.routing(tx, connector)
        if routing == "each":
            await enqueue(tx, "route", {"conversation_id": int(conv.id)}, dedup_key=f"route:{conv.id}")
        elif routing == "queue":
            from atende.actions.queues import enqueue_queue

            # The conversation's queue now (a reopened one may have moved to its connector's team).
            team_id = await tx.conn.scalar(select(conversations.c.team_id).where(conversations.c.id == conv.id)) \
                if conv.status == "done" else conv.team_id
            if (team_id or 0) not in result.queues:
                result.queues.add(team_id or 0)
                await enqueue_queue(tx, team_id)


def clamp_time(at: datetime, now: datetime) -> datetime | None:
    """The receipt time when `at` is too far ahead of it; None when `at` is plausible."""
    return now if at > now + MAX_CLOCK_AHEAD else None


def _clamped_message(msg: InboundMessage, now: datetime) -> InboundMessage:
    at = clamp_time(msg.timestamp, now)
    if at is None:
        return msg
    return dataclasses.replace(msg, timestamp=at, attributes={
        **msg.attributes, "provider_timestamp": msg.timestamp.isoformat()})  # the raw payload is kept too


def _clamped_status(status: StatusUpdate, now: datetime) -> StatusUpdate:
    at = clamp_time(status.timestamp, now)
    return status if at is None else dataclasses.replace(status, timestamp=at)


async def ingest_batch(tx: Tx, connector: ConnectorInfo, batch: WebhookBatch) -> IngestResult:
    result = IngestResult()
    seen: set[str] = set()
    fresh: list[InboundMessage] = []
    now = utcnow()
    for msg in (_clamped_message(m, now) for m in batch.messages):
        if msg.provider_message_id in seen:
            result.duplicates += 1
            continue
        seen.add(msg.provider_message_id)
        fresh.append(msg)
    known = await _known_ids(tx, connector.id, [m.provider_message_id for m in fresh])
    # Oldest first, so a batch delivered out of order still builds the thread in time order.
    for msg in sorted(fresh, key=lambda m: m.timestamp):
        if msg.provider_message_id in known:
            result.duplicates += 1
            continue
        if msg.revision is not None and msg.revises:
            thread = frozenset(contact_actions.address_variants(
                contact_actions.address_key(msg.address, connector.channel)))
            if await apply_revision(tx, connector.id, msg, thread):
                result.revisions_applied += 1
                continue
        await ingest_message(tx, connector, msg, result)
    for status in sorted((_clamped_status(s, now) for s in batch.statuses), key=lambda s: s.timestamp):
        if await apply_status(tx, connector.id, status):
            result.statuses_applied += 1
    for event in batch.events:
        await enqueue(tx, "provider_event", {"connector_id": connector.id, "type": event.type,
                                             "data": dict(event.data)})
    if result.inbound_stored:
        if tx.buffer is not None:  # group commit: one UPDATE per connector and batch
            tx.buffer.count(_COUNT_RECEIVED, connector.id, result.inbound_stored)
        else:
            await tx.conn.execute(_COUNT_RECEIVED, {"row_id": connector.id, "n": result.inbound_stored})
    return result
