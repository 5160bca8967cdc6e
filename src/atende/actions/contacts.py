"""Contacts and their identities. One person, many addresses, one history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update

from atende.actions.errors import Invalid, NotFound
from atende.auth import policy
from atende.db.tables import contact_identities, contact_opt_outs, contacts
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.phones import canonical_phone, is_bsuid, phone_variants
from atende.realtime import events


def identity_of(address: str, channel: str) -> tuple[str, str]:
    """(kind, canonical value) of an address on a channel."""
    if address.startswith("+"):
        return "phone", canonical_phone(address)
    if is_bsuid(address):
        return "bsuid", address
    return {"messenger": "psid", "instagram": "igsid"}.get(channel, channel), address


def address_key(address: str, channel: str) -> str:
    return identity_of(address, channel)[1]


def address_variants(address: str) -> tuple[str, ...]:
    return phone_variants(address) if address.startswith("+") else (address,)


async def resolve_contact(
    tx: Tx, address: str, channel: str, *, name: str | None = None,
    attributes: Mapping[str, Any] | None = None, odoo_lookup: bool = True,
) -> int:
    """The contact behind an address, created on first sight. Phones match in every variant.
    A new phone contact gets an Odoo partner lookup unless `odoo_lookup` is off (an import that
    brings the partner link with it)."""
    kind, value = identity_of(address, channel)
    values = address_variants(value) if kind == "phone" else (value,)
    row = (await tx.conn.execute(
        select(contact_identities.c.contact_id, contact_identities.c.attributes)
        .where(contact_identities.c.kind == kind, contact_identities.c.value.in_(values))
        .limit(1)
    )).first()
    now = utcnow()
    if row is not None:
        contact_id = int(row.contact_id)
        if attributes and any(row.attributes.get(k) != v for k, v in attributes.items()):
            await tx.conn.execute(
                update(contact_identities)
                .where(contact_identities.c.kind == kind, contact_identities.c.value.in_(values))
                .values(attributes={**row.attributes, **attributes})
            )
        if name:
            await tx.conn.execute(
                update(contacts).where(contacts.c.id == contact_id, contacts.c.name == "")
                .values(name=name, updated_at=now)
            )
        return contact_id
    contact_id = int((await tx.conn.execute(
        insert(contacts).values(name=name or "", created_at=now, updated_at=now).returning(contacts.c.id)
    )).scalar_one())
    await tx.conn.execute(insert(contact_identities).values(
        contact_id=contact_id, kind=kind, value=value, attributes=dict(attributes or {}), created_at=now,
    ))
    if kind == "phone" and odoo_lookup:  # who is this in Odoo? (a job: the webhook does not wait)
        from atende.actions.odoo import request_partner_link

        await request_partner_link(tx, contact_id)
    return contact_id


OPT_OUT_CHANNELS = ("sms", "whatsapp")


async def contact_event(tx: Tx, contact_id: int, payload: Mapping[str, Any]) -> None:
    """A contact event carries the scopes of the contact's conversations (who may see it, live)."""
    await events.append(tx, "contact.updated", {
        "id": contact_id, "contact_id": contact_id, **payload,
        "contact_conversations": await policy.contact_scope(tx.conn, contact_id)})


async def set_opt_out_flag(tx: Tx, contact_id: int, channel: str, opted_out: bool, *, actor_id: int | None = None,
                           source: str = "system", ip: str | None = None) -> bool:
    """Record a channel's opt-out state; True when it changed. Every change is kept in the contact's
    opt-out ledger and the audit log: who (none: the customer or the system, see `source`) and when."""
    if channel not in OPT_OUT_CHANNELS:
        raise Invalid(f"opt-out só existe para {', '.join(OPT_OUT_CHANNELS)}")
    flag, at = contacts.c[f"{channel}_opted_out"], contacts.c[f"{channel}_opted_out_at"]
    now = utcnow()
    result = await tx.conn.execute(
        update(contacts).where(contacts.c.id == contact_id, flag.is_not(opted_out))
        .values({flag: opted_out, at: now if opted_out else None, contacts.c.updated_at: now}))
    changed = bool(result.rowcount)
    if changed:
        from atende.actions import audit

        await tx.conn.execute(insert(contact_opt_outs).values(
            contact_id=contact_id, channel=channel, opted_out=opted_out, actor_id=actor_id, source=source, at=now))
        await audit.record(tx, "contact.opt_out" if opted_out else "contact.opt_in", actor_id=actor_id,
                           target_type="contact", target_id=contact_id, contact_id=contact_id, ip=ip,
                           detail={"channel": channel, "source": source})
        await contact_event(tx, contact_id, {f"{channel}_opted_out": opted_out})
    return changed


async def set_sms_opt_out(tx: Tx, contact_id: int, opted_out: bool, *, actor_id: int | None = None,
                          source: str = "customer", ip: str | None = None) -> bool:
    """Record the SMS opt-out state (by default: the customer's keyword); True when it changed."""
    return await set_opt_out_flag(tx, contact_id, "sms", opted_out, actor_id=actor_id, source=source, ip=ip)


async def rename(tx: Tx, contact_id: int, name: str, *, by: policy.Viewer | None = None) -> None:
    await policy.require_contact_edit(tx.conn, by, contact_id)
    result = await tx.conn.execute(  # an agent's name wins over Odoo's from now on
        update(contacts).where(contacts.c.id == contact_id).values(name=name, name_by_agent=True,
                                                                   updated_at=utcnow())
    )
    if not result.rowcount:
        raise NotFound("contato não encontrado")
    await contact_event(tx, contact_id, {"name": name})


async def phones_of(tx: Tx, contact_id: int) -> list[str]:
    rows = await tx.conn.execute(
        select(contact_identities.c.value)
        .where(contact_identities.c.contact_id == contact_id, contact_identities.c.kind == "phone")
    )
    return [r.value for r in rows]
