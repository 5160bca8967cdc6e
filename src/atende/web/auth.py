"""Who is calling: API tokens (Bearer) or session cookies (+ CSRF), and role checks."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

from atende.actions.users import token_is_live
from atende.auth.policy import Viewer, load_viewer
from atende.auth.tokens import token_hash
from atende.db.tables import api_tokens, sessions, users
from atende.db.types import utcnow
from atende.runtime import Runtime

SESSION_COOKIE = "atende_session"
CSRF_HEADER = "x-csrf-token"
# dpo (LGPD officer) ranks with agents; its privacy powers come from auth/policy.
ROLE_RANK = {"agent": 1, "dpo": 1, "supervisor": 2, "admin": 3}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: int
    email: str
    name: str
    role: str
    language: str
    timezone: str
    via: str  # "token" | "session"
    csrf: str | None = None

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


async def runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain `def` dependency on its thread pool, a thread hop on every request.
    rt: Runtime = request.app.state.rt
    return rt


Rt = Annotated[Runtime, Depends(runtime)]

_USER_COLS = (users.c.id, users.c.email, users.c.name, users.c.role, users.c.language, users.c.timezone)


async def optional_user(request: Request, rt: Rt) -> CurrentUser | None:
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    auth = request.headers.get("authorization", "")
    now = utcnow()
    user: CurrentUser | None = None
    token_to_touch: int | None = None
    row: Any
    async with rt.read() as conn:
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
            row = (await conn.execute(
                select(*_USER_COLS, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
                .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
                .where(api_tokens.c.token_hash == token_hash(token), token_is_live(now),
                       users.c.active.is_(True)))).first()
            if row is not None:
                user = CurrentUser(row.id, row.email, row.name, row.role, row.language, row.timezone, "token")
                stale = row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY
                token_to_touch = int(row.token_id) if stale else None
        elif cookie := request.cookies.get(SESSION_COOKIE):
            row = (await conn.execute(
                select(*_USER_COLS, sessions.c.csrf_token)
                .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
                .where(sessions.c.token_hash == token_hash(cookie), sessions.c.expires_at > now,
                       users.c.active.is_(True)))).first()
            if row is not None:
                user = CurrentUser(row.id, row.email, row.name, row.role, row.language, row.timezone, "session",
                                   row.csrf_token)
    if token_to_touch is not None:
        await _touch_token(rt, token_to_touch, now)
    request.state.user = user
    return user


LAST_USED_EVERY = timedelta(seconds=60)


async def _touch_token(rt: Runtime, token_id: int, now: datetime) -> None:
    """last_used_at, written at most once a minute per token (a write per request would not do)."""
    try:
        async with rt.write() as tx:
            await tx.conn.execute(update(api_tokens).where(
                api_tokens.c.id == token_id,
                or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at < now - LAST_USED_EVERY),
            ).values(last_used_at=now))
    except OperationalError:  # a busy database must not fail the request over a bookkeeping write
        pass


def check_csrf(request: Request, user: CurrentUser, form_token: str | None = None) -> None:
    if user.via != "session" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER) or form_token or ""
    if not user.csrf or not hmac.compare_digest(sent, user.csrf):
        raise HTTPException(403, "token CSRF ausente ou inválido")


async def current_user(request: Request, user: Annotated[CurrentUser | None, Depends(optional_user)]) -> CurrentUser:
    if user is None:
        raise HTTPException(401, "autenticação necessária", headers={"WWW-Authenticate": "Bearer"})
    check_csrf(request, user)
    return user


User = Annotated[CurrentUser, Depends(current_user)]


async def viewer_of(request: Request, user: CurrentUser) -> Viewer:
    """The signed-in user as the authorization layer sees them (teams, role, address), once per request."""
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None and cached.id == user.id:
        return cached
    rt: Runtime = request.app.state.rt
    async with rt.read() as conn:
        viewer = await load_viewer(conn, user.id, user.role, ip=client_ip(request))
    request.state.viewer = viewer
    return viewer


async def current_viewer(request: Request, user: User) -> Viewer:
    return await viewer_of(request, user)


Who = Annotated[Viewer, Depends(current_viewer)]


def require(role: str) -> Any:
    async def dep(user: User) -> CurrentUser:
        if not user.at_least(role):
            raise HTTPException(403, "permissão insuficiente")
        return user

    return Depends(dep)


async def _admin(user: User) -> CurrentUser:
    if not user.at_least("admin"):
        raise HTTPException(403, "permissão insuficiente")
    return user


Admin = Annotated[CurrentUser, Depends(_admin)]


def client_ip(request: Request) -> str | None:
    """The caller's address as the server saw it (behind a proxy, uvicorn's --proxy-headers sets it)."""
    return request.client.host if request.client else None
