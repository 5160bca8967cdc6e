"""Tags on conversations (name and colour), added by agents and by the bot's options."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from atende.actions import conversations as conv_actions
from atende.actions.errors import Conflict, Forbidden, Invalid, NotFound
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.prepared import insert_ignore_stmt
from atende.db.tables import conversation_tags, tags
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events

DEFAULT_COLOUR = "#64748b"
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_NAME = 60
MAX_PER_CONVERSATION = 20


def clean_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise Invalid(f"o nome da etiqueta deve ter de 1 a {MAX_NAME} caracteres")
    return cleaned


def clean_colour(colour: str | None) -> str:
    if colour is None or colour == "":
        return DEFAULT_COLOUR
    if not COLOUR.match(colour):
        raise Invalid("cor inválida: use #rrggbb")
    return colour.lower()


async def find(tx: Tx, name: str) -> Any:
    return (await tx.conn.execute(select(tags).where(tags.c.name == clean_name(name)))).first()


async def create_tag(tx: Tx, name: str, colour: str | None = None, *, by: Viewer | None = None) -> int:
    name, colour = clean_name(name), clean_colour(colour)
    existing = await find(tx, name)
    if existing is not None:
        raise Conflict("já existe uma etiqueta com este nome")
    try:
        async with tx.conn.begin_nested():
            tag_id = int((await tx.conn.execute(tags.insert().values(name=name, colour=colour, created_at=utcnow())
                                                .returning(tags.c.id))).scalar_one())
    except IntegrityError:
        raise Conflict("já existe uma etiqueta com este nome") from None
    await events.append(tx, "tag.created", {"id": tag_id, "name": name, "colour": colour})
    return tag_id


async def update_tag(tx: Tx, tag_id: int, *, name: str | None = None, colour: str | None = None,
                     by: Viewer | None = None) -> None:
    if by is not None and not by.is_staff:
        raise Forbidden("só supervisores alteram etiquetas")
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = clean_name(name)
    if colour is not None:
        values["colour"] = clean_colour(colour)
    if not values:
        return
    try:
        async with tx.conn.begin_nested():
            result = await tx.conn.execute(update(tags).where(tags.c.id == tag_id).values(**values))
    except IntegrityError:
        raise Conflict("já existe uma etiqueta com este nome") from None
    if not result.rowcount:
        raise NotFound("etiqueta não encontrada")
    await events.append(tx, "tag.updated", {"id": tag_id, **values})


async def delete_tag(tx: Tx, tag_id: int, *, by: Viewer | None = None) -> None:
    if by is not None and not by.is_staff:
        raise Forbidden("só supervisores excluem etiquetas")
    result = await tx.conn.execute(delete(tags).where(tags.c.id == tag_id))
    if not result.rowcount:
        raise NotFound("etiqueta não encontrada")


async def _ensure(tx: Tx, name: str) -> int:
    """The tag of this name, created (default colour) if new."""
    existing = await find(tx, name)
    if existing is not None:
        return int(existing.id)
    await tx.conn.execute(insert_ignore_stmt(tags, tx.dialect),
                          {"name": clean_name(name), "colour": DEFAULT_COLOUR, "created_at": utcnow()})
    found = await find(tx, name)
    assert found is not None
    return int(found.id)


async def conversation_tag_list(conn: Any, conversation_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(tags.c.id, tags.c.name, tags.c.colour)
        .select_from(conversation_tags.join(tags, tags.c.id == conversation_tags.c.tag_id))
        .where(conversation_tags.c.conversation_id == conversation_id).order_by(tags.c.name))
    return [{"id": r.id, "name": r.name, "colour": r.colour} for r in rows]


async def _changed(tx: Tx, conversation_id: int) -> None:
    await events.append(tx, "conversation.tagged", {
        "id": conversation_id, "tags": await conversation_tag_list(tx.conn, conversation_id)}, conversation_id)


async def tag_conversation(tx: Tx, conversation_id: int, tag: str | int, *, by: Viewer | None = None) -> int:
    """Add a tag (by id, or by name: created when new) to a conversation. Returns the tag's id."""
    conv = await conv_actions.load(tx, conversation_id)
    await policy.require_note(tx.conn, by, conv)
    if isinstance(tag, int):
        if await tx.conn.scalar(select(tags.c.id).where(tags.c.id == tag)) is None:
            raise NotFound("etiqueta não encontrada")
        tag_id = tag
    else:
        tag_id = await _ensure(tx, tag)
    present = [int(r[0]) for r in await tx.conn.execute(
        select(conversation_tags.c.tag_id).where(conversation_tags.c.conversation_id == conversation_id))]
    if tag_id in present:
        return tag_id
    if len(present) >= MAX_PER_CONVERSATION:
        raise Invalid(f"no máximo {MAX_PER_CONVERSATION} etiquetas por conversa")
    await tx.conn.execute(insert_ignore_stmt(conversation_tags, tx.dialect),
                          {"conversation_id": conversation_id, "tag_id": tag_id})
    await _changed(tx, conversation_id)
    return tag_id


async def untag_conversation(tx: Tx, conversation_id: int, tag_id: int, *, by: Viewer | None = None) -> None:
    conv = await conv_actions.load(tx, conversation_id)
    await policy.require_note(tx.conn, by, conv)
    result = await tx.conn.execute(delete(conversation_tags).where(
        conversation_tags.c.conversation_id == conversation_id, conversation_tags.c.tag_id == tag_id))
    if result.rowcount:
        await _changed(tx, conversation_id)
