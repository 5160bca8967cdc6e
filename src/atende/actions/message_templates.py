"""Saved message templates with variables ({{nome}}, {{valor}}, {{vencimento}}, {{agente}}, contact
fields), per connector or for all of them; and the values a conversation fills them with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.contacts import address_variants
from atende.actions.errors import Conflict, Invalid, NotFound
from atende.db.tables import campaign_recipients, connectors, contacts, conversations, message_templates
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.campaign_estimate import phone_display
from atende.domain.variables import normal_values

MAX_NAME = 120
MAX_TEXT = 4096


async def _clean(tx: Tx, name: str, text: str, connector_id: int | None) -> dict[str, Any]:
    name, text = name.strip(), text.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid(f"dê um nome ao modelo (até {MAX_NAME} caracteres)")
    if not text or len(text) > MAX_TEXT:
        raise Invalid(f"o modelo precisa de um texto (até {MAX_TEXT} caracteres)")
    if connector_id is not None and await tx.conn.scalar(
            select(connectors.c.id).where(connectors.c.id == connector_id)) is None:
        raise NotFound("conector não encontrado")
    return {"name": name, "text": text, "connector_id": connector_id}


async def create(tx: Tx, *, name: str, text: str, connector_id: int | None, created_by: int | None) -> int:
    values = await _clean(tx, name, text, connector_id)
    now = utcnow()
    try:
        async with tx.conn.begin_nested():
            new_id = (await tx.conn.execute(insert(message_templates).values(
                **values, created_by=created_by, created_at=now, updated_at=now,
            ).returning(message_templates.c.id))).scalar_one()
    except IntegrityError:
        raise Conflict(f"já existe um modelo chamado «{values['name']}»") from None
    return int(new_id)


async def update_template(tx: Tx, template_id: int, *, name: str, text: str, connector_id: int | None) -> None:
    values = await _clean(tx, name, text, connector_id)
    try:
        async with tx.conn.begin_nested():
            done = await tx.conn.execute(update(message_templates).where(message_templates.c.id == template_id)
                                         .values(**values, updated_at=utcnow()))
    except IntegrityError:
        raise Conflict(f"já existe um modelo chamado «{values['name']}»") from None
    if not done.rowcount:
        raise NotFound("modelo não encontrado")


async def delete_template(tx: Tx, template_id: int) -> None:
    done = await tx.conn.execute(delete(message_templates).where(message_templates.c.id == template_id))
    if not done.rowcount:
        raise NotFound("modelo não encontrado")


def template_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "text": row.text, "connector_id": row.connector_id,
            "updated_at": row.updated_at.isoformat().replace("+00:00", "Z")}


async def listing(conn: AsyncConnection, connector_id: int | None = None) -> list[dict[str, Any]]:
    """The templates offered on a connector (its own and the global ones); all of them without one."""
    stmt = select(message_templates).order_by(message_templates.c.name)
    if connector_id is not None:
        stmt = stmt.where(or_(message_templates.c.connector_id.is_(None),
                              message_templates.c.connector_id == connector_id))
    return [template_dict(r) for r in await conn.execute(stmt)]


async def values_for_conversation(conn: AsyncConnection, conversation_id: int, agent_name: str) -> dict[str, str]:
    """What {{variables}} mean in this conversation: the contact's name and phone, the agent, and the
    columns of the last campaign this number received on the connector ({{valor}}, {{vencimento}}...)."""
    conv = (await conn.execute(select(conversations.c.connector_id, conversations.c.address,
                                      conversations.c.address_key, contacts.c.name).select_from(
        conversations.join(contacts, contacts.c.id == conversations.c.contact_id)).where(
        conversations.c.id == conversation_id))).first()
    if conv is None:
        return {}
    values: dict[str, Any] = {}
    if conv.address_key.startswith("+"):
        last = await conn.scalar(select(campaign_recipients.c.vars).where(
            campaign_recipients.c.address_key.in_(address_variants(conv.address_key)),
            campaign_recipients.c.connector_id == conv.connector_id,
        ).order_by(campaign_recipients.c.id.desc()).limit(1))
        values.update(last or {})
        values["telefone"] = phone_display(conv.address_key)
    if conv.name:
        values["nome"] = conv.name
    values["agente"] = agent_name
    return normal_values(values)
