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
    if presence == "online":  # a slot opened: the queues this agent serves are routed
        from atende.actions.routing import enqueue_queues_of

        await enqueue_queues_of(tx, user_id)


MAX_CAPACITY = 1000


async def set_capacity(tx: Tx, user_id: int, capacity: int, *, actor_id: int | None = None) -> None:
    """The most open conversations the agent holds at once (0: unlimited). A raise routes their queues."""
    if not 0 <= capacity <= MAX_CAPACITY:
        raise Invalid(f"a capacidade vai de 0 (sem limite) a {MAX_CAPACITY}")
    row = (await tx.conn.execute(select(users.c.capacity, users.c.presence).where(users.c.id == user_id)
                                 .with_for_update())).first()
    if row is None:
        raise NotFound("usuário não encontrado")
    if row.capacity == capacity:
        return
    await tx.conn.execute(update(users).where(users.c.id == user_id).values(capacity=capacity))
    await events.append(tx, "user.updated", {"id": user_id, "capacity": capacity, "actor_id": actor_id})
    raised = capacity == 0 or (row.capacity != 0 and capacity > row.capacity)
    if raised and row.presence == "online":
        from atende.actions.routing import enqueue_queues_of

        await enqueue_queues_of(tx, user_id)


async def touch_seen(tx: Tx, user_id: int) -> None:
    """A live connection is open: an online agent is not idle (see routing.auto_away)."""
    await tx.conn.execute(update(users).where(users.c.id == user_id, users.c.presence == "online")
                          .values(last_seen_at=utcnow()))
