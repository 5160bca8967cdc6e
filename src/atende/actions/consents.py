"""The consent ledger (LGPD): every opt-in and opt-out of a contact, per channel, with its source,
time and actor. The only writer of both the ledger and the contact's current opt-out flags, so the
two never disagree (one source of truth: the flag is the ledger's last word).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions import audit
from atende.actions.contact_events import contact_event
from atende.actions.errors import Invalid, NotFound
from atende.db.tables import consents, contact_identities, contacts
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.privacy.identity_hash import HASHED_KIND, identity_hashes

# Where a consent change came from.
SOURCES = (
    "keyword",  # the customer wrote SAIR / VOLTAR
    "agent",  # a user in the workspace
    "api",  # an integration with an API token
    "campaign",  # an answer to a campaign
    "import",  # brought in by an import (ChatRoom)
    "provider_blacklist",  # the provider refused the number as blacklisted
    "retained",  # carried over from an erased titular's hashed identity (erasure keeps opt-outs)
    "legacy",  # recorded before the ledger existed
)
# Channels with consent to give or withdraw (the contact keeps a current flag for those with a column).
CHANNELS = ("sms", "whatsapp", "instagram", "messenger")


def _flag(channel: str) -> Any:
    return contacts.c.get(f"{channel}_opted_out")


async def change(
    tx: Tx, contact_id: int, channel: str, opted_out: bool, *, source: str, actor_id: int | None = None,
    detail: Mapping[str, Any] | None = None, ip: str | None = None,
) -> bool:
    """Record an opt-out (or an opt-in); True when the state changed. Repeats change nothing and
    write nothing: the ledger holds transitions."""
    if channel not in CHANNELS:
        raise Invalid(f"canal inválido para consentimento: {channel}")
    if source not in SOURCES:
        raise Invalid(f"origem de consentimento inválida: {source}")
    now = utcnow()
    flag = _flag(channel)
    if flag is not None:  # compare-and-set on the flag: two concurrent SAIR record one change
        at = contacts.c[f"{channel}_opted_out_at"]
        result = await tx.conn.execute(
            update(contacts).where(contacts.c.id == contact_id, flag.is_not(opted_out))
            .values({flag: opted_out, at: now if opted_out else None, contacts.c.updated_at: now}))
        if not result.rowcount:
            await _exists(tx, contact_id)
            return False
    else:
        await _exists(tx, contact_id, lock=True)
        if await _last(tx, contact_id, channel) == opted_out:
            return False
    await tx.conn.execute(insert(consents).values(
        contact_id=contact_id, channel=channel, opted_out=opted_out, source=source, actor_id=actor_id, at=now,
        detail=dict(detail or {})))
    await audit.record(tx, "contact.opt_out" if opted_out else "contact.opt_in", actor_id=actor_id,
                       target_type="contact", target_id=contact_id, contact_id=contact_id, ip=ip,
                       detail={"channel": channel, "source": source})
    await contact_event(tx, contact_id, {f"{channel}_opted_out": opted_out})
    return True


async def _exists(tx: Tx, contact_id: int, *, lock: bool = False) -> None:
    stmt = select(contacts.c.id).where(contacts.c.id == contact_id)
    if await tx.conn.scalar(stmt.with_for_update() if lock else stmt) is None:
        raise NotFound("contato não encontrado")


async def _last(tx: Tx, contact_id: int, channel: str) -> bool:
    last = await tx.conn.scalar(select(consents.c.opted_out).where(
        consents.c.contact_id == contact_id, consents.c.channel == channel).order_by(consents.c.id.desc()).limit(1))
    return bool(last)


async def current(tx: Tx, contact_id: int, channel: str) -> bool:
    """Is the contact opted out of `channel` now? (The flag where there is one, else the ledger.)"""
    flag = _flag(channel)
    if flag is None:
        return await _last(tx, contact_id, channel)
    value = await tx.conn.scalar(select(flag).where(contacts.c.id == contact_id))
    if value is None:
        raise NotFound("contato não encontrado")
    return bool(value)


async def opted_out_channels(tx: Tx, contact_id: int) -> set[str]:
    """Every channel the contact is opted out of now."""
    out: set[str] = set()
    for channel in CHANNELS:
        if await current(tx, contact_id, channel):
            out.add(channel)
    return out


async def erased_matches(tx: Tx, kind: str, value: str) -> list[int]:
    """Erased contacts whose hashed identities match this identity (any spelling of a phone)."""
    hashes = identity_hashes(tx.identity_key, kind, value)
    rows = await tx.conn.execute(select(contact_identities.c.contact_id).where(
        contact_identities.c.kind == HASHED_KIND, contact_identities.c.value.in_(hashes)))
    return [int(r.contact_id) for r in rows]


async def carry_over(tx: Tx, contact_id: int, kind: str, value: str) -> None:
    """A new contact whose identity an erased titular had: their opt-outs still hold (the opt-out is
    what erasure must keep), everything else starts fresh."""
    for erased_id in await erased_matches(tx, kind, value):
        for channel in sorted(await opted_out_channels(tx, erased_id)):
            await change(tx, contact_id, channel, True, source="retained")


async def opted_out_numbers(conn: AsyncConnection, key: bytes, channel: str, phones: Sequence[str]) -> set[str]:
    """Of these canonical phone numbers, the ones opted out of `channel`, whether their contact is
    live or was erased (its identity then survives only as a keyed hash). What campaigns and bulk
    sends must check: an erased titular's opt-out still holds."""
    if not phones:
        return set()
    flag = _flag(channel)
    out: set[str] = set()
    if flag is not None:
        out |= {r.value for r in await conn.execute(
            select(contact_identities.c.value).select_from(
                contact_identities.join(contacts, contacts.c.id == contact_identities.c.contact_id))
            .where(contact_identities.c.kind == "phone", contact_identities.c.value.in_(list(phones)), flag.is_(True)))}
    by_hash = {h: phone for phone in phones if phone not in out for h in identity_hashes(key, "phone", phone)}
    if by_hash:
        rows = await conn.execute(
            select(contact_identities.c.value, contact_identities.c.contact_id).where(
                contact_identities.c.kind == HASHED_KIND, contact_identities.c.value.in_(list(by_hash))))
        for row in rows:
            if await _opted_out_now(conn, int(row.contact_id), channel):
                out.add(by_hash[row.value])
    return out


async def _opted_out_now(conn: AsyncConnection, contact_id: int, channel: str) -> bool:
    flag = _flag(channel)
    if flag is not None:
        return bool(await conn.scalar(select(flag).where(contacts.c.id == contact_id)))
    return bool(await conn.scalar(select(consents.c.opted_out).where(
        consents.c.contact_id == contact_id, consents.c.channel == channel).order_by(consents.c.id.desc()).limit(1)))


def source_of(via: str) -> str:
    """A user's change: from the workspace ("agent") or through an API token ("api")."""
    return "api" if via == "token" else "agent"
