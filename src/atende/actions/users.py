"""Users, API tokens and sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from atende.actions.errors import Conflict, Invalid, NotFound
from atende.auth.passwords import hash_password
from atende.auth.tokens import API_TOKEN_PREFIX, new_token, token_hash
from atende.db.tables import api_tokens, sessions, users
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events

ROLES = ("agent", "supervisor", "admin")
PRESENCES = ("online", "away", "offline")
MIN_PASSWORD = 8


async def create_user(tx: Tx, *, email: str, password: str, name: str, role: str) -> int:
    email = email.strip().lower()
    if role not in ROLES:
        raise Invalid(f"papel inválido: {role} (use agent, supervisor ou admin)")
    if "@" not in email:
        raise Invalid("e-mail inválido")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a senha precisa de pelo menos {MIN_PASSWORD} caracteres")
    try:
        async with tx.conn.begin_nested():
            user_id = (await tx.conn.execute(insert(users).values(
                email=email, name=name.strip() or email, password_hash=hash_password(password), role=role,
                created_at=utcnow(),
            ).returning(users.c.id))).scalar_one()
    except IntegrityError:
        raise Conflict("já existe um usuário com este e-mail") from None
    await events.append(tx, "user.created", {"id": user_id, "role": role})
    return int(user_id)


async def user_id_by_email(tx: Tx, email: str) -> int:
    user_id = await tx.conn.scalar(select(users.c.id).where(users.c.email == email.strip().lower()))
    if user_id is None:
        raise NotFound(f"usuário não encontrado: {email}")
    return int(user_id)


async def create_api_token(tx: Tx, user_id: int, name: str = "") -> str:
    token = new_token(API_TOKEN_PREFIX)
    await tx.conn.execute(insert(api_tokens).values(
        user_id=user_id, token_hash=token_hash(token), name=name, created_at=utcnow()))
    return token


async def create_session(tx: Tx, user_id: int, max_age_s: int) -> tuple[str, str]:
    token, csrf = new_token(), new_token()
    now = utcnow()
    await tx.conn.execute(insert(sessions).values(
        user_id=user_id, token_hash=token_hash(token), csrf_token=csrf, created_at=now,
        expires_at=now + timedelta(seconds=max_age_s)))
    await tx.conn.execute(delete(sessions).where(sessions.c.expires_at < now))
    return token, csrf


async def end_session(tx: Tx, token: str) -> None:
    await tx.conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash(token)))


async def set_presence(tx: Tx, user_id: int, presence: str) -> None:
    if presence not in PRESENCES:
        raise Invalid("presença inválida (online, away, offline)")
    await tx.conn.execute(update(users).where(users.c.id == user_id).values(presence=presence,
                                                                             last_seen_at=utcnow()))
    await events.append(tx, "agent.presence", {"id": user_id, "presence": presence})
    if presence == "online":
        from atende.jobs.queue import enqueue

        await enqueue(tx, "route_all", {}, dedup_key="route_all")
