"""What happens to a campaign's recipients: claimed for a batch, sent (or refused), delivered, replied.

Every recipient moves on a durable state line, one transaction per step:

    pending ─claim─▶ sending ─provider accepted─▶ sent ─▶ delivered ─▶ read
                        │                           └──▶ failed (carrier gave up)
                        ├─provider refused─▶ failed | limited (Meta's marketing limits)
                        ├─not sent (transient)─▶ pending
                        └─outcome lost (crash, timeout)─▶ in doubt: asked to the provider, never re-sent blindly
    pending ─opted out before its turn─▶ skipped

Only `pending` rows are ever claimed, and a claim is one UPDATE guarded by `state = 'pending'`, so a
recipient is handed to the provider at most once per campaign, whatever crashes in between. The
campaign's counters move in the same transaction as the rows.

Replies: the campaign's message is written into the contact's conversation only when the customer
answers (100,000 sends must not become 100,000 conversations on the board).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from atende.actions import campaigns as campaign_actions
from atende.actions import consents, rollups
from atende.actions import contacts as contact_actions
from atende.actions import conversations as conv_actions
from atende.actions.campaign_state import (
    ACCEPTED,
    AS_DELIVERY,
    COLUMNS,
    LIMIT_CODES,
    QUEUED,
    REF_KEY,
    Counts,
    apply_status,
    deltas,
    find_recipient,
)
from atende.actions.optout import MAX_KEYWORD_MESSAGE
from atende.actions.statuses import load_status
from atende.channels.base import InboundMessage, SendResult, StatusUpdate
from atende.db.prepared import hot
from atende.db.tables import (
    campaign_recipients,
    campaigns,
    connectors,
    conversations,
    messages,
    parked_statuses,
)
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.campaign_refs import recipient_reference
from atende.domain.optout import DEFAULT_OPT_OUT_KEYWORDS, matches_keyword
from atende.domain.sms import count_segments
from atende.realtime import events

#: A batch still `sending` this long after its claim lost its worker: its outcome is asked for.
DOUBT_AFTER = timedelta(minutes=5)
#: A reply without a link to the message it answers is taken as an answer to the campaign if the
#: campaign's message went to that number this recently.
REPLY_WINDOW = timedelta(days=7)
IN_DOUBT = "in_doubt"
# ---- claiming ---------------------------------------------------------------------------------

async def claim(tx: Tx, campaign: Any, limit: int, now: datetime) -> tuple[int, list[Any]]:
    """The next `limit` pending recipients, now `sending` in a new batch. Recipients who opted out
    since the list was screened are skipped instead (never sent to an opted-out number)."""
    batch_no = int((await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign.id).values(
        batches=campaigns.c.batches + 1).returning(campaigns.c.batches))).scalar_one())
    pick = select(campaign_recipients.c.id).where(
        campaign_recipients.c.campaign_id == campaign.id, campaign_recipients.c.state == "pending",
    ).order_by(campaign_recipients.c.id).limit(limit)
    if tx.dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = [int(r[0]) for r in await tx.conn.execute(pick)]
    if not ids:
        return batch_no, []
    rows = list(await tx.conn.execute(update(campaign_recipients).where(
        campaign_recipients.c.id.in_(ids), campaign_recipients.c.state == "pending",
    ).values(state="sending", batch_no=batch_no, claimed_at=now).returning(*COLUMNS)))
    rows.sort(key=lambda r: r.id)
    if campaign.channel not in consents.CHANNELS:
        return batch_no, rows
    # The consent ledger decides (LGPD), erased titulars' numbers included.
    opted = await consents.opted_out_numbers(tx.conn, tx.identity_key, campaign.channel,
                                             [r.address_key for r in rows])
    if not opted:
        return batch_no, rows
    skipped = [r for r in rows if r.address_key in opted]
    await tx.conn.execute(update(campaign_recipients).where(
        campaign_recipients.c.id.in_([r.id for r in skipped])).values(
        state="skipped", error_code="opted_out", error="o cliente pediu para não receber antes do envio"))
    counts = Counts()
    for r in skipped:
        counts.add(deltas("sending", "skipped", r))
    await campaign_actions.add_counts(tx, campaign.id, counts.values)
    return batch_no, [r for r in rows if r.address_key not in opted]


# ---- outcomes ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed recipient: a provider's SendResult, or back to the queue."""

    recipient_id: int
    result: SendResult | None  # None: not sent at all, back to pending


