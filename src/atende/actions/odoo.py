"""Writes of the Odoo bridge: settings, partner links, transcripts (one per attendance).

The engine's hooks are here too, kept small: a new contact asks for a partner lookup, a closed
attendance asks for a transcript. Both only enqueue a job (in the caller's transaction), so a webhook
never waits for Odoo.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from atende.actions import audit
from atende.actions.contact_events import contact_event
from atende.actions.errors import Invalid, NotFound
from atende.auth import policy
from atende.db.tables import contacts, integrations, odoo_partners, odoo_transcripts
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.integrations.odoo.client import normalize_url
from atende.integrations.odoo.partners import PartnerInfo
from atende.integrations.odoo.settings import DEFAULT_FLAGS, FLAGS, NAME
from atende.jobs.queue import enqueue
from atende.realtime import events
from atende.secrets import SecretBox

#: Transcripts are retried until Odoo accepts them: with the worker's 10-minute backoff cap, ~3 days.
TRANSCRIPT_ATTEMPTS = 400
LINK_ATTEMPTS = 12


def _insert(tx: Tx) -> Any:
    return (postgresql if tx.dialect == "postgresql" else sqlite).insert


# ---- settings ------------------------------------------------------------------------------------

async def save_settings(
    tx: Tx, box: SecretBox, *, url: str, db: str, login: str, api_key: str | None, flags: dict[str, bool],
    actor_id: int | None = None, ip: str | None = None,
) -> None:
    """Store the settings; an empty `api_key` keeps the stored one (forms never echo it back)."""
    try:
        url = normalize_url(url)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if not db.strip():
        raise Invalid("informe o banco de dados do Odoo")
    if not login.strip():
        raise Invalid("informe o login do usuário do Odoo")
    row = (await tx.conn.execute(select(integrations.c.secret_encrypted).where(integrations.c.name == NAME)
                                 .with_for_update())).first()
    secret = row.secret_encrypted if row is not None else ""
    if api_key:
        secret = box.encrypt_json({"api_key": api_key.strip()})
    if not secret:
        raise Invalid("informe a chave de API do Odoo")
    config = {"url": url, "db": db.strip(), "login": login.strip(),
              **{flag: bool(flags.get(flag, DEFAULT_FLAGS[flag])) for flag in FLAGS}}
    now = utcnow()
    stmt = _insert(tx)(integrations).values(name=NAME, config=config, secret_encrypted=secret, status={},
                                            updated_at=now)
    await tx.conn.execute(stmt.on_conflict_do_update(
        index_elements=["name"], set_={"config": config, "secret_encrypted": secret, "updated_at": now}))
    await audit.record(tx, "integration.update", actor_id=actor_id, target_type="integration", ip=ip,
                       detail={"name": NAME, "key_changed": bool(api_key)})
    await events.append(tx, "integration.updated", {"name": NAME})


async def record_test(tx: Tx, result: dict[str, Any]) -> None:
    status = {"ok": bool(result.get("ok")), "detail": str(result.get("detail") or ""),
              "version": result.get("version"), "at": utcnow().isoformat()}
    await tx.conn.execute(update(integrations).where(integrations.c.name == NAME).values(status=status))


async def _flags(tx: Tx) -> dict[str, Any] | None:
    """The integration's switches, or None when it is not configured."""
    row = (await tx.conn.execute(select(integrations.c.config, integrations.c.secret_encrypted)
                                 .where(integrations.c.name == NAME))).first()
    if row is None or not row.secret_encrypted:
        return None
    return dict(row.config or {})


# ---- hooks the engine calls ------------------------------------------------------------------------

async def request_partner_link(tx: Tx, contact_id: int) -> bool:
    """A contact was created or gained a number: look its partner up (a job, never inline)."""
    flags = await _flags(tx)
    if not flags or not flags.get("link_partners", True):
        return False
    await enqueue(tx, "odoo_link_partner", {"contact_id": contact_id}, dedup_key=f"odoo_link:{contact_id}",
                  max_attempts=LINK_ATTEMPTS)
    return True


