"""Erasure of a data subject (LGPD art. 18): everything about the contact leaves, a skeleton stays.

Messages keep time, direction, channel, kind, status, segments and cost, so reports and billing
still add up; their text, media, attributes, provider payloads and errors go. The contact becomes
"Titular removido #id"; its identities become keyed hashes, so the number stays opted out if it was
(and a returning customer starts as a new contact); conversations are closed and re-keyed; events,
jobs and parked statuses that mention the contact are cleaned. The media files leave the store after
the commit (`purge_files`). Irreversible, audited with the actor and the reason.

Two steps: `plan` (a read transaction: the slow scans of free-form JSON for the contact's numbers),
then `erase` (one write transaction, everything keyed by indexed ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions import audit
from atende.actions import conversations as conv_actions
from atende.actions.errors import Conflict, Invalid, NotFound
from atende.db.tables import (
    access_marks,
    chatroom_links,
    contact_identities,
    contacts,
    conversations,
    events,
    jobs,
    media,
    messages,
    parked_statuses,
)
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.phones import phone_variants
from atende.jobs.queue import enqueue
from atende.media.store import LocalMediaStore
from atende.privacy import campaign_data
from atende.privacy.identity_hash import HASHED_KIND, identity_hash
from atende.realtime import events as event_log

MAX_REASON = 500
ERASED_NAME = "Titular removido #{id}"
# Event payload strings that never carry personal data; every other string, list or object goes.
SAFE_EVENT_KEYS = frozenset({"type", "channel", "direction", "kind", "status", "conversation_status",
                             "previous_status", "encoding", "source", "provider"})
UNSENT = ("queued", "sending", "scheduled")
# Jobs the erasure itself leaves behind (they name the contact by id, and must run).
KEPT_JOBS = frozenset({"odoo_erasure_note", "media_purge"})


@dataclass(slots=True)
class ErasurePlan:
    """What the read step found: the numbers to look for, and rows outside the indexed paths."""

    contact_id: int
    needles: list[str] = field(default_factory=list)  # phone digits and provider ids, never logged
    event_ids: list[int] = field(default_factory=list)  # contact events and free-form mentions
    job_ids: list[int] = field(default_factory=list)
    parked_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ErasureResult:
    messages: int = 0
    media: int = 0
    conversations: int = 0
    identities: int = 0
    storage_keys: list[str] = field(default_factory=list)  # files to delete once committed

    def counts(self) -> dict[str, int]:
        return {"messages": self.messages, "media": self.media, "conversations": self.conversations,
                "identities": self.identities}


def needles_of(identities: Iterable[tuple[str, str]], addresses: Iterable[str]) -> list[str]:
    """Strings whose presence in free-form JSON means the contact: every spelling of each phone
    (international and national digits), and the provider ids (wa_id, BSUID, PSID...)."""
    out: set[str] = set()
    for kind, value in [*identities, *(("address", a) for a in addresses)]:
        if kind == HASHED_KIND or not value:
            continue
        if value.startswith("+") or (kind == "phone"):
            for variant in phone_variants(value) if value.startswith("+") else (value,):
                digits = "".join(ch for ch in variant if ch.isdigit())
                if len(digits) >= 8:
                    out.add(digits)
                    if digits.startswith("55") and len(digits) >= 12:
                        out.add(digits[2:])  # national form (Kolmeya)
        elif len(value) >= 6:
            out.add(value)
    return sorted(out)


def _mentions(column: Any, needles: list[str]) -> Any:
    text = cast(column, Text)
    return or_(*(text.like(f"%{n}%") for n in needles))


async def plan(conn: AsyncConnection, contact_id: int) -> ErasurePlan:
    """Read step: find the free-form rows (events without a conversation, jobs, parked statuses)
    that mention the contact. Full scans of those tables, so outside the write lock."""
    if await conn.scalar(select(contacts.c.id).where(contacts.c.id == contact_id)) is None:
        raise NotFound("contato não encontrado")
    identities = [(r.kind, r.value) for r in await conn.execute(
        select(contact_identities.c.kind, contact_identities.c.value)
        .where(contact_identities.c.contact_id == contact_id))]
    convs = list(await conn.execute(select(conversations.c.id, conversations.c.address)
                                    .where(conversations.c.contact_id == contact_id)))
    result = ErasurePlan(contact_id, needles_of(identities, [c.address for c in convs]))
    conv_ids = {int(c.id) for c in convs}
    # Contact events carry the contact's id (and its name) but no conversation.
    for row in await conn.execute(select(events.c.id, events.c.payload).where(
            events.c.conversation_id.is_(None), events.c.type.like("contact.%"))):
        p = row.payload if isinstance(row.payload, Mapping) else {}
        if contact_id in (p.get("id"), p.get("contact_id")):
            result.event_ids.append(int(row.id))
    if result.needles:
        result.event_ids += [int(r.id) for r in await conn.execute(select(events.c.id).where(
            events.c.conversation_id.is_(None), _mentions(events.c.payload, result.needles)))]
        result.parked_ids = [int(r.id) for r in await conn.execute(select(parked_statuses.c.id).where(
            _mentions(parked_statuses.c.status, result.needles)))]
    for job in await conn.execute(select(jobs.c.id, jobs.c.payload).where(jobs.c.kind.not_in(KEPT_JOBS))):
        p = job.payload if isinstance(job.payload, Mapping) else {}
        mentions = p.get("contact_id") == contact_id or p.get("conversation_id") in conv_ids
        if mentions or any(n in str(p) for n in result.needles):
            result.job_ids.append(int(job.id))
    return result


def scrub(payload: Any) -> dict[str, Any]:
    """An event payload with ids, numbers and flags kept and every free text removed."""
    if not isinstance(payload, Mapping):
        return {"redacted": True}
    kept = {k: v for k, v in payload.items()
            if v is None or isinstance(v, bool | int | float) or (k in SAFE_EVENT_KEYS and isinstance(v, str))}
    return {**kept, "redacted": True}


async def erase(tx: Tx, found: ErasurePlan, *, actor_id: int | None, reason: str, ip: str | None = None,
                request_id: int | None = None) -> ErasureResult:
    """Write step: one transaction; re-reads everything keyed by the contact, so what arrived since
    the plan is erased too."""
    reason = reason.strip()
    if not reason:
        raise Invalid("informe o motivo da remoção")
    if len(reason) > MAX_REASON:
        raise Invalid(f"o motivo tem no máximo {MAX_REASON} caracteres")
    contact_id = found.contact_id
    contact = (await tx.conn.execute(select(contacts).where(contacts.c.id == contact_id).with_for_update())).first()
    if contact is None:
        raise NotFound("contato não encontrado")
    convs = list(await tx.conn.execute(select(conversations).where(conversations.c.contact_id == contact_id)
                                       .order_by(conversations.c.id)))
    conv_ids = [int(c.id) for c in convs]
    held = [c.id for c in convs if c.legal_hold_at is not None]
    if held:
        raise Conflict(f"a conversa #{held[0]} está sob retenção legal: retire a retenção antes de remover o titular",
                       code="legal_hold")
    pending = [j for j in await tx.conn.execute(select(jobs.c.id, jobs.c.payload).where(
        jobs.c.kind.in_(("blacklist_sync", "optout_confirmation")), jobs.c.status.in_(("pending", "running"))))
        if isinstance(j.payload, Mapping) and j.payload.get("contact_id") == contact_id]
    # An opt-out confirmation still to be sent triggers the blacklist update once it is.
    pending += [m for m in await tx.conn.execute(select(messages.c.id, messages.c.attributes).where(
        messages.c.contact_id == contact_id, messages.c.status.in_(("queued", "sending"))))
        if isinstance(m.attributes, Mapping) and m.attributes.get("on_sent")]
    if pending:
        # The provider's blacklist needs the number, which erasure is about to remove.
        raise Conflict("a lista de bloqueio do provedor ainda está sendo atualizada para este número; "
                       "tente de novo em instantes", code="blacklist_pending")
    result = ErasureResult(conversations=len(convs))
    now = utcnow()
    key = tx.identity_key

    # Messages: the skeleton stays. Unsent ones will never leave.
    msg_rows = list(await tx.conn.execute(select(
        messages.c.id, messages.c.media_id, messages.c.provider_message_id, messages.c.reference,
        messages.c.status, messages.c.connector_id).where(messages.c.contact_id == contact_id)))
    result.messages = len(msg_rows)
    ids = [int(m.id) for m in msg_rows]
    await tx.conn.execute(update(messages).where(messages.c.contact_id == contact_id, messages.c.status.in_(UNSENT))
                          .values(status="failed", error_code="erased"))
    hashed_ids = [{"_id": int(m.id), "pmid": identity_hash(key, "provider_message_id", m.provider_message_id)}
                  for m in msg_rows if m.provider_message_id]
    if hashed_ids:  # WhatsApp ids encode the phone number: keep only a keyed hash
        await tx.conn.execute(update(messages).where(messages.c.id == bindparam("_id")).values(
            provider_message_id=bindparam("pmid")), hashed_ids)
    await tx.conn.execute(update(messages).where(messages.c.contact_id == contact_id).values(
        text=None, attributes={}, raw=None, error=None, media_id=None, redacted_at=now, updated_at=now))

    # Media: rows (and, after commit, files) no other message uses.
    media_ids = sorted({int(m.media_id) for m in msg_rows if m.media_id is not None})
    result.media = len(media_ids)
    for media_id in media_ids:
        shared = await tx.conn.scalar(select(messages.c.id).where(messages.c.media_id == media_id).limit(1))
        if shared is None:
            storage_key = await tx.conn.scalar(select(media.c.storage_key).where(media.c.id == media_id))
            await tx.conn.execute(delete(media).where(media.c.id == media_id))
            if storage_key:
                result.storage_keys.append(str(storage_key))

    # The Odoo link goes first, so that closing below posts no transcript; the partner's chatter gets
    # a note without content (a job), and what we copied of the partner is deleted.
    partner_id = contact.odoo_partner_id
    await tx.conn.execute(update(contacts).where(contacts.c.id == contact_id).values(odoo_partner_id=None))
    if partner_id is not None:
        from atende.actions import odoo as odoo_actions

        await odoo_actions.erasure_noted(tx, int(partner_id), contact_id=contact_id, conversation_ids=conv_ids)
    if conv_ids:  # an imported conversation keeps its ChatRoom id (a re-import skips it) but not its partner
        await tx.conn.execute(update(chatroom_links).where(
            chatroom_links.c.model == "conversation", chatroom_links.c.local_id.in_(conv_ids),
        ).values(remote_partner_id=None))

    # Conversations: closed (counters and attendances stay right), then re-keyed by hash.
    for conv in convs:
        if conv.status != "done":
            await conv_actions.close(tx, int(conv.id), actor_id=actor_id)
        await tx.conn.execute(update(conversations).where(conversations.c.id == conv.id).values(
            address=f"erased:{conv.id}", address_key=f"erased:{identity_hash(key, 'address', conv.address_key)}",
            last_message_preview="", unread=0))

    # Campaign sends, list exclusions and satisfaction comments (campaigns issue) about them.
    phones = campaign_data.numbers_of(
        [*(str(i.value) for i in await tx.conn.execute(select(contact_identities.c.value).where(
            contact_identities.c.contact_id == contact_id, contact_identities.c.kind == "phone"))),
         *(str(c.address) for c in convs)])
    await campaign_data.erase_rows(tx, phones, conv_ids, found.needles)

    # Identities: keyed hashes, one row per identity (the latest erased contact holds it).
    for ident in list(await tx.conn.execute(select(contact_identities).where(
            contact_identities.c.contact_id == contact_id, contact_identities.c.kind != HASHED_KIND))):
        hashed = identity_hash(key, ident.kind, ident.value)
        await tx.conn.execute(delete(contact_identities).where(
            contact_identities.c.kind == HASHED_KIND, contact_identities.c.value == hashed))
        await tx.conn.execute(update(contact_identities).where(contact_identities.c.id == ident.id).values(
            kind=HASHED_KIND, value=hashed, attributes={"kind": ident.kind}))
        result.identities += 1

    await tx.conn.execute(update(contacts).where(contacts.c.id == contact_id).values(
        name=ERASED_NAME.format(id=contact_id), erased_at=now, updated_at=now))

    # Free-form rows: events scrubbed, jobs and parked statuses removed.
    provider_ids = [m.provider_message_id for m in msg_rows if m.provider_message_id]
    references = [m.reference for m in msg_rows if m.reference]
    await _scrub_events(tx, conv_ids, found.event_ids)
    job_cond = [jobs.c.id.in_(found.job_ids)] if found.job_ids else []
    if job_cond:
        await tx.conn.execute(delete(jobs).where(*job_cond))
    await _delete_jobs_about(tx, contact_id, conv_ids, ids)
    parked = [parked_statuses.c.id.in_(found.parked_ids)] if found.parked_ids else []
    if provider_ids:
        parked.append(parked_statuses.c.provider_message_id.in_(provider_ids))
    if references:
        parked.append(parked_statuses.c.reference.in_(references))
    if parked:
        await tx.conn.execute(delete(parked_statuses).where(or_(*parked)))
    await tx.conn.execute(delete(access_marks).where(access_marks.c.contact_id == contact_id))
    if result.storage_keys:  # the files go after the commit; the job makes sure they do
        await enqueue(tx, "media_purge", {"keys": result.storage_keys})

    detail: dict[str, Any] = {"reason": reason, **result.counts(), "odoo_unlinked": partner_id is not None}
    if request_id:
        detail["request_id"] = request_id
    await audit.record(tx, "contact.erase", actor_id=actor_id, target_type="contact", target_id=contact_id,
                       contact_id=contact_id, ip=ip, detail=detail)
    await event_log.append(tx, "contact.updated", {"id": contact_id, "erased": True})
    return result


async def _scrub_events(tx: Tx, conv_ids: list[int], event_ids: list[int]) -> None:
    conds = []
    if conv_ids:
        conds.append(events.c.conversation_id.in_(conv_ids))
    if event_ids:
        conds.append(events.c.id.in_(event_ids))
    if not conds:
        return
    changed = []
    for row in await tx.conn.execute(select(events.c.id, events.c.payload).where(or_(*conds))):
        clean = scrub(row.payload)
        if clean != row.payload:
            changed.append({"_id": int(row.id), "clean": clean})
    await scrub_rows(tx, changed)


async def scrub_rows(tx: Tx, changed: list[dict[str, Any]]) -> None:
    """Write scrubbed event payloads ({"_id", "clean"}), in one executemany."""
    if changed:
        await tx.conn.execute(update(events).where(events.c.id == bindparam("_id")).values(
            payload=bindparam("clean", type_=events.c.payload.type)), changed)


async def _delete_jobs_about(tx: Tx, contact_id: int, conv_ids: list[int], message_ids: list[int]) -> None:
    """Jobs enqueued in this very transaction (closing) or since the plan that name the contact."""
    mine = set(conv_ids)
    msgs = set(message_ids)
    doomed = []
    for row in await tx.conn.execute(select(jobs.c.id, jobs.c.payload).where(jobs.c.kind.not_in(KEPT_JOBS))):
        p = row.payload if isinstance(row.payload, Mapping) else {}
        if p.get("contact_id") == contact_id or p.get("conversation_id") in mine or p.get("message_id") in msgs:
            doomed.append(int(row.id))
    if doomed:
        await tx.conn.execute(delete(jobs).where(jobs.c.id.in_(doomed)))


async def after_commit(rt: Any, result: ErasureResult) -> None:
    """What cannot roll back runs once the erasure is committed: the media files leave the store,
    and on SQLite the write-ahead log, which still holds the pages as they were, is emptied."""
    await purge_files(rt, result.storage_keys)
    await compact_search(rt, SEARCH_TABLES)
    await checkpoint(rt)


# The SQLite full-text indexes (search/schema.py). Their triggers remove a row's terms at once (search
# no longer finds it), but FTS5 keeps the old terms in older index segments, next to a "deleted" mark,
# until the segments merge: 'optimize' merges them now (a fraction of a second per 100k messages).
SEARCH_TABLES = ("search_messages", "search_contacts", "search_numbers")


async def compact_search(rt: Any, tables: Iterable[str]) -> None:
    if rt.engine.dialect.name != "sqlite":
        return  # PostgreSQL's tsvector and GIN entries go with the row versions (VACUUM reclaims them)
    async with rt.read() as conn:
        present = {r[0] for r in await conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'search_%'")}
    for table in tables:
        if table in present:  # one short write transaction each
            async with rt.write() as tx:
                await tx.conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('optimize')")


async def checkpoint(rt: Any) -> None:
    """SQLite: copy the WAL into the database file and truncate it (best effort: a long reader
    may keep it for the next checkpoint)."""
    if rt.engine.dialect.name != "sqlite":
        return
    async with rt.read() as conn:  # a deferred transaction: the checkpoint takes the locks it needs
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


async def purge_files(rt: Any, storage_keys: Iterable[str]) -> int:
    """After the commit: delete the files whose media rows are gone (the same bytes may have come
    back in the meantime under a new row: those stay)."""
    removed = 0
    store = rt.media_store or LocalMediaStore(rt.settings.media_dir)
    for storage_key in storage_keys:
        async with rt.read() as conn:
            again = await conn.scalar(select(func.count()).select_from(media).where(media.c.storage_key == storage_key))
        if again:
            continue
        await store.delete(storage_key)
        removed += 1
    return removed