def _state_for(result: SendResult) -> str:
    if result.status == "sent":
        return "sent"
    if result.status == "failed":
        return "limited" if (result.error_code or "") in LIMIT_CODES else "failed"
    return "pending"  # "queued" (not sent: the provider's call failed before reaching it)


async def record(tx: Tx, campaign_id: int, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Store a batch's outcomes. Rows are re-read: a status may have overtaken the send's answer."""
    if not outcomes:
        return
    by_id = {o.recipient_id: o for o in outcomes}
    rows = {int(r.id): r for r in await tx.conn.execute(
        select(*COLUMNS).where(campaign_recipients.c.id.in_(list(by_id))).with_for_update())}
    counts = Counts()
    accepted_cost, accepted_segments, accepted = Decimal(0), 0, 0
    updates: list[dict[str, Any]] = []
    for recipient_id, outcome in by_id.items():
        row = rows.get(recipient_id)
        if row is None or row.state not in QUEUED:
            continue  # a status webhook already moved it on
        result = outcome.result
        new = "pending" if result is None else _state_for(result)
        values: dict[str, Any] = {"rid": recipient_id, "state": new, "error_code": None, "error": None,
                                  "provider_message_id": row.provider_message_id, "provider_request_id": None,
                                  "sent_at": row.sent_at}
        if result is not None:
            values.update(error_code=result.error_code, error=result.error,
                          provider_message_id=result.provider_message_id or row.provider_message_id,
                          provider_request_id=result.provider_request_id)
            if new == "sent":
                values["sent_at"] = now
        if new == "pending":
            values.update(error_code=None, error=None)
        updates.append(values)
        counts.add(deltas(row.state, new, row))
        if new in ACCEPTED:
            accepted += 1
            accepted_segments += row.segments or 0
            accepted_cost += row.cost or Decimal(0)
    if updates:
        await tx.conn.execute(update(campaign_recipients).where(campaign_recipients.c.id == bindparam("rid")).values(
            state=bindparam("state"), error_code=bindparam("error_code"), error=bindparam("error"),
            provider_message_id=bindparam("provider_message_id"),
            provider_request_id=bindparam("provider_request_id"), sent_at=bindparam("sent_at")), updates)
    await campaign_actions.add_counts(tx, campaign_id, counts.values)
    if accepted:
        connector_id = next(iter(rows.values())).connector_id
        await tx.conn.execute(update(connectors).where(connectors.c.id == connector_id).values(
            sent_count=connectors.c.sent_count + accepted,
            segments_total=connectors.c.segments_total + accepted_segments,
            cost_total=connectors.c.cost_total + accepted_cost))
        if await tx.conn.scalar(select(campaigns.c.channel).where(campaigns.c.id == campaign_id)) == "sms":
            await rollups.campaign_sms_accepted(tx, at=now, connector_id=int(connector_id), sent=accepted,
                                                segments=accepted_segments, cost=accepted_cost)
    await _match_parked(tx, next(iter(rows.values())).connector_id,
                        [u["provider_message_id"] for u in updates if u["state"] in ACCEPTED])
    await campaign_actions.announce_progress(tx, campaign_id, force=True)


async def _match_parked(tx: Tx, connector_id: int, provider_ids: Sequence[str | None]) -> None:
    """Reports that beat the send's answer were parked (atende.actions.statuses): apply them now."""
    ids = [i for i in provider_ids if i]
    if not ids:
        return
    parked = list(await tx.conn.execute(select(parked_statuses.c.id, parked_statuses.c.status).where(
        parked_statuses.c.connector_id == connector_id, parked_statuses.c.provider_message_id.in_(ids))))
    if not parked:
        return
    await tx.conn.execute(delete(parked_statuses).where(parked_statuses.c.id.in_([p.id for p in parked])))
    for status in sorted((load_status(p.status) for p in parked), key=lambda s: s.timestamp):
        await apply_status(tx, connector_id, status)


async def reject_request(tx: Tx, connector_id: int, request_id: str, reason: str) -> int:
    """The provider refused a whole request after accepting it (Kolmeya's homologation): its campaign
    messages failed."""
    rows = list(await tx.conn.execute(select(campaign_recipients.c.id, REF_KEY).where(
        campaign_recipients.c.provider_request_id == request_id,
        campaign_recipients.c.connector_id == connector_id)))
    for row in rows:
        reference = recipient_reference(int(row.id), row.ref_key)
        await apply_status(tx, connector_id, StatusUpdate(status="failed", timestamp=utcnow(), raw={},
                                                          reference=reference, error=reason))
    return len(rows)


async def mark_in_doubt(tx: Tx, recipient_ids: Sequence[int], reason: str) -> None:
    """The provider may or may not have taken these (a timeout): leave them for `in_doubt`."""
    if recipient_ids:
        await tx.conn.execute(update(campaign_recipients).where(
            campaign_recipients.c.id.in_(list(recipient_ids)), campaign_recipients.c.state == "sending",
        ).values(error_code=IN_DOUBT, error=reason[:500]))


async def in_doubt(tx: Tx, campaign_id: int, now: datetime) -> dict[int, list[int]]:
    """Batches whose outcome was lost: {batch_no: [recipient ids]}."""
    rows = await tx.conn.execute(select(campaign_recipients.c.id, campaign_recipients.c.batch_no,
                                        campaign_recipients.c.claimed_at, campaign_recipients.c.error_code).where(
        campaign_recipients.c.campaign_id == campaign_id, campaign_recipients.c.state == "sending"))
    found: dict[int, list[int]] = {}
    for row in rows:
        if row.error_code == IN_DOUBT or row.claimed_at is None or row.claimed_at < now - DOUBT_AFTER:
            found.setdefault(int(row.batch_no or 0), []).append(int(row.id))
    return found


async def in_flight(tx: Tx, campaign_id: int) -> int:
    return len((await tx.conn.execute(select(campaign_recipients.c.id).where(
        campaign_recipients.c.campaign_id == campaign_id, campaign_recipients.c.state == "sending").limit(1))).all())


async def finish_if_done(tx: Tx, campaign_id: int, now: datetime) -> bool:
    """A running campaign with nothing pending or in flight is done."""
    c = await campaign_actions.load(tx, campaign_id)
    if c.status != "running":
        return c.status in ("done", "cancelled")
    left = (await tx.conn.execute(select(campaign_recipients.c.id).where(
        campaign_recipients.c.campaign_id == campaign_id,
        campaign_recipients.c.state.in_(("pending", "sending"))).limit(1))).first()
    if left is not None:
        return False
    await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(
        status="done", finished_at=now, waiting_until=None, updated_at=utcnow()))
    await events.append(tx, "campaign.updated", {"id": campaign_id, "status": "done", "previous_status": "running"})
    await campaign_actions.announce_progress(tx, campaign_id, force=True)
    return True


