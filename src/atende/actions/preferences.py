"""A user's own preferences: interface language and time zone."""

from __future__ import annotations

from zoneinfo import available_timezones

from sqlalchemy import update

from atende.actions.errors import Invalid, NotFound
from atende.db.tables import users
from atende.db.tx import Tx
from atende.realtime import events

LANGUAGES = ("pt_BR", "en")


async def set_language(tx: Tx, user_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise Invalid(f"idioma inválido: {language} (use {', '.join(LANGUAGES)})")
    result = await tx.conn.execute(update(users).where(users.c.id == user_id).values(language=language))
    if not result.rowcount:
        raise NotFound("usuário não encontrado")
    await events.append(tx, "user.updated", {"id": user_id, "language": language})


async def set_timezone(tx: Tx, user_id: int, timezone: str) -> None:
    if timezone not in available_timezones():
        raise Invalid(f"fuso horário inválido: {timezone}")
    result = await tx.conn.execute(update(users).where(users.c.id == user_id).values(timezone=timezone))
    if not result.rowcount:
        raise NotFound("usuário não encontrado")
    await events.append(tx, "user.updated", {"id": user_id, "timezone": timezone})
