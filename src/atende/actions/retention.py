"""Retention (LGPD): old data leaves on schedule, in small batches (short transactions, so webhooks
and agents never wait long on the write lock).

- messages older than `messages_days` (per connector if overridden) keep their skeleton, like an
  erasure: text, attributes, provider payload, error and media link go; time, direction, channel,
  kind, status, segments and cost stay for reports and billing;
- media older than `media_days` leaves the store (the message says the file expired);
- events older than `events_days` and finished (dead) jobs older than `jobs_days` are deleted.
Conversations under legal hold are skipped. `dry_run` counts without changing anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select, true, update

from atende.actions.erasure import scrub, scrub_rows
from atende.db.app_settings import retention_policy
from atende.db.tables import access_marks, conversations, events, jobs, media, messages
from atende.db.types import utcnow
from atende.domain.retention import RetentionPolicy
from atende.jobs.queue import enqueue

BATCH = 500
MESSAGE_EVENTS = ("message.created", "message.updated")
RUN_AT_HOUR = 3  # the daily run, in the installation's time zone: a quiet hour


def next_run(now: datetime, timezone: str) -> datetime:
    """The next 03:00 in `timezone` (UTC)."""
    local = now.astimezone(ZoneInfo(timezone))
    at = local.replace(hour=RUN_AT_HOUR, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.astimezone(UTC)


@dataclass
class RetentionReport:
    dry_run: bool = False
    messages: int = 0  # content removed (skeleton kept)
    media: int = 0  # files removed from the store
    events: int = 0
    jobs: int = 0
    held: int = 0  # messages past their time kept by a legal hold
    storage_keys: list[str] = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int) and not isinstance(v, bool)}


def _groups(policy: RetentionPolicy, what: str, now: datetime, connector_ids: list[int]) -> list[tuple[Any, datetime]]:
    """(connector condition, cutoff) per distinct rule; connectors that keep forever are left out."""
    cutoffs = policy.cutoffs(what, now, connector_ids)
    overridden = [cid for cid in cutoffs if cid is not None]
    out: list[tuple[Any, datetime]] = []
    default = cutoffs[None]
    if default is not None:
        out.append((messages.c.connector_id.not_in(overridden) if overridden else true(), default))
    for cid in overridden:
        at = cutoffs[cid]
        if at is not None:
            out.append((messages.c.connector_id == cid, at))
    return out


async def run(rt: Any, *, dry_run: bool = False, now: datetime | None = None, batch: int = BATCH) -> RetentionReport:
    now = now or utcnow()
    report = RetentionReport(dry_run=dry_run)
    async with rt.read() as conn:
        policy = await retention_policy(conn)
        connector_ids = sorted({int(k) for k in policy.per_connector})
    events_cutoff = policy.cutoffs("events_days", now, [])[None]
    for cond, cutoff in _groups(policy, "messages_days", now, connector_ids):
        # Message events carry a preview of the text. When events go no later than the messages they
        # speak of, pruning removes them; only events that outlive their messages need scrubbing.
        scrub_events = events_cutoff is None or events_cutoff < cutoff
        await _expire_messages(rt, report, cond, cutoff, now, batch, scrub_events)
    media_rules = policy.cutoffs("media_days", now, connector_ids)
    if any(at is not None for at in media_rules.values()):
        await _expire_media(rt, report, media_rules, now, batch)
    if (events_cutoff := policy.cutoffs("events_days", now, [])[None]) is not None:
        # The newest event always stays: SQLite hands out max(id) + 1, and live streams resume from
        # the id they last saw, so an emptied table would restart ids below what clients hold.
        async with rt.read() as conn:
            newest = int(await conn.scalar(select(func.max(events.c.id))) or 0)
        # A held conversation keeps its history whole, its events included.
        held = select(conversations.c.id).where(conversations.c.legal_hold_at.is_not(None))
        old = and_(events.c.created_at < events_cutoff, events.c.id < newest,
                   or_(events.c.conversation_id.is_(None), events.c.conversation_id.not_in(held)))
        report.events = await _prune(rt, events, old, dry_run, batch)
    if (jobs_cutoff := policy.cutoffs("jobs_days", now, [])[None]) is not None:
        finished = and_(jobs.c.status.in_(("dead", "done")), jobs.c.updated_at < jobs_cutoff)
        report.jobs = await _prune(rt, jobs, finished, dry_run, batch)
    if not dry_run:
        async with rt.write() as tx:
            await tx.conn.execute(delete(access_marks).where(
                access_marks.c.hour < now.replace(minute=0, second=0, microsecond=0)))
        if report.storage_keys:
            from atende.actions.erasure import purge_files

            await purge_files(rt, report.storage_keys)
        if report.messages:  # expired texts leave the full-text index's old segments too
            from atende.actions.erasure import compact_search

            await compact_search(rt, ("search_messages",))
    return report


async def _expire_messages(rt: Any, report: RetentionReport, cond: Any, cutoff: datetime, now: datetime,
                           batch: int, scrub_events: bool) -> None:
    after: tuple[datetime, int] | None = None
    while True:
        stmt = (select(messages.c.id, messages.c.created_at, messages.c.conversation_id, messages.c.media_id,
                       conversations.c.legal_hold_at)
                .select_from(messages.join(conversations, conversations.c.id == messages.c.conversation_id))
                .where(messages.c.redacted_at.is_(None), messages.c.created_at < cutoff, cond)
                .order_by(messages.c.created_at, messages.c.id).limit(batch))
        if after is not None:
            stmt = stmt.where(or_(messages.c.created_at > after[0],
                                  and_(messages.c.created_at == after[0], messages.c.id > after[1])))
        async with rt.read() as conn:
            rows = list(await conn.execute(stmt))
        if not rows:
            return
        after = (rows[-1].created_at, int(rows[-1].id))
        expired = [r for r in rows if r.legal_hold_at is None]
        report.held += len(rows) - len(expired)
        if expired and not report.dry_run:
            await _redact(rt, report, expired, cutoff, now, scrub_events)
        elif expired:
            report.messages += len(expired)
        await asyncio.sleep(0)  # let webhooks and agents in between batches
        if len(rows) < batch:
            return


async def _redact(rt: Any, report: RetentionReport, rows: list[Any], cutoff: datetime, now: datetime,
                  scrub_events: bool) -> None:
    ids = [int(r.id) for r in rows]
    conv_ids = sorted({int(r.conversation_id) for r in rows})
    media_ids = sorted({int(r.media_id) for r in rows if r.media_id is not None})
    async with rt.write() as tx:
        result = await tx.conn.execute(update(messages).where(
            messages.c.id.in_(ids), messages.c.redacted_at.is_(None)).values(
            text=None, attributes={}, raw=None, error=None, media_id=None, redacted_at=now, updated_at=now))
        report.messages += int(result.rowcount or 0)
        # A conversation idle since before the cutoff shows no preview of expired text.
        await tx.conn.execute(update(conversations).where(
            conversations.c.id.in_(conv_ids), conversations.c.last_activity_at < cutoff,
        ).values(last_message_preview=""))
        # Their events carried previews of the text: scrubbed too.
        if scrub_events:
            wanted = set(ids)
            await scrub_rows(tx, [
                {"_id": int(ev.id), "clean": scrub(ev.payload)} for ev in await tx.conn.execute(
                    select(events.c.id, events.c.payload).where(
                        events.c.conversation_id.in_(conv_ids), events.c.type.in_(MESSAGE_EVENTS)))
                if isinstance(ev.payload, Mapping) and ev.payload.get("id") in wanted])
        keys = await _drop_unused_media(tx, media_ids)
        report.media += len(keys)
        report.storage_keys += keys


async def _drop_unused_media(tx: Any, media_ids: list[int]) -> list[str]:
    """Media rows no message points at any more: deleted, their files to purge (a durable job too)."""
    keys: list[str] = []
    for media_id in media_ids:
        if await tx.conn.scalar(select(messages.c.id).where(messages.c.media_id == media_id).limit(1)) is None:
            key = await tx.conn.scalar(select(media.c.storage_key).where(media.c.id == media_id))
            await tx.conn.execute(delete(media).where(media.c.id == media_id))
            if key:
                keys.append(str(key))
    if keys:
        await enqueue(tx, "media_purge", {"keys": keys})
    return keys


async def _expire_media(rt: Any, report: RetentionReport, rules: dict[int | None, datetime | None], now: datetime,
                        batch: int) -> None:
    """Media rows oldest first: a file goes when every message showing it is past its connector's
    media cutoff and none is under legal hold (a file never shown anywhere: by its own age)."""
    newest_cutoff = max(at for at in rules.values() if at is not None)
    after: tuple[datetime, int] | None = None
    while True:
        stmt = (select(media.c.id, media.c.created_at).where(media.c.created_at < newest_cutoff)
                .order_by(media.c.created_at, media.c.id).limit(batch))
        if after is not None:
            stmt = stmt.where(or_(media.c.created_at > after[0], and_(media.c.created_at == after[0],
                                                                        media.c.id > after[1])))
        async with rt.read() as conn:
            rows = list(await conn.execute(stmt))
            due: list[tuple[int, list[int]]] = []
            for row in rows:
                refs = list(await conn.execute(
                    select(messages.c.id, messages.c.created_at, messages.c.connector_id, conversations.c.legal_hold_at)
                    .select_from(messages.join(conversations, conversations.c.id == messages.c.conversation_id))
                    .where(messages.c.media_id == row.id)))
                if any(r.legal_hold_at is not None for r in refs):
                    continue
                if (refs and all(_past(rules, r.created_at, int(r.connector_id)) for r in refs)) or \
                        (not refs and _past(rules, row.created_at, None)):
                    due.append((int(row.id), [int(r.id) for r in refs]))
        if not rows:
            return
        after = (rows[-1].created_at, int(rows[-1].id))
        if due and not report.dry_run:
            async with rt.write() as tx:
                for _media_id, message_ids in due:
                    for mid in message_ids:
                        attrs = await tx.conn.scalar(select(messages.c.attributes).where(messages.c.id == mid))
                        kept = {k: v for k, v in (attrs or {}).items() if k != "media"}
                        await tx.conn.execute(update(messages).where(messages.c.id == mid).values(
                            media_id=None, attributes={**kept, "media_expired": now.isoformat()}, updated_at=now))
                keys = await _drop_unused_media(tx, [m for m, _ in due])
                report.media += len(keys)
                report.storage_keys += keys
        elif due:
            report.media += len(due)
        await asyncio.sleep(0)
        if len(rows) < batch:
            return


def _past(rules: dict[int | None, datetime | None], at: datetime, connector_id: int | None) -> bool:
    """Is `at` before the media cutoff of its connector (its own rule, else the installation's)?"""
    cutoff = rules[connector_id] if connector_id in rules else rules.get(None)
    return cutoff is not None and at < cutoff


async def _prune(rt: Any, table: Any, cond: Any, dry_run: bool, batch: int) -> int:
    """Delete (or count) the matching rows, oldest ids first, `batch` at a time."""
    total = 0
    after = 0
    while True:
        async with rt.read() as conn:
            ids = [int(r[0]) for r in await conn.execute(
                select(table.c.id).where(cond, table.c.id > after).order_by(table.c.id).limit(batch))]
        if not ids:
            return total
        after = ids[-1]
        if dry_run:
            total += len(ids)
        else:
            async with rt.write() as tx:
                result = await tx.conn.execute(delete(table).where(table.c.id.in_(ids), cond))
                total += int(result.rowcount or 0)
        await asyncio.sleep(0)
        if len(ids) < batch:
            return total