async def set_waiting(tx: Tx, campaign_id: int, until: datetime | None) -> None:
    """Outside the sending window: the page says when it opens again."""
    await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(waiting_until=until))
    await campaign_actions.announce_progress(tx, campaign_id, force=True)


async def begin_scheduled(tx: Tx, campaign_id: int, now: datetime) -> bool:
    """A scheduled campaign's time has come."""
    c = await campaign_actions.load(tx, campaign_id)
    if c.status != "scheduled":
        return c.status == "running"
    await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(
        status="running", started_at=c.started_at or now, updated_at=utcnow()))
    await events.append(tx, "campaign.updated", {"id": campaign_id, "status": "running",
                                                 "previous_status": "scheduled"})
    return True


# ---- replies ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Answered:
    id: int  # the campaign message, now in the conversation
    conversation_id: int


# The newest campaign message to this number not yet answered (prebuilt and hot: db/prepared.py).
_LAST_TO_NUMBER = hot(select(*COLUMNS).where(
    campaign_recipients.c.address_key.in_(bindparam("keys", expanding=True)),
    campaign_recipients.c.connector_id == bindparam("cid"), campaign_recipients.c.replied_at.is_(None),
    campaign_recipients.c.state.in_(tuple(ACCEPTED)), campaign_recipients.c.sent_at > bindparam("since"),
).order_by(campaign_recipients.c.id.desc()).limit(1).with_for_update())


def _opts_out(connector: Any, text: str | None) -> bool:
    """The same rule as atende.actions.optout.handle_keywords (SMS keywords, whole message)."""
    if connector.channel != "sms" or not text or len(text) > MAX_KEYWORD_MESSAGE:
        return False
    return matches_keyword(text, connector.opt_out_keywords or DEFAULT_OPT_OUT_KEYWORDS)