async def attendance_closed(tx: Tx, *, attendance_id: int, conversation_id: int, contact_id: int) -> bool:
    """An attendance ended: its transcript goes to the linked partner's chatter, once."""
    flags = await _flags(tx)
    if not flags or not flags.get("post_transcripts", True):
        return False
    partner_id = await tx.conn.scalar(select(contacts.c.odoo_partner_id).where(contacts.c.id == contact_id))
    if not partner_id:
        return False
    inserted = await tx.conn.execute(_insert(tx)(odoo_transcripts).values(
        attendance_id=attendance_id, partner_id=int(partner_id), status="pending", created_at=utcnow(),
    ).on_conflict_do_nothing())
    if not inserted.rowcount:
        return False  # this attendance has its transcript already (closed twice, say)
    await enqueue(tx, "odoo_transcript", {"attendance_id": attendance_id, "conversation_id": conversation_id},
                  dedup_key=f"odoo_transcript:{attendance_id}", max_attempts=TRANSCRIPT_ATTEMPTS)
    return True


# ---- partners ----------------------------------------------------------------------------------------

async def remember_partner(tx: Tx, partner: PartnerInfo) -> None:
    """Keep what the contact panel shows of a partner."""
    def cut(value: str | None, size: int) -> str | None:
        return value[:size] if value else None

    values = {"name": partner.name[:300], "email": cut(partner.email, 254), "vat": cut(partner.vat, 40),
              "phone": cut(partner.phone, 60), "mobile": cut(partner.mobile, 60), "fetched_at": utcnow()}
    stmt = _insert(tx)(odoo_partners).values(id=partner.id, **values)
    await tx.conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))


async def link_partner(tx: Tx, contact_id: int, partner: PartnerInfo, *, source: str,
                       actor_id: int | None = None, only_if_unlinked: bool = False, by: Any = None) -> bool:
    """Link a contact to its Odoo partner and take the partner's name, unless an agent named the
    contact. `source`: auto (phone lookup), agent (by hand) or import (ChatRoom). False when
    `only_if_unlinked` and the contact has a partner already. `by`: the person linking by hand (a contact
    edit, auth.policy)."""
    await policy.require_contact_edit(tx.conn, by, contact_id)
    row = (await tx.conn.execute(select(contacts.c.odoo_partner_id, contacts.c.name, contacts.c.name_by_agent)
                                 .where(contacts.c.id == contact_id).with_for_update())).first()
    if row is None:
        raise NotFound("contato não encontrado")
    if only_if_unlinked and row.odoo_partner_id is not None and row.odoo_partner_id != partner.id:
        return False
    await remember_partner(tx, partner)
    values: dict[str, Any] = {"odoo_partner_id": partner.id, "updated_at": utcnow()}
    if partner.name and not row.name_by_agent:
        values["name"] = partner.name[:200]
    await tx.conn.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))
    await contact_event(tx, contact_id, {"odoo_partner_id": partner.id, "name": values.get("name", row.name)})
    if source == "agent":
        await audit.record(tx, "contact.odoo_link", actor_id=actor_id, target_type="contact", target_id=contact_id,
                           contact_id=contact_id, detail={"partner_id": partner.id})
    return True


async def unlink_partner(tx: Tx, contact_id: int, *, actor_id: int | None, by: Any = None) -> None:
    await policy.require_contact_edit(tx.conn, by, contact_id)
    result = await tx.conn.execute(update(contacts).where(contacts.c.id == contact_id)
                                   .values(odoo_partner_id=None, updated_at=utcnow()))
    if not result.rowcount:
        raise NotFound("contato não encontrado")
    await contact_event(tx, contact_id, {"odoo_partner_id": None})
    await audit.record(tx, "contact.odoo_unlink", actor_id=actor_id, target_type="contact", target_id=contact_id,
                       contact_id=contact_id)


# ---- transcripts ---------------------------------------------------------------------------------------

async def transcript_posted(tx: Tx, attendance_id: int, odoo_message_id: int) -> None:
    await tx.conn.execute(update(odoo_transcripts).where(odoo_transcripts.c.attendance_id == attendance_id)
                          .values(status="posted", odoo_message_id=odoo_message_id, error=None,
                                  posted_at=utcnow()))


async def transcript_skipped(tx: Tx, attendance_id: int, reason: str) -> None:
    """Nothing to tell the partner (an attendance without messages, or only imported history)."""
    await tx.conn.execute(update(odoo_transcripts).where(odoo_transcripts.c.attendance_id == attendance_id,
                                                         odoo_transcripts.c.status == "pending")
                          .values(status="skipped", error=reason))


async def transcript_failed(tx: Tx, attendance_id: int, error: str) -> None:
    await tx.conn.execute(update(odoo_transcripts).where(odoo_transcripts.c.attendance_id == attendance_id,
                                                         odoo_transcripts.c.status != "posted")
                          .values(status="failed", error=error[:2000]))
