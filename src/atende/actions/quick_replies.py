"""Quick replies ("respostas rápidas"): text an agent inserts by typing /atalho in the composer."""

from __future__ import annotations

import re

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from atende.actions.errors import Conflict, Invalid, NotFound
from atende.db.tables import quick_replies
from atende.db.tx import Tx
from atende.db.types import utcnow

SHORTCUT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
MAX_TEXT = 4096


def clean_shortcut(value: str) -> str:
    shortcut = value.strip().lstrip("/").strip().lower()
    if not SHORTCUT_RE.match(shortcut):
        raise Invalid("atalho inválido: use letras minúsculas, números, - ou _ (até 60), sem espaços")
    return shortcut


def clean_text(value: str) -> str:
    text = value.strip()
    if not text:
        raise Invalid("a resposta rápida precisa de um texto")
    if len(text) > MAX_TEXT:
        raise Invalid(f"texto longo demais (máximo {MAX_TEXT} caracteres)")
    return text


async def create_quick_reply(tx: Tx, *, shortcut: str, text: str, created_by: int | None) -> int:
    values = {"shortcut": clean_shortcut(shortcut), "text": clean_text(text), "created_by": created_by,
              "created_at": utcnow()}
    try:
        async with tx.conn.begin_nested():
            new_id = (await tx.conn.execute(insert(quick_replies).values(**values)
                                            .returning(quick_replies.c.id))).scalar_one()
    except IntegrityError:
        raise Conflict(f"já existe o atalho /{values['shortcut']}") from None
    return int(new_id)


async def update_quick_reply(tx: Tx, quick_reply_id: int, *, shortcut: str, text: str) -> None:
    values = {"shortcut": clean_shortcut(shortcut), "text": clean_text(text)}
    try:
        async with tx.conn.begin_nested():
            result = await tx.conn.execute(update(quick_replies).where(quick_replies.c.id == quick_reply_id)
                                           .values(**values))
    except IntegrityError:
        raise Conflict(f"já existe o atalho /{values['shortcut']}") from None
    if not result.rowcount:
        raise NotFound("resposta rápida não encontrada")


async def delete_quick_reply(tx: Tx, quick_reply_id: int) -> None:
    result = await tx.conn.execute(delete(quick_replies).where(quick_replies.c.id == quick_reply_id))
    if not result.rowcount:
        raise NotFound("resposta rápida não encontrada")