async def answered(tx: Tx, connector: Any, msg: InboundMessage) -> Answered | None:
    """The campaign message an inbound message answers (by provider id, our reference, or the last
    campaign message to that number), written into the conversation on the first reply; the reply
    and an opt-out are counted once per recipient. None: not a reply to a campaign."""
    if msg.direction != "in":
        return None
    variants = contact_actions.address_variants(contact_actions.address_key(msg.address, connector.channel))
    row = await find_recipient(tx, connector.id, msg.reply_to_provider_id, msg.reply_to_reference)
    if row is None:
        row = (await tx.conn.execute(_LAST_TO_NUMBER, {
            "keys": list(variants), "cid": connector.id, "since": msg.timestamp - REPLY_WINDOW})).first()
    if row is None or row.address_key not in variants:
        return None  # a reply only ever links to the campaign message sent to its own number (rule 10)
    message_id, conversation_id = await _materialize(tx, connector, row, msg)
    values: dict[str, Any] = {}
    counts: dict[str, int] = {}
    if row.replied_at is None:
        values["replied_at"] = msg.timestamp
        counts["replied"] = 1
    if row.opted_out_at is None and _opts_out(connector, msg.text):
        values["opted_out_at"] = msg.timestamp
        counts["opted_out"] = 1
    if values:
        await tx.conn.execute(update(campaign_recipients).where(campaign_recipients.c.id == row.id).values(**values))
        await campaign_actions.add_counts(tx, row.campaign_id, counts)
        await campaign_actions.announce_progress(tx, row.campaign_id)
    return Answered(message_id, conversation_id)


async def _materialize(tx: Tx, connector: Any, row: Any, msg: InboundMessage) -> tuple[int, int]:
    """The campaign message in the contact's conversation (created closed if there is none: the reply
    about to be stored opens it in the queue)."""
    if row.message_id is not None:
        found = (await tx.conn.execute(select(messages.c.id, messages.c.conversation_id).where(
            messages.c.id == row.message_id))).first()
        if found is not None:
            return int(found.id), int(found.conversation_id)
    variants = contact_actions.address_variants(row.address_key)
    conv = (await tx.conn.execute(select(conversations.c.id, conversations.c.contact_id).where(
        conversations.c.connector_id == connector.id, conversations.c.address_key.in_(variants)).limit(1))).first()
    if conv is None:
        contact_id = await contact_actions.resolve_contact(tx, msg.address, connector.channel)
        conversation_id = await conv_actions.create(
            tx, connector_id=connector.id, contact_id=contact_id, channel=connector.channel, address=msg.address,
            address_key=row.address_key, at=row.sent_at or msg.timestamp, status="done")
    else:
        conversation_id, contact_id = int(conv.id), int(conv.contact_id)
    campaign = (await tx.conn.execute(select(campaigns.c.id, campaigns.c.name, campaigns.c.created_by,
                                             campaigns.c.template).where(campaigns.c.id == row.campaign_id))).one()
    sent_at = row.sent_at or msg.timestamp
    message_id = int((await tx.conn.execute(insert(messages).values(
        conversation_id=conversation_id, connector_id=connector.id, contact_id=contact_id, direction="out",
        kind="template" if campaign.template else "text", text=row.text,
        status=AS_DELIVERY.get(row.state, "sent"), segments=row.segments or None,
        encoding=count_segments(row.text or "").encoding if connector.channel == "sms" else None,
        cost=row.cost, author_id=None,
        attributes={"campaign_id": campaign.id, "campaign_name": campaign.name, "recipient_id": row.id,
                    "provider_message_id": row.provider_message_id},
        created_at=sent_at, updated_at=utcnow(), sent_at=sent_at, delivered_at=row.delivered_at,
    ).returning(messages.c.id))).scalar_one())
    await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
        last_outbound_at=sent_at))
    await tx.conn.execute(update(campaign_recipients).where(campaign_recipients.c.id == row.id).values(
        message_id=message_id))
    await events.append(tx, "message.created", {
        "id": message_id, "conversation_id": conversation_id, "direction": "out", "kind": "text",
        "channel": connector.channel, "status": "sent", "campaign_id": campaign.id,
    }, conversation_id)
    return message_id, conversation_id
