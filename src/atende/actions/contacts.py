"""Contacts and their identities. One person, many addresses, one history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update

from atende.actions.errors import NotFound
from atende.db.tables import contact_identities, contacts
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
    from atende.actions import consents

    await consents.carry_over(tx, contact_id, kind, value)
    if kind == "phone" and odoo_lookup:  # who is this in Odoo? (a job: the webhook does not wait)
        from atende.actions.odoo import request_partner_link

        await request_partner_link(tx, contact_id)
    return contact_id


async def set_sms_opt_out(tx: Tx, contact_id: int, opted_out: bool, *, source: str = "keyword",
                          actor_id: int | None = None, detail: Mapping[str, Any] | None = None,
                          ip: str | None = None) -> bool:
    """Record the SMS opt-out state in the consent ledger; True when it changed."""
    from atende.actions import consents

    return await consents.change(tx, contact_id, "sms", opted_out, source=source, actor_id=actor_id,
                                 detail=detail, ip=ip)


async def rename(tx: Tx, contact_id: int, name: str) -> None:
    result = await tx.conn.execute(  # an agent's name wins over Odoo's from now on
        update(contacts).where(contacts.c.id == contact_id).values(name=name, name_by_agent=True, updated_at=utcnow())
    )
    if not result.rowcount:
        raise NotFound("contato não encontrado")
    await events.append(tx, "contact.updated", {"id": contact_id, "name": name})


async def phones_of(tx: Tx, contact_id: int) -> list[str]:
    rows = await tx.conn.execute(
        select(contact_identities.c.value)
        .where(contact_identities.c.contact_id == contact_id, contact_identities.c.kind == "phone")
    )
    return [r.value for r in rows]
