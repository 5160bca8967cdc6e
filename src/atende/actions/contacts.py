"""Contacts and their identities. One person, many addresses, one history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from atende.actions.contact_events import contact_event
from atende.actions.errors import Invalid, NotFound
from atende.auth import policy
from atende.db.prepared import hot
from atende.db.tables import contact_identities, contacts
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.phones import canonical_phone, is_bsuid, phone_variants
from atende.realtime import events

GROUP_PREFIX = "group:"

# Asked on every inbound message that names its sender (WhatsApp): prebuilt, and hot on SQLite's
# group-commit path (db/raw_sqlite.py).
_IDENTITY = hot(
    select(contact_identities.c.contact_id, contact_identities.c.attributes, contacts.c.name)
    .join(contacts, contacts.c.id == contact_identities.c.contact_id)
    .where(contact_identities.c.kind == bindparam("kind"),
           contact_identities.c.value.in_(bindparam("values", expanding=True)))
    .limit(1))
_NAME_IF_EMPTY = hot(update(contacts).where(contacts.c.id == bindparam("cid"), contacts.c.name == "")
                     .values(name=bindparam("v_name"), updated_at=bindparam("v_at")))


def identity_of(address: str, channel: str) -> tuple[str, str]:
    """(kind, canonical value) of an address on a channel."""
    if address.startswith("+"):
        return "phone", canonical_phone(address)
    if address.startswith(GROUP_PREFIX):
        return "group", address  # a WhatsApp group: its own contact, never a participant's
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
    row = (await tx.conn.execute(_IDENTITY, {"kind": kind, "values": list(values)})).first()
    now = utcnow()
    if row is not None:
        contact_id = int(row.contact_id)
        if attributes and any(row.attributes.get(k) != v for k, v in attributes.items()):
            await tx.conn.execute(
                update(contact_identities)
                .where(contact_identities.c.kind == kind, contact_identities.c.value.in_(values))
                .values(attributes={**row.attributes, **attributes})
            )
        if name and not row.name:  # a contact without a name takes the one the provider knows
            await tx.conn.execute(_NAME_IF_EMPTY, {"cid": contact_id, "v_name": name, "v_at": now})
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


async def contact_of_identity(tx: Tx, address: str, channel: str) -> int | None:
    """The contact holding this address: as an identity of its own, or (a BSUID) as an attribute of
    the phone identity it arrived with."""
    kind, value = identity_of(address, channel)
    values = address_variants(value) if kind == "phone" else (value,)
    found = await tx.conn.scalar(select(contact_identities.c.contact_id).where(
        contact_identities.c.kind == kind, contact_identities.c.value.in_(values)).limit(1))
    if found is None and kind == "bsuid":
        found = await tx.conn.scalar(select(contact_identities.c.contact_id).where(
            contact_identities.c.attributes["bsuid"].as_string() == value).limit(1))
    return int(found) if found is not None else None


async def profile_known(tx: Tx, address: str, channel: str) -> bool:
    kind, value = identity_of(address, channel)
    attributes = await tx.conn.scalar(select(contact_identities.c.attributes).where(
        contact_identities.c.kind == kind, contact_identities.c.value == value))
    return bool(attributes and attributes.get("profile_fetched_at"))


async def apply_profile(tx: Tx, address: str, channel: str, profile: Mapping[str, str]) -> int | None:
    """What the provider says about a customer (`name`, `username`, `picture`): kept on the identity
    (with when it was fetched, so it is fetched once), and the name on the contact when it has none."""
    kind, value = identity_of(address, channel)
    row = (await tx.conn.execute(select(contact_identities.c.contact_id, contact_identities.c.attributes).where(
        contact_identities.c.kind == kind, contact_identities.c.value == value))).first()
    if row is None:
        return None
    now = utcnow()
    known = {k: str(v)[:500] for k, v in profile.items() if k in ("name", "username", "picture") and v}
    await tx.conn.execute(update(contact_identities).where(
        contact_identities.c.kind == kind, contact_identities.c.value == value,
    ).values(attributes={**(row.attributes or {}), **known, "profile_fetched_at": now.isoformat()}))
    name = known.get("name") or known.get("username")
    if name:
        await tx.conn.execute(update(contacts).where(contacts.c.id == row.contact_id, contacts.c.name == "")
                              .values(name=name[:200], updated_at=now))
    await contact_event(tx, int(row.contact_id), {})
    return int(row.contact_id)


async def merge(tx: Tx, keep_id: int, merged_id: int, *, actor_id: int | None = None, ip: str | None = None,
                by: policy.Viewer | None = None) -> None:
    """One person found under two contacts (an Instagram IGSID and a WhatsApp phone, say): every
    identity, conversation and message of `merged_id` moves to `keep_id`, which then shows one
    history across channels; `merged_id` is deleted. Its name and Odoo partner fill gaps only.
    `by`: who asks (auth.policy: supervisors and admins, of two contacts they may read)."""
    await policy.require_contact_merge(tx.conn, by, keep_id, merged_id)
    if by is not None:
        actor_id, ip = by.id, by.ip
    from sqlalchemy import delete

    from atende.actions import audit
    from atende.actions.errors import Invalid
    from atende.db.tables import consents as consent_ledger
    from atende.db.tables import conversations, messages

    if keep_id == merged_id:
        raise Invalid("escolha dois contatos diferentes")
    rows = {r.id: r for r in await tx.conn.execute(select(contacts).where(contacts.c.id.in_((keep_id, merged_id)))
                                                   .with_for_update())}
    if keep_id not in rows or merged_id not in rows:
        raise NotFound("contato não encontrado")
    keep, gone = rows[keep_id], rows[merged_id]
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now}
    if not keep.name and gone.name:
        values["name"] = gone.name
    if keep.odoo_partner_id is None and gone.odoo_partner_id is not None:
        values["odoo_partner_id"] = gone.odoo_partner_id
    if keep.erased_at is not None or gone.erased_at is not None:
        raise Invalid("um titular removido (LGPD) não se une a outro contato")
    from atende.actions import consents

    refused = await consents.opted_out_channels(tx, merged_id)
    # The consent history moves with the rest (one ledger for the person).
    for table in (contact_identities, conversations, messages, consent_ledger):
        await tx.conn.execute(update(table).where(table.c.contact_id == merged_id).values(contact_id=keep_id))
    await tx.conn.execute(update(contacts).where(contacts.c.id == keep_id).values(**values))
    for channel in sorted(refused):  # a refusal is never lost in a merge
        await consents.change(tx, keep_id, channel, True, source="agent", actor_id=actor_id,
                              detail={"merged_id": merged_id}, ip=ip)
    await tx.conn.execute(delete(contacts).where(contacts.c.id == merged_id))
    await events.append(tx, "contact.merged", {"id": keep_id, "contact_id": keep_id, "merged_id": merged_id,
                                               "contact_conversations": await policy.contact_scope(tx.conn, keep_id)})
    await audit.record(tx, "contact.merge", actor_id=actor_id, target_type="contact", target_id=keep_id,
                       contact_id=keep_id, ip=ip, detail={"merged_id": merged_id})


OPT_OUT_CHANNELS = ("sms", "whatsapp")  # the channels with a current flag on the contact


async def set_opt_out_flag(tx: Tx, contact_id: int, channel: str, opted_out: bool, *, actor_id: int | None = None,
                           source: str = "agent", detail: Mapping[str, Any] | None = None,
                           ip: str | None = None) -> bool:
    """Record a channel's opt-out state; True when it changed. The consent ledger (actions/consents.py)
    is the one record: who (none: the customer or the system, see `source`), when, and the audit."""
    from atende.actions import consents

    if channel not in OPT_OUT_CHANNELS:
        raise Invalid(f"opt-out só existe para {', '.join(OPT_OUT_CHANNELS)}")
    return await consents.change(tx, contact_id, channel, opted_out, source=source, actor_id=actor_id,
                                 detail=detail, ip=ip)


async def set_sms_opt_out(tx: Tx, contact_id: int, opted_out: bool, *, source: str = "keyword",
                          actor_id: int | None = None, detail: Mapping[str, Any] | None = None,
                          ip: str | None = None) -> bool:
    """Record the SMS opt-out state (by default: the customer's keyword); True when it changed."""
    return await set_opt_out_flag(tx, contact_id, "sms", opted_out, actor_id=actor_id, source=source,
                                  detail=detail, ip=ip)


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
