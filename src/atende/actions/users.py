"""Users, API tokens and sessions."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from atende.actions import audit
from atende.actions.errors import Conflict, Forbidden, Invalid, NotFound
from atende.auth.passwords import hash_password
from atende.auth.tokens import API_TOKEN_PREFIX, new_token, token_hash
from atende.db.tables import api_tokens, sessions, users
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events

ROLES = ("agent", "supervisor", "admin")
PRESENCES = ("online", "away", "offline")
MIN_PASSWORD = 8
SESSIONS_TOPIC = "sessions"  # {"user_id": N} or {"session_hash": "..."}: live streams to close
MAX_CAPACITY = 1000


async def create_user(tx: Tx, *, email: str, password: str, name: str, role: str,
                      actor_id: int | None = None, ip: str | None = None) -> int:
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
    await audit.record(tx, "user.create", actor_id=actor_id, target_type="user", target_id=int(user_id), ip=ip,
                       detail={"role": role})
    return int(user_id)


async def user_id_by_email(tx: Tx, email: str) -> int:
    user_id = await tx.conn.scalar(select(users.c.id).where(users.c.email == email.strip().lower()))
    if user_id is None:
        raise NotFound(f"usuário não encontrado: {email}")
    return int(user_id)


async def create_api_token(tx: Tx, user_id: int, name: str = "") -> str:
    return (await issue_api_token(tx, user_id, name=name))[1]


async def issue_api_token(tx: Tx, user_id: int, *, name: str = "", expires_at: datetime | None = None,
                          actor_id: int | None = None, ip: str | None = None) -> tuple[int, str]:
    """A new API token (shown once, stored as SHA-256): (id, token)."""
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise Invalid("expires_at precisa estar no futuro")
    token = new_token(API_TOKEN_PREFIX)
    token_id = (await tx.conn.execute(insert(api_tokens).values(
        user_id=user_id, token_hash=token_hash(token), name=name.strip()[:100], created_at=now,
        expires_at=expires_at).returning(api_tokens.c.id))).scalar_one()
    await audit.record(tx, "token.create", actor_id=actor_id if actor_id is not None else user_id,
                       target_type="token", target_id=int(token_id), ip=ip, detail={"user_id": user_id})
    return int(token_id), token


async def revoke_api_token(tx: Tx, token_id: int, *, actor_id: int | None, actor_is_admin: bool,
                           ip: str | None = None) -> None:
    """Revoke at once (the next request with it is a 401). Users revoke their own; admins any."""
    row = (await tx.conn.execute(select(api_tokens.c.user_id, api_tokens.c.revoked_at)
                                 .where(api_tokens.c.id == token_id))).first()
    if row is None or not (actor_is_admin or row.user_id == actor_id):
        raise NotFound("token não encontrado")
    if row.revoked_at is None:
        await tx.conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=utcnow()))
    await audit.record(tx, "token.revoke", actor_id=actor_id, target_type="token", target_id=token_id, ip=ip,
                       detail={"user_id": int(row.user_id)})


async def update_user(tx: Tx, user_id: int, *, actor_id: int | None, ip: str | None = None,
                      name: str | None = None, role: str | None = None, active: bool | None = None,
                      password: str | None = None, capacity: int | None = None) -> None:
    """An admin edits a user. Deactivating ends the user's sessions, tokens and live streams at once."""
    row = (await tx.conn.execute(select(users).where(users.c.id == user_id).with_for_update())).first()
    if row is None:
        raise NotFound("usuário não encontrado")
    values: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise Invalid("o nome não pode ficar vazio")
        values["name"] = name.strip()[:200]
    if role is not None:
        if role not in ROLES:
            raise Invalid(f"papel inválido: {role} (use agent, supervisor ou admin)")
        values["role"] = role
    if active is not None:
        values["active"] = active
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise Invalid(f"a senha precisa de pelo menos {MIN_PASSWORD} caracteres")
        values["password_hash"] = hash_password(password)
    if capacity is not None:
        if not 0 <= capacity <= MAX_CAPACITY:
            raise Invalid(f"capacidade entre 0 (sem limite) e {MAX_CAPACITY}")
        values["capacity"] = capacity
    if actor_id == user_id and (values.get("active") is False or values.get("role", row.role) != row.role):
        raise Forbidden("você não pode desativar nem rebaixar a si mesmo")
    if not values:
        return
    await tx.conn.execute(update(users).where(users.c.id == user_id).values(**values))
    if "capacity" in values and row.presence == "online" and (
            values["capacity"] == 0 or (row.capacity != 0 and values["capacity"] > row.capacity)):
        from atende.actions.queues import enqueue_queues_of

        await enqueue_queues_of(tx, user_id)  # a capacity raise is a slot freeing up
    deactivated = values.get("active") is False and row.active
    if deactivated or "password_hash" in values:
        # A new password or a deactivation ends every session; a deactivation ends the tokens too.
        await tx.conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        tx.publish.append((SESSIONS_TOPIC, json.dumps({"user_id": user_id})))
    if deactivated:
        await tx.conn.execute(update(api_tokens).where(api_tokens.c.user_id == user_id,
                                                       api_tokens.c.revoked_at.is_(None)).values(revoked_at=utcnow()))
        await tx.conn.execute(update(users).where(users.c.id == user_id).values(presence="offline"))
    await events.append(tx, "user.updated", {"id": user_id, "role": values.get("role", row.role),
                                             "active": values.get("active", row.active)})
    await audit.record(tx, "user.update", actor_id=actor_id, target_type="user", target_id=user_id, ip=ip,
                       detail={"fields": sorted(k if k != "password_hash" else "password" for k in values)})


def token_is_live(now: datetime) -> Any:
    return (api_tokens.c.revoked_at.is_(None)) & or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now)


async def create_session(tx: Tx, user_id: int, max_age_s: int) -> tuple[str, str]:
    token, csrf = new_token(), new_token()
    now = utcnow()
    await tx.conn.execute(insert(sessions).values(
        user_id=user_id, token_hash=token_hash(token), csrf_token=csrf, created_at=now,
        expires_at=now + timedelta(seconds=max_age_s)))
    await tx.conn.execute(delete(sessions).where(sessions.c.expires_at < now))
    return token, csrf


async def end_session(tx: Tx, token: str) -> None:
    digest = token_hash(token)
    await tx.conn.execute(delete(sessions).where(sessions.c.token_hash == digest))
    tx.publish.append((SESSIONS_TOPIC, json.dumps({"session_hash": digest})))


async def set_presence(tx: Tx, user_id: int, presence: str) -> None:
    if presence not in PRESENCES:
        raise Invalid("presença inválida (online, away, offline)")
    await tx.conn.execute(update(users).where(users.c.id == user_id).values(presence=presence,
                                                                             last_seen_at=utcnow()))
    await events.append(tx, "agent.presence", {"id": user_id, "presence": presence})
    if presence == "online":  # a slot opened: the queues this agent serves are routed
        from atende.actions.queues import enqueue_queues_of

        await enqueue_queues_of(tx, user_id)


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
        from atende.actions.queues import enqueue_queues_of

        await enqueue_queues_of(tx, user_id)


async def touch_seen(tx: Tx, user_id: int) -> None:
    """A live connection is open: an online agent is not idle (see routing.auto_away)."""
    await tx.conn.execute(update(users).where(users.c.id == user_id, users.c.presence == "online")
                          .values(last_seen_at=utcnow()))
